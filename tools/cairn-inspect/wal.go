package main

// The wal subcommands: `wal DIR` describes the write-ahead log, `wal dump
// DIR` (or `wal --records DIR`) prints its records, `wal repair DIR` cuts
// it at its first damage. Only repair writes, and only without --dry-run.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cairn-db/cairn/engine"
	"github.com/cairn-db/cairn/vfs"
	"github.com/cairn-db/cairn/wal"
)

// walFS is the filesystem the wal subcommands read (and repair writes).
var walFS vfs.FS = vfs.Default

func walHelp(w io.Writer, args []string) bool {
	switch {
	case len(args) == 0:
		walUsage(w)
	case len(args) == 1 && args[0] == "dump":
		walDumpUsage(w)
	case len(args) == 1 && args[0] == "repair":
		walRepairUsage(w)
	default:
		return false
	}
	return true
}

func walUsage(w io.Writer) {
	fmt.Fprintf(w, `Usage: %[1]s wal [--json] [--records [--limit N]] DIR
       %[1]s wal dump [--json] [--limit N] DIR
       %[1]s wal repair [--dry-run] [--json] DIR

Describes the write-ahead log without changing it: a table of its segments
(file, first and last LSN, records, frames, bytes, status), the totals and
LSN range, and the first damage, if any: a torn tail (the partial last write
of a crash, which the server cuts away by itself at start-up) or corruption
(damage with valid data after it, on which the server refuses to start),
with its file and offset and what "wal repair" would remove. Every record
is decoded as the server would replay it.

DIR is a server's data directory (the log is DIR/wal/) or the log directory
itself (a directory named "dump" or "repair" is written ./dump, ./repair).

Flags:
  --json        print one JSON document instead of text
  --records     print every record first: its LSN and its effects, one line
                per effect (what "wal dump" does)
  --limit N     with --records, print at most N records (0: all)

Exit status: 0 sound, 1 damaged (torn tail, corruption or a record that
does not decode), 2 usage error, 3 the log could not be read.

Subcommands (see "%[1]s help wal SUBCOMMAND"):
  dump          print the records
  repair        cut a damaged log at its first damage
`, progName)
}

func walDumpUsage(w io.Writer) {
	fmt.Fprintf(w, `Usage: %[1]s wal dump [--json] [--limit N] DIR

Prints every record of the log's valid prefix, in order: its LSN and its
decoded effects, one line per effect, then what "%[1]s wal DIR"
prints. It is "%[1]s wal --records DIR". The log is not changed.

Flags:
  --json        print one JSON document instead of text
  --limit N     print at most N records (0: all); the rest are still read
                and checked

Exit status: as for "%[1]s wal".
`, progName)
}

func walRepairUsage(w io.Writer) {
	fmt.Fprintf(w, `Usage: %[1]s wal repair [--dry-run] [--json] DIR

Cuts the log at its first damage, whatever its kind, like
redis-check-aof --fix: the damaged segment is truncated at the damage
(removed, if the damage is in its header) and every later segment is
removed; the result is fsynced. It then says exactly what it removed (file,
offset, bytes) and how many records were lost. Records from the damage on
are lost: for a torn tail that is only the write a crash interrupted; for
corruption it includes records that had been acknowledged. A sound log is
left alone.

Stop the server first: nothing stops this command from cutting a log that a
running server is writing.

Flags:
  --dry-run     change nothing; print what would be removed
  --json        print one JSON document instead of text

Exit status: 0 the log is sound (nothing to do, or repaired), 1 damaged
(with --dry-run, or if damage remains), 2 usage error, 3 the log could not
be read or repaired (what was removed before the failure is printed).
`, progName)
}

// runWAL runs `wal ARGS`.
func runWAL(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "dump":
			return walShow("wal dump", args[1:], true, stdout, stderr)
		case "repair":
			return walRepair(args[1:], stdout, stderr)
		case "help":
			if !walHelp(stdout, args[1:]) {
				return usageError(stderr, "wal", "no help for %q", strings.Join(args[1:], " "))
			}
			return exitOK
		}
	}
	return walShow("wal", args, false, stdout, stderr)
}

