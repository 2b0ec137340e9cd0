package vfs

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestSyncPolled checks the io_uring fsync on a real file: it succeeds,
// the data reads back, it can be repeated many times on one ring, and a
// closed file reports an error rather than hanging.
func TestSyncPolled(t *testing.T) {
	name := filepath.Join(t.TempDir(), "f")
	f, err := Default.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	of := f.(*osFile)
	for i := range 100 {
		if _, err := f.Write([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		if err := of.SyncPolled(); err != nil {
			t.Fatalf("SyncPolled %d: %v", i, err)
		}
	}
	if of.ringErr != nil {
		t.Logf("io_uring unavailable, fdatasync used: %v", of.ringErr)
	} else if of.ring == nil {
		t.Fatal("no ring after SyncPolled")
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := of.SyncPolled(); err == nil {
		t.Fatal("SyncPolled after Close succeeded")
	}
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != 100 || data[99] != 99 {
		t.Fatalf("read back %d bytes", len(data))
	}
}

// TestSyncRingError checks that an fsync the kernel fails comes back as
// that error: fdatasync of a descriptor that is not open is EBADF.
func TestSyncRingError(t *testing.T) {
	r, err := newSyncRing()
	if err != nil {
		t.Skipf("io_uring unavailable: %v", err)
	}
	defer r.close()
	for range 3 {
		if err := r.fdatasync(1 << 20); !errors.Is(err, syscall.EBADF) {
			t.Fatalf("fdatasync of a closed descriptor: %v, want EBADF", err)
		}
	}
}

// TestWrite checks osFile.Write on both of its paths (raw system calls up
// to maxRawWrite, the os package above) and in append mode, and that a
// write to a closed file fails.
func TestWrite(t *testing.T) {
	name := filepath.Join(t.TempDir(), "f")
	f, err := Default.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	var want []byte
	for _, size := range []int{0, 1, 4096, maxRawWrite, maxRawWrite + 1} {
		b := make([]byte, size)
		for i := range b {
			b[i] = byte(size + i)
		}
		if n, err := f.Write(b); n != size || err != nil {
			t.Fatalf("Write of %d bytes: %d, %v", size, n, err)
		}
		want = append(want, b...)
	}
	if allocs := testing.AllocsPerRun(100, func() { f.Write(want[:100]) }); allocs != 0 {
		t.Errorf("a small Write allocates %v times", allocs)
	}
	want = append(want, bytes.Repeat(want[:100], 101)...) // AllocsPerRun's warm-up run too
	f.Close()
	if _, err := f.Write([]byte("x")); err == nil {
		t.Fatal("Write to a closed file succeeded")
	}
	f, err = Default.OpenReadWrite(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("tail"), int64(len(want))); err != nil {
		t.Fatal(err)
	}
	if allocs := testing.AllocsPerRun(100, func() { f.WriteAt(want[:4], 0) }); allocs != 0 {
		t.Errorf("a small WriteAt allocates %v times", allocs)
	}
	f.Close()
	want = append(want, "tail"...)
	got, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read back %d bytes, want %d (or different bytes)", len(got), len(want))
	}
}

// TestSyncInline: the fsync on the calling thread succeeds between
// writes, and a closed file reports an error.
func TestSyncInline(t *testing.T) {
	name := filepath.Join(t.TempDir(), "f")
	f, err := Default.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	of := f.(*osFile)
	for i := range 10 {
		if _, err := f.Write([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		if err := of.SyncInline(); err != nil {
			t.Fatalf("SyncInline %d: %v", i, err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := of.SyncInline(); err == nil {
		t.Fatal("SyncInline after Close succeeded")
	}
	if data, err := os.ReadFile(name); err != nil || len(data) != 10 || data[9] != 9 {
		t.Fatalf("read back %v, %v", data, err)
	}
}

// TestSyncPolledWithoutRing checks the fallback where io_uring cannot be
// set up: SyncPolled calls fdatasync itself and succeeds.
func TestSyncPolledWithoutRing(t *testing.T) {
	f, err := Default.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	of := f.(*osFile)
	of.ringErr = errors.New("io_uring: disabled for this test")
	if _, err := f.Write([]byte("data")); err != nil {
		t.Fatal(err)
	}
	if err := of.SyncPolled(); err != nil {
		t.Fatalf("SyncPolled without a ring: %v", err)
	}
	if of.ring != nil {
		t.Fatal("a ring was set up after its setup had failed")
	}
}

// TestStartWriteback: asking the kernel to start writing back part of a
// real file succeeds, and a closed file reports an error.
func TestStartWriteback(t *testing.T) {
	name := filepath.Join(t.TempDir(), "f")
	f, err := Default.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(bytes.Repeat([]byte{7}, 3<<20)); err != nil {
		t.Fatal(err)
	}
	of := f.(*osFile)
	if err := of.StartWriteback(0, 1<<20); err != nil {
		t.Fatalf("StartWriteback: %v", err)
	}
	if err := of.StartWriteback(1<<20, 2<<20); err != nil {
		t.Fatalf("StartWriteback: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := of.StartWriteback(0, 1<<20); err == nil {
		t.Fatal("StartWriteback on a closed file: no error")
	}
}
