// Command slowdisk mounts a directory through FUSE as a disk whose flushes
// are slow: every fsync and fdatasync of a file does the real one, then
// waits, one flush at a time, as a disk with one queue does. It is a
// benchmark fixture: on this project's machines an fsync takes ~0.15 ms,
// so the CPU, not the disk, limits a server under appendfsync always, and
// group commit cannot be seen reaching the disk's limit. Both servers of a
// side-by-side run (and the harness's raw fsync probe) can be given the
// same slow disk, which LD_PRELOAD could not do for a Go binary.
//
// Usage (as root, or with fusermount installed):
//
//	slowdisk [-flush 2ms] MOUNTPOINT BACKINGDIR
//
// It serves until SIGINT or SIGTERM, then unmounts.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

func main() {
	flush := flag.Duration("flush", 2*time.Millisecond, "time each file fsync takes beyond the real one")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: slowdisk [-flush D] MOUNTPOINT BACKINGDIR")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 2 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(flag.Arg(0), flag.Arg(1), *flush); err != nil {
		fmt.Fprintln(os.Stderr, "slowdisk:", err)
		os.Exit(1)
	}
}

func run(mountpoint, backing string, flush time.Duration) error {
	loop, err := fs.NewLoopbackRoot(backing)
	if err != nil {
		return fmt.Errorf("backing directory: %w", err)
	}
	root := &node{LoopbackNode: loop.(*fs.LoopbackNode), disk: &disk{flush: flush}}
	server, err := fs.Mount(mountpoint, root, &fs.Options{
		MountOptions: fuse.MountOptions{FsName: "slowdisk", Name: "slowdisk", DirectMount: true},
	})
	if err != nil {
		return fmt.Errorf("mount %s: %w", mountpoint, err)
	}
	fmt.Fprintf(os.Stderr, "slowdisk: %s mounted on %s, each fsync %v slower\n", backing, mountpoint, flush)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sig
		if err := server.Unmount(); err != nil {
			fmt.Fprintln(os.Stderr, "slowdisk: unmount:", err)
		}
	}()
	server.Wait()
	return nil
}

// disk serialises flushes, each taking flush longer than the real one.
type disk struct {
	mu    sync.Mutex
	flush time.Duration
}

func (d *disk) sync(f func() syscall.Errno) syscall.Errno {
	d.mu.Lock()
	defer d.mu.Unlock()
	errno := f()
	// nanosleep, not time.Sleep: Go's timers fire up to a millisecond
	// late here, so every flush under about 1.2 ms took 1.2 ms.
	ts := unix.NsecToTimespec(d.flush.Nanoseconds())
	for unix.Nanosleep(&ts, &ts) == unix.EINTR {
	}
	return errno
}

// node is a loopback node whose files flush slowly.
type node struct {
	*fs.LoopbackNode
	disk *disk
}

// WrapChild makes every node below the root a node too.
func (n *node) WrapChild(_ context.Context, ops fs.InodeEmbedder) fs.InodeEmbedder {
	if ln, ok := ops.(*fs.LoopbackNode); ok {
		return &node{LoopbackNode: ln, disk: n.disk}
	}
	return ops
}

func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	fh, fuseFlags, errno := n.LoopbackNode.Open(ctx, flags)
	if errno != 0 {
		return nil, 0, errno
	}
	return n.wrap(fh), fuseFlags, 0
}

func (n *node) Create(ctx context.Context, name string, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	ino, fh, fuseFlags, errno := n.LoopbackNode.Create(ctx, name, flags, mode, out)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	return ino, n.wrap(fh), fuseFlags, 0
}

func (n *node) wrap(fh fs.FileHandle) fs.FileHandle {
	lf, ok := fh.(*fs.LoopbackFile)
	if !ok {
		return fh
	}
	return &file{LoopbackFile: lf, disk: n.disk}
}

// file is a loopback file whose fsync is slow.
type file struct {
	*fs.LoopbackFile
	disk *disk
}

func (f *file) Fsync(ctx context.Context, flags uint32) syscall.Errno {
	return f.disk.sync(func() syscall.Errno { return f.LoopbackFile.Fsync(ctx, flags) })
}

// PassthroughFd refuses kernel passthrough, which would let I/O bypass
// this process.
func (f *file) PassthroughFd() (int, bool) { return 0, false }