// oneDir returns the single positional argument DIR.
func oneDir(pos []string, stderr io.Writer, cmd string) (string, int) {
	switch len(pos) {
	case 0:
		return "", usageError(stderr, cmd, "missing DIR")
	case 1:
		return pos[0], exitOK
	default:
		return "", usageError(stderr, cmd, "too many arguments: %s", strings.Join(pos[1:], " "))
	}
}

// errNoWAL reports a directory that holds no log.
var errNoWAL = errors.New("holds no write-ahead log (no wal/ directory, no segment files)")

// walDir returns the log directory DIR stands for: DIR/wal if it exists,
// else DIR itself if it holds segment files or is named "wal".
func walDir(dir string) (string, error) {
	fi, err := walFS.Stat(dir)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("%s is not a directory", dir)
	}
	sub := filepath.Join(dir, "wal")
	if fi, err := walFS.Stat(sub); err == nil && fi.IsDir() {
		return sub, nil
	}
	names, err := walFS.List(dir)
	if err != nil {
		return "", err
	}
	for _, n := range names {
		if isSegmentName(n) {
			return filepath.Clean(dir), nil
		}
	}
	if filepath.Base(filepath.Clean(dir)) == "wal" {
		return filepath.Clean(dir), nil
	}
	return "", fmt.Errorf("%s %w", dir, errNoWAL)
}

