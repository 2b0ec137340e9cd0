package main

// `verify FILE|DIR`: every checksum and encoding of the snapshots, and for
// a data directory, that the log continues the snapshot the server would
// load: it holds every LSN after the snapshot's smallest shard stamp.

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/cairn-db/cairn/snapshot"
	"github.com/cairn-db/cairn/wal"
)

func verifyUsage(w io.Writer) {
	fmt.Fprintf(w, `Usage: %[1]s verify [--json] FILE|DIR

Reads every block of a snapshot and checks every checksum, every entry and
value encoding, and the counts the index gives. For a directory, every
snapshot in it is verified, and the write-ahead log (DATA/wal/) must
continue the newest sound snapshot (the one the server loads): after a
restart the server replays the log's records newer than the snapshot's
smallest shard stamp, so the log must hold every LSN from that stamp + 1
on: its first segment starts at or before it, no LSN is missing (skipped)
after it, and the log has no damage.

%[2]s

Flags:
  --json        print one JSON document instead of text

Exit status: 0 everything is sound, 1 damage or a gap found (what is wrong
is printed), 2 usage error, 3 could not read (missing file or directory,
I/O error).
`, progName, snapPathHelp)
}

// verifyReport is what verify prints.
type verifyReport struct {
	Sound     bool         `json:"sound"`
	Snapshots []snapVerify `json:"snapshots"`
	// Loaded is the snapshot the server would load ("" if none is sound).
	Loaded string `json:"loaded"`
	// Temps are leftovers of interrupted snapshots (harmless).
	Temps []string   `json:"temp_files"`
	Log   *logVerify `json:"log"`
}

// snapVerify is one snapshot's verification.
type snapVerify struct {
	File     string `json:"file"`
	Sound    bool   `json:"sound"`
	Error    string `json:"error,omitempty"`
	Keys     int64  `json:"keys"`
	MinStamp uint64 `json:"min_stamp"`
	MaxStamp uint64 `json:"max_stamp"`
}

// logVerify is the log's check against the loaded snapshot.
type logVerify struct {
	Dir string `json:"dir"`
	// Checked is false when there is no log to check (Note says why).
	Checked bool   `json:"checked"`
	Sound   bool   `json:"sound"`
	Note    string `json:"note,omitempty"`
	// Problems lists what is wrong.
	Problems []string `json:"problems"`
	// FirstLSN and LastLSN are the log's records (0: none); Replay counts
	// those newer than the snapshot's smallest stamp.
	FirstLSN uint64 `json:"first_lsn"`
	LastLSN  uint64 `json:"last_lsn"`
	Replay   int    `json:"records_to_replay"`
}

func runVerify(args []string, stdout, stderr io.Writer) int {
	const cmd = "verify"
	fs := newFlags(cmd)
	asJSON := fs.Bool("json", false, "")
	pos, err := parse(fs, args, stdout, verifyUsage)
	if err != nil {
		return parseStatus(err, stderr, cmd)
	}
	arg, st := oneArg(pos, stderr, cmd, "FILE|DIR")
	if st != exitOK {
		return st
	}
	src, err := findSnapshots(arg)
	if err != nil {
		return failure(stderr, err)
	}
	rep := &verifyReport{Snapshots: []snapVerify{}, Temps: src.temps}
	if rep.Temps == nil {
		rep.Temps = []string{}
	}
	var loaded *snapVerify
	for _, path := range src.files {
		sv := snapVerify{File: path}
		r, err := snapshot.Open(snapFS, path)
		if err == nil {
			sv.Keys, sv.MinStamp, sv.MaxStamp = r.Index.Keys(), r.Index.MinStamp(), r.Index.MaxStamp()
			err = r.Verify()
			r.Close()
		}
		if err != nil && !errors.Is(err, snapshot.ErrCorrupt) {
			return failure(stderr, err)
		}
		sv.Sound = err == nil
		if err != nil {
			sv.Error = err.Error()
		}
		rep.Snapshots = append(rep.Snapshots, sv)
		if sv.Sound && loaded == nil {
			loaded = &rep.Snapshots[len(rep.Snapshots)-1]
			rep.Loaded = path
		}
	}
	rep.Sound = true
	for _, sv := range rep.Snapshots {
		rep.Sound = rep.Sound && sv.Sound
	}
	if src.dataDir != "" && loaded != nil {
		lv, err := verifyLog(filepath.Join(src.dataDir, "wal"), loaded.MinStamp, loaded.MaxStamp)
		if err != nil {
			return failure(stderr, err)
		}
		rep.Log = lv
		rep.Sound = rep.Sound && (lv.Sound || !lv.Checked)
	}
	if *asJSON {
		if err := writeJSON(stdout, rep); err != nil {
			return failure(stderr, err)
		}
	} else {
		writeVerifyText(stdout, rep)
	}
	if !rep.Sound {
		return exitDamaged
	}
	return exitOK
}

