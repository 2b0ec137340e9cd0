package server

import (
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// busyPoller lets the last client goroutine about to wait for its socket
// poll every client socket for a short while first (busy-poll-us), so
// that under load the next request finds the server's thread running
// rather than asleep.
//
// Why: a request written to a sleeping server pays for waking it, in the
// client's own system call (on loopback the sender runs the receiver's
// TCP input and its wake-up), and is answered that much later. With 50
// clients at pipeline 1 on two cores the client, redis-benchmark, is the
// limit (94-98 % busy), so what it pays per request sets the rate. SET,
// one server at a time, 6 rounds: 91.9-97.2k a second with the poll,
// 75.2-94.5k without, redis-server 76.3-94.0k; the poll was faster than
// Redis in every round (1.03-1.20). The shared harness at pipeline 1,
// 5 rounds, against Redis: 1.029 (LPUSH 1.075, RPOP 1.055, SADD 1.039,
// HSET 1.021, ZADD 0.990, LRANGE_100 0.994), where the build before it
// made 0.991 and Redis against itself 0.994. One client under everysec:
// 1.12-1.40 of Redis, from 0.81-1.09. A toy epoll loop gained 5-10 %
// from polling 50 µs before it slept.
//
// It polls a second epoll instance, level-triggered, holding every client
// socket, only to learn that one has input: the goroutine then reads its
// own, or waits as before, and the scheduler's non-blocking poll finds the
// other's input at once, with no thread asleep. It spins only on one P of
// a machine of several cores (on one core it would keep the clients from
// running; with more Ps an idle P's thread would be woken anyway), only
// while no other client goroutine runs (one blocked in BLPOP, or waiting
// for an fsync, counts as running), and not for a while after a spin that
// found nothing following few that found input: a light load, whose next
// request may be far off.
type busyPoller struct {
	epfd  int
	multi bool // the machine has more than one core
	start time.Time
	// active counts client goroutines not waiting for their socket.
	active atomic.Int32
	// window is how long one spin lasts at most (ns; 0: never spin).
	window atomic.Int64
	// quietUntil: no spin before this (ns since start); hitsSinceMiss:
	// spins that found input since the last that did not.
	quietUntil    atomic.Int64
	hitsSinceMiss atomic.Int64
	// hits and misses count the spins that found input and those that did
	// not (INFO server); spent is the time spun, in ns.
	hits, misses, spent atomic.Int64
}

// A spin that finds nothing after fewer than busyPollMinHits that found
// input stops the spins for busyPollQuiet: the load is light, and each
// spin would only burn its window (one window in busyPollQuiet then).
// Under a heavy load a spin finds nothing now and then, in bursts (50
// clients at pipeline 1: 100-400 such spins in 300,000 requests, against
// 250,000-290,000 that found input); stopping after each such miss, or
// after two within 10 ms, kept the poller quiet most of the time and
// gained nothing.
const (
	busyPollMinHits = 16
	busyPollQuiet   = 100 * time.Millisecond
)

// newBusyPoller returns nil if it cannot make its epoll instance.
func newBusyPoller() *busyPoller {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil
	}
	return &busyPoller{epfd: fd, multi: runtime.NumCPU() > 1, start: time.Now()}
}

func (p *busyPoller) close() { syscall.Close(p.epfd) }

// watch adds a client socket. A closed socket leaves the set by itself.
func (p *busyPoller) watch(fd uintptr) {
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(fd)}
	syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev)
}

// spin is called by a client goroutine that found its socket empty and
// is about to wait. It returns once some client socket has input, with
// that socket's descriptor, or -1 once the window has passed, or at once
// when there is no call to spin.
func (p *busyPoller) spin() int {
	window := p.window.Load()
	if window <= 0 || !p.multi || p.active.Load() != 1 || runtime.GOMAXPROCS(0) != 1 {
		return -1
	}
	now := int64(time.Since(p.start))
	if now < p.quietUntil.Load() {
		return -1
	}
	var ev [1]syscall.EpollEvent
	begin := now
	end := now + window
	for {
		n, _, e := syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, uintptr(p.epfd), uintptr(unsafe.Pointer(&ev[0])), 1, 0, 0, 0)
		if e == 0 && n > 0 {
			p.hits.Add(1)
			p.hitsSinceMiss.Add(1)
			p.spent.Add(int64(time.Since(p.start)) - begin)
			return int(ev[0].Fd)
		}
		if e != 0 && e != syscall.EINTR {
			return -1
		}
		if now = int64(time.Since(p.start)); now >= end {
			p.spent.Add(now - begin)
			p.misses.Add(1)
			if p.hitsSinceMiss.Swap(0) < busyPollMinHits {
				p.quietUntil.Store(now + int64(busyPollQuiet))
			}
			return -1
		}
	}
}
