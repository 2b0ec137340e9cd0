package main

// What the snapshot subcommands (info, verify, keys, get, stats, export)
// share: finding the snapshot FILE|DIR stands for, reading its entries
// with progress, and showing keys, values and TTLs.

import (
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cairn-db/cairn/snapshot"
	"github.com/cairn-db/cairn/vfs"
)

// snapFS is the filesystem the snapshot subcommands read.
var snapFS vfs.FS = vfs.Default

// now is the time TTLs are measured from (a variable for tests).
var now = time.Now

// progressMin is the file size from which reading reports progress on
// stderr (a variable for tests).
var progressMin int64 = 64 << 20

// snapSource is what FILE|DIR stands for.
type snapSource struct {
	// files are the snapshot files to consider, newest (largest LSN)
	// first: the one file given, or those of the directory.
	files []string
	// dataDir is the data directory whose wal/ holds the log that
	// continues the snapshots ("" when a file was given).
	dataDir string
	// temps are leftover temporary files of interrupted snapshots.
	temps []string
}

// errNoSnapshot reports a directory that holds no snapshot.
var errNoSnapshot = errors.New("holds no snapshot (no snapshots/ directory, no NNNNNNNNNNNN.snap file)")

// findSnapshots resolves FILE|DIR: a .snap file; a data directory (its
// snapshots/ subdirectory); or a snapshots directory itself (the data
// directory is then its parent, if the parent holds a wal/ directory).
func findSnapshots(arg string) (*snapSource, error) {
	fi, err := snapFS.Stat(arg)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return &snapSource{files: []string{arg}}, nil
	}
	src := &snapSource{}
	dir := filepath.Clean(arg)
	if fi, err := snapFS.Stat(filepath.Join(dir, "snapshots")); err == nil && fi.IsDir() {
		src.dataDir, dir = dir, filepath.Join(dir, "snapshots")
	} else if parent := filepath.Dir(dir); parent != dir {
		if fi, err := snapFS.Stat(filepath.Join(parent, "wal")); err == nil && fi.IsDir() {
			src.dataDir = parent
		}
	}
	names, err := snapFS.List(dir)
	if err != nil {
		return nil, err
	}
	type named struct {
		path string
		lsn  uint64
	}
	var snaps []named
	for _, n := range names {
		if lsn, ok := snapshot.ParseFileName(n); ok {
			snaps = append(snaps, named{filepath.Join(dir, n), lsn})
		} else if strings.HasSuffix(n, ".snap.tmp") {
			src.temps = append(src.temps, filepath.Join(dir, n))
		}
	}
	if len(snaps) == 0 {
		return nil, fmt.Errorf("%s %w", arg, errNoSnapshot)
	}
	sort.Slice(snaps, func(i, j int) bool { return snaps[i].lsn > snaps[j].lsn })
	for _, s := range snaps {
		src.files = append(src.files, s.path)
	}
	return src, nil
}

// openNewest opens the newest snapshot of src that opens (its header,
// index and footer are sound), as the server would load it, and reports
// newer ones that are damaged on stderr. damaged is true if one was.
func openNewest(src *snapSource, stderr io.Writer) (r *snapshot.Reader, damaged bool, err error) {
	var first error
	for _, path := range src.files {
		r, err := snapshot.Open(snapFS, path)
		if err == nil {
			if damaged {
				fmt.Fprintf(stderr, "%s: using %s, the newest snapshot that opens\n", progName, path)
			}
			return r, damaged, nil
		}
		if !errors.Is(err, snapshot.ErrCorrupt) {
			return nil, damaged, err
		}
		damaged = true
		fmt.Fprintf(stderr, "%s: %v\n", progName, err)
		if first == nil {
			first = err
		}
	}
	return nil, true, first
}

// openStatus opens the snapshot FILE|DIR stands for, for the commands
// that read one. On failure it reports on stderr and returns the exit
// status; damage in a newer snapshot is reported and sets *damaged.
func openStatus(arg string, stderr io.Writer, damaged *bool) (*snapshot.Reader, int) {
	src, err := findSnapshots(arg)
	if err != nil {
		return nil, failure(stderr, err)
	}
	r, dmg, err := openNewest(src, stderr)
	*damaged = *damaged || dmg
	if err != nil {
		if errors.Is(err, snapshot.ErrCorrupt) {
			return nil, exitDamaged // already reported
		}
		return nil, failure(stderr, err)
	}
	return r, exitOK
}

// readEntries calls fn for every entry of r, block by block, in file
// order, reporting progress on stderr for large files. It stops at the
// first damage (a *snapshot.CorruptError) or at fn's error.
func readEntries(r *snapshot.Reader, stderr io.Writer, fn func(e *snapshot.Entry) error) error {
	var buf []byte
	var e snapshot.Entry
	blocks := r.Index.Blocks
	progress := r.Size >= progressMin && len(blocks) > 0
	shown := 0 // tenths of the file reported
	for i, bl := range blocks {
		raw, err := r.Block(i, buf)
		if err != nil {
			return err
		}
		buf = raw
		it := snapshot.NewEntries(raw)
		for it.Next(&e) {
			if err := fn(&e); err != nil {
				return err
			}
		}
		if err := it.Err(); err != nil {
			return &snapshot.CorruptError{File: r.Path, Offset: bl.Offset, Reason: fmt.Sprintf("block %d: %v", i, err)}
		}
		if progress {
			if tenth := (i + 1) * 10 / len(blocks); tenth > shown {
				shown = tenth
				fmt.Fprintf(stderr, "%s: reading %s: %d%% (%d of %d blocks)\n", progName, r.Path, tenth*10, i+1, len(blocks))
			}
		}
	}
	return nil
}

