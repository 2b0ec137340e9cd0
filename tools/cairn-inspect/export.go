package main

// `export --format resp [--db N] FILE|DIR`: the snapshot as a stream of
// Redis commands that `redis-cli --pipe` loads.

import (
	"bufio"
	"fmt"
	"io"
	"strconv"

	"github.com/cairn-db/cairn/snapshot"
)

// exportBatch is the most elements (pairs) one command carries.
const exportBatch = 512

func exportUsage(w io.Writer) {
	fmt.Fprintf(w, `Usage: %[1]s export --format resp [--db N] FILE|DIR

Writes the snapshot to stdout as Redis commands in RESP, which
"redis-cli --pipe" sends to a server:

  %[1]s export --format resp ./data | redis-cli --pipe

A SELECT whenever the database changes, then per key SET, RPUSH, SADD,
HSET or ZADD (at most %[4]d elements a command), then PEXPIREAT for a key
with an expiry. Keys already expired and empty collections are left out.
Scores are written so that they parse back to the same number. Load into
an empty database: a list or set already there would be appended to. A
summary goes to stderr.

%[2]s

Flags:
  --format resp  the output format (only resp for now; required)
  --db N         only database N (default: all)

%[3]s
`, progName, snapPathHelp, statusHelp, exportBatch)
}

// respWriter writes commands in RESP.
type respWriter struct {
	w        *bufio.Writer
	commands int
}

func (rw *respWriter) command(args ...[]byte) {
	rw.commands++
	rw.w.WriteString("*" + strconv.Itoa(len(args)) + "\r\n")
	for _, a := range args {
		rw.w.WriteString("$" + strconv.Itoa(len(a)) + "\r\n")
		rw.w.Write(a)
		rw.w.WriteString("\r\n")
	}
}

func runExport(args []string, stdout, stderr io.Writer) int {
	const cmd = "export"
	fs := newFlags(cmd)
	format := fs.String("format", "", "")
	db := fs.Int("db", -1, "")
	pos, err := parse(fs, args, stdout, exportUsage)
	if err != nil {
		return parseStatus(err, stderr, cmd)
	}
	arg, st := oneArg(pos, stderr, cmd, "FILE|DIR")
	if st != exitOK {
		return st
	}
	switch {
	case *format == "":
		return usageError(stderr, cmd, "missing --format (resp)")
	case *format != "resp":
		return usageError(stderr, cmd, "unknown --format %q (resp)", *format)
	case badDB(*db):
		return usageError(stderr, cmd, "--db must be a database number, not %d", *db)
	}
	var damaged bool
	r, st := openStatus(arg, stderr, &damaged)
	if r == nil {
		return st
	}
	defer r.Close()
	rw := &respWriter{w: bufio.NewWriterSize(stdout, 256<<10)}
	cur := -1
	var keys, expired, empty int
	var it snapshot.Elems
	var argv [][]byte
	err = readEntries(r, stderr, func(e *snapshot.Entry) error {
		if *db >= 0 && e.DB != *db {
			return nil
		}
		if ms, ok := ttlMillis(e.ExpireAt); ok && ms <= 0 {
			expired++
			return nil
		}
		if e.Type == snapshot.TypeString {
			if e.DB != cur {
				cur = e.DB
				rw.command([]byte("SELECT"), []byte(strconv.Itoa(cur)))
			}
			rw.command([]byte("SET"), e.Key, e.Value)
		} else {
			if err := it.Reset(e.Type, e.Value); err != nil {
				return valueError(r, e, err)
			}
			if it.Len() == 0 {
				if err := it.Err(); err != nil {
					return valueError(r, e, err)
				}
				empty++
				return nil
			}
			if e.DB != cur {
				cur = e.DB
				rw.command([]byte("SELECT"), []byte(strconv.Itoa(cur)))
			}
			name := map[snapshot.Type]string{snapshot.TypeList: "RPUSH", snapshot.TypeSet: "SADD",
				snapshot.TypeHash: "HSET", snapshot.TypeZSet: "ZADD"}[e.Type]
			argv = append(argv[:0], []byte(name), e.Key)
			n := 0
			for {
				a, b, score, ok := it.Next()
				if !ok {
					break
				}
				switch e.Type {
				case snapshot.TypeHash:
					argv = append(argv, a, b)
				case snapshot.TypeZSet:
					argv = append(argv, []byte(formatScore(score)), a)
				default:
					argv = append(argv, a)
				}
				if n++; n == exportBatch {
					rw.command(argv...)
					argv, n = argv[:2], 0
				}
			}
			if err := it.Err(); err != nil {
				// Commands for part of the value are out: say so.
				return valueError(r, e, err)
			}
			if n > 0 {
				rw.command(argv...)
			}
		}
		if e.ExpireAt != 0 {
			rw.command([]byte("PEXPIREAT"), e.Key, []byte(strconv.FormatInt(e.ExpireAt, 10)))
		}
		keys++
		return nil
	})
	if ferr := rw.w.Flush(); ferr != nil && err == nil {
		return failure(stderr, ferr)
	}
	if err != nil {
		return readStatus(err, stderr)
	}
	fmt.Fprintf(stderr, "%s: exported %d keys from %s in %d commands", progName, keys, r.Path, rw.commands)
	if expired > 0 || empty > 0 {
		fmt.Fprintf(stderr, " (left out: %d expired keys, %d empty collections)", expired, empty)
	}
	fmt.Fprintln(stderr)
	if damaged {
		return exitDamaged
	}
	return exitOK
}
