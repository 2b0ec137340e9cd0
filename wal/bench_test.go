package wal

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkAppendWaitSynced measures Append+WaitSynced throughput on the
// operating system's filesystem (a temp dir) with 1, 16 and 64 goroutines,
// under always and everysec (where WaitSynced forces the fsync, as WAITAOF
// does), and Append alone under everysec (what a write costs the engine
// there). It reports appends/s and fsyncs/s.
func BenchmarkAppendWaitSynced(b *testing.B) {
	rec := make([]byte, 100)
	for _, mode := range []struct {
		name   string
		policy SyncPolicy
		wait   bool
	}{{"always", SyncAlways, true}, {"everysec", SyncEverySec, true}, {"everysec-nowait", SyncEverySec, false}} {
		for _, g := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("%s/g%d", mode.name, g), func(b *testing.B) {
				l, _, _ := openLog(b, Options{Dir: b.TempDir(), Sync: mode.policy}, 0)
				defer l.Close()
				var next atomic.Int64
				start := l.Stats().Fsyncs
				b.SetBytes(int64(len(rec)))
				b.ResetTimer()
				t0 := time.Now()
				var wg sync.WaitGroup
				for i := 0; i < g; i++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for next.Add(1) <= int64(b.N) {
							lsn := l.Append(rec)
							if mode.wait {
								if err := l.WaitSynced(waitCtx(b), lsn); err != nil {
									b.Error(err)
									return
								}
							}
						}
					}()
				}
				wg.Wait()
				el := time.Since(t0).Seconds()
				b.StopTimer()
				fsyncs := l.Stats().Fsyncs - start
				b.ReportMetric(float64(b.N)/el, "appends/s")
				b.ReportMetric(float64(fsyncs)/el, "fsyncs/s")
			})
		}
	}
}

// BenchmarkReplay measures reading a log back.
func BenchmarkReplay(b *testing.B) {
	dir := b.TempDir()
	l, _, _ := openLog(b, Options{Dir: dir, Sync: SyncNo}, 0)
	rec := payload(1, 100, true)
	const n = 200000
	for i := 0; i < n; i++ {
		l.Append(rec)
	}
	l.Close()
	b.SetBytes(int64(n * len(rec)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l, err := Open(Options{Dir: dir, Logger: quietLogger})
		if err != nil {
			b.Fatal(err)
		}
		count := 0
		if _, err := l.Replay(0, func(uint64, []byte) error { count++; return nil }); err != nil || count != n {
			b.Fatal(err, count)
		}
		l.Close()
	}
}
