package wal

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cairn-db/cairn/vfs"
)

// quietLogger discards log lines; logs collects them when a test looks.
var quietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// logBuffer is a logger whose output a test can read.
func logBuffer() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(slog.NewTextHandler(&syncWriter{w: &buf}, nil)), &buf
}

// syncWriter serialises writes to a buffer (the committer logs from its
// own goroutine). Read the buffer only once the log is closed.
type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// testSeedOverride returns WAL_SEED, or 0.
func testSeedOverride() uint64 {
	v, _ := strconv.ParseUint(os.Getenv("WAL_SEED"), 10, 64)
	return v
}

// rec is one record read back.
type rec struct {
	lsn  uint64
	data []byte
}

// openLog opens and replays the log in dir, failing the test on error.
func openLog(t testing.TB, opts Options, after uint64) (*Log, []rec, ReplayInfo) {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quietLogger
	}
	l, err := Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	var got []rec
	info, err := l.Replay(after, func(lsn uint64, r []byte) error {
		got = append(got, rec{lsn, bytes.Clone(r)})
		return nil
	})
	if err != nil {
		t.Fatalf("Replay: %v", err)
	}
	return l, got, info
}

// readAll scans the log without changing it.
func readAll(t testing.TB, fs vfs.FS, dir string) ([]rec, ScanInfo) {
	t.Helper()
	var got []rec
	info, err := Scan(fs, dir, func(lsn uint64, r []byte) error {
		got = append(got, rec{lsn, bytes.Clone(r)})
		return nil
	})
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return got, info
}

// payload returns a deterministic record of n bytes for lsn: compressible
// or not.
func payload(lsn uint64, n int, compressible bool) []byte {
	b := make([]byte, n)
	if compressible {
		for i := range b {
			b[i] = byte('a' + (i/7+int(lsn))%26)
		}
		return b
	}
	r := rand.New(rand.NewPCG(lsn, uint64(n)))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// checkRecs compares records read back with those expected.
func checkRecs(t testing.TB, got []rec, want [][]byte, firstLSN uint64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i, g := range got {
		if g.lsn != firstLSN+uint64(i) {
			t.Fatalf("record %d has LSN %d, want %d", i, g.lsn, firstLSN+uint64(i))
		}
		if !bytes.Equal(g.data, want[i]) {
			t.Fatalf("record LSN %d: got %d bytes %.20q, want %d bytes %.20q", g.lsn, len(g.data), g.data, len(want[i]), want[i])
		}
	}
}

// segFiles lists the segment paths in dir.
func segFiles(t testing.TB, fs vfs.FS, dir string) []string {
	t.Helper()
	refs, err := listSegments(fs, dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range refs {
		out = append(out, filepath.Join(dir, r.name))
	}
	return out
}

// fileBytes returns a file's contents.
func fileBytes(t testing.TB, fs vfs.FS, path string) []byte {
	t.Helper()
	f, err := fs.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, err := f.Size()
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, n)
	if _, err := f.ReadAt(b, 0); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	return b
}

// writeFile replaces a file's contents, durably.
func writeFile(t testing.TB, fs vfs.FS, path string, b []byte) {
	t.Helper()
	if err := fs.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := fs.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := fs.SyncDir(filepath.Dir(path)); err != nil {
		t.Fatal(err)
	}
}

// waitCtx is a context for WaitSynced calls in tests that should not hang.
func waitCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// seed returns a seed for a randomised test and logs it, so a failure can
// be replayed (set WAL_SEED).
func seed(t testing.TB) uint64 {
	t.Helper()
	s := uint64(time.Now().UnixNano())
	if v := testSeedOverride(); v != 0 {
		s = v
	}
	t.Logf("seed %d (rerun with WAL_SEED=%d)", s, s)
	return s
}

func describe(r []rec) string {
	if len(r) == 0 {
		return "none"
	}
	return fmt.Sprintf("%d records, LSN %d..%d", len(r), r[0].lsn, r[len(r)-1].lsn)
}

// syncedWriters runs writers goroutines that each append each records of
// size bytes (LSN order within a writer), waiting for each one's fsync
// before the next, as clients under always do; it fails t on any error.
func syncedWriters(t testing.TB, l *Log, writers, each, size int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := l.WaitSynced(context.Background(), l.Append(payload(uint64(w*each+i+1), size, false))); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// filesFS is a filesystem whose files opened for writing are wrapped: a
// test's way to give them a behaviour (see wrapFiles).
type filesFS struct {
	vfs.FS
	wrap func(vfs.File) vfs.File
}

// wrapFiles returns fs with every file it creates or opens for writing
// wrapped by wrap.
func wrapFiles(fs vfs.FS, wrap func(vfs.File) vfs.File) vfs.FS {
	return filesFS{FS: fs, wrap: wrap}
}

func (w filesFS) Create(name string) (vfs.File, error) {
	return w.wrapped(w.FS.Create(name))
}

func (w filesFS) OpenReadWrite(name string) (vfs.File, error) {
	return w.wrapped(w.FS.OpenReadWrite(name))
}

func (w filesFS) wrapped(f vfs.File, err error) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	return w.wrap(f), nil
}
