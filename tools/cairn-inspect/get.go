package main

// `get [--db N] FILE|DIR KEY`: one value, as redis-cli shows it.

import (
	"bytes"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/cairn-db/cairn/snapshot"
)

func getUsage(w io.Writer) {
	fmt.Fprintf(w, `Usage: %[1]s get [--db N] [--json] FILE|DIR KEY

Prints the value of KEY as redis-cli shows it: a string quoted; a list, set,
hash (field, value, ...) or sorted set (member, score, ...) numbered, one
element per line; "(nil)" if the snapshot does not hold KEY. Sorted-set
scores are printed so that they parse back to the same number. The key's
type and TTL go to stderr.

%[2]s

Flags:
  --db N        the database (default 0)
  --json        print one JSON document instead of text

%[3]s
`, progName, snapPathHelp, statusHelp)
}

// getReport is what get --json prints.
type getReport struct {
	DB    int    `json:"db"`
	Key   string `json:"key"`
	Found bool   `json:"found"`
	Type  string `json:"type,omitempty"`
	// ExpireAt and TTL as for keys.
	ExpireAt int64  `json:"expire_at_ms,omitempty"`
	TTL      *int64 `json:"ttl_ms,omitempty"`
	// Value is a string's value, or a collection's elements (for a hash
	// field, value, ...; for a sorted set member, score, ...).
	Value any `json:"value,omitempty"`
}

func runGet(args []string, stdout, stderr io.Writer) int {
	const cmd = "get"
	fs := newFlags(cmd)
	db := fs.Int("db", 0, "")
	asJSON := fs.Bool("json", false, "")
	pos, err := parse(fs, args, stdout, getUsage)
	if err != nil {
		return parseStatus(err, stderr, cmd)
	}
	switch {
	case len(pos) < 2:
		return usageError(stderr, cmd, "want FILE|DIR and KEY")
	case len(pos) > 2:
		return usageError(stderr, cmd, "too many arguments: %s", pos[2:])
	case *db < 0 || badDB(*db):
		return usageError(stderr, cmd, "--db must be a database number, not %d", *db)
	}
	key := []byte(pos[1])
	var damaged bool
	r, st := openStatus(pos[0], stderr, &damaged)
	if r == nil {
		return st
	}
	defer r.Close()
	rep := &getReport{DB: *db, Key: pos[1]}
	var elems []string // quoted, for text
	var values []string
	errFound := fmt.Errorf("found")
	err = readEntries(r, stderr, func(e *snapshot.Entry) error {
		if e.DB != *db || !bytes.Equal(e.Key, key) {
			return nil
		}
		rep.Found, rep.Type, rep.ExpireAt = true, e.Type.String(), e.ExpireAt
		if ms, ok := ttlMillis(e.ExpireAt); ok {
			rep.TTL = &ms
		}
		if e.Type == snapshot.TypeString {
			rep.Value = jsonString(e.Value)
			elems = append(elems, quote(e.Value))
			return errFound
		}
		it, err := snapshot.OpenCollection(e.Type, e.Value)
		if err != nil {
			return valueError(r, e, err)
		}
		values = []string{}
		for {
			a, b, score, ok := it.Next()
			if !ok {
				break
			}
			elems = append(elems, quote(a))
			values = append(values, jsonString(a))
			switch e.Type {
			case snapshot.TypeHash:
				elems = append(elems, quote(b))
				values = append(values, jsonString(b))
			case snapshot.TypeZSet:
				s := formatScore(score)
				elems = append(elems, quote([]byte(s)))
				values = append(values, s)
			}
		}
		if err := it.Err(); err != nil {
			return valueError(r, e, err)
		}
		rep.Value = values
		return errFound
	})
	if err != nil && err != errFound {
		return readStatus(err, stderr)
	}
	if *asJSON {
		if err := writeJSON(stdout, rep); err != nil {
			return failure(stderr, err)
		}
	} else {
		switch {
		case !rep.Found:
			fmt.Fprintln(stdout, "(nil)")
		case rep.Type == "string":
			fmt.Fprintln(stdout, elems[0])
		case len(elems) == 0:
			fmt.Fprintln(stdout, "(empty array)")
		default:
			width := len(fmt.Sprint(len(elems)))
			for i, el := range elems {
				fmt.Fprintf(stdout, "%*d) %s\n", width, i+1, el)
			}
		}
		if rep.Found {
			fmt.Fprintf(stderr, "%s: db %d key %s: %s, TTL %s\n", progName, *db, quote(key), rep.Type, ttlCell(rep.ExpireAt))
		}
	}
	if damaged {
		return exitDamaged
	}
	return exitOK
}

// jsonString is b for JSON: as is when valid UTF-8, else quoted as
// redis-cli would show it.
func jsonString(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return quote(b)
}
