package wal

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairn-db/cairn/vfs"
)

// slowSync makes every fsync take d, as a disk does, so that batches form.
func slowSync(d time.Duration) vfs.Injector {
	return vfs.InjectorFunc(func(op vfs.Op, _ string) error {
		if op == vfs.OpSync {
			time.Sleep(d)
		}
		return nil
	})
}

// history records what a workload appended and what was acknowledged.
type history struct {
	mu sync.Mutex
	// byLSN is every record appended.
	byLSN map[uint64][]byte
	// acked is the highest LSN whose WaitSynced has returned nil (every
	// LSN below it is synced too).
	acked atomic.Uint64
}

func newHistory() *history { return &history{byLSN: map[uint64][]byte{}} }

func (h *history) append(l *Log, r []byte) uint64 {
	// The engine appends under its shard locks; a mutex here keeps the
	// map in step (records are recorded before anyone can replay them).
	h.mu.Lock()
	lsn := l.Append(r)
	h.byLSN[lsn] = r
	h.mu.Unlock()
	return lsn
}

func (h *history) ack(lsn uint64) {
	for {
		cur := h.acked.Load()
		if lsn <= cur || h.acked.CompareAndSwap(cur, lsn) {
			return
		}
	}
}

// checkPrefix checks that got is the records 1..n in order, with n >=
// mustHave, and contents as appended.
func (h *history) checkPrefix(t testing.TB, got []rec, mustHave uint64, what string) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, g := range got {
		if g.lsn != uint64(i+1) {
			t.Fatalf("%s: record %d has LSN %d", what, i, g.lsn)
		}
		if want, ok := h.byLSN[g.lsn]; !ok || !bytes.Equal(g.data, want) {
			t.Fatalf("%s: LSN %d content differs from what was appended", what, g.lsn)
		}
	}
	if uint64(len(got)) < mustHave {
		t.Fatalf("%s: replay returned %s, but LSN %d was acknowledged as synced", what, describe(got), mustHave)
	}
}

// TestGroupCommit: under always, many goroutines appending and waiting
// share fsyncs; everything acknowledged survives a crash.
func TestGroupCommit(t *testing.T) {
	mem := vfs.NewMem()
	fs := vfs.NewError(mem, slowSync(time.Millisecond))
	opts := Options{FS: fs, Dir: "/wal", Sync: SyncAlways, SegmentSize: 16 << 10, Preallocate: true}
	l, _, _ := openLog(t, opts, 0)
	h := newHistory()
	const writers, each = 64, 30
	var wg sync.WaitGroup
	var clones []*vfs.MemFS
	var cloneAcked []uint64
	var cmu sync.Mutex
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() { // crash snapshots while the writers run
		defer close(stopped)
		rng := rand.New(rand.NewPCG(seed(t), 2))
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(rng.IntN(5)) * time.Millisecond):
			}
			acked := h.acked.Load()
			c := mem.CrashClone(vfs.CrashOptions{KeepUnsynced: rand.New(rand.NewPCG(rng.Uint64(), 0)), TearTail: rng.IntN(2) == 0})
			cmu.Lock()
			clones, cloneAcked = append(clones, c), append(cloneAcked, acked)
			cmu.Unlock()
		}
	}()
	start := l.Stats().Fsyncs
	for g := 0; g < writers; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				lsn := h.append(l, []byte(fmt.Sprintf("writer %d record %d", g, i)))
				if err := l.WaitSynced(waitCtx(t), lsn); err != nil {
					t.Error(err)
					return
				}
				h.ack(lsn)
			}
		}(g)
	}
	wg.Wait()
	close(stop)
	<-stopped
	fsyncs := l.Stats().Fsyncs - start
	l.Close()
	total := int64(writers * each)
	t.Logf("%d appends+waits, %d fsyncs (%.1f records per fsync), %d crash clones", total, fsyncs, float64(total)/float64(fsyncs), len(clones))
	if fsyncs > total/4 {
		t.Errorf("%d fsyncs for %d appends under always: no group commit", fsyncs, total)
	}
	cmu.Lock()
	defer cmu.Unlock()
	for i, c := range clones {
		l, got, _ := openLog(t, Options{FS: c, Dir: "/wal"}, 0)
		h.checkPrefix(t, got, cloneAcked[i], fmt.Sprintf("clone %d", i))
		l.Close()
	}
}

// TestCrashRandom runs random workloads (policies, sizes, rotations,
// concurrency, restarts) and crashes them at random points, keeping random
// parts of the unsynced tails, sometimes torn. Replay must succeed and
// return a prefix of the appended records that holds every record whose
// WaitSynced returned.
func TestCrashRandom(t *testing.T) {
	s := seed(t)
	iters := 60
	if testing.Short() {
		iters = 10
	}
	for it := 0; it < iters; it++ {
		itSeed := s + uint64(it)
		t.Run(fmt.Sprint(itSeed), func(t *testing.T) { crashRun(t, itSeed) })
	}
}

