package main

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestHistExactBelow2ms(t *testing.T) {
	var h Hist
	for us := 1; us <= 1000; us++ {
		h.Record(time.Duration(us) * time.Microsecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{
		{0.5, 500 * time.Microsecond},
		{0.99, 990 * time.Microsecond},
		{0.999, 999 * time.Microsecond},
		{1, 1000 * time.Microsecond},
		{0.0001, 1 * time.Microsecond},
	} {
		if got := h.Quantile(c.q); got != c.want {
			t.Errorf("Quantile(%v) = %v, want %v", c.q, got, c.want)
		}
	}
	if h.Count() != 1000 || h.Max() != time.Millisecond {
		t.Errorf("Count %d Max %v", h.Count(), h.Max())
	}
	if got := h.Mean(); got != 500500*time.Nanosecond {
		t.Errorf("Mean = %v", got)
	}
}

func TestHistLogBuckets(t *testing.T) {
	// 999 fast requests and one 120 ms pause: p99.9 is fast, max is the pause;
	// with 998 fast ones, p99.9 is the pause, within 0.1 %.
	var h Hist
	for i := 0; i < 999; i++ {
		h.Record(300 * time.Microsecond)
	}
	h.Record(120 * time.Millisecond)
	if got := h.Quantile(0.999); got != 300*time.Microsecond {
		t.Errorf("p99.9 = %v, want 300µs", got)
	}
	if got := h.Max(); got != 120*time.Millisecond {
		t.Errorf("max = %v", got)
	}
	var h2 Hist
	for i := 0; i < 998; i++ {
		h2.Record(300 * time.Microsecond)
	}
	h2.Record(120 * time.Millisecond)
	h2.Record(121 * time.Millisecond)
	got := h2.Quantile(0.999)
	if got < 119880*time.Microsecond || got > 120120*time.Microsecond {
		t.Errorf("p99.9 = %v, want 120ms within 0.1%%", got)
	}

	var m Hist
	m.Merge(&h)
	m.Merge(&h2)
	if m.Count() != 2000 || m.Max() != 121*time.Millisecond {
		t.Errorf("merged: count %d max %v", m.Count(), m.Max())
	}
}

func TestBucketsMonotonicAndCovering(t *testing.T) {
	prev := -1
	for _, us := range []uint64{0, 1, 2047, 2048, 2049, 4095, 4096, 1 << 20, 1<<20 + 1, 1<<39 - 1, 1 << 39, 1 << 40, 1 << 62} {
		b := bucketOf(us)
		if b < prev || b >= nBuckets {
			t.Fatalf("bucketOf(%d) = %d after %d (n=%d)", us, b, prev, nBuckets)
		}
		prev = b
		if us < 1<<40 {
			lo, w := bucketRange(b)
			if us < lo || us >= lo+w {
				t.Errorf("value %d in bucket %d = [%d,%d)", us, b, lo, lo+w)
			}
			if w > 1 && float64(w)/float64(lo) > 1.0/1024+1e-12 {
				t.Errorf("bucket %d width %d at %d: too coarse", b, w, lo)
			}
		}
	}
	for i := 1; i < nBuckets; i++ {
		lo0, w0 := bucketRange(i - 1)
		lo1, _ := bucketRange(i)
		if lo0+w0 != lo1 {
			t.Fatalf("buckets %d and %d not contiguous: %d+%d != %d", i-1, i, lo0, w0, lo1)
		}
	}
}

const sampleRollup = `55b9ba79a000-7ffc051f6000 ---p 00000000 00:00 0                          [rollup]
Rss:              215040 kB
Pss:              107520 kB
Pss_Dirty:        106000 kB
Pss_Anon:         106000 kB
Pss_File:           1520 kB
Pss_Shmem:             0 kB
Shared_Clean:       1584 kB
Shared_Dirty:     212000 kB
Private_Clean:        40 kB
Private_Dirty:      1416 kB
Swap:                  0 kB
SwapPss:               0 kB
`

func TestParsePss(t *testing.T) {
	got, err := parsePss([]byte(sampleRollup))
	if err != nil || got != 107520*1024 {
		t.Fatalf("parsePss = %d, %v; want %d", got, err, 107520*1024)
	}
	// Pss_Dirty etc. must not be taken for Pss.
	if _, err := parsePss([]byte("Rss: 1 kB\nPss_Anon: 5 kB\n")); err == nil {
		t.Error("parsePss took Pss_Anon for Pss")
	}
	if got, _ := parseKBField([]byte("Name:\tx\nVmRSS:\t  2048 kB\n"), "VmRSS:"); got != 2048*1024 {
		t.Errorf("VmRSS = %d", got)
	}
	// And the live file of this process.
	if p, err := pss(os.Getpid()); err != nil || p <= 0 {
		t.Errorf("pss(self) = %d, %v", p, err)
	}
}

func TestParseStatPPID(t *testing.T) {
	pp, err := parseStatPPID([]byte("1234 (a (weird) name) S 77 1234 1234 0 -1 4194560 ..."))
	if err != nil || pp != 77 {
		t.Errorf("parseStatPPID = %d, %v", pp, err)
	}
}

func TestChildrenOfSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/smaps_rollup"); err != nil {
		t.Skip("no /proc/self/smaps_rollup")
	}
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Skipf("cannot run sleep: %v", err)
	}
	child := cmd.Process.Pid
	defer func() {
		cmd.Process.Kill() // only the child this test started
		cmd.Wait()
	}()
	me := os.Getpid()
	cs, err := childrenOf(me)
	if err != nil || !slices.Contains(cs, child) {
		t.Errorf("childrenOf(self) = %v, %v; want it to hold %d", cs, err, child)
	}
	cs, err = childrenByScan(me)
	if err != nil || !slices.Contains(cs, child) {
		t.Errorf("childrenByScan(self) = %v, %v; want it to hold %d", cs, err, child)
	}
	if d := descendants(me); !slices.Contains(d, child) {
		t.Errorf("descendants(self) = %v; want it to hold %d", d, child)
	}
	m, err := sampleMem(me)
	if err != nil || m.procs < 2 || m.pss <= 0 || m.rss <= 0 {
		t.Errorf("sampleMem(self) = %+v, %v; want the sleep child counted", m, err)
	}
}

