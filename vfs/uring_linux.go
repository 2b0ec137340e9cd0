//go:build linux

package vfs

import (
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// syncRing issues fdatasync through io_uring and waits for it in Go's
// network poller (an eventfd), so that a goroutine waiting for the disk
// does not hold a thread and its P.
//
// A blocking fdatasync does: the runtime's sysmon takes the P back only
// after 20 µs or more, starting another thread for it, and the thread that
// returns from the fsync must then find a P again. Under appendfsync
// always that is a few thread switches per fsync, on every commit; on a
// virtual machine, where a switch costs several microseconds, it cost
// about as much CPU as the commands themselves.
//
// A ring carries one fsync at a time (the caller serialises); each file
// opened for writing gets its own, so that a snapshot's long fsync never
// queues the log's.
type syncRing struct {
	fd    int
	rings []byte // the submission and completion rings (one mapping)
	sqes  []byte // the submission entries
	efd   *os.File
	// efdRaw is efd's raw descriptor, read by waitEvent.
	efdRaw syscall.RawConn

	sqTail, sqMask, cqHead, cqTail, cqMask *uint32
	sqArray                                unsafe.Pointer
	cqes                                   unsafe.Pointer
	// seq numbers the fsyncs (the entries' user_data).
	seq uint64
	buf [8]byte
}

// io_uring's ABI, from linux/io_uring.h.
const (
	ioringOpFsync         = 3
	ioringFsyncDatasync   = 1
	ioringFeatSingleMmap  = 1 << 0
	ioringOffSQRing       = 0
	ioringOffSQEs         = 0x10000000
	ioringRegisterEventFD = 4
	sqeSize               = 64
	cqeSize               = 16
)

type sqringOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

type cqringOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

type uringParams struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFD uint32
	resv                                                                   [3]uint32
	sqOff                                                                  sqringOffsets
	cqOff                                                                  cqringOffsets
}

// newSyncRing sets up a ring, or returns an error if the kernel has no
// io_uring (too old, or disabled by sysctl or seccomp): the caller then
// calls fdatasync itself.
func newSyncRing() (*syncRing, error) {
	var p uringParams
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, 2, uintptr(unsafe.Pointer(&p)), 0)
	if errno != 0 {
		return nil, os.NewSyscallError("io_uring_setup", errno)
	}
	r := &syncRing{fd: int(fd)}
	ok := false
	defer func() {
		if !ok {
			r.close()
		}
	}()
	if p.features&ioringFeatSingleMmap == 0 {
		return nil, os.NewSyscallError("io_uring_setup", syscall.ENOTSUP)
	}
	size := max(p.sqOff.array+p.sqEntries*4, p.cqOff.cqes+p.cqEntries*cqeSize)
	var err error
	if r.rings, err = unix.Mmap(r.fd, ioringOffSQRing, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		return nil, os.NewSyscallError("mmap", err)
	}
	if r.sqes, err = unix.Mmap(r.fd, ioringOffSQEs, int(p.sqEntries*sqeSize), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		return nil, os.NewSyscallError("mmap", err)
	}
	at := func(off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&r.rings[off])) }
	r.sqTail, r.sqMask = at(p.sqOff.tail), at(p.sqOff.ringMask)
	r.sqArray = unsafe.Pointer(&r.rings[p.sqOff.array])
	r.cqHead, r.cqTail, r.cqMask = at(p.cqOff.head), at(p.cqOff.tail), at(p.cqOff.ringMask)
	r.cqes = unsafe.Pointer(&r.rings[p.cqOff.cqes])

	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, os.NewSyscallError("eventfd", err)
	}
	// A non-blocking descriptor: os.NewFile puts it in the network poller.
	r.efd = os.NewFile(uintptr(efd), "io_uring eventfd")
	if r.efdRaw, err = r.efd.SyscallConn(); err != nil {
		return nil, err
	}
	efd32 := int32(efd)
	if _, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), ioringRegisterEventFD,
		uintptr(unsafe.Pointer(&efd32)), 1, 0, 0); errno != 0 {
		return nil, os.NewSyscallError("io_uring_register", errno)
	}
	ok = true
	return r, nil
}

// fdatasync fsyncs fd's data through the ring and waits for it.
func (r *syncRing) fdatasync(fd int) error {
	tail := *r.sqTail
	idx := tail & *r.sqMask
	sqe := r.sqes[idx*sqeSize : (idx+1)*sqeSize]
	clear(sqe)
	sqe[0] = ioringOpFsync
	*(*int32)(unsafe.Pointer(&sqe[4])) = int32(fd)
	*(*uint32)(unsafe.Pointer(&sqe[28])) = ioringFsyncDatasync
	r.seq++
	*(*uint64)(unsafe.Pointer(&sqe[32])) = r.seq // user_data
	*(*uint32)(unsafe.Add(r.sqArray, 4*uintptr(idx))) = idx
	atomic.StoreUint32(r.sqTail, tail+1)
	for {
		// Submitting does not wait: the kernel hands the fsync to a worker.
		// So the runtime need not know of the call (see osFile.Write).
		_, _, errno := unix.RawSyscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), 1, 0, 0, 0, 0)
		if errno == syscall.EINTR {
			continue
		}
		if errno != 0 {
			// Not submitted: take the entry back.
			atomic.StoreUint32(r.sqTail, tail)
			return os.NewSyscallError("io_uring_enter", errno)
		}
		break
	}
	for {
		head := *r.cqHead
		if head != atomic.LoadUint32(r.cqTail) {
			cqe := unsafe.Add(r.cqes, cqeSize*uintptr(head&*r.cqMask))
			userData := *(*uint64)(cqe)
			res := *(*int32)(unsafe.Add(cqe, 8))
			atomic.StoreUint32(r.cqHead, head+1)
			if userData != r.seq {
				// An earlier fsync whose wait ended in an error: its
				// result must not pass for this one's.
				continue
			}
			if res < 0 {
				return syscall.Errno(-res)
			}
			return nil
		}
		// The eventfd counts completions; a count left by an earlier
		// completion that was reaped without reading it only costs one
		// more turn of this loop.
		if err := r.waitEvent(); err != nil {
			return err
		}
	}
}

// waitEvent waits in the poller until the eventfd is readable and reads
// (resets) its count, with a raw read(2) as osFile.Write writes.
func (r *syncRing) waitEvent() error {
	var rerr error
	err := r.efdRaw.Read(func(fd uintptr) bool {
		for {
			_, _, e := unix.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(&r.buf[0])), uintptr(len(r.buf)))
			switch e {
			case unix.EINTR:
				// Retry now: waiting instead could miss the count, which
				// the poller reports only when it changes.
				continue
			case unix.EAGAIN:
				return false
			case 0:
			default:
				rerr = e
			}
			return true
		}
	})
	if err != nil {
		return err
	}
	return rerr
}

func (r *syncRing) close() {
	if r.efd != nil {
		r.efd.Close()
	}
	if r.sqes != nil {
		_ = unix.Munmap(r.sqes)
	}
	if r.rings != nil {
		_ = unix.Munmap(r.rings)
	}
	unix.Close(r.fd)
}
