#!/usr/bin/env bash
# Starts redis-server (A) and cairn-server (B) on loopback ports 7431/7432
# with no persistence, runs zipfbench against them, and stops both by PID.
# Extra arguments go to zipfbench (e.g. -duration 20s -rounds 3).
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
go build -o "$work/cairn-server" ./tools/cairn-server
go build -o "$work/zipfbench" ./tools/zipfbench
mkdir -p "$work/a" "$work/b"
redis-server --port 7431 --bind 127.0.0.1 --dir "$work/a" --save "" --appendonly no >"$work/a.log" 2>&1 &
pa=$!
"$work/cairn-server" --port 7432 --bind 127.0.0.1 --dir "$work/b" --save "" --appendonly no 2>"$work/b.log" &
pb=$!
trap 'kill $pa $pb 2>/dev/null; wait $pa $pb 2>/dev/null; rm -rf "$work"' EXIT
for p in 7431 7432; do
	until redis-cli -p $p ping >/dev/null 2>&1; do sleep 0.05; done
done
"$work/zipfbench" -a 127.0.0.1:7431 -b 127.0.0.1:7432 "$@"
