package snapshot

import (
	"errors"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-db/cairn/vfs"
)

// checkCrashImage checks what a crash left in dir: no final snapshot, or
// one whole and equal to m. Temporary files may remain. It returns whether
// the final snapshot is there.
func (m *model) checkCrashImage(t testing.TB, fs vfs.FS, dir, what string) bool {
	t.Helper()
	names, err := fs.List(dir)
	if err != nil {
		// The directory itself was never made durable.
		if _, serr := fs.Stat(dir); serr == nil {
			t.Fatalf("%s: List: %v", what, err)
		}
		return false
	}
	found := false
	for _, name := range names {
		if _, ok := ParseFileName(name); !ok {
			if !strings.HasSuffix(name, ".tmp") {
				t.Fatalf("%s: unexpected file %s", what, name)
			}
			continue
		}
		found = true
		r, err := Open(fs, filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%s: the final file %s does not open: %v", what, name, err)
		}
		m.check(t, r)
		r.Close()
	}
	return found
}

// TestCrashAtomicity takes a crash image before every filesystem operation
// of a snapshot's writing (keeping random parts of what was not synced,
// sometimes torn): each holds no final snapshot or a whole, valid one, and
// the images after Commit hold it.
func TestCrashAtomicity(t *testing.T) {
	s := seed(t)
	for round := range 20 {
		rng := rand.New(rand.NewPCG(s, uint64(round)))
		m := randModel(rng, 1+rng.IntN(4), rng.IntN(200), 3, rng.IntN(3)-1)
		mem := vfs.NewMem()
		type image struct {
			fs *vfs.MemFS
			op string
		}
		var images []image
		crash := func(op string) {
			images = append(images, image{mem.CrashClone(vfs.CrashOptions{
				KeepUnsynced: rand.New(rand.NewPCG(rng.Uint64(), 0)), TearTail: rng.IntN(2) == 0}), op})
		}
		fs := vfs.NewError(mem, vfs.InjectorFunc(func(op vfs.Op, path string) error {
			crash(op.String() + " " + path)
			return nil
		}))
		dir := "/data/snapshots"
		if round%2 == 1 {
			// The directory exists and is durable before the snapshot.
			if err := mem.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, d := range []string{"/", "/data"} {
				if err := mem.SyncDir(d); err != nil {
					t.Fatal(err)
				}
			}
		}
		m.write(t, fs, dir, 1+rng.IntN(400))
		crash("after Commit")
		if !m.checkCrashImage(t, images[len(images)-1].fs, dir, "after Commit") {
			t.Fatalf("round %d: after Commit, a crash loses the snapshot", round)
		}
		sawFinal := false
		for i, img := range images {
			got := m.checkCrashImage(t, img.fs, dir, "crash before "+img.op)
			if sawFinal && !got {
				t.Fatalf("round %d: image %d (before %s) lost the snapshot an earlier one had", round, i, img.op)
			}
			sawFinal = sawFinal || got
		}
	}
}

// TestFailures fails each filesystem operation of a snapshot's writing in
// turn: the failure surfaces as an error, and after Abort the directory
// holds no temporary file and at most a whole snapshot.
func TestFailures(t *testing.T) {
	rng := rand.New(rand.NewPCG(seed(t), 11))
	m := randModel(rng, 3, 100, 2, -1)
	errDisk := vfs.ErrEIO
	for n := 0; ; n++ {
		mem := vfs.NewMem()
		count := 0
		fs := vfs.NewError(mem, vfs.InjectorFunc(func(op vfs.Op, path string) error {
			count++
			if count == n+1 {
				if op == vfs.OpWrite && n%2 == 0 {
					return vfs.ShortWrite(errDisk, 5)
				}
				return errDisk
			}
			return nil
		}))
		path, err := func() (string, error) {
			w, err := Create(WriterOptions{FS: fs, Dir: "/s", Shards: len(m.shards), BlockSize: 150, Created: m.created})
			if err != nil {
				return "", err
			}
			for s, entries := range m.shards {
				w.BeginShard(s)
				for _, e := range entries {
					w.Add(e.db, e.t, e.key, e.expireAt, e.value())
				}
				if err := w.EndShard(m.stamps[s]); err != nil {
					w.Abort()
					return "", err
				}
			}
			return w.Commit()
		}()
		if count <= n {
			// No failure was injected: the workload is done.
			if err != nil {
				t.Fatal(err)
			}
			if n < 5 {
				t.Fatalf("only %d operations", n)
			}
			if !m.checkCrashImage(t, mem, "/s", "no failure") {
				t.Fatal("no snapshot")
			}
			return
		}
		if err == nil {
			t.Fatalf("operation %d failed, yet the snapshot was written (%s)", n, path)
		}
		if !errors.Is(err, errDisk) {
			t.Fatalf("operation %d: error %v does not wrap the disk's", n, err)
		}
		names, _ := mem.List("/s")
		for _, name := range names {
			if strings.HasSuffix(name, ".tmp") {
				t.Fatalf("operation %d failed: %s left behind", n, name)
			}
		}
		m.checkCrashImage(t, mem, "/s", "after a failure")
	}
}
