package server

import (
	"io"
	"net"
	"syscall"
	"unsafe"
)

// maxRawIO bounds a read or write done with a raw system call: larger
// writes go through the net package, so that one never holds the
// goroutine unpreemptible while the kernel copies megabytes.
const maxRawIO = 64 << 10

// sockIO reads commands from, and writes replies to, a client's socket
// with raw system calls, waiting in Go's network poller when the socket
// is not ready, as the net package does.
//
// A read or write through the net package is a system call that the
// runtime is told about (entersyscall), and that wakes the runtime's
// monitor thread (sysmon) whenever every P was idle: with one client, on
// every command. Measured with one client at pipeline 1 (SET, no
// persistence): 2.3 thread switches per command became 1.0, as Redis's,
// server CPU per command 30 µs became 23.5 (Redis 23), and throughput rose
// by a tenth. A non-blocking socket's read or write never waits, so the
// runtime need not know.
type sockIO struct {
	nc  net.Conn
	raw syscall.RawConn

	// bp is the server's busy poller (nil: none); waiting is true while
	// the goroutine waits for the socket, not counted in bp.active.
	bp      *busyPoller
	waiting bool

	// The current call's buffer and outcome, for the callbacks.
	buf             []byte
	n               int
	err             error
	readFn, writeFn func(fd uintptr) bool
}

// newSockIO returns nil when nc has no raw socket to use.
func newSockIO(nc net.Conn) *sockIO {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	s := &sockIO{nc: nc, raw: raw}
	s.readFn, s.writeFn = s.readAttempt, s.writeAttempt
	return s
}

// Read is io.Reader's: it returns io.EOF when the peer closed.
func (s *sockIO) Read(b []byte) (int, error) {
	if len(b) > maxRawIO {
		b = b[:maxRawIO]
	}
	if len(b) == 0 {
		return 0, nil
	}
	s.buf, s.n, s.err = b, 0, nil
	err := s.raw.Read(s.readFn)
	s.buf = nil
	if err == nil {
		err = s.err
	}
	if err != nil {
		return 0, err
	}
	if s.n == 0 {
		return 0, io.EOF
	}
	return s.n, nil
}

// readAttempt reads once; false means "wait until readable, then call
// again". Before it returns false the busy poller may spin, and if it
// found input on this socket, it reads once more.
func (s *sockIO) readAttempt(fd uintptr) bool {
	if s.waiting {
		s.waiting = false
		s.bp.active.Add(1)
	}
	spun := s.bp == nil
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&s.buf[0])), uintptr(len(s.buf)))
		switch e {
		case 0:
			s.n = int(n)
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			if !spun {
				spun = true
				if s.bp.spin() == int(fd) {
					continue
				}
			}
			if s.bp != nil {
				s.waiting = true
				s.bp.active.Add(-1)
			}
			return false
		default:
			s.err = e
			return true
		}
	}
}

// done is called once the client's goroutine has ended, to stop counting
// it.
func (s *sockIO) done() {
	if s.bp != nil && !s.waiting {
		s.waiting = true
		s.bp.active.Add(-1)
	}
}

// Write writes all of b, or returns an error.
func (s *sockIO) Write(b []byte) (int, error) {
	if len(b) > maxRawIO {
		return s.nc.Write(b)
	}
	if len(b) == 0 {
		return 0, nil
	}
	s.buf, s.n, s.err = b, 0, nil
	err := s.raw.Write(s.writeFn)
	s.buf = nil
	if err == nil {
		err = s.err
	}
	return s.n, err
}

// writeAttempt writes what it can; false means "wait until writable, then
// call again".
func (s *sockIO) writeAttempt(fd uintptr) bool {
	for len(s.buf) > 0 {
		n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&s.buf[0])), uintptr(len(s.buf)))
		switch e {
		case 0:
			s.n += int(n)
			s.buf = s.buf[n:]
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			s.err = e
			return true
		}
	}
	return true
}
