package wal

import (
	"fmt"
	"path/filepath"

	"github.com/cairn-db/cairn/vfs"
)

// segment is the segment the committer appends to.
type segment struct {
	// path is the file's path; first is the LSN its name stands for.
	path  string
	first uint64
	// f is open for appending; nil after a failure, until healed.
	f vfs.File
	// size is the number of bytes written: [0, synced) are durable,
	// [synced, size) were written since the last fsync. After a failed
	// write or fsync, only [0, synced) is trusted.
	size   int64
	synced int64
	// alloc is the file's size: more than size when the segment was
	// prepared filled with zeros (see preallocated), frames being written
	// over them.
	alloc int64
	// kicked is how far the kernel was asked to start writing the
	// segment back (see writebacker).
	kicked int64
}

// createSegment creates the segment whose first LSN is first, durably:
// when it returns without error, the file exists with a valid header, and
// will exist after a crash. prepared, if not nil, is a file of zeros
// (preallocName, of size preparedSize) that becomes the segment; createSegment
// owns it.
func createSegment(fs vfs.FS, dir string, first uint64, prepared vfs.File, preparedSize int64) (*segment, error) {
	path := filepath.Join(dir, segmentName(first))
	var f vfs.File
	alloc := int64(segmentHeaderSize)
	if prepared != nil {
		// The rename replaces a leftover of an earlier attempt, as
		// Create's truncation would.
		if err := fs.Rename(filepath.Join(dir, preallocName), path); err != nil {
			prepared.Close()
			fs.Remove(filepath.Join(dir, preallocName))
		} else {
			f, alloc = prepared, max(alloc, preparedSize)
		}
	}
	if f == nil {
		// Create truncates: a leftover of an earlier attempt that failed
		// holds nothing synced (we only get here with nothing unsynced in
		// an older segment, and nothing in this one was ever
		// acknowledged).
		var err error
		if f, err = fs.Create(path); err != nil {
			return nil, fmt.Errorf("wal: create %s: %w", path, err)
		}
	}
	fail := func(op string, err error) (*segment, error) {
		f.Close()
		return nil, fmt.Errorf("wal: %s %s: %w", op, path, err)
	}
	// The header first: a reader checks it before it trusts any frame.
	if _, err := f.WriteAt(appendSegmentHeader(nil, first), 0); err != nil {
		return fail("write header of", err)
	}
	// Fsync the header before any frame goes after it: frames promise
	// that the bytes before their durable offset (the header at least)
	// were fsynced, and a reader takes a valid header of a later segment
	// as proof that every earlier segment was wholly fsynced (the previous
	// segment is fsynced before this function is called).
	if err := f.Sync(); err != nil {
		return fail("fsync", err)
	}
	// Fsync the directory: until then the new name itself may vanish at a
	// crash, and with it every frame fsynced into the file.
	if err := fs.SyncDir(filepath.Clean(dir)); err != nil {
		return fail("fsync directory of", err)
	}
	return &segment{path: path, first: first, f: f, size: segmentHeaderSize, synced: segmentHeaderSize, alloc: alloc}, nil
}

// reopen closes the segment's handle, if any, and opens the file again,
// cut back to its synced size (and no longer preallocated): after a failed write or fsync,
// the bytes past it (and the kernel's pages for them) are not to be
// trusted, so they are written again from memory.
func (s *segment) reopen(fs vfs.FS) error {
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
	f, err := fs.OpenReadWrite(s.path)
	if err != nil {
		return fmt.Errorf("wal: reopen %s: %w", s.path, err)
	}
	if err := f.Truncate(s.synced); err != nil {
		f.Close()
		return fmt.Errorf("wal: truncate %s to %d: %w", s.path, s.synced, err)
	}
	if n, err := f.Size(); err != nil || n != s.synced {
		f.Close()
		if err == nil {
			err = fmt.Errorf("size %d after truncation to %d", n, s.synced)
		}
		return fmt.Errorf("wal: truncate %s: %w", s.path, err)
	}
	s.f, s.size, s.alloc = f, s.synced, s.synced
	return nil
}

// close closes the segment's handle.
func (s *segment) close() error {
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}