// valueError is damage in one entry's value, placed in the file.
func valueError(r *snapshot.Reader, e *snapshot.Entry, err error) error {
	return fmt.Errorf("snapshot %s: db %d key %s: %w", r.Path, e.DB, quote(e.Key), err)
}

// readStatus turns readEntries' error into an exit status.
func readStatus(err error, stderr io.Writer) int {
	fmt.Fprintf(stderr, "%s: %v\n", progName, err)
	if errors.Is(err, snapshot.ErrCorrupt) {
		return exitDamaged
	}
	return exitError
}

// elemCount is the number of elements of e's value (1 for a string), and
// whether the value decodes.
func elemCount(e *snapshot.Entry) (int, error) {
	return snapshot.CheckValue(e.Type, e.Value)
}

// quote shows b as redis-cli shows a bulk string: in double quotes, with
// \n \r \t \a \b \" \\ escaped and other bytes outside printable ASCII as
// \xHH.
func quote(b []byte) string {
	var s strings.Builder
	s.WriteByte('"')
	for _, c := range b {
		switch c {
		case '\\', '"':
			s.WriteByte('\\')
			s.WriteByte(c)
		case '\n':
			s.WriteString(`\n`)
		case '\r':
			s.WriteString(`\r`)
		case '\t':
			s.WriteString(`\t`)
		case '\a':
			s.WriteString(`\a`)
		case '\b':
			s.WriteString(`\b`)
		default:
			if c >= ' ' && c <= '~' {
				s.WriteByte(c)
			} else {
				fmt.Fprintf(&s, `\x%02x`, c)
			}
		}
	}
	s.WriteByte('"')
	return s.String()
}

// keyCell shows a key in a table: as is when it is printable ASCII without
// spaces or quotes, else quoted.
func keyCell(b []byte) string {
	for _, c := range b {
		if c <= ' ' || c > '~' || c == '"' || c == '\\' {
			return quote(b)
		}
	}
	if len(b) == 0 {
		return `""`
	}
	return string(b)
}

// formatScore formats a sorted-set score so that Redis parses it back to
// the same float64: the shortest round-trip form, "inf" and "-inf".
func formatScore(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// ttlMillis is the time to live of an entry expiring at expireAt (Unix
// ms; 0: never): ok false when it never expires; negative when it has
// already expired.
func ttlMillis(expireAt int64) (ms int64, ok bool) {
	if expireAt == 0 {
		return 0, false
	}
	return expireAt - now().UnixMilli(), true
}

// ttlCell shows an entry's TTL: "-" for none, "expired", or a duration.
func ttlCell(expireAt int64) string {
	ms, ok := ttlMillis(expireAt)
	switch {
	case !ok:
		return "-"
	case ms <= 0:
		return "expired"
	case ms < 1000:
		return fmt.Sprintf("%dms", ms)
	}
	return (time.Duration(ms/1000) * time.Second).String()
}

// badDB reports a bad --db N (-1 means all databases).
func badDB(n int) bool { return n < -1 || n > 1<<20 }

// oneArg returns the single positional argument, named what.
func oneArg(pos []string, stderr io.Writer, cmd, what string) (string, int) {
	switch len(pos) {
	case 0:
		return "", usageError(stderr, cmd, "missing %s", what)
	case 1:
		return pos[0], exitOK
	default:
		return "", usageError(stderr, cmd, "too many arguments: %s", strings.Join(pos[1:], " "))
	}
}

// snapPathHelp is the FILE|DIR paragraph every snapshot command's usage
// shares.
const snapPathHelp = `FILE|DIR is a snapshot file (NNNNNNNNNNNN.snap), a server's data directory
(its snapshots are DIR/snapshots/) or a snapshots directory. Of a directory's
snapshots the newest that opens is read, as the server would load it.`

// statusHelp is the exit status paragraph of the reading commands.
const statusHelp = `Exit status: 0 ok, 1 damage found (in the snapshot read, or in a newer one
skipped; a format version this build cannot read counts as damage), 2 usage
error, 3 could not read (missing file or directory, I/O error).`

// writeCols prints rows as columns two spaces apart, aligned as align
// says, a letter per column: 'l' left, 'r' right.
func writeCols(w io.Writer, rows [][]string, align string) {
	width := make([]int, len(align))
	for _, row := range rows {
		for i, cell := range row {
			width[i] = max(width[i], len(cell))
		}
	}
	for _, row := range rows {
		var b strings.Builder
		for i, cell := range row {
			if i > 0 {
				b.WriteString("  ")
			}
			if align[i] == 'l' {
				fmt.Fprintf(&b, "%-*s", width[i], cell)
			} else {
				fmt.Fprintf(&b, "%*s", width[i], cell)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}