// verifyLog checks that the log in dir holds every LSN after minStamp.
func verifyLog(dir string, minStamp, maxStamp uint64) (*logVerify, error) {
	lv := &logVerify{Dir: dir, Problems: []string{}}
	if fi, err := walFS.Stat(dir); err != nil || !fi.IsDir() {
		lv.Note = "no write-ahead log (" + dir + " is missing): nothing to replay after the snapshot"
		return lv, nil
	}
	expected := minStamp + 1 // the next LSN replay needs
	var gaps []string
	info, err := wal.Scan(walFS, dir, func(lsn uint64, _ []byte) error {
		if lsn <= minStamp {
			return nil
		}
		if lsn != expected {
			gaps = append(gaps, lsnRange(expected, lsn-1))
		}
		lv.Replay++
		expected = lsn + 1
		return nil
	})
	if err != nil {
		return nil, err
	}
	lv.FirstLSN, lv.LastLSN = info.FirstLSN, info.LastLSN
	if len(info.Segments) == 0 {
		lv.Note = "the log has no segments: nothing to replay after the snapshot"
		return lv, nil
	}
	lv.Checked = true
	first := info.Segments[0]
	if first.Name > minStamp+1 {
		lv.Problems = append(lv.Problems, fmt.Sprintf("the log starts at LSN %d (%s), but replay after this snapshot needs LSN %d on: LSNs %s are missing",
			first.Name, filepath.Base(first.File), minStamp+1, lsnRange(minStamp+1, first.Name-1)))
	} else {
		for _, g := range gaps {
			lv.Problems = append(lv.Problems, fmt.Sprintf("LSNs %s are not in the log (skipped), but replay after this snapshot needs them", g))
		}
		if d := info.Damage; d == nil {
			// Every LSN the segments account for, records and skips.
			next := first.Name
			for _, s := range info.Segments {
				next += uint64(s.Records) + s.Skipped
			}
			if next > expected {
				lv.Problems = append(lv.Problems, fmt.Sprintf("LSNs %s are not in the log (skipped), but replay after this snapshot needs them", lsnRange(expected, next-1)))
			}
		}
	}
	if d := info.Damage; d != nil {
		kind := "corruption"
		if d.Torn {
			kind = "a torn tail"
		}
		lv.Problems = append(lv.Problems, fmt.Sprintf("the log is damaged: %s in %s at offset %d, where LSN %d should start: %s (see \"%s wal %s\")",
			kind, filepath.Base(d.File), d.Offset, d.ExpectedLSN, d.Reason, progName, dir))
	}
	if info.Records > 0 && info.LastLSN < maxStamp && len(lv.Problems) == 0 {
		lv.Note = fmt.Sprintf("the log ends at LSN %d, before the snapshot's largest stamp %d", info.LastLSN, maxStamp)
	}
	lv.Sound = len(lv.Problems) == 0
	return lv, nil
}

func lsnRange(a, b uint64) string {
	if a == b {
		return fmt.Sprint(a)
	}
	return fmt.Sprintf("%d..%d", a, b)
}

func writeVerifyText(w io.Writer, rep *verifyReport) {
	for _, sv := range rep.Snapshots {
		if sv.Sound {
			fmt.Fprintf(w, "ok       %s: %d keys, LSN stamps %d..%d\n", sv.File, sv.Keys, sv.MinStamp, sv.MaxStamp)
		} else {
			fmt.Fprintf(w, "DAMAGED  %s: %s\n", sv.File, sv.Error)
		}
	}
	for _, t := range rep.Temps {
		fmt.Fprintf(w, "note     %s: left by an interrupted snapshot (harmless; may be removed)\n", t)
	}
	switch {
	case rep.Loaded == "":
		fmt.Fprintf(w, "no sound snapshot: the server would start from the log alone\n")
	case len(rep.Snapshots) > 1 || rep.Snapshots[0].File != rep.Loaded:
		fmt.Fprintf(w, "the server loads %s\n", rep.Loaded)
	}
	if lv := rep.Log; lv != nil {
		switch {
		case !lv.Checked:
			fmt.Fprintf(w, "log      %s\n", lv.Note)
		case lv.Sound:
			fmt.Fprintf(w, "ok       log %s continues the snapshot: %d records to replay", lv.Dir, lv.Replay)
			if lv.Replay > 0 {
				fmt.Fprintf(w, " (through LSN %d)", lv.LastLSN)
			}
			fmt.Fprintln(w)
			if lv.Note != "" {
				fmt.Fprintf(w, "note     %s\n", lv.Note)
			}
		default:
			for _, p := range lv.Problems {
				fmt.Fprintf(w, "DAMAGED  log %s: %s\n", lv.Dir, p)
			}
		}
	}
	if rep.Sound {
		fmt.Fprintf(w, "status: sound\n")
	} else {
		fmt.Fprintf(w, "status: DAMAGED\n")
	}
}
