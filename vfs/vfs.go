// Package vfs is the small filesystem interface that Cairn's on-disk code
// (the write-ahead log, snapshots) does all its file I/O through, so that
// tests can run the real code over a strict in-memory filesystem that loses
// what was not fsynced at a simulated crash, and over one that injects
// errors. Default is the operating system's filesystem.
package vfs

import (
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// File is an open file.
type File interface {
	io.Reader
	io.ReaderAt
	io.Writer
	io.WriterAt
	io.Closer
	// Sync makes the file's contents durable (fsync).
	Sync() error
	// Truncate changes the file's size.
	Truncate(size int64) error
	// Size returns the file's current size.
	Size() (int64, error)
}

// FS is a filesystem. Names are paths as the os package takes them.
type FS interface {
	// Create creates name, or truncates it, open for reading and writing.
	// The new name is durable only after SyncDir of its directory.
	Create(name string) (File, error)
	// Open opens an existing file read-only.
	Open(name string) (File, error)
	// OpenReadWrite opens an existing file for reading and writing, not
	// for appending: Write writes at the file's offset, which starts at 0,
	// and WriteAt where it is told.
	OpenReadWrite(name string) (File, error)
	// Remove removes a file or an empty directory.
	Remove(name string) error
	// Rename renames a file, replacing newname; durable after SyncDir.
	Rename(oldname, newname string) error
	// MkdirAll creates a directory and its parents.
	MkdirAll(dir string, perm os.FileMode) error
	// List returns the names (not paths) in dir, sorted.
	List(dir string) ([]string, error)
	// SyncDir makes dir's entries (creates, renames, removes) durable.
	SyncDir(dir string) error
	// Stat describes a file.
	Stat(name string) (os.FileInfo, error)
}

// Default is the operating system's filesystem.
var Default FS = osFS{}

type osFS struct{}

// osFile is a file of the operating system's filesystem.
type osFile struct {
	*os.File

	// syncMu serialises Sync and SyncPolled, which uses ring.
	syncMu sync.Mutex
	// ring is set up by the first SyncPolled; ringErr is why it could not
	// be, and SyncPolled then calls fdatasync itself.
	ring    *syncRing
	ringErr error

	// writeMu serialises the raw writes, whose buffer, offset (-1: the
	// file's offset) and outcome are wbuf, woff, wn and werr (fields, so
	// that a write allocates nothing).
	writeMu sync.Mutex
	raw     syscall.RawConn
	wbuf    []byte
	woff    int64
	wn      int
	werr    error
	writeFn func(fd uintptr)
}

// newOSFile wraps f.
func newOSFile(f *os.File) *osFile {
	o := &osFile{File: f}
	o.raw, _ = f.SyscallConn() // cannot fail for an open *os.File
	o.writeFn = o.writeRaw
	return o
}

// Sync flushes the file's data, and the metadata needed to read it back
// (its size), with fdatasync(2), as Redis does for its append-only file:
// fsync(2) would also write back timestamps, a journal commit per call.
func (f *osFile) Sync() error {
	return f.sync(syncPlain)
}

// SyncPolled is Sync, but the goroutine waits for the disk in Go's network
// poller and leaves its thread and P to others (see syncRing). It costs
// more CPU and latency for one fsync than Sync (a kernel worker does the
// fsync and wakes the poller), and saves the runtime's thread hand-offs
// when other goroutines have work meanwhile. Without io_uring it is Sync.
func (f *osFile) SyncPolled() error {
	return f.sync(syncPolled)
}

// syncMode is how sync waits for fdatasync (see Sync, SyncPolled and
// SyncInline).
type syncMode int

const (
	syncPlain syncMode = iota
	syncPolled
	syncInline
)

func (f *osFile) sync(mode syncMode) error {
	rc := f.raw
	f.syncMu.Lock()
	defer f.syncMu.Unlock()
	if mode == syncPolled && f.ring == nil && f.ringErr == nil {
		f.ring, f.ringErr = newSyncRing()
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		if mode == syncPolled && f.ring != nil {
			serr = f.ring.fdatasync(int(fd))
			return
		}
		for {
			if mode == syncInline {
				if _, _, e := syscall.RawSyscall(syscall.SYS_FDATASYNC, fd, 0, 0); e != 0 {
					serr = e
				} else {
					serr = nil
				}
			} else {
				serr = syscall.Fdatasync(int(fd))
			}
			if serr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	if serr != nil {
		return &os.PathError{Op: "fdatasync", Path: f.File.Name(), Err: serr}
	}
	return nil
}

// SyncInline is Sync on the calling thread without telling Go's runtime:
// the thread and its P wait for the disk together, as Redis's event loop
// waits for the fsync of its append-only file. No other goroutine runs on
// that P meanwhile, and the runtime starts no thread to take the P over
// (a blocking system call it is told of gets the P taken back after 20 µs
// or more, a few thread switches per fsync). Meant for one P and a fast
// disk: a slow fsync stalls every goroutine of that P for as long.
func (f *osFile) SyncInline() error {
	return f.sync(syncInline)
}

// Close closes the file and its ring.
func (f *osFile) Close() error {
	f.syncMu.Lock()
	if f.ring != nil {
		f.ring.close()
		f.ring = nil
	}
	f.syncMu.Unlock()
	return f.File.Close()
}

// StartWriteback asks the kernel to start writing [off, off+n) to the
// disk, without waiting (sync_file_range(2), SYNC_FILE_RANGE_WRITE): the
// next fsync then has less to wait for. It makes nothing durable.
func (f *osFile) StartWriteback(off, n int64) error {
	var serr error
	if err := f.raw.Control(func(fd uintptr) {
		serr = unix.SyncFileRange(int(fd), off, n, unix.SYNC_FILE_RANGE_WRITE)
	}); err != nil {
		return err
	}
	if serr != nil {
		return &os.PathError{Op: "sync_file_range", Path: f.File.Name(), Err: serr}
	}
	return nil
}

// OSFile returns the underlying file, so that a reader can mmap it.
func (f *osFile) OSFile() *os.File { return f.File }

func (f *osFile) Size() (int64, error) {
	fi, err := f.File.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

func (osFS) Create(name string) (File, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	return newOSFile(f), nil
}

func (osFS) Open(name string) (File, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	return newOSFile(f), nil
}

func (osFS) OpenReadWrite(name string) (File, error) {
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	return newOSFile(f), nil
}

func (osFS) Remove(name string) error                    { return os.Remove(name) }
func (osFS) Rename(oldname, newname string) error        { return os.Rename(oldname, newname) }
func (osFS) MkdirAll(dir string, perm os.FileMode) error { return os.MkdirAll(dir, perm) }
func (osFS) Stat(name string) (os.FileInfo, error)       { return os.Stat(name) }

func (osFS) List(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	sort.Strings(names)
	return names, nil
}

func (osFS) SyncDir(dir string) error {
	d, err := os.Open(filepath.Clean(dir))
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}

// maxRawWrite bounds the writes that Write makes without telling the
// runtime.
const maxRawWrite = 64 << 10

// Write writes b. Writes of up to 64 KiB (the log's batches) are write(2)
// calls the runtime is not told about (RawSyscall), as a read or write of
// a client socket is in the server: entering the runtime's syscall state
// wakes its monitor thread whenever every P was idle, one thread switch
// per command with one client (under appendfsync everysec, one client:
// 2.2 switches per SET became 1.0, and 17k SET/s became 18-19k, Redis's
// figure). A write to the page cache does not wait for the disk; when the
// kernel throttles a writer of dirty pages it can, and the P waits with
// it, as Redis's event loop would. Larger writes (snapshot blocks) go
// through the os package.
func (f *osFile) Write(b []byte) (int, error) {
	if len(b) > maxRawWrite {
		return f.File.Write(b)
	}
	return f.write(b, -1)
}

// WriteAt writes b at offset off (pwrite(2)), as Write does: raw up to 64
// KiB. The log writes its frames so into segments filled with zeros in
// advance.
func (f *osFile) WriteAt(b []byte, off int64) (int, error) {
	if len(b) > maxRawWrite || off < 0 {
		return f.File.WriteAt(b, off)
	}
	return f.write(b, off)
}

// write writes b raw, at off, or at the file's offset if off is -1.
func (f *osFile) write(b []byte, off int64) (int, error) {
	f.writeMu.Lock()
	defer f.writeMu.Unlock()
	f.wbuf, f.woff, f.wn, f.werr = b, off, 0, nil
	err := f.raw.Control(f.writeFn)
	n, werr := f.wn, f.werr
	f.wbuf = nil
	if err != nil {
		return 0, err
	}
	if werr != nil {
		return n, &os.PathError{Op: "write", Path: f.File.Name(), Err: werr}
	}
	return n, nil
}

// writeRaw is write's callback: it writes all of f.wbuf.
func (f *osFile) writeRaw(fd uintptr) {
	b := f.wbuf
	for f.wn < len(b) {
		var m uintptr
		var e syscall.Errno
		if f.woff < 0 {
			m, _, e = syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&b[f.wn])), uintptr(len(b)-f.wn))
		} else {
			m, _, e = syscall.RawSyscall6(syscall.SYS_PWRITE64, fd, uintptr(unsafe.Pointer(&b[f.wn])), uintptr(len(b)-f.wn),
				uintptr(f.woff+int64(f.wn)), 0, 0)
		}
		switch {
		case e == syscall.EINTR:
			continue
		case e != 0:
			f.werr = e
			return
		case m == 0:
			f.werr = io.ErrShortWrite
			return
		}
		f.wn += int(m)
	}
}