// isSegmentName reports whether name looks like a segment file (digits,
// ".log"), as wal names them.
func isSegmentName(name string) bool {
	digits, ok := strings.CutSuffix(name, ".log")
	if !ok || len(digits) < 12 || len(digits) > 20 {
		return false
	}
	for _, c := range []byte(digits) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// walReport is what `wal` prints: the JSON document as is, or as text.
type walReport struct {
	// Dir is the log directory.
	Dir string `json:"dir"`
	// Sound: no damage and every record decodes.
	Sound    bool            `json:"sound"`
	Segments []segmentReport `json:"segments"`
	// Records, FirstLSN, LastLSN describe the valid prefix (before any
	// damage); Bytes is the size of all segment files.
	Records  int    `json:"records"`
	FirstLSN uint64 `json:"first_lsn"`
	LastLSN  uint64 `json:"last_lsn"`
	Bytes    int64  `json:"bytes"`
	// CleanClose: the valid prefix ends with the mark a clean Close writes.
	CleanClose bool `json:"clean_close"`
	// Damage is the first damage, or nil; Repair is what `wal repair`
	// would do about it (nil when there is none).
	Damage *damageReport `json:"damage"`
	Repair *repairPlan   `json:"repair"`
	// Undecodable counts records of the valid prefix that do not decode
	// as effects; FirstUndecodable is the first of them.
	Undecodable      int         `json:"undecodable_records"`
	FirstUndecodable *dumpRecord `json:"first_undecodable,omitempty"`
	// Dump holds the records printed with --records --json; DumpLimited
	// says that --limit left some out.
	Dump        []dumpRecord `json:"dump,omitempty"`
	DumpLimited bool         `json:"dump_limited,omitempty"`
}

// segmentReport is one segment file (wal.SegmentInfo, for JSON).
type segmentReport struct {
	File       string `json:"file"`
	FirstLSN   uint64 `json:"first_lsn"`
	LastLSN    uint64 `json:"last_lsn"`
	Records    int    `json:"records"`
	Frames     int    `json:"frames"`
	Compressed int    `json:"compressed_frames"`
	Skipped    uint64 `json:"skipped_lsns"`
	Bytes      int64  `json:"bytes"`
	// Unwritten counts the prepared zeros after the last frame of the
	// log's last segment (included in Bytes).
	Unwritten  int64 `json:"unwritten_bytes"`
	CleanClose bool  `json:"clean_close"`
	Damaged    bool  `json:"damaged"`
}

// damageReport is wal.Damage, for JSON.
type damageReport struct {
	// Kind is "torn-tail" or "corruption".
	Kind        string `json:"kind"`
	File        string `json:"file"`
	Offset      int64  `json:"offset"`
	Reason      string `json:"reason"`
	ExpectedLSN uint64 `json:"expected_lsn"`
	// Bytes is everything from the damage to the end of the log.
	Bytes int64 `json:"bytes"`
	// FramesAfter and RecordsAfter count the checksum-valid frames, and
	// their records, found after the damage.
	FramesAfter  int  `json:"valid_frames_after"`
	RecordsAfter int  `json:"records_after"`
	Unverified   bool `json:"unverified"`
}

// repairPlan is what `wal repair` removes (or removed).
type repairPlan struct {
	Cuts  []cutReport `json:"cuts"`
	Bytes int64       `json:"bytes"`
	// RecordsLost counts the records in checksum-valid frames removed: a
	// lower bound (the damaged frame's own cannot be counted).
	RecordsLost int `json:"records_lost_at_least"`
	// FromLSN is the first LSN lost; LastLSN the last the cut log holds.
	FromLSN uint64 `json:"from_lsn"`
	LastLSN uint64 `json:"last_lsn"`
}

// cutReport is one file repair changes (wal.Cut, for JSON).
type cutReport struct {
	File    string `json:"file"`
	Offset  int64  `json:"offset"`
	Bytes   int64  `json:"bytes"`
	Removed bool   `json:"removed"`
}

// dumpRecord is one record as --records shows it.
type dumpRecord struct {
	LSN     uint64   `json:"lsn"`
	Bytes   int      `json:"bytes"`
	Effects []string `json:"effects"`
	Error   string   `json:"error,omitempty"`
}

// walShow runs `wal` (and `wal dump`, with dump set).
func walShow(cmd string, args []string, dump bool, stdout, stderr io.Writer) int {
	fs := newFlags(cmd)
	asJSON := fs.Bool("json", false, "")
	records := fs.Bool("records", false, "")
	limit := fs.Int("limit", 0, "")
	help := walUsage
	if dump {
		help = walDumpUsage
	}
	pos, err := parse(fs, args, stdout, help)
	if err != nil {
		return parseStatus(err, stderr, cmd)
	}
	dirArg, st := oneDir(pos, stderr, cmd)
	if st != exitOK {
		return st
	}
	if *limit < 0 {
		return usageError(stderr, cmd, "--limit must be 0 (all) or more, not %d", *limit)
	}
	dump = dump || *records
	if !dump && *limit != 0 {
		return usageError(stderr, cmd, "--limit needs --records (or wal dump)")
	}
	dir, err := walDir(dirArg)
	if err != nil {
		return failure(stderr, err)
	}

	rep := &walReport{Dir: dir}
	shown := 0
	fn := func(lsn uint64, rec []byte) error {
		dr := dumpRecord{LSN: lsn, Bytes: len(rec)}
		effects, derr := engine.DecodeEffects(rec)
		if derr != nil {
			dr.Error = derr.Error()
			rep.Undecodable++
			if rep.FirstUndecodable == nil {
				first := dr
				rep.FirstUndecodable = &first
			}
		}
		if !dump {
			return nil
		}
		if *limit > 0 && shown >= *limit {
			rep.DumpLimited = true
			return nil
		}
		shown++
		for _, ef := range effects {
			dr.Effects = append(dr.Effects, ef.String())
		}
		if *asJSON {
			if dr.Effects == nil {
				dr.Effects = []string{}
			}
			rep.Dump = append(rep.Dump, dr)
			return nil
		}
		writeRecord(stdout, dr)
		return nil
	}
	info, err := wal.Scan(walFS, dir, fn)
	if err != nil {
		return failure(stderr, err)
	}
	fillReport(rep, info)

	if *asJSON {
		if err := writeJSON(stdout, rep); err != nil {
			return failure(stderr, err)
		}
	} else {
		if dump {
			if rep.DumpLimited {
				fmt.Fprintf(stdout, "... %d more not shown (--limit %d)\n", rep.Records-shown, *limit)
			}
			fmt.Fprintln(stdout)
		}
		writeWALText(stdout, rep, dirArg)
	}
	if !rep.Sound {
		return exitDamaged
	}
	return exitOK
}

// writeRecord prints one record: a line per effect, each led by its LSN.
func writeRecord(w io.Writer, dr dumpRecord) {
	switch {
	case dr.Error != "":
		fmt.Fprintf(w, "%8d  ! undecodable record of %d bytes: %s\n", dr.LSN, dr.Bytes, dr.Error)
	case len(dr.Effects) == 0:
		fmt.Fprintf(w, "%8d  (no effects)\n", dr.LSN)
	}
	for _, ef := range dr.Effects {
		fmt.Fprintf(w, "%8d  %s\n", dr.LSN, ef)
	}
}

// fillReport copies what Scan found into rep.
func fillReport(rep *walReport, info wal.ScanInfo) {
	rep.Records, rep.FirstLSN, rep.LastLSN, rep.Bytes = info.Records, info.FirstLSN, info.LastLSN, info.Bytes
	rep.Segments = []segmentReport{}
	for _, s := range info.Segments {
		rep.Segments = append(rep.Segments, segmentReport{
			File:       s.File,
			FirstLSN:   s.FirstLSN,
			LastLSN:    s.LastLSN,
			Records:    s.Records,
			Frames:     s.Frames,
			Compressed: s.Compressed,
			Skipped:    s.Skipped,
			Bytes:      s.Bytes,
			Unwritten:  s.Unwritten,
			CleanClose: s.Marked,
			Damaged:    s.Damaged,
		})
	}
	if d := info.Damage; d != nil {
		rep.Damage = newDamageReport(d)
		rep.Repair = planRepair(info)
	} else if n := len(info.Segments); n > 0 {
		rep.CleanClose = info.Segments[n-1].Marked
	}
	rep.Sound = rep.Damage == nil && rep.Undecodable == 0
}

func newDamageReport(d *wal.Damage) *damageReport {
	kind := "corruption"
	if d.Torn {
		kind = "torn-tail"
	}
	return &damageReport{
		Kind:         kind,
		File:         d.File,
		Offset:       d.Offset,
		Reason:       d.Reason,
		ExpectedLSN:  d.ExpectedLSN,
		Bytes:        d.Bytes,
		FramesAfter:  d.Frames,
		RecordsAfter: d.Records,
		Unverified:   d.Unverified,
	}
}

// planRepair says what wal.Repair would do with the log Scan described:
// cut the damaged segment at the damage (remove it, if the damage is in
// its header, at offset 0) and remove every later segment.
func planRepair(info wal.ScanInfo) *repairPlan {
	d := info.Damage
	p := &repairPlan{Cuts: []cutReport{}, RecordsLost: d.Records, FromLSN: d.ExpectedLSN, LastLSN: d.ExpectedLSN - min(d.ExpectedLSN, 1)}
	found := false
	for _, s := range info.Segments {
		switch {
		case s.File == d.File:
			found = true
			if d.Offset == 0 {
				p.Cuts = append(p.Cuts, cutReport{File: s.File, Bytes: s.Bytes, Removed: true})
			} else if d.Offset < s.Bytes {
				p.Cuts = append(p.Cuts, cutReport{File: s.File, Offset: d.Offset, Bytes: s.Bytes - d.Offset})
			}
		case found:
			p.Cuts = append(p.Cuts, cutReport{File: s.File, Bytes: s.Bytes, Removed: true})
		}
	}
	for _, c := range p.Cuts {
		p.Bytes += c.Bytes
	}
	return p
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeWALText prints rep for people. dirArg is DIR as given, for the
// repair command it suggests.
func writeWALText(w io.Writer, rep *walReport, dirArg string) {
	fmt.Fprintf(w, "WAL %s\n", rep.Dir)
	if len(rep.Segments) == 0 {
		fmt.Fprintf(w, "no segments: the log is empty\n")
		return
	}
	fmt.Fprintln(w)
	rows := [][]string{{"SEGMENT", "FIRST LSN", "LAST LSN", "RECORDS", "FRAMES", "BYTES", "STATUS"}}
	frames := 0
	for _, s := range rep.Segments {
		frames += s.Frames
		rows = append(rows, []string{filepath.Base(s.File), lsnCell(s.FirstLSN, s.Records), lsnCell(s.LastLSN, s.Records),
			fmt.Sprint(s.Records), fmt.Sprint(s.Frames), fmt.Sprint(s.Bytes), segmentStatus(rep, s)})
	}
	rows = append(rows, []string{"total", lsnCell(rep.FirstLSN, rep.Records), lsnCell(rep.LastLSN, rep.Records),
		fmt.Sprint(rep.Records), fmt.Sprint(frames), fmt.Sprint(rep.Bytes), ""})
	writeTable(w, rows)
	fmt.Fprintln(w)

	if rep.Records == 0 {
		fmt.Fprintf(w, "records: none\n")
	} else {
		fmt.Fprintf(w, "records: %d, LSN %d..%d\n", rep.Records, rep.FirstLSN, rep.LastLSN)
	}
	if rep.Undecodable > 0 {
		u := rep.FirstUndecodable
		fmt.Fprintf(w, "undecodable records: %d, the first at LSN %d: %s\n", rep.Undecodable, u.LSN, u.Error)
		fmt.Fprintf(w, "  the server cannot replay them, and \"wal repair\" does not remove them\n")
	}
	d := rep.Damage
	if d == nil {
		if rep.Undecodable > 0 {
			fmt.Fprintf(w, "status: DAMAGED (records that do not decode)\n")
		} else if rep.CleanClose {
			fmt.Fprintf(w, "status: sound, ends with a clean close\n")
		} else {
			fmt.Fprintf(w, "status: sound, without a clean-close mark at the end (the server crashed, or is running)\n")
		}
		return
	}
	base := filepath.Base(d.File)
	if d.Kind == "torn-tail" {
		fmt.Fprintf(w, "status: DAMAGED, torn tail in %s at offset %d\n", base, d.Offset)
	} else {
		fmt.Fprintf(w, "status: DAMAGED, CORRUPTION in %s at offset %d\n", base, d.Offset)
	}
	writeDamage(w, d)
	amount, records := lossPhrase(rep.Repair)
	fmt.Fprintf(w, "  repair:   \"%s wal repair %s\" would remove %s:\n", progName, dirArg, amount)
	fmt.Fprintf(w, "            %s\n", records)
	writeCuts(w, rep.Repair.Cuts, false)
}

// writeDamage describes d, indented under a status line.
func writeDamage(w io.Writer, d *damageReport) {
	fmt.Fprintf(w, "  file:     %s\n", d.File)
	if d.Offset == 0 {
		fmt.Fprintf(w, "  offset:   0 (the segment header), where LSN %d should start\n", d.ExpectedLSN)
	} else {
		fmt.Fprintf(w, "  offset:   %d, where LSN %d should start\n", d.Offset, d.ExpectedLSN)
	}
	fmt.Fprintf(w, "  reason:   %s\n", d.Reason)
	if d.FramesAfter > 0 {
		fmt.Fprintf(w, "  after it: %d checksum-valid frames holding %d records\n", d.FramesAfter, d.RecordsAfter)
	} else {
		fmt.Fprintf(w, "  after it: no checksum-valid frame\n")
	}
	switch {
	case d.Kind == "torn-tail":
		fmt.Fprintf(w, "  meaning:  the partial last write of a crash (nothing after it was ever fsynced);\n")
		fmt.Fprintf(w, "            the server cuts it away by itself at start-up\n")
	case d.Unverified:
		fmt.Fprintf(w, "  meaning:  corruption: the search for valid data after the damage gave up, so it\n")
		fmt.Fprintf(w, "            cannot be taken for a torn write; the server refuses to start\n")
	default:
		fmt.Fprintf(w, "  meaning:  corruption: data after the damage proves it had been fsynced;\n")
		fmt.Fprintf(w, "            the server refuses to start on this log\n")
	}
}

// lossPhrase says how much a repair removes: the bytes and first LSN,
// then what records they held.
func lossPhrase(p *repairPlan) (amount, records string) {
	amount = fmt.Sprintf("%d bytes, LSN %d on", p.Bytes, p.FromLSN)
	if p.RecordsLost == 0 {
		return amount, "the damaged frame only (its records, if any, cannot be counted)"
	}
	return amount, fmt.Sprintf("the damaged frame (its records cannot be counted) and %d records in valid frames after it", p.RecordsLost)
}

// writeCuts lists the files a repair changes (done: it changed them).
func writeCuts(w io.Writer, cuts []cutReport, done bool) {
	for _, c := range cuts {
		switch {
		case c.Removed && done:
			fmt.Fprintf(w, "    removed   %s (%d bytes)\n", c.File, c.Bytes)
		case c.Removed:
			fmt.Fprintf(w, "    remove    %s (%d bytes)\n", c.File, c.Bytes)
		case done:
			fmt.Fprintf(w, "    truncated %s at offset %d (%d bytes)\n", c.File, c.Offset, c.Bytes)
		default:
			fmt.Fprintf(w, "    truncate  %s at offset %d (%d bytes)\n", c.File, c.Offset, c.Bytes)
		}
	}
}

// writeTable prints rows as columns two spaces apart: the first column
// left-aligned, the last as is, the others (numbers) right-aligned.
func writeTable(w io.Writer, rows [][]string) {
	var width []int
	for _, row := range rows {
		for i, cell := range row {
			if i == len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], len(cell))
		}
	}
	for _, row := range rows {
		var b strings.Builder
		for i, cell := range row {
			switch {
			case i == 0:
				fmt.Fprintf(&b, "%-*s", width[i], cell)
			case i == len(row)-1:
				b.WriteString("  " + cell)
			default:
				fmt.Fprintf(&b, "  %*s", width[i], cell)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

// lsnCell is an LSN for the table: "-" where there are no records.
func lsnCell(lsn uint64, records int) string {
	if records == 0 {
		return "-"
	}
	return fmt.Sprint(lsn)
}

// segmentStatus is the STATUS cell of a segment.
func segmentStatus(rep *walReport, s segmentReport) string {
	d := rep.Damage
	if d != nil && s.File == d.File {
		if d.Kind == "torn-tail" {
			return fmt.Sprintf("torn tail at offset %d", d.Offset)
		}
		return fmt.Sprintf("CORRUPT at offset %d", d.Offset)
	}
	if s.Damaged {
		return "after the damage (not read)"
	}
	var notes []string
	notes = append(notes, "ok")
	if s.CleanClose {
		notes = append(notes, "clean close")
	}
	if s.Skipped > 0 {
		notes = append(notes, fmt.Sprintf("%d LSNs skipped (covered by a snapshot)", s.Skipped))
	}
	if s.Unwritten > 0 {
		notes = append(notes, fmt.Sprintf("%d bytes prepared, not yet written", s.Unwritten))
	}
	return strings.Join(notes, ", ")
}

// repairReport is what `wal repair --json` prints.
type repairReport struct {
	Dir    string `json:"dir"`
	DryRun bool   `json:"dry_run"`
	// Damage is what was found (nil: the log was sound, nothing done).
	Damage *damageReport `json:"damage"`
	// Repair is what was removed (or, with DryRun, would be).
	Repair *repairPlan `json:"repair"`
	// Sound reports the state of the log afterwards (with DryRun: as is).
	Sound bool `json:"sound"`
	// Records, FirstLSN, LastLSN describe the log afterwards.
	Records  int    `json:"records"`
	FirstLSN uint64 `json:"first_lsn"`
	LastLSN  uint64 `json:"last_lsn"`
	// Error is the failure that stopped the repair, if any.
	Error string `json:"error,omitempty"`
}

// walRepair runs `wal repair`.
func walRepair(args []string, stdout, stderr io.Writer) int {
	const cmd = "wal repair"
	fs := newFlags(cmd)
	dryRun := fs.Bool("dry-run", false, "")
	asJSON := fs.Bool("json", false, "")
	pos, err := parse(fs, args, stdout, walRepairUsage)
	if err != nil {
		return parseStatus(err, stderr, cmd)
	}
	dirArg, st := oneDir(pos, stderr, cmd)
	if st != exitOK {
		return st
	}
	dir, err := walDir(dirArg)
	if err != nil {
		return failure(stderr, err)
	}
	rep := &repairReport{Dir: dir, DryRun: *dryRun}
	out := func() int {
		if *asJSON {
			if err := writeJSON(stdout, rep); err != nil {
				return failure(stderr, err)
			}
		} else {
			writeRepairText(stdout, rep)
		}
		switch {
		case rep.Error != "":
			fmt.Fprintf(stderr, "%s: %s\n", progName, rep.Error)
			return exitError
		case !rep.Sound:
			return exitDamaged
		}
		return exitOK
	}

	if *dryRun {
		info, err := wal.Scan(walFS, dir, nil)
		if err != nil {
			return failure(stderr, err)
		}
		rep.Records, rep.FirstLSN, rep.LastLSN = info.Records, info.FirstLSN, info.LastLSN
		rep.Sound = info.Damage == nil
		if info.Damage != nil {
			rep.Damage = newDamageReport(info.Damage)
			rep.Repair = planRepair(info)
		}
		return out()
	}

	ri, rerr := wal.Repair(walFS, dir)
	if ri.Damage != nil {
		rep.Damage = newDamageReport(ri.Damage)
		rep.Repair = &repairPlan{Cuts: []cutReport{}, Bytes: ri.Bytes, RecordsLost: ri.RecordsLost,
			FromLSN: ri.Damage.ExpectedLSN, LastLSN: ri.LastLSN}
		for _, c := range ri.Cuts {
			rep.Repair.Cuts = append(rep.Repair.Cuts, cutReport{File: c.File, Offset: c.Offset, Bytes: c.Bytes, Removed: c.Removed})
		}
		// Oldest first, as --dry-run lists them (Repair removes the later
		// segments newest first; zero-padded names sort by LSN).
		sort.Slice(rep.Repair.Cuts, func(i, j int) bool { return rep.Repair.Cuts[i].File < rep.Repair.Cuts[j].File })
	}
	if rerr != nil {
		if len(ri.Cuts) == 0 {
			// Nothing was changed: the log could not be read.
			return failure(stderr, rerr)
		}
		rep.Error = rerr.Error()
		return out()
	}
	// Read the result back: the repair must leave a sound log.
	info, err := wal.Scan(walFS, dir, nil)
	if err != nil {
		rep.Error = fmt.Sprintf("reading the log back after the repair: %v", err)
		return out()
	}
	rep.Records, rep.FirstLSN, rep.LastLSN = info.Records, info.FirstLSN, info.LastLSN
	rep.Sound = info.Damage == nil
	return out()
}

func writeRepairText(w io.Writer, rep *repairReport) {
	fmt.Fprintf(w, "WAL %s\n", rep.Dir)
	d := rep.Damage
	if d == nil && rep.Error == "" {
		fmt.Fprintf(w, "sound: nothing to repair (%s)\n", recordsPhrase(rep.Records, rep.FirstLSN, rep.LastLSN))
		return
	}
	if d != nil {
		kind := "torn tail"
		if d.Kind != "torn-tail" {
			kind = "CORRUPTION"
		}
		fmt.Fprintf(w, "damage: %s in %s at offset %d\n", kind, filepath.Base(d.File), d.Offset)
		writeDamage(w, d)
	}
	var amount, records string
	if rep.Repair != nil {
		amount, records = lossPhrase(rep.Repair)
	}
	switch {
	case rep.DryRun:
		fmt.Fprintf(w, "dry run: would remove %s: %s\n", amount, records)
		writeCuts(w, rep.Repair.Cuts, false)
		if rep.Repair.LastLSN == 0 {
			fmt.Fprintf(w, "the log would then hold no records\n")
		} else {
			fmt.Fprintf(w, "the log would then end at LSN %d\n", rep.Repair.LastLSN)
		}
	case rep.Error != "" && rep.Repair != nil:
		fmt.Fprintf(w, "repair FAILED; removed so far:\n")
		writeCuts(w, rep.Repair.Cuts, true)
	case rep.Repair != nil:
		fmt.Fprintf(w, "removed %s: %s\n", amount, records)
		writeCuts(w, rep.Repair.Cuts, true)
		if rep.Sound {
			fmt.Fprintf(w, "the log is now sound: %s\n", recordsPhrase(rep.Records, rep.FirstLSN, rep.LastLSN))
		} else {
			fmt.Fprintf(w, "the log is STILL DAMAGED: run \"%s wal %s\"\n", progName, rep.Dir)
		}
	}
}

func recordsPhrase(records int, first, last uint64) string {
	if records == 0 {
		return "no records"
	}
	return fmt.Sprintf("%d records, LSN %d..%d", records, first, last)
}
