package main

// `stats FILE|DIR`: what people ask redis-rdb-tools: the biggest keys,
// counts and size histograms per type, and a TTL histogram.

import (
	"fmt"
	"io"
	"math/bits"
	"sort"

	"github.com/cairn-db/cairn/snapshot"
)

func statsUsage(w io.Writer) {
	fmt.Fprintf(w, `Usage: %[1]s stats [--db N] [--top N] [--json] FILE|DIR

Reads every key of a snapshot and prints, per type: the number of keys and
their bytes, the biggest keys by bytes (of the encoded value), a histogram
of value sizes in power-of-two buckets, and a histogram of TTLs (none, <1m,
<1h, <1d, <1w, more, already expired).

%[2]s

Flags:
  --db N        only database N (default: all)
  --top N       how many of the biggest keys to list per type (default 10)
  --json        print one JSON document instead of text

%[3]s
`, progName, snapPathHelp, statusHelp)
}

// ttlBuckets name the TTL histogram's buckets, in order.
var ttlBuckets = []string{"none", "<1m", "<1h", "<1d", "<1w", "more", "expired"}

// ttlBucket is the index in ttlBuckets of a key expiring at expireAt.
func ttlBucket(expireAt int64) int {
	ms, ok := ttlMillis(expireAt)
	switch {
	case !ok:
		return 0
	case ms <= 0:
		return 6
	case ms < 60e3:
		return 1
	case ms < 3600e3:
		return 2
	case ms < 86400e3:
		return 3
	case ms < 7*86400e3:
		return 4
	}
	return 5
}

// typeStats is what stats reports about one type.
type typeStats struct {
	Type     string `json:"type"`
	Keys     int64  `json:"keys"`
	Bytes    int64  `json:"bytes"`
	Elements int64  `json:"elements"`
	// Biggest are the largest keys by bytes, largest first.
	Biggest []keyInfo `json:"biggest"`
	// Sizes counts keys by value bytes: bucket i holds sizes in
	// [2^(i-1), 2^i) (bucket 0: empty values).
	Sizes []sizeBucket `json:"sizes"`
}

type sizeBucket struct {
	// Below is the bucket's exclusive upper bound.
	Below int64 `json:"below"`
	Keys  int64 `json:"keys"`
}

// statsReport is what stats prints.
type statsReport struct {
	File  string       `json:"file"`
	Keys  int64        `json:"keys"`
	Types []*typeStats `json:"types"`
	// TTL counts keys per ttlBuckets.
	TTL map[string]int64 `json:"ttl"`
}

func runStats(args []string, stdout, stderr io.Writer) int {
	const cmd = "stats"
	fs := newFlags(cmd)
	db := fs.Int("db", -1, "")
	top := fs.Int("top", 10, "")
	asJSON := fs.Bool("json", false, "")
	pos, err := parse(fs, args, stdout, statsUsage)
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
	if *top < 0 {
		return usageError(stderr, cmd, "--top must be 0 or more, not %d", *top)
	}
	var damaged bool
	r, st := openStatus(arg, stderr, &damaged)
	if r == nil {
		return st
	}
	defer r.Close()
	rep := &statsReport{File: r.Path, TTL: map[string]int64{}}
	byType := map[snapshot.Type]*typeStats{}
	var ttl [7]int64
	err = readEntries(r, stderr, func(e *snapshot.Entry) error {
		if *db >= 0 && e.DB != *db {
			return nil
		}
		elems, err := elemCount(e)
		if err != nil {
			return valueError(r, e, err)
		}
		ts := byType[e.Type]
		if ts == nil {
			ts = &typeStats{Type: e.Type.String(), Biggest: []keyInfo{}}
			byType[e.Type] = ts
		}
		size := int64(len(e.Value))
		rep.Keys++
		ts.Keys++
		ts.Bytes += size
		ts.Elements += int64(elems)
		b := bits.Len64(uint64(size))
		for len(ts.Sizes) <= b {
			ts.Sizes = append(ts.Sizes, sizeBucket{Below: 1 << len(ts.Sizes)})
		}
		ts.Sizes[b].Keys++
		ttl[ttlBucket(e.ExpireAt)]++
		// Keep the top N: insert in order, drop the smallest.
		if *top > 0 && (len(ts.Biggest) < *top || size > int64(ts.Biggest[len(ts.Biggest)-1].Bytes)) {
			i := sort.Search(len(ts.Biggest), func(i int) bool { return int64(ts.Biggest[i].Bytes) < size })
			ts.Biggest = append(ts.Biggest, keyInfo{})
			copy(ts.Biggest[i+1:], ts.Biggest[i:])
			ts.Biggest[i] = newKeyInfo(e, elems)
			if len(ts.Biggest) > *top {
				ts.Biggest = ts.Biggest[:*top]
			}
		}
		return nil
	})
	if err != nil {
		return readStatus(err, stderr)
	}
	for t := snapshot.TypeString; t <= snapshot.TypeHash; t++ {
		if ts := byType[t]; ts != nil {
			rep.Types = append(rep.Types, ts)
		}
	}
	if rep.Types == nil {
		rep.Types = []*typeStats{}
	}
	for i, name := range ttlBuckets {
		rep.TTL[name] = ttl[i]
	}
	if *asJSON {
		if err := writeJSON(stdout, rep); err != nil {
			return failure(stderr, err)
		}
	} else {
		writeStatsText(stdout, rep)
	}
	if damaged {
		return exitDamaged
	}
	return exitOK
}

func writeStatsText(w io.Writer, rep *statsReport) {
	fmt.Fprintf(w, "snapshot %s: %d keys\n\n", rep.File, rep.Keys)
	rows := [][]string{{"TYPE", "KEYS", "ELEMENTS", "BYTES", "AVG BYTES"}}
	for _, ts := range rep.Types {
		rows = append(rows, []string{ts.Type, fmt.Sprint(ts.Keys), fmt.Sprint(ts.Elements), fmt.Sprint(ts.Bytes), fmt.Sprint(ts.Bytes / ts.Keys)})
	}
	writeCols(w, rows, "lrrrr")
	for _, ts := range rep.Types {
		if len(ts.Biggest) > 0 {
			fmt.Fprintf(w, "\nbiggest %s keys:\n", ts.Type)
			rows := [][]string{{"DB", "KEY", "ELEMENTS", "BYTES", "TTL"}}
			for _, k := range ts.Biggest {
				rows = append(rows, []string{fmt.Sprint(k.DB), keyCell([]byte(k.Key)), fmt.Sprint(k.Elements), fmt.Sprint(k.Bytes), ttlCell(k.ExpireAt)})
			}
			writeCols(w, rows, "rlrrl")
		}
		fmt.Fprintf(w, "\n%s sizes (bytes):\n", ts.Type)
		rows := [][]string{{"BYTES", "KEYS"}}
		for i, b := range ts.Sizes {
			if b.Keys == 0 {
				continue
			}
			label := "0"
			if i > 0 {
				label = fmt.Sprintf("%d-%d", b.Below/2, b.Below-1)
			}
			rows = append(rows, []string{label, fmt.Sprint(b.Keys)})
		}
		writeCols(w, rows, "lr")
	}
	fmt.Fprintf(w, "\nTTLs:\n")
	rows = [][]string{{"TTL", "KEYS"}}
	for _, name := range ttlBuckets {
		rows = append(rows, []string{name, fmt.Sprint(rep.TTL[name])})
	}
	writeCols(w, rows, "lr")
}
