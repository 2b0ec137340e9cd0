package wal

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/cairn-db/cairn/vfs"
)

// TestCloseMarksSingleFrameSegment: a log closed cleanly after one batch
// in a fresh segment ends with a mark, so a flipped byte in that fsynced
// frame is corruption, not a torn tail to drop silently.
func TestCloseMarksSingleFrameSegment(t *testing.T) {
	fs := vfs.NewMem()
	dir := "/d/wal"
	l, err := Open(Options{FS: fs, Dir: dir, Sync: SyncAlways})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Replay(0, func(uint64, []byte) error { return nil }); err != nil {
		t.Fatal(err)
	}
	l.Append([]byte("acknowledged"))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	names, _ := fs.List(dir)
	if len(names) != 1 {
		t.Fatalf("segments %v", names)
	}
	path := filepath.Join(dir, names[0])
	f, _ := fs.OpenReadWrite(path)
	size, _ := f.Size()
	data := make([]byte, size)
	f.ReadAt(data, 0)
	f.Close()
	data[segmentHeaderSize+frameHeaderSize+2] ^= 0xff // inside the record's payload
	f, _ = fs.Create(path)
	f.Write(data)
	f.Sync()
	f.Close()

	l2, err := Open(Options{FS: fs, Dir: dir, Sync: SyncAlways})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	_, err = l2.Replay(0, func(uint64, []byte) error { return nil })
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("flipped byte in a cleanly closed single-frame log: err = %v, want ErrCorrupt", err)
	}
}
