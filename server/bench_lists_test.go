package server_test

import (
	"bufio"
	"fmt"
	"net"
	"testing"

	"github.com/cairn-db/cairn/internal/resptest"
)

// benchCollection runs req (one command) from parallel connections after
// setup, reading whole replies: LRANGE and ZRANGE as redis-benchmark's
// lrange_100 runs them.
func benchCollection(b *testing.B, setup [][]string, req []string) {
	addr := startTestServer(b, nil)
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	cl := resptest.NewClient(nc)
	for _, cmd := range setup {
		if _, err := cl.Do(cmd...); err != nil {
			b.Fatal(err)
		}
	}
	cl.Close()
	enc := resptest.AppendCommand(nil, req...)
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		br := bufio.NewReaderSize(c, 64<<10)
		for pb.Next() {
			if _, err := c.Write(enc); err != nil {
				b.Error(err)
				return
			}
			if _, err := resptest.ReadReply(br); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkLRange100(b *testing.B) {
	push := []string{"RPUSH", "mylist"}
	for i := 0; i < 600; i++ {
		push = append(push, fmt.Sprint("element-", i))
	}
	benchCollection(b, [][]string{push}, []string{"LRANGE", "mylist", "0", "99"})
}

func BenchmarkZRange100(b *testing.B) {
	add := []string{"ZADD", "myzset"}
	for i := 0; i < 1000; i++ {
		add = append(add, fmt.Sprint(i*7%1000), fmt.Sprint("member:", i))
	}
	benchCollection(b, [][]string{add}, []string{"ZRANGE", "myzset", "0", "99", "WITHSCORES"})
}