func TestKeyNameAndSetCmd(t *testing.T) {
	cmd, ko, vo := setCmd(5)
	keyName(cmd[ko:], 42)
	copy(cmd[vo:], "hello")
	want := "*3\r\n$3\r\nSET\r\n$16\r\nkey:000000000042\r\n$5\r\nhello\r\n"
	if string(cmd) != want {
		t.Errorf("setCmd = %q, want %q", cmd, want)
	}
}

func TestParseInfo(t *testing.T) {
	m := parseInfo([]byte("# Persistence\r\nloading:0\r\nrdb_bgsave_in_progress:1\r\naof_rewrite_in_progress:0\r\n"))
	if m["rdb_bgsave_in_progress"] != "1" || !saving(m) {
		t.Errorf("parseInfo = %v", m)
	}
}

func TestParseGCTrace(t *testing.T) {
	log := `starting
gc 1 @0.012s 2%: 0.015+1.2+0.003 ms clock, 0.06+0.1/1.0/0+0.012 ms cpu, 4->4->1 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P
gc 2 @5.500s 3%: 0.8+40+0.2 ms clock, 1.6+0.1/20/0+0.4 ms cpu, 300->310->150 MB, 300 MB goal, 0 MB stacks, 0 MB globals, 2 P
level=INFO msg="snapshot saved"
`
	p := filepath.Join(t.TempDir(), "server.log")
	if err := os.WriteFile(p, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	all, err := parseGCTrace(p, nil)
	if err != nil || all.n != 2 || all.maxSTW != 0.8 || all.maxMark != 40 || all.maxHeapM != 310 || all.maxLiveM != 150 {
		t.Errorf("all = %+v, %v", all, err)
	}
	in, _ := parseGCTrace(p, [][2]float64{{5, 6}})
	if in.n != 1 || in.maxMark != 40 {
		t.Errorf("in window = %+v", in)
	}
}

func TestRecordDoesNotAllocate(t *testing.T) {
	h := new(Hist)
	cmd, ko, vo := setCmd(64)
	rng := rand.New(rand.NewPCG(1, 2))
	allocs := testing.AllocsPerRun(1000, func() {
		keyName(cmd[ko:], rng.Uint64N(1000000))
		fillValue(rng, cmd[vo:vo+64])
		h.Record(1234 * time.Microsecond)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per request", allocs)
	}
}

func TestSaveOver(t *testing.T) {
	idle := map[string]string{"rdb_bgsave_in_progress": "0", "rdb_saves": "3", "rdb_last_bgsave_status": "ok"}
	if saveOver(idle, false, true, "3", 0) {
		t.Error("over before it was seen or counted (a server that shows a started save late)")
	}
	if !saveOver(idle, true, true, "3", 0) {
		t.Error("not over after it was seen in progress")
	}
	if !saveOver(idle, false, true, "2", 0) {
		t.Error("not over when rdb_saves grew (a save faster than one poll, or SAVE)")
	}
	failed := map[string]string{"rdb_bgsave_in_progress": "0", "rdb_saves": "3", "rdb_last_bgsave_status": "err"}
	if !saveOver(failed, false, true, "3", 0) {
		t.Error("not over when the save failed")
	}
	bare := map[string]string{"rdb_bgsave_in_progress": "0"}
	if saveOver(bare, false, false, "", 10*time.Millisecond) || !saveOver(bare, false, false, "", time.Second) {
		t.Error("a server without rdb_saves: wait one second for the save to show")
	}
}