func crashRun(t *testing.T, s uint64) {
	rng := rand.New(rand.NewPCG(s, 3))
	mem := vfs.NewMem()
	slow := rng.IntN(2) == 0
	wrap := func(m *vfs.MemFS) vfs.FS {
		if slow {
			return vfs.NewError(m, slowSync(time.Duration(rng.IntN(300))*time.Microsecond))
		}
		return m
	}
	opts := Options{
		FS: wrap(mem), Dir: "/data/wal",
		Sync:          SyncPolicy(rng.IntN(3)),
		SegmentSize:   int64(512 + rng.IntN(64<<10)),
		CompressAbove: []int{-1, 1, 100, 4096}[rng.IntN(4)],
		Preallocate:   rng.IntN(2) == 0,
	}
	t.Logf("policy %v, segment size %d, compress above %d, slow fsync %v, preallocate %v",
		opts.Sync, opts.SegmentSize, opts.CompressAbove, slow, opts.Preallocate)
	h := newHistory()
	crashes := 0
	// crash takes a crash image and checks it at once (on a copy, so
	// the image can also be continued from).
	crash := func() *vfs.MemFS {
		acked := h.acked.Load()
		c := mem.CrashClone(vfs.CrashOptions{
			KeepUnsynced: rand.New(rand.NewPCG(rng.Uint64(), 4)),
			TearTail:     rng.IntN(2) == 0,
		})
		what := fmt.Sprintf("seed %d crash %d", s, crashes)
		crashes++
		cc := c.CrashClone(vfs.CrashOptions{})
		l, got, _ := openLog(t, Options{FS: cc, Dir: "/data/wal"}, 0)
		h.checkPrefix(t, got, acked, what)
		// The recovered log goes on densely.
		next := uint64(len(got)) + 1
		if lsn := l.Append([]byte("after the crash")); lsn != next {
			t.Fatalf("%s: next LSN %d, want %d", what, lsn, next)
		}
		if err := l.Close(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		got2, info := readAll(t, cc, "/data/wal")
		if info.Damage != nil || uint64(len(got2)) != next || !bytes.Equal(got2[len(got2)-1].data, []byte("after the crash")) {
			t.Fatalf("%s: after recovery and one append: %s, damage %+v", what, describe(got2), info.Damage)
		}
		return c
	}
	// On a failure, stop the writers before the test returns.
	var cleanup []func()
	defer func() {
		for _, f := range cleanup {
			f()
		}
	}()
	restarts := 1 + rng.IntN(3)
	for r := 0; r < restarts; r++ {
		l, got, _ := openLog(t, opts, 0)
		h.checkPrefix(t, got, h.acked.Load(), "restart")
		if uint64(len(got)) != l.LastLSN() {
			t.Fatalf("restart: %d records, LastLSN %d", len(got), l.LastLSN())
		}
		writers := 1 + rng.IntN(8)
		ops := 20 + rng.IntN(200)
		var wg sync.WaitGroup
		cleanup = append(cleanup, func() { l.Close(); wg.Wait() })
		for g := 0; g < writers; g++ {
			wrng := rand.New(rand.NewPCG(rng.Uint64(), uint64(g)))
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < ops/writers+1; i++ {
					size := wrng.IntN(200)
					if wrng.IntN(20) == 0 {
						size = wrng.IntN(20000)
					}
					lsn := h.append(l, payload(wrng.Uint64(), size, wrng.IntN(2) == 0))
					switch wrng.IntN(4) {
					case 0:
						if err := l.WaitSynced(waitCtx(t), lsn); err != nil {
							t.Error(err)
							return
						}
						h.ack(lsn)
					case 1:
						// As the server before each reply under
						// everysec and no: the writer leads commits.
						if err := l.WaitWritten(waitCtx(t), lsn); err != nil {
							t.Error(err)
							return
						}
					}
				}
			}()
		}
		var forcer sync.WaitGroup
		forcing := make(chan struct{})
		stopForcing := sync.OnceFunc(func() { close(forcing); forcer.Wait() })
		cleanup = append(cleanup, stopForcing)
		if opts.Sync == SyncEverySec && rng.IntN(2) == 0 {
			// Every committer round's fsync due: background fsyncs,
			// made without cmu, one after another while writers write.
			forcer.Add(1)
			go func() {
				defer forcer.Done()
				for {
					select {
					case <-forcing:
						return
					default:
					}
					dueSecond(l)
					runtime.Gosched()
				}
			}()
		}
		ch := make(chan struct{})
		go func() { wg.Wait(); close(ch) }()
		for done := false; !done; {
			select {
			case <-ch:
				done = true
			case <-time.After(time.Duration(rng.IntN(2000)) * time.Microsecond):
				crash()
			}
		}
		stopForcing()
		if rng.IntN(3) == 0 {
			// A crash without Close: the next round starts from its image.
			c := crash()
			l.Close()
			_, info := readAll(t, c.CrashClone(vfs.CrashOptions{}), opts.Dir)
			h.mu.Lock()
			for lsn := range h.byLSN {
				if lsn > info.LastLSN {
					delete(h.byLSN, lsn)
				}
			}
			h.mu.Unlock()
			h.acked.Store(min(h.acked.Load(), info.LastLSN))
			mem = c
			opts.FS = wrap(c)
			continue
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		h.ack(l.LastLSN())
		crash()
	}
}
