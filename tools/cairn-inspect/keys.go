package main

// `keys [--db N] [--pattern GLOB] FILE|DIR`: the keys of a snapshot that
// match a Redis glob, with type, TTL and size.

import (
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/cairn-db/cairn/internal/glob"
	"github.com/cairn-db/cairn/snapshot"
)

func keysUsage(w io.Writer) {
	fmt.Fprintf(w, `Usage: %[1]s keys [--db N] [--pattern GLOB] [--json] FILE|DIR

Lists the keys of a snapshot that match GLOB (Redis's KEYS patterns: * ? [a-z]
[^a] and \ escapes; default *), in file order: database, key, type, TTL
(from the key's absolute expiry time to now: "-" none, "expired" if past),
elements (1 for a string; LLEN, SCARD, HLEN, ZCARD for the others) and
bytes (of the encoded value).

%[2]s

Flags:
  --db N          only database N (default: all)
  --pattern GLOB  only keys matching GLOB (default *)
  --json          print one JSON document instead of text

%[3]s
`, progName, snapPathHelp, statusHelp)
}

// keyInfo is one key as keys lists it.
type keyInfo struct {
	DB  int    `json:"db"`
	Key string `json:"key"`
	// KeyHex is the key in hex when it is not valid UTF-8 (Key is then
	// lossy).
	KeyHex string `json:"key_hex,omitempty"`
	Type   string `json:"type"`
	// ExpireAt is the absolute expiry time (Unix ms), TTL the time left
	// (negative: expired); both absent for a key without expiry.
	ExpireAt int64  `json:"expire_at_ms,omitempty"`
	TTL      *int64 `json:"ttl_ms,omitempty"`
	Elements int    `json:"elements"`
	Bytes    int    `json:"bytes"`
}

func newKeyInfo(e *snapshot.Entry, elems int) keyInfo {
	k := keyInfo{DB: e.DB, Key: string(e.Key), Type: e.Type.String(), ExpireAt: e.ExpireAt, Elements: elems, Bytes: len(e.Value)}
	if !utf8.Valid(e.Key) {
		k.KeyHex = fmt.Sprintf("%x", e.Key)
	}
	if ms, ok := ttlMillis(e.ExpireAt); ok {
		k.TTL = &ms
	}
	return k
}

func runKeys(args []string, stdout, stderr io.Writer) int {
	const cmd = "keys"
	fs := newFlags(cmd)
	db := fs.Int("db", -1, "")
	pattern := fs.String("pattern", "*", "")
	asJSON := fs.Bool("json", false, "")
	pos, err := parse(fs, args, stdout, keysUsage)
	if err != nil {
		return parseStatus(err, stderr, cmd)
	}
	arg, st := oneArg(pos, stderr, cmd, "FILE|DIR")
	if st != exitOK {
		return st
	}
	if badDB(*db) {
		return usageError(stderr, cmd, "--db must be a database number, not %d", *db)
	}
	var damaged bool
	r, st := openStatus(arg, stderr, &damaged)
	if r == nil {
		return st
	}
	defer r.Close()
	pat := []byte(*pattern)
	all := *pattern == "*"
	rows := [][]string{{"DB", "KEY", "TYPE", "TTL", "ELEMENTS", "BYTES"}}
	var list []keyInfo
	n := 0
	err = readEntries(r, stderr, func(e *snapshot.Entry) error {
		if *db >= 0 && e.DB != *db || !all && !glob.Match(pat, e.Key) {
			return nil
		}
		elems, err := elemCount(e)
		if err != nil {
			return valueError(r, e, err)
		}
		n++
		if *asJSON {
			list = append(list, newKeyInfo(e, elems))
			return nil
		}
		rows = append(rows, []string{fmt.Sprint(e.DB), keyCell(e.Key), e.Type.String(), ttlCell(e.ExpireAt), fmt.Sprint(elems), fmt.Sprint(len(e.Value))})
		// Stream big listings: print the table in chunks.
		if len(rows) > 4096 {
			writeKeyRows(stdout, rows)
			rows = rows[:1]
		}
		return nil
	})
	if *asJSON {
		if list == nil {
			list = []keyInfo{}
		}
		if jerr := writeJSON(stdout, map[string]any{"file": r.Path, "keys": list}); jerr != nil {
			return failure(stderr, jerr)
		}
	} else {
		if len(rows) > 1 {
			writeKeyRows(stdout, rows)
		}
		fmt.Fprintf(stdout, "%d keys\n", n)
	}
	if err != nil {
		return readStatus(err, stderr)
	}
	if damaged {
		return exitDamaged
	}
	return exitOK
}

// writeKeyRows prints a chunk of the keys table (rows[0] is the header).
func writeKeyRows(w io.Writer, rows [][]string) {
	writeCols(w, rows, "rlllrr")
}
