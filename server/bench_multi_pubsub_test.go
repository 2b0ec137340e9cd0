package server_test

// Side-by-side benchmarks of transactions and pub/sub against redis-server
// (started on a loopback port; skipped when it is not installed):
//
//	go test ./server -run '^$' -bench 'MultiExec|Publish' -benchtime 3s -count 3
//
// Compare the server=redis and server=cairn lines of each benchmark (ns/op
// and, for PUBLISH, delivered msgs/s).

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// benchRedis starts redis-server with extra arguments, or skips.
func benchRedis(b *testing.B, args ...string) string {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		b.Skip("SKIP: redis-server is not installed")
	}
	return benchProc(b, bin, args...)
}

// benchProc runs a server binary on a free loopback port until the
// benchmark ends.
func benchProc(b *testing.B, bin string, args ...string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(bin, append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--dir", b.TempDir()}, args...)...)
	diffDieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Write(encode("PING"))
			line, err := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if err == nil && line == "+PONG\r\n" {
				return addr
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s did not start", bin)
		}
	}
}

// benchCairn starts the cairn-server binary (built once per run) as its own
// process, as redis-server is: in-process, the server would share the
// benchmark client's cores and garbage collector. durable: the log under
// appendfsync everysec; otherwise memory only.
func benchCairn(b *testing.B, durable bool) string {
	benchBuild.Do(func() {
		dir, err := os.MkdirTemp("", "cairn-bench-")
		if err != nil {
			benchBuildErr = err
			return
		}
		benchBin = filepath.Join(dir, "cairn-server")
		out, err := exec.Command("go", "build", "-o", benchBin, "../tools/cairn-server").CombinedOutput()
		if err != nil {
			benchBuildErr = fmt.Errorf("%v: %s", err, out)
		}
	})
	if benchBuildErr != nil {
		b.Fatal(benchBuildErr)
	}
	aof := "no"
	if durable {
		aof = "yes"
	}
	return benchProc(b, benchBin, "--appendonly", aof, "--appendfsync", "everysec")
}

var (
	benchBuild    sync.Once
	benchBin      string
	benchBuildErr error
)

// BenchmarkMultiExec3Set: MULTI, SET, SET, SET, EXEC from 50 connections,
// each block sent as one write and its 5 replies read back.
func BenchmarkMultiExec3Set(b *testing.B) {
	for _, mode := range []string{"mem", "aof-everysec"} {
		for _, srv := range []string{"redis", "cairn"} {
			b.Run("mode="+mode+"/server="+srv, func(b *testing.B) {
				var addr string
				switch {
				case srv == "redis" && mode == "mem":
					addr = benchRedis(b, "--appendonly", "no")
				case srv == "redis":
					addr = benchRedis(b, "--appendonly", "yes", "--appendfsync", "everysec")
				default:
					addr = benchCairn(b, mode != "mem")
				}
				value := string(make([]byte, 64))
				var ctr sync.Mutex
				next := 0
				b.SetParallelism(25) // 50 connections on 2 cores
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					bc := dialBench(b, addr)
					defer bc.c.Close()
					ctr.Lock()
					id := next
					next++
					ctr.Unlock()
					var req []byte
					for i := 0; pb.Next(); i++ {
						k := strconv.Itoa(id*1000 + i%1000)
						req = append(req[:0], encode("MULTI")...)
						req = append(req, encode("SET", "a:"+k, value)...)
						req = append(req, encode("SET", "b:"+k, value)...)
						req = append(req, encode("SET", "c:"+k, value)...)
						req = append(req, encode("EXEC")...)
						// +OK, 3 × +QUEUED, *3 and its 3 +OK.
						bc.roundTrip(b, req, 8)
					}
				})
			})
		}
	}
}

// BenchmarkPublish100: PUBLISH of 64-byte messages to a channel with 100
// subscribers, from 4 connections pipelining 16 each. One op is one
// PUBLISH; msgs/s counts deliveries (100 per PUBLISH), measured until every
// subscriber has read every message.
func BenchmarkPublish100(b *testing.B) {
	for _, srv := range []string{"redis", "cairn"} {
		b.Run("server="+srv, func(b *testing.B) {
			var addr string
			if srv == "redis" {
				addr = benchRedis(b, "--appendonly", "no")
			} else {
				addr = benchCairn(b, false)
			}
			const subs = 100
			payload := string(make([]byte, 64))
			// Each delivered message has exactly this size.
			msgLen := len("*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$64\r\n") + 64 + 2
			var wg sync.WaitGroup
			target := int64(b.N) * int64(msgLen)
			reached := make([]chan struct{}, subs)
			done := make([]chan int64, subs)
			conns := make([]net.Conn, subs)
			for i := range conns {
				bc := dialBench(b, addr)
				conns[i] = bc.c
				bc.roundTrip(b, encode("SUBSCRIBE", "ch"), 4) // *3, $9 subscribe, $2 ch, :1
				done[i] = make(chan int64, 1)
				reached[i] = make(chan struct{})
				wg.Add(1)
				go func(br *bufio.Reader, out chan<- int64, reached chan struct{}) {
					defer wg.Done()
					var n int64
					buf := make([]byte, 64<<10)
					for {
						k, err := br.Read(buf)
						n += int64(k)
						if n >= target && reached != nil {
							close(reached)
							reached = nil
						}
						if err != nil {
							out <- n / int64(msgLen)
							return
						}
					}
				}(bc.br, done[i], reached[i])
			}
			// Every subscriber is registered once PUBSUB NUMSUB says so.
			ctl := dialBench(b, addr)
			defer ctl.c.Close()
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
				ctl.c.Write(encode("PUBSUB", "NUMSUB", "ch"))
				rep := make([]string, 0, 4) // *2, $2, ch, :count
				for i := 0; i < 4; i++ {
					line, _ := ctl.br.ReadString('\n')
					rep = append(rep, line)
				}
				if rep[3] == ":"+strconv.Itoa(subs)+"\r\n" {
					break
				}
				if time.Now().After(deadline) {
					b.Fatalf("subscribers not registered: %q", rep)
				}
			}
			b.ReportAllocs()
			b.SetParallelism(2)
			start := time.Now()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				bc := dialBench(b, addr)
				defer bc.c.Close()
				one := encode("PUBLISH", "ch", payload)
				var req []byte
				n := 0
				for pb.Next() {
					req = append(req, one...)
					if n++; n == 16 {
						bc.roundTrip(b, req, n)
						req, n = req[:0], 0
					}
				}
				if n > 0 {
					bc.roundTrip(b, req, n)
				}
			})
			// Until every subscriber has read every message.
			for _, r := range reached {
				select {
				case <-r:
				case <-time.After(60 * time.Second):
					b.Fatal("a subscriber did not get every message")
				}
			}
			elapsed := time.Since(start)
			b.StopTimer()
			for _, c := range conns {
				c.Close()
			}
			wg.Wait()
			var total int64
			for _, ch := range done {
				total += <-ch
			}
			if total < int64(b.N)*subs {
				b.Fatalf("delivered %d messages, want %d", total, int64(b.N)*subs)
			}
			b.ReportMetric(float64(total)/elapsed.Seconds(), "msgs/s")
		})
	}
}
