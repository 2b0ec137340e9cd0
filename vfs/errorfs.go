package vfs

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
)

// Errors a disk gives, ready for injectors.
const (
	ErrENOSPC = syscall.ENOSPC
	ErrEIO    = syscall.EIO
)

// Op is an operation an Injector can fail. Close is not one: it never fails
// by injection, so a test's cleanup always runs.
type Op int

// The operations. Zero is not an Op.
const (
	OpCreate Op = iota + 1
	OpOpen
	OpOpenReadWrite
	OpRead
	OpReadAt
	OpWrite
	OpSync
	OpTruncate
	OpSize
	OpRemove
	OpRename
	OpMkdirAll
	OpList
	OpSyncDir
	OpStat
	numOps
)

var opNames = [numOps]string{"", "create", "open", "open-read-write", "read", "read-at",
	"write", "sync", "truncate", "size", "remove", "rename", "mkdir-all", "list", "sync-dir", "stat"}

func (o Op) String() string {
	if o <= 0 || o >= numOps {
		return fmt.Sprintf("Op(%d)", int(o))
	}
	return opNames[o]
}

// opMask is a set of Ops, one bit each.
type opMask uint32

// maskOf is the set of ops; no ops means all of them.
func maskOf(ops []Op) opMask {
	if len(ops) == 0 {
		return ^opMask(0)
	}
	var m opMask
	for _, op := range ops {
		m |= 1 << op
	}
	return m
}

func (m opMask) has(op Op) bool { return m&(1<<op) != 0 }

// Injector decides which operations fail.
type Injector interface {
	// MaybeError is called before op on path (for file operations, the name
	// the file was opened by). A non-nil error fails op, and the underlying
	// filesystem is not touched, except for a ShortWrite.
	MaybeError(op Op, path string) error
}

// InjectorFunc is a function used as an Injector.
type InjectorFunc func(op Op, path string) error

// MaybeError implements Injector.
func (f InjectorFunc) MaybeError(op Op, path string) error { return f(op, path) }

// ShortWriteError, returned by an Injector for OpWrite, makes the write pass
// its first N bytes (at most all) to the underlying file and then fail with
// Err: a short write, as when the disk fills mid-write. Any injector takes
// one as its error; for ops other than OpWrite it means Err.
type ShortWriteError struct {
	Err error
	N   int
}

// ShortWrite returns a *ShortWriteError: write n bytes, then fail with err.
func ShortWrite(err error, n int) error { return &ShortWriteError{Err: err, N: n} }

func (e *ShortWriteError) Error() string {
	return fmt.Sprintf("short write of %d bytes: %v", e.N, e.Err)
}

func (e *ShortWriteError) Unwrap() error { return e.Err }

// NewError returns fs with inj consulted before every operation, on fs and on
// the files it opens. Injected errors come wrapped in *os.PathError (for
// Rename, *os.LinkError) with the Op's name, so errors.Is sees through them.
func NewError(fs FS, inj Injector) FS { return &errorFS{fs: fs, inj: inj} }

type errorFS struct {
	fs  FS
	inj Injector
}

// inject asks inj about op on path. It returns the error to fail with, its
// ShortWriteError marker removed, and how many bytes a failing write passes
// on first.
func inject(inj Injector, op Op, path string) (int, error) {
	err := inj.MaybeError(op, path)
	if err == nil {
		return 0, nil
	}
	var sw *ShortWriteError
	if errors.As(err, &sw) {
		return sw.N, &os.PathError{Op: op.String(), Path: path, Err: sw.Err}
	}
	return 0, &os.PathError{Op: op.String(), Path: path, Err: err}
}

func (e *errorFS) open(op Op, name string, open func(string) (File, error)) (File, error) {
	if _, err := inject(e.inj, op, name); err != nil {
		return nil, err
	}
	f, err := open(name)
	if err != nil {
		return nil, err
	}
	return &errorFile{f: f, name: name, inj: e.inj}, nil
}

func (e *errorFS) Create(name string) (File, error) { return e.open(OpCreate, name, e.fs.Create) }
func (e *errorFS) Open(name string) (File, error)   { return e.open(OpOpen, name, e.fs.Open) }
func (e *errorFS) OpenReadWrite(name string) (File, error) {
	return e.open(OpOpenReadWrite, name, e.fs.OpenReadWrite)
}

func (e *errorFS) Remove(name string) error {
	if _, err := inject(e.inj, OpRemove, name); err != nil {
		return err
	}
	return e.fs.Remove(name)
}

func (e *errorFS) Rename(oldname, newname string) error {
	if _, err := inject(e.inj, OpRename, oldname); err != nil {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: err.(*os.PathError).Err}
	}
	return e.fs.Rename(oldname, newname)
}

func (e *errorFS) MkdirAll(dir string, perm os.FileMode) error {
	if _, err := inject(e.inj, OpMkdirAll, dir); err != nil {
		return err
	}
	return e.fs.MkdirAll(dir, perm)
}

func (e *errorFS) List(dir string) ([]string, error) {
	if _, err := inject(e.inj, OpList, dir); err != nil {
		return nil, err
	}
	return e.fs.List(dir)
}

