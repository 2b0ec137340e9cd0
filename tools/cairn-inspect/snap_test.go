package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-db/cairn/snapshot"
	"github.com/cairn-db/cairn/wal"
)

// testNow is the time the snapshot tests' TTLs are measured from.
var testNow = time.UnixMilli(1_800_000_000_000)

func init() { now = func() time.Time { return testNow } }

// tkey is a key the test snapshot holds.
type tkey struct {
	db       int
	t        snapshot.Type
	key      string
	expireAt int64
	str      string    // string
	elems    []string  // list, set; hash: field, value, ...
	zset     []zmember // zset
}

type zmember struct {
	member string
	score  float64
}

func (k *tkey) value() []byte {
	switch k.t {
	case snapshot.TypeString:
		return []byte(k.str)
	case snapshot.TypeZSet:
		v := snapshot.AppendCount(nil, len(k.zset))
		for _, m := range k.zset {
			v = snapshot.AppendScore(snapshot.AppendBytes(v, []byte(m.member)), m.score)
		}
		return v
	case snapshot.TypeHash:
		v := snapshot.AppendCount(nil, len(k.elems)/2)
		for _, e := range k.elems {
			v = snapshot.AppendBytes(v, []byte(e))
		}
		return v
	}
	v := snapshot.AppendCount(nil, len(k.elems))
	for _, e := range k.elems {
		v = snapshot.AppendBytes(v, []byte(e))
	}
	return v
}

func bigList(n int) []string {
	var l []string
	for i := range n {
		l = append(l, "e"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+itoa(i))
	}
	return l
}

func itoa(i int) string {
	return strings.TrimSpace(strings.Repeat(" ", 0) + func() string { b, _ := json.Marshal(i); return string(b) }())
}

// testKeys are the keys of the test snapshot, by shard.
func testKeys() [][]tkey {
	in := func(d time.Duration) int64 { return testNow.Add(d).UnixMilli() }
	return [][]tkey{{
		{db: 0, t: snapshot.TypeString, key: "str", str: "hello\nworld"},
		{db: 0, t: snapshot.TypeString, key: "ttl:1", str: "v", expireAt: in(30 * time.Second)},
		{db: 0, t: snapshot.TypeList, key: "list", elems: []string{"a", "b", "c"}},
		{db: 3, t: snapshot.TypeString, key: "k3", str: "three", expireAt: in(3 * 24 * time.Hour)},
		{db: 0, t: snapshot.TypeString, key: "old", str: "gone", expireAt: in(-time.Second)},
		{db: 0, t: snapshot.TypeList, key: "biglist", elems: bigList(1300), expireAt: in(2 * time.Hour)},
	}, {
		{db: 0, t: snapshot.TypeSet, key: "set", elems: []string{"x", "y"}},
		{db: 0, t: snapshot.TypeHash, key: "hash", elems: []string{"f1", "v1", "f2", "v2"}},
		{db: 0, t: snapshot.TypeZSet, key: "zset", zset: []zmember{{"m2", math.Inf(-1)}, {"m4", 0.1}, {"m1", 1.5}, {"m5", 1e300}, {"m3", math.Inf(1)}}},
		{db: 0, t: snapshot.TypeString, key: "bin\x00key", str: "\x01\xff"},
		{db: 3, t: snapshot.TypeHash, key: "h3", elems: []string{"a", "1"}, expireAt: in(10 * 24 * time.Hour)},
		{db: 3, t: snapshot.TypeList, key: "emptyl"},
	}}
}

