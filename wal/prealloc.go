package wal

import (
	"errors"
	"io/fs"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/cairn-db/cairn/vfs"
)

// preallocName is the file the next segment is prepared in: filled with
// zeros to the segment size and fsynced, then renamed to the segment's
// name when the log rotates. Segment listings ignore it.
const preallocName = "next.log.tmp"

// preallocChunk is how many zeros a preparing goroutine writes at once.
const preallocChunk = 1 << 20

// preallocated is the next segment, prepared ahead of its use under
// SyncAlways.
//
// Why: an fdatasync after an append must also write the inode, whose size
// changed (and, the first time a block is written, allocate it), while
// one after writing over blocks that already hold fsynced zeros writes
// only the data. On this project's test VM that was 150-200 µs against
// 90-100 µs per fsync of a 4 KiB write, and 50 clients under always got
// 10 % more writes per second. The file is a separate one, prepared by a
// goroutine of its own, so that its zeros reach the disk through their
// own fsync and never through a writer's; etcd's WAL does the same (with
// fallocate, whose unwritten extents still cost a metadata write here).
type preallocated struct {
	// enabled is Options.Preallocate.
	enabled bool

	mu sync.Mutex
	// f is the prepared file, or nil; size is its size.
	f    vfs.File
	size int64
	// busy is set while a goroutine prepares one; done is closed when it
	// has finished.
	busy bool
	done chan struct{}
	// failed is set when preparing one failed: the log goes on appending
	// to plain segments, and tries again after its next rotation.
	failed bool
	// closed is set by Close: nothing more is prepared.
	closed bool
	// ready mirrors f != nil, for the committer's check on every batch.
	ready atomic.Bool
}

// preallocate starts preparing the next segment if the policy is
// SyncAlways and none is ready or being prepared.
func (l *Log) preallocate() {
	l.mu.Lock()
	always := l.policy == SyncAlways
	l.mu.Unlock()
	if !always || !l.prealloc.enabled {
		return
	}
	p := &l.prealloc
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.f != nil || p.busy || p.failed || p.closed {
		return
	}
	p.busy = true
	p.done = make(chan struct{})
	go l.prepare(p.done)
}

// preallocateNext is preallocate after a rotation: a failure to prepare
// the previous segment is forgotten.
func (l *Log) preallocateNext() {
	l.prealloc.mu.Lock()
	l.prealloc.failed = false
	l.prealloc.mu.Unlock()
	l.preallocate()
}

// prepare writes the next segment's zeros and fsyncs them.
func (l *Log) prepare(done chan struct{}) {
	defer close(done)
	path := filepath.Join(l.dir, preallocName)
	f, err := l.prepareFile(path)
	p := &l.prealloc
	p.mu.Lock()
	defer p.mu.Unlock()
	p.busy = false
	if err != nil {
		p.failed = true
		l.logger.Warn("wal: could not prepare the next segment; appending to plain segments", "file", path, "err", err)
		return
	}
	if p.closed {
		f.Close()
		l.fs.Remove(path)
		return
	}
	p.f, p.size = f, l.segSize
	p.ready.Store(true)
}

// prepareFile creates path filled with zeros to the segment size, fsynced.
func (l *Log) prepareFile(path string) (vfs.File, error) {
	f, err := l.fs.Create(path)
	if err != nil {
		return nil, err
	}
	zeros := make([]byte, min(preallocChunk, l.segSize))
	for off := int64(0); off < l.segSize && err == nil; off += int64(len(zeros)) {
		_, err = f.Write(zeros[:min(int64(len(zeros)), l.segSize-off)])
	}
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		f.Close()
		l.fs.Remove(path)
		return nil, err
	}
	return f, nil
}

// takePreallocated returns the prepared segment file and its size, or nil
// if none is ready.
func (l *Log) takePreallocated() (vfs.File, int64) {
	p := &l.prealloc
	if !p.ready.Load() {
		return nil, 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	f, size := p.f, p.size
	p.f = nil
	p.ready.Store(false)
	return f, size
}

// closePreallocated stops preparing segments and removes a prepared one.
func (l *Log) closePreallocated() {
	p := &l.prealloc
	p.mu.Lock()
	p.closed = true
	done := p.done
	p.mu.Unlock()
	if done != nil {
		<-done
	}
	if f, _ := l.takePreallocated(); f != nil {
		f.Close()
		if err := l.fs.Remove(filepath.Join(l.dir, preallocName)); err != nil {
			l.logger.Warn("wal: could not remove the prepared segment", "err", err)
		}
	}
}

// removeLeftoverPreallocated removes a prepared segment left by an earlier
// process: nothing says it was wholly written.
func removeLeftoverPreallocated(fsys vfs.FS, dir string) error {
	err := fsys.Remove(filepath.Join(dir, preallocName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
