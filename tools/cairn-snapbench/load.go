package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Phases of a measurement. Each reply is counted in the phase current when
// it arrives, so a reply delayed across the start of the snapshot (say, by
// a fork) counts in the snapshot window.
const (
	phWarmup = iota
	phBaseline
	phWindow
	phStop
	nPhases = phStop
)

// keyName writes key:%012d into b[:16].
func keyName(b []byte, i uint64) {
	copy(b, "key:")
	for j := 15; j >= 4; j-- {
		b[j] = byte('0' + i%10)
		i /= 10
	}
}

// alnum has 64 symbols: 6 random bits each.
const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"

// fillValue fills b with random symbols, fresh for every value: neither
// Redis's LZF (per value) nor Cairn's snappy (per block, where values of
// one writer would repeat) can compress them much.
func fillValue(r *rand.Rand, b []byte) {
	for i := 0; i < len(b); {
		x := r.Uint64()
		for j := 0; j < 10 && i < len(b); j++ {
			b[i] = alnum[x&63]
			x >>= 6
			i++
		}
	}
}

// setCmd returns a SET command for a 16-byte key and a value of size bytes,
// and the offsets of the key and of the value in it.
func setCmd(size int) (cmd []byte, keyOff, valOff int) {
	cmd = []byte("*3\r\n$3\r\nSET\r\n$16\r\n")
	keyOff = len(cmd)
	cmd = append(cmd, "key:000000000000\r\n$"...)
	cmd = strconv.AppendInt(cmd, int64(size), 10)
	cmd = append(cmd, "\r\n"...)
	valOff = len(cmd)
	cmd = append(cmd, make([]byte, size)...)
	cmd = append(cmd, "\r\n"...)
	return cmd, keyOff, valOff
}

// prefill SETs key:000000000000 ... key:<keys-1> with random values of
// valueSize bytes, in pipelined batches, over a few connections.
func prefill(ctx context.Context, addr string, keys, valueSize, batch, conns int, seed uint64) error {
	if batch < 1 {
		batch = 1
	}
	var next atomic.Int64
	errc := make(chan error, conns)
	var wg sync.WaitGroup
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			errc <- prefillWorker(ctx, addr, &next, keys, valueSize, batch, seed+uint64(w))
		}(w)
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			return err
		}
	}
	return nil
}

func prefillWorker(ctx context.Context, addr string, next *atomic.Int64, keys, valueSize, batch int, seed uint64) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	r := bufio.NewReaderSize(c, 64*1024)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	one, keyOff, valOff := setCmd(valueSize)
	buf := make([]byte, 0, batch*len(one))
	for {
		lo := int(next.Add(int64(batch))) - batch
		if lo >= keys {
			return nil
		}
		hi := min(lo+batch, keys)
		buf = buf[:0]
		for i := lo; i < hi; i++ {
			n := len(buf)
			buf = append(buf, one...)
			keyName(buf[n+keyOff:], uint64(i))
			fillValue(rng, buf[n+valOff:n+valOff+valueSize])
		}
		if _, err := c.Write(buf); err != nil {
			return fmt.Errorf("prefill: %w", ctxErr(ctx, err))
		}
		for i := lo; i < hi; i++ {
			l, err := r.ReadSlice('\n')
			if err != nil {
				return fmt.Errorf("prefill: %w", ctxErr(ctx, err))
			}
			if len(l) > 0 && l[0] == '-' {
				return fmt.Errorf("prefill: SET key %d: %s", i, trimCRLF(l))
			}
		}
	}
}

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func trimCRLF(b []byte) string {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return string(b)
}

// loadClient is one connection SETting random existing keys, one request
// in flight, recording each request's latency and the gaps between its
// replies in the histograms of the current phase.
type loadClient struct {
	c       net.Conn
	hist    [nPhases]Hist
	maxGap  [nPhases]time.Duration
	lastRep atomic.Int64 // ns since base of the last reply
	errs    atomic.Int64
	errMsg  atomic.Value // string: the first error reply
	ioErr   error
}

// loadGen runs the clients of one measurement.
type loadGen struct {
	phase   atomic.Int32
	base    time.Time
	clients []*loadClient
	wg      sync.WaitGroup
}

func startLoad(addr string, clients, keys, valueSize int, seed uint64) (*loadGen, error) {
	g := &loadGen{base: time.Now()}
	for i := 0; i < clients; i++ {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			for _, lc := range g.clients {
				lc.c.Close()
			}
			return nil, err
		}
		g.clients = append(g.clients, &loadClient{c: c})
	}
	for i, lc := range g.clients {
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			lc.run(g, uint64(keys), valueSize, seed+uint64(i)*7919)
		}()
	}
	return g, nil
}

func (lc *loadClient) run(g *loadGen, keys uint64, valueSize int, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0xc1e7))
	cmd, keyOff, valOff := setCmd(valueSize)
	r := bufio.NewReaderSize(lc.c, 4096)
	last := time.Since(g.base)
	lc.lastRep.Store(int64(last))
	for {
		if g.phase.Load() >= phStop {
			return
		}
		keyName(cmd[keyOff:], rng.Uint64N(keys))
		fillValue(rng, cmd[valOff:valOff+valueSize])
		t0 := time.Since(g.base)
		if _, err := lc.c.Write(cmd); err != nil {
			lc.ioErr = err
			return
		}
		l, err := r.ReadSlice('\n')
		if err != nil {
			lc.ioErr = err
			return
		}
		t1 := time.Since(g.base)
		ph := g.phase.Load()
		if ph >= phStop {
			return
		}
		if len(l) > 0 && l[0] == '-' {
			if lc.errs.Add(1) == 1 {
				lc.errMsg.Store(trimCRLF(l))
			}
		}
		lc.hist[ph].Record(t1 - t0)
		if gap := t1 - last; gap > lc.maxGap[ph] {
			lc.maxGap[ph] = gap
		}
		last = t1
		lc.lastRep.Store(int64(t1))
	}
}

func (g *loadGen) now() time.Duration { return time.Since(g.base) }

// stalled returns the longest time since any client's last reply: a client
// still waiting when a window ends is in a pause the histograms have not
// seen yet.
func (g *loadGen) stalled() time.Duration {
	now := g.now()
	var m time.Duration
	for _, lc := range g.clients {
		if d := now - time.Duration(lc.lastRep.Load()); d > m {
			m = d
		}
	}
	return m
}

// stop ends the load: the clients finish their request in flight, or are
// cut off after grace.
func (g *loadGen) stop(grace time.Duration) error {
	g.phase.Store(phStop)
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		for _, lc := range g.clients {
			lc.c.Close()
		}
		<-done
	}
	var first error
	for _, lc := range g.clients {
		lc.c.Close()
		if lc.ioErr != nil && first == nil && !errors.Is(lc.ioErr, net.ErrClosed) {
			first = lc.ioErr
		}
	}
	return first
}

// merged returns the phase's histogram over all clients and its longest
// gap between two replies of one client.
func (g *loadGen) merged(ph int) (*Hist, time.Duration) {
	h := new(Hist)
	var gap time.Duration
	for _, lc := range g.clients {
		h.Merge(&lc.hist[ph])
		gap = max(gap, lc.maxGap[ph])
	}
	return h, gap
}

// errors returns the number of error replies and the first one.
func (g *loadGen) errors() (int64, string) {
	var n int64
	msg := ""
	for _, lc := range g.clients {
		if k := lc.errs.Load(); k > 0 {
			n += k
			if s, ok := lc.errMsg.Load().(string); ok && msg == "" {
				msg = s
			}
		}
	}
	return n, msg
}