func (e *errorFS) SyncDir(dir string) error {
	if _, err := inject(e.inj, OpSyncDir, dir); err != nil {
		return err
	}
	return e.fs.SyncDir(dir)
}

func (e *errorFS) Stat(name string) (os.FileInfo, error) {
	if _, err := inject(e.inj, OpStat, name); err != nil {
		return nil, err
	}
	return e.fs.Stat(name)
}

type errorFile struct {
	f File
	// name is what the file was opened by: the path injectors see.
	name string
	inj  Injector
}

func (f *errorFile) Read(p []byte) (int, error) {
	if _, err := inject(f.inj, OpRead, f.name); err != nil {
		return 0, err
	}
	return f.f.Read(p)
}

func (f *errorFile) ReadAt(p []byte, off int64) (int, error) {
	if _, err := inject(f.inj, OpReadAt, f.name); err != nil {
		return 0, err
	}
	return f.f.ReadAt(p, off)
}

func (f *errorFile) Write(p []byte) (int, error) {
	return f.write(p, func(b []byte) (int, error) { return f.f.Write(b) })
}

// WriteAt is injected as OpWrite.
func (f *errorFile) WriteAt(p []byte, off int64) (int, error) {
	return f.write(p, func(b []byte) (int, error) { return f.f.WriteAt(b, off) })
}

func (f *errorFile) write(p []byte, write func([]byte) (int, error)) (int, error) {
	short, err := inject(f.inj, OpWrite, f.name)
	if err == nil {
		return write(p)
	}
	if short = min(max(short, 0), len(p)); short == 0 {
		return 0, err
	}
	n, werr := write(p[:short])
	if werr != nil {
		return n, werr
	}
	return n, err
}

func (f *errorFile) Sync() error {
	if _, err := inject(f.inj, OpSync, f.name); err != nil {
		return err
	}
	return f.f.Sync()
}

func (f *errorFile) Truncate(size int64) error {
	if _, err := inject(f.inj, OpTruncate, f.name); err != nil {
		return err
	}
	return f.f.Truncate(size)
}

func (f *errorFile) Size() (int64, error) {
	if _, err := inject(f.inj, OpSize, f.name); err != nil {
		return 0, err
	}
	return f.f.Size()
}

// Close is never failed by injection.
func (f *errorFile) Close() error { return f.f.Close() }

// IndexInjector fails exactly one operation: the n-th (from 0) of those that
// match. Run a workload with n = 0, 1, 2, … until Fired reports false: then
// every operation has been failed once, and the workload has completed. Safe
// for concurrent use.
type IndexInjector struct {
	n    int64
	err  error
	mask opMask
	// seen counts the matching operations so far.
	seen atomic.Int64
}

// OnIndex returns an IndexInjector failing the n-th operation among ops (all
// operations if none) with err; err may be a ShortWrite.
func OnIndex(n int, err error, ops ...Op) *IndexInjector {
	return &IndexInjector{n: int64(n), err: err, mask: maskOf(ops)}
}

// MaybeError implements Injector.
func (i *IndexInjector) MaybeError(op Op, _ string) error {
	if i.mask.has(op) && i.seen.Add(1)-1 == i.n {
		return i.err
	}
	return nil
}

// Fired reports whether the n-th operation has come, and so failed.
func (i *IndexInjector) Fired() bool { return i.n >= 0 && i.seen.Load() > i.n }

// Toggle is an Injector a test switches: after Fail, matching operations
// fail until Heal. The zero Toggle fails nothing. Safe for concurrent use.
type Toggle struct {
	mu sync.Mutex
	// err is what matching operations fail with; nil when healed.
	err  error
	mask opMask
}

// Fail makes ops (all operations if none) fail with err, which may be a
// ShortWrite, until Heal. It replaces any earlier Fail.
func (t *Toggle) Fail(err error, ops ...Op) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.err, t.mask = err, maskOf(ops)
}

// Heal makes every operation work again.
func (t *Toggle) Heal() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.err = nil
}

// MaybeError implements Injector.
func (t *Toggle) MaybeError(op Op, _ string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err != nil && t.mask.has(op) {
		return t.err
	}
	return nil
}

// Counter is an Injector that counts operations among ops (all if none) and
// defers to another Injector (none if nil), so a test can learn how many
// operations a workload does. Safe for concurrent use.
type Counter struct {
	inj  Injector
	mask opMask
	n    atomic.Int64
}

// NewCounter returns a Counter in front of inj, which may be nil.
func NewCounter(inj Injector, ops ...Op) *Counter {
	return &Counter{inj: inj, mask: maskOf(ops)}
}

// MaybeError implements Injector.
func (c *Counter) MaybeError(op Op, path string) error {
	if c.mask.has(op) {
		c.n.Add(1)
	}
	if c.inj == nil {
		return nil
	}
	return c.inj.MaybeError(op, path)
}

// Count returns how many matching operations have been seen.
func (c *Counter) Count() int { return int(c.n.Load()) }
