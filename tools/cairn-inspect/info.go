package main

// `info FILE|DIR`: what a snapshot's header and index say, without
// reading its blocks.

import (
	"fmt"
	"io"
	"time"

	"github.com/cairn-db/cairn/snapshot"
)

func infoUsage(w io.Writer) {
	fmt.Fprintf(w, `Usage: %[1]s info [--json] FILE|DIR

Describes a snapshot from its header and index, without reading its data
blocks (run "%[1]s verify" for that): format version, creation time,
shards and their LSN stamps (replay after a restart starts after the
smallest), keys and bytes per database and type, blocks, and bytes raw
(decoded) and stored (compressed).

%[2]s

Flags:
  --json        print one JSON document instead of text

%[3]s
`, progName, snapPathHelp, statusHelp)
}

// infoReport is what info prints.
type infoReport struct {
	File    string `json:"file"`
	Version int    `json:"version"`
	// Created is the creation time, Unix ms.
	Created  int64    `json:"created_ms"`
	Shards   int      `json:"shards"`
	MinStamp uint64   `json:"min_stamp"`
	MaxStamp uint64   `json:"max_stamp"`
	Keys     int64    `json:"keys"`
	DBs      []dbStat `json:"dbs"`
	Blocks   int      `json:"blocks"`
	RawBytes int64    `json:"raw_bytes"`
	Stored   int64    `json:"stored_bytes"`
	Size     int64    `json:"file_bytes"`
	Stamps   []uint64 `json:"stamps"`
}

// dbStat is the keys of one type in one database.
type dbStat struct {
	DB    int    `json:"db"`
	Type  string `json:"type"`
	Keys  int64  `json:"keys"`
	Bytes int64  `json:"bytes"`
}

func newInfoReport(r *snapshot.Reader) *infoReport {
	ix := r.Index
	rep := &infoReport{File: r.Path, Version: r.Header.Version, Created: r.Header.Created, Shards: r.Header.Shards,
		MinStamp: ix.MinStamp(), MaxStamp: ix.MaxStamp(), Keys: ix.Keys(), DBs: []dbStat{}, Blocks: len(ix.Blocks),
		Size: r.Size, Stamps: ix.Stamps}
	for _, st := range ix.Stats {
		rep.DBs = append(rep.DBs, dbStat{DB: st.DB, Type: st.Type.String(), Keys: st.Keys, Bytes: st.Bytes})
	}
	for _, bl := range ix.Blocks {
		rep.RawBytes += int64(bl.RawLen)
		rep.Stored += int64(bl.StoredLen)
	}
	return rep
}

func runInfo(args []string, stdout, stderr io.Writer) int {
	const cmd = "info"
	fs := newFlags(cmd)
	asJSON := fs.Bool("json", false, "")
	pos, err := parse(fs, args, stdout, infoUsage)
	if err != nil {
		return parseStatus(err, stderr, cmd)
	}
	arg, st := oneArg(pos, stderr, cmd, "FILE|DIR")
	if st != exitOK {
		return st
	}
	var damaged bool
	r, st := openStatus(arg, stderr, &damaged)
	if r == nil {
		return st
	}
	defer r.Close()
	rep := newInfoReport(r)
	if *asJSON {
		if err := writeJSON(stdout, rep); err != nil {
			return failure(stderr, err)
		}
	} else {
		writeInfoText(stdout, rep)
	}
	if damaged {
		return exitDamaged
	}
	return exitOK
}

func writeInfoText(w io.Writer, rep *infoReport) {
	fmt.Fprintf(w, "snapshot  %s\n", rep.File)
	fmt.Fprintf(w, "version   %d\n", rep.Version)
	fmt.Fprintf(w, "created   %s\n", time.UnixMilli(rep.Created).UTC().Format("2006-01-02 15:04:05.000 UTC"))
	fmt.Fprintf(w, "shards    %d, LSN stamps %d..%d (replay starts after %d)\n", rep.Shards, rep.MinStamp, rep.MaxStamp, rep.MinStamp)
	fmt.Fprintf(w, "keys      %d\n", rep.Keys)
	fmt.Fprintf(w, "blocks    %d, %d bytes raw, %d stored (%s), file %d bytes\n", rep.Blocks, rep.RawBytes, rep.Stored,
		ratio(rep.Stored, rep.RawBytes), rep.Size)
	if len(rep.DBs) == 0 {
		return
	}
	fmt.Fprintln(w)
	rows := [][]string{{"DB", "TYPE", "KEYS", "BYTES"}}
	for _, d := range rep.DBs {
		rows = append(rows, []string{fmt.Sprint(d.DB), d.Type, fmt.Sprint(d.Keys), fmt.Sprint(d.Bytes)})
	}
	writeCols(w, rows, "rlrr")
}

// ratio is stored as a percentage of raw.
func ratio(stored, raw int64) string {
	if raw == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(stored)/float64(raw))
}
