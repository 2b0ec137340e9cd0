#!/usr/bin/python3
"""Requests per second of the @cache_page view (/cached/) served from
cairn-server and from redis-server, in alternating rounds, in-process
through Django's test client (no HTTP server: what differs is the cache).

    /usr/bin/python3 bench.py --server PATH --redis-server PATH [--requests 5000 --rounds 3]
"""
import argparse
import os
import subprocess
import sys

from run_tests import Server

CHILD = r"""
import os, time, django
django.setup()
from django.core.cache import cache
from django.test import Client
cache.clear()
c = Client()
c.get("/cached/")
n = int(os.environ["N"])
t = time.perf_counter()
for _ in range(n):
    assert c.get("/cached/").status_code == 200
print(n / (time.perf_counter() - t))
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--redis-server", required=True)
    ap.add_argument("--requests", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    servers = {"cairn": Server("cairn", args.server), "redis": Server("redis", args.redis_server)}
    rates = {"cairn": [], "redis": []}
    try:
        for r in range(args.rounds):
            order = ["redis", "cairn"] if r % 2 == 0 else ["cairn", "redis"]
            for name in order:
                env = dict(os.environ, CAIRN_URL=servers[name].url(), DJANGO_SETTINGS_MODULE="cairnsite.settings",
                           N=str(args.requests))
                out = subprocess.run([sys.executable, "-c", CHILD], cwd=here, env=env, check=True,
                                     capture_output=True, text=True).stdout
                rates[name].append(float(out))
                print("round %d %s: %.0f req/s" % (r, name, rates[name][-1]), flush=True)
    finally:
        for s in servers.values():
            s.stop()
    med = {k: sorted(v)[len(v) // 2] for k, v in rates.items()}
    print("SUMMARY django cached view: redis %.0f req/s, cairn %.0f req/s, cairn/redis %.3f"
          % (med["redis"], med["cairn"], med["cairn"] / med["redis"]))


if __name__ == "__main__":
    main()