// writeTestSnapshot writes testKeys, stamped 5 and 8, in dir.
func writeTestSnapshot(t *testing.T, dir string) string {
	t.Helper()
	w, err := snapshot.Create(snapshot.WriterOptions{Dir: dir, Shards: 2, Created: testNow.UnixMilli() - 60000, BlockSize: 512})
	if err != nil {
		t.Fatal(err)
	}
	for s, keys := range testKeys() {
		w.BeginShard(s)
		for _, k := range keys {
			w.Add(k.db, k.t, []byte(k.key), k.expireAt, k.value())
		}
		if err := w.EndShard([]uint64{5, 8}[s]); err != nil {
			t.Fatal(err)
		}
	}
	path, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// testData is a data directory with the test snapshot and a log.
type testData struct {
	dir, snap string
}

// buildData makes a data directory: the test snapshot, and a log of n
// records (after a Replay from skipTo, which makes LSNs 1..skipTo a skip),
// in segments of segSize bytes.
func buildData(t *testing.T, n int, skipTo uint64, segSize int64) *testData {
	t.Helper()
	td := &testData{dir: t.TempDir()}
	td.snap = writeTestSnapshot(t, filepath.Join(td.dir, "snapshots"))
	if n < 0 {
		return td
	}
	l, err := wal.Open(wal.Options{Dir: filepath.Join(td.dir, "wal"), Sync: wal.SyncAlways, SegmentSize: segSize, CompressAbove: -1, Logger: quietLogger})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Replay(skipTo, nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := 1; i <= n; i++ {
		if err := l.WaitSynced(ctx, l.Append(record(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return td
}

// appendLog reopens td's log, replays it from after (a skip frame if the
// log ends before), and appends n records.
func appendLog(t *testing.T, td *testData, after uint64, n int) {
	t.Helper()
	l, err := wal.Open(wal.Options{Dir: filepath.Join(td.dir, "wal"), Sync: wal.SyncAlways, CompressAbove: -1, Logger: quietLogger})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Replay(after, nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := 1; i <= n; i++ {
		if err := l.WaitSynced(ctx, l.Append(record(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestSnapshotCommands(t *testing.T) {
	td := buildData(t, 12, 0, 0)
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout []string
		not    []string
	}{
		{"info file", []string{"info", td.snap}, exitOK, []string{"version   1", "shards    2, LSN stamps 5..8", "keys      12",
			"created   2027-01-15 07:59:00.000 UTC"}, nil},
		{"info dir", []string{"info", td.dir}, exitOK, []string{"000000000008.snap", "DB", "3  hash       1     17", "blocks"}, nil},
		{"info snapshots dir", []string{"info", filepath.Join(td.dir, "snapshots")}, exitOK, []string{"keys      12"}, nil},
		{"info json", []string{"info", "--json", td.dir}, exitOK, []string{`"min_stamp": 5`, `"max_stamp": 8`, `"keys": 12`, `"type": "zset"`}, nil},
		{"verify file", []string{"verify", td.snap}, exitOK, []string{"ok       " + td.snap + ": 12 keys", "status: sound"}, []string{"log"}},
		{"verify dir", []string{"verify", td.dir}, exitOK, []string{"continues the snapshot: 7 records to replay (through LSN 12)", "status: sound"}, nil},
		{"keys all", []string{"keys", td.dir}, exitOK, []string{"12 keys", "biglist", " 0  biglist       list    2h0m0s        1300  11887", `"bin\x00key"`,
			" 0  ttl:1         string  30s", " 0  old           string  expired", " 0  str           string  -"}, nil},
		{"keys glob", []string{"keys", "--pattern", "*list", td.dir}, exitOK, []string{"2 keys", "biglist", "list"}, []string{"emptyl", "str"}},
		{"keys db", []string{"keys", "--db", "3", td.dir}, exitOK, []string{"3 keys", "k3", "h3", "emptyl"}, []string{"biglist"}},
		{"keys json", []string{"keys", "--json", "--db", "0", "--pattern", "b*", td.dir}, exitOK, []string{`"key": "biglist"`, `"ttl_ms": 7200000`,
			`"key": "bin\u0000key"`, `"elements": 1300`}, nil},
		{"get string", []string{"get", td.dir, "str"}, exitOK, []string{`"hello\nworld"`}, nil},
		{"get binary", []string{"get", td.dir, "bin\x00key"}, exitOK, []string{`"\x01\xff"`}, nil},
		{"get list", []string{"get", td.dir, "list"}, exitOK, []string{"1) \"a\"\n2) \"b\"\n3) \"c\"\n"}, nil},
		{"get hash", []string{"get", td.dir, "hash"}, exitOK, []string{"1) \"f1\"\n2) \"v1\"\n3) \"f2\"\n4) \"v2\"\n"}, nil},
		{"get zset", []string{"get", td.dir, "zset"}, exitOK, []string{" 1) \"m2\"\n 2) \"-inf\"\n 3) \"m4\"\n 4) \"0.1\"\n", `"1e+300"`, "10) \"inf\""}, nil},
		{"get db", []string{"get", "--db", "3", td.dir, "h3"}, exitOK, []string{"1) \"a\"\n2) \"1\"\n"}, nil},
		{"get empty", []string{"get", "--db", "3", td.dir, "emptyl"}, exitOK, []string{"(empty array)"}, nil},
		{"get missing", []string{"get", td.dir, "h3"}, exitOK, []string{"(nil)"}, nil},
		{"get json", []string{"get", "--json", td.dir, "zset"}, exitOK, []string{`"type": "zset"`, `"-inf"`, `"found": true`}, nil},
		{"stats", []string{"stats", td.dir}, exitOK, []string{"12 keys", "biggest list keys:", " 0  biglist      1300  11887  2h0m0s", "list sizes (bytes):",
			"none        7\n<1m         1\n<1h         0\n<1d         1\n<1w         1\nmore        1\nexpired     1\n"}, nil},
		{"stats top", []string{"stats", "--top", "1", td.dir}, exitOK, []string{"12 keys", "biglist", "str"}, []string{"k3", "ttl:1", " 0  list "}},
		{"stats db", []string{"stats", "--db", "3", td.dir}, exitOK, []string{"3 keys", " 3  h3          1      5  240h0m0s"}, []string{"biglist"}},
		{"stats json", []string{"stats", "--json", td.dir}, exitOK, []string{`"expired": 1`, `"below": 8192`, `"type": "hash"`}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runTool(t, tc.args...)
			r.want(t, tc.code, tc.stdout...)
			for _, s := range tc.not {
				if strings.Contains(r.stdout, s) {
					t.Fatalf("stdout holds %q:\n%s", s, r.stdout)
				}
			}
			if strings.Contains(tc.name, "json") {
				var v any
				if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
					t.Fatalf("not JSON: %v\n%s", err, r.stdout)
				}
			}
		})
	}
}

// TestSnapshotUsage: the snapshot commands' usage errors and help.
func TestSnapshotUsage(t *testing.T) {
	td := buildData(t, -1, 0, 0)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"info"}, "missing FILE|DIR"},
		{[]string{"verify", td.dir, td.dir}, "too many arguments"},
		{[]string{"keys", "--db", "-2", td.dir}, "--db must be"},
		{[]string{"get", td.dir}, "want FILE|DIR and KEY"},
		{[]string{"get", "--db", "-1", td.dir, "k"}, "--db must be"},
		{[]string{"stats", "--top", "-1", td.dir}, "--top must be"},
		{[]string{"export", td.dir}, "missing --format"},
		{[]string{"export", "--format", "rdb", td.dir}, `unknown --format "rdb"`},
		{[]string{"help", "info", "x"}, `no help for "info x"`},
	} {
		r := runTool(t, tc.args...)
		if r.code != exitUsage || r.stdout != "" || !strings.Contains(r.stderr, tc.want) {
			t.Fatalf("%q: exit %d, stdout %q, stderr %q; want %q", tc.args, r.code, r.stdout, r.stderr, tc.want)
		}
	}
	for _, c := range []string{"info", "verify", "keys", "get", "stats", "export"} {
		runTool(t, "help", c).want(t, exitOK, "Usage: cairn-inspect "+c, "Exit status")
		runTool(t, c, "--help").want(t, exitOK, "Usage: cairn-inspect "+c)
	}
	runTool(t, "--help").want(t, exitOK, "info ", "verify ", "keys ", "get ", "stats ", "export ")
	// Not there, not a snapshot directory: exit 3.
	runTool(t, "info", filepath.Join(td.dir, "nope")).wantErr(t, exitError, "no such file")
	runTool(t, "keys", t.TempDir()).wantErr(t, exitError, "holds no snapshot")
}

// TestVerifyLog: verify finds a log that does not continue the snapshot.
func TestVerifyLog(t *testing.T) {
	for _, tc := range []struct {
		name   string
		build  func(t *testing.T) *testData
		code   int
		stdout []string
	}{
		{"no log", func(t *testing.T) *testData { return buildData(t, -1, 0, 0) }, exitOK,
			[]string{"no write-ahead log", "status: sound"}},
		{"log before the stamps", func(t *testing.T) *testData { return buildData(t, 5, 0, 0) }, exitOK,
			[]string{"0 records to replay", "ends at LSN 5, before the snapshot's largest stamp 8", "status: sound"}},
		{"starts after the stamp", func(t *testing.T) *testData { return buildData(t, 3, 10, 0) }, exitDamaged,
			[]string{"the log starts at LSN 11 (000000000011.log), but replay after this snapshot needs LSN 6 on: LSNs 6..10 are missing", "status: DAMAGED"}},
		{"skipped LSNs", func(t *testing.T) *testData {
			td := buildData(t, 3, 0, 0)
			// Reopened after a snapshot newer than the log: LSNs 4..10 are
			// a skip frame.
			appendLog(t, td, 10, 2)
			return td
		}, exitDamaged, []string{"LSNs 6..10 are not in the log (skipped)", "status: DAMAGED"}},
		{"skipped at the end", func(t *testing.T) *testData {
			td := buildData(t, 3, 0, 0)
			appendLog(t, td, 10, 0)
			return td
		}, exitDamaged, []string{"LSNs 6..10 are not in the log (skipped)"}},
		{"skipped before the stamp", func(t *testing.T) *testData {
			td := buildData(t, 1, 0, 0)
			appendLog(t, td, 5, 3)
			return td
		}, exitOK, []string{"continues the snapshot: 3 records to replay (through LSN 8)"}},
		{"starts late", func(t *testing.T) *testData {
			td := buildData(t, 40, 0, 300)
			segs, _ := filepath.Glob(filepath.Join(td.dir, "wal", "*.log"))
			if len(segs) < 3 {
				t.Fatalf("%d segments", len(segs))
			}
			if err := os.Remove(segs[0]); err != nil {
				t.Fatal(err)
			}
			return td
		}, exitDamaged, []string{"the log starts at LSN", "replay after this snapshot needs LSN 6 on"}},
		{"damaged log", func(t *testing.T) *testData {
			td := buildData(t, 12, 0, 0)
			segs, _ := filepath.Glob(filepath.Join(td.dir, "wal", "*.log"))
			b, _ := os.ReadFile(segs[0])
			b[segmentHeaderSize+40] ^= 1
			if err := os.WriteFile(segs[0], b, 0o644); err != nil {
				t.Fatal(err)
			}
			return td
		}, exitDamaged, []string{"the log is damaged: corruption in 000000000001.log"}},
		{"damaged newest snapshot", func(t *testing.T) *testData {
			td := buildData(t, 12, 0, 0)
			older := filepath.Join(td.dir, "snapshots", snapshot.FileName(3))
			b, _ := os.ReadFile(td.snap)
			if err := os.WriteFile(older, b, 0o644); err != nil {
				t.Fatal(err)
			}
			b[100] ^= 1
			if err := os.WriteFile(td.snap, b, 0o644); err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(td.dir, "snapshots", "temp-1.snap.tmp"), nil, 0o644)
			return td
		}, exitDamaged, []string{"DAMAGED  " + "", "checksum mismatch", "ok       ", "000000000003.snap: 12 keys",
			"the server loads", "temp-1.snap.tmp: left by an interrupted snapshot", "continues the snapshot: 7 records"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			td := tc.build(t)
			runTool(t, "verify", td.dir).want(t, tc.code, tc.stdout...)
			r := runTool(t, "verify", "--json", td.dir)
			var rep verifyReport
			if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || r.code != tc.code || rep.Sound != (tc.code == exitOK) {
				t.Fatalf("--json: exit %d, %v, sound %v\n%s", r.code, err, rep.Sound, r.stdout)
			}
		})
	}
}

// TestSnapshotDamage: the reading commands report a damaged block with
// exit 1, and fall back from a damaged newest snapshot to an older one.
func TestSnapshotDamage(t *testing.T) {
	td := buildData(t, -1, 0, 0)
	b, err := os.ReadFile(td.snap)
	if err != nil {
		t.Fatal(err)
	}
	r, err := snapshot.OpenBytes("x", b)
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(b)
	bad[r.Index.Blocks[len(r.Index.Blocks)-1].Offset+14] ^= 1
	if err := os.WriteFile(td.snap, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"keys", td.snap}, {"stats", td.snap}, {"get", td.snap, "nothere"}, {"export", "--format", "resp", td.snap}} {
		res := runTool(t, args...)
		if res.code != exitDamaged || !strings.Contains(res.stderr, "checksum mismatch") {
			t.Fatalf("%q: exit %d, stderr %q", args, res.code, res.stderr)
		}
	}
	runTool(t, "info", td.snap).want(t, exitOK, "keys      12")
	runTool(t, "verify", td.snap).want(t, exitDamaged, "DAMAGED", "checksum mismatch", "status: DAMAGED")
	// An older, sound snapshot and a newer one whose footer is gone.
	if err := os.WriteFile(filepath.Join(td.dir, "snapshots", snapshot.FileName(2)), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(td.snap, b[:len(b)-3], 0o644); err != nil {
		t.Fatal(err)
	}
	res := runTool(t, "keys", td.dir)
	res.want(t, exitDamaged, "12 keys")
	if !strings.Contains(res.stderr, "no footer") || !strings.Contains(res.stderr, "using "+filepath.Join(td.dir, "snapshots", snapshot.FileName(2))) {
		t.Fatalf("stderr %q", res.stderr)
	}
}

// TestProgress: reading a large file reports progress on stderr.
func TestProgress(t *testing.T) {
	td := buildData(t, -1, 0, 0)
	defer func(old int64) { progressMin = old }(progressMin)
	progressMin = 0
	res := runTool(t, "stats", td.snap)
	res.want(t, exitOK)
	if !strings.Contains(res.stderr, "reading "+td.snap+": 100% (") {
		t.Fatalf("stderr %q", res.stderr)
	}
}
