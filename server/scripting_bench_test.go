package server_test

import (
	"fmt"
	"sync/atomic"
	"testing"
)

// BenchmarkServerEvalSHA runs django-redis's incr script by SHA over
// parallel connections, on keys that exist (so it reads and writes).
func BenchmarkServerEvalSHA(b *testing.B) {
	addr := startTestServer(b, nil)
	prefill := dialBench(b, addr)
	prefill.roundTrip(b, encode("SCRIPT", "LOAD", djangoIncrScript), 1)
	for i := 0; i < 10000; i += 100 {
		var req []byte
		for j := i; j < i+100; j++ {
			req = append(req, encode("SET", fmt.Sprintf("key:%012d", j), "0")...)
		}
		prefill.roundTrip(b, req, 100)
	}
	sha := sha1Hex(djangoIncrScript)
	var ctr atomic.Int64
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		bc := dialBench(b, addr)
		defer bc.c.Close()
		for pb.Next() {
			k := int(ctr.Add(1) % 10000)
			bc.roundTrip(b, encode("EVALSHA", sha, "1", fmt.Sprintf("key:%012d", k), "1"), 1)
		}
	})
}
