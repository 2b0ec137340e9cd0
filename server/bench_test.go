package server_test

import (
	"bufio"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
)

// benchConn sends pre-encoded commands over one connection and reads one
// reply line (plus a bulk body) per command.
type benchConn struct {
	c  net.Conn
	br *bufio.Reader
}

func dialBench(b *testing.B, addr string) *benchConn {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	return &benchConn{c: c, br: bufio.NewReaderSize(c, 64<<10)}
}

func (bc *benchConn) roundTrip(b *testing.B, req []byte, n int) {
	if _, err := bc.c.Write(req); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < n; i++ {
		line, err := bc.br.ReadSlice('\n')
		if err != nil {
			b.Fatal(err)
		}
		if line[0] == '-' {
			b.Fatalf("error reply %q", line)
		}
		if line[0] == '$' {
			size, _ := strconv.Atoi(string(line[1 : len(line)-2]))
			if size >= 0 {
				if _, err := bc.br.Discard(size + 2); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
}

func encode(args ...string) []byte {
	out := fmt.Appendf(nil, "*%d\r\n", len(args))
	for _, a := range args {
		out = fmt.Appendf(out, "$%d\r\n%s\r\n", len(a), a)
	}
	return out
}

// benchServer runs cmd (built per iteration from a key number) from
// parallel connections with the given pipeline depth.
func benchServer(b *testing.B, pipeline int, cmd func(key int) []byte) {
	addr := startTestServer(b, nil)
	value := string(make([]byte, 64))
	prefill := dialBench(b, addr)
	for i := 0; i < 10000; i += 100 {
		var req []byte
		for j := i; j < i+100; j++ {
			req = append(req, encode("SET", fmt.Sprintf("key:%012d", j), value)...)
		}
		prefill.roundTrip(b, req, 100)
	}
	var ctr atomic.Int64
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		bc := dialBench(b, addr)
		defer bc.c.Close()
		var req []byte
		n := 0
		for pb.Next() {
			req = append(req, cmd(int(ctr.Add(1)%10000))...)
			n++
			if n == pipeline {
				bc.roundTrip(b, req, n)
				req, n = req[:0], 0
			}
		}
		if n > 0 {
			bc.roundTrip(b, req, n)
		}
	})
}

func BenchmarkServerGet(b *testing.B) {
	for _, p := range []int{1, 16} {
		b.Run(fmt.Sprintf("pipeline=%d", p), func(b *testing.B) {
			benchServer(b, p, func(k int) []byte { return encode("GET", fmt.Sprintf("key:%012d", k)) })
		})
	}
}

func BenchmarkServerSet(b *testing.B) {
	value := string(make([]byte, 64))
	for _, p := range []int{1, 16} {
		b.Run(fmt.Sprintf("pipeline=%d", p), func(b *testing.B) {
			benchServer(b, p, func(k int) []byte { return encode("SET", fmt.Sprintf("key:%012d", k), value) })
		})
	}
}
