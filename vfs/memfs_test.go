package vfs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"testing"
)

// must fails the test at once on err.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// writeFile creates name with data, syncing the file if sync is set.
func writeFile(t *testing.T, fs FS, name, data string, sync bool) {
	t.Helper()
	f, err := fs.Create(name)
	must(t, err)
	_, err = f.Write([]byte(data))
	must(t, err)
	if sync {
		must(t, f.Sync())
	}
	must(t, f.Close())
}

// readFile returns name's contents, or ok false if it does not exist.
func readFile(t *testing.T, fs FS, name string) (data string, ok bool) {
	t.Helper()
	f, err := fs.Open(name)
	if errors.Is(err, os.ErrNotExist) {
		return "", false
	}
	must(t, err)
	defer f.Close()
	b, err := io.ReadAll(f)
	must(t, err)
	return string(b), true
}

func TestCrashClone(t *testing.T) {
	const absent = "<absent>"
	tests := []struct {
		name  string
		setup func(t *testing.T, fs *MemFS)
		want  map[string]string // path -> contents after a crash, or absent
	}{{
		name: "synced write survives",
		setup: func(t *testing.T, fs *MemFS) {
			writeFile(t, fs, "a", "hello", true)
			must(t, fs.SyncDir("/"))
		},
		want: map[string]string{"a": "hello"},
	}, {
		name: "unsynced write is lost",
		setup: func(t *testing.T, fs *MemFS) {
			writeFile(t, fs, "a", "hello", true)
			must(t, fs.SyncDir("/"))
			f, err := fs.OpenReadWrite("a")
			must(t, err)
			_, err = f.Write([]byte(" world"))
			must(t, err)
		},
		want: map[string]string{"a": "hello"},
	}, {
		name: "file never synced is empty",
		setup: func(t *testing.T, fs *MemFS) {
			writeFile(t, fs, "a", "hello", false)
			must(t, fs.SyncDir("."))
		},
		want: map[string]string{"a": ""},
	}, {
		name: "created file vanishes if its directory was not synced",
		setup: func(t *testing.T, fs *MemFS) {
			writeFile(t, fs, "a", "hello", true)
		},
		want: map[string]string{"a": absent},
	}, {
		name: "new directory vanishes if its parent was not synced",
		setup: func(t *testing.T, fs *MemFS) {
			must(t, fs.MkdirAll("d", 0o755))
			writeFile(t, fs, "d/a", "hello", true)
			must(t, fs.SyncDir("d"))
		},
		want: map[string]string{"d": absent, "d/a": absent},
	}, {
		name: "nested file survives once every directory is synced",
		setup: func(t *testing.T, fs *MemFS) {
			must(t, fs.MkdirAll("/d/e", 0o755))
			writeFile(t, fs, "/d/e/a", "hello", true)
			for _, d := range []string{"/", "/d", "/d/e"} {
				must(t, fs.SyncDir(d))
			}
		},
		want: map[string]string{"d/e/a": "hello"},
	}, {
		name: "rename without SyncDir is undone",
		setup: func(t *testing.T, fs *MemFS) {
			writeFile(t, fs, "a", "hello", true)
			must(t, fs.SyncDir("/"))
			must(t, fs.Rename("a", "b"))
		},
		want: map[string]string{"a": "hello", "b": absent},
	}, {
		name: "rename with SyncDir stays",
		setup: func(t *testing.T, fs *MemFS) {
			writeFile(t, fs, "a", "hello", true)
			writeFile(t, fs, "b", "old", true)
			must(t, fs.SyncDir("/"))
			must(t, fs.Rename("a", "b"))
			must(t, fs.SyncDir("/"))
		},
		want: map[string]string{"a": absent, "b": "hello"},
	}, {
		name: "remove without SyncDir is undone",
		setup: func(t *testing.T, fs *MemFS) {
			writeFile(t, fs, "a", "hello", true)
			must(t, fs.SyncDir("/"))
			must(t, fs.Remove("a"))
		},
		want: map[string]string{"a": "hello"},
	}, {
		name: "remove with SyncDir stays",
		setup: func(t *testing.T, fs *MemFS) {
			writeFile(t, fs, "a", "hello", true)
			must(t, fs.SyncDir("/"))
			must(t, fs.Remove("a"))
			must(t, fs.SyncDir("/"))
		},
		want: map[string]string{"a": absent},
	}, {
		name: "Create truncating a synced file keeps the old contents until Sync",
		setup: func(t *testing.T, fs *MemFS) {
			writeFile(t, fs, "a", "hello", true)
			must(t, fs.SyncDir("/"))
			writeFile(t, fs, "a", "bye", false)
		},
		want: map[string]string{"a": "hello"},
	}, {
		name: "truncate and rewrite since Sync keeps exactly the synced contents",
		setup: func(t *testing.T, fs *MemFS) {
			writeFile(t, fs, "a", "hello", true)
			must(t, fs.SyncDir("/"))
			f, err := fs.OpenReadWrite("a")
			must(t, err)
			must(t, f.Truncate(1))
			_, err = f.Write([]byte("ipp")) // within capacity: would show aliasing
			must(t, err)
		},
		want: map[string]string{"a": "hello"},
	}, {
		name: "directory Sync through a file handle syncs entries",
		setup: func(t *testing.T, fs *MemFS) {
			writeFile(t, fs, "a", "hello", true)
			d, err := fs.Open("/")
			must(t, err)
			must(t, d.Sync())
		},
		want: map[string]string{"a": "hello"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := NewMem()
			tt.setup(t, fs)
			crashed := fs.CrashClone(CrashOptions{})
			for name, want := range tt.want {
				got, ok := readFile(t, crashed, name)
				if !ok {
					got = absent
				}
				if got != want {
					t.Errorf("after crash, %s = %q, want %q", name, got, want)
				}
			}
		})
	}
}

// The clone is independent of the original, and durable through and through.
func TestCrashCloneIndependent(t *testing.T) {
	fs := NewMem()
	writeFile(t, fs, "a", "hello", true)
	must(t, fs.SyncDir("/"))
	c := fs.CrashClone(CrashOptions{})
	writeFile(t, c, "a", "changed", true)
	if got, _ := readFile(t, fs, "a"); got != "hello" {
		t.Errorf("original a = %q after writing the clone", got)
	}
	if got, _ := readFile(t, c.CrashClone(CrashOptions{}), "a"); got != "changed" {
		t.Errorf("clone of clone a = %q, want %q", got, "changed")
	}
	if got, _ := readFile(t, fs.CrashClone(CrashOptions{}).CrashClone(CrashOptions{}), "a"); got != "hello" {
		t.Errorf("a crash image is not durable: a = %q", got)
	}
}

// Renames between directories synced at different moments can leave a cycle
// in the durable namespace; CrashClone must still end.
func TestCrashCloneDurableCycle(t *testing.T) {
	fs := NewMem()
	must(t, fs.MkdirAll("a", 0o755))
	must(t, fs.MkdirAll("b", 0o755))
	must(t, fs.SyncDir("/"))
	must(t, fs.Rename("b", "a/b"))
	must(t, fs.SyncDir("a")) // durable: a holds b
	must(t, fs.Rename("a/b", "b"))
	must(t, fs.Rename("a", "b/a"))
	must(t, fs.SyncDir("b")) // durable: b holds a
	c := fs.CrashClone(CrashOptions{})
	if names, err := c.List("a/b/a/b"); err != nil || !slices.Equal(names, []string{"a"}) {
		t.Errorf("List(a/b/a/b) = %q, %v", names, err)
	}
}

// Property: a file's crash image is its synced contents followed by a prefix
// of its unsynced tail; with TearTail, the last at most tornMax bytes of that
// prefix may differ. Each seed runs a random workload of appends and syncs.
func TestKeepUnsynced(t *testing.T) {
	for _, tear := range []bool{false, true} {
		t.Run(fmt.Sprintf("tear=%v", tear), func(t *testing.T) {
			var none, all, some, torn, zeroed int
			for seed := uint64(0); seed < 300; seed++ {
				rng := rand.New(rand.NewPCG(seed, 1))
				fs := NewMem()
				names := []string{"a", "b", "c"}
				synced := map[string][]byte{}
				current := map[string][]byte{}
				files := map[string]File{}
				for _, name := range names {
					f, err := fs.Create(name)
					must(t, err)
					files[name] = f
				}
				must(t, fs.SyncDir("/"))
				for range 20 {
					name := names[rng.IntN(len(names))]
					if rng.IntN(4) == 0 {
						must(t, files[name].Sync())
						synced[name] = slices.Clone(current[name])
						continue
					}
					p := make([]byte, 1+rng.IntN(700))
					for i := range p {
						p[i] = byte(1 + rng.IntN(255)) // never zero, so a zeroed tear shows
					}
					_, err := files[name].Write(p)
					must(t, err)
					current[name] = append(current[name], p...)
				}
				crashed := fs.CrashClone(CrashOptions{KeepUnsynced: rng, TearTail: tear})
				for _, name := range names {
					got, _ := readFile(t, crashed, name)
					img, s, tail := []byte(got), synced[name], current[name][len(synced[name]):]
					k := len(img) - len(s)
					if k < 0 || k > len(tail) || !bytes.Equal(img[:len(s)], s) {
						t.Fatalf("seed %d: %s: crash image of %d bytes is not synced (%d) + a prefix of the tail (%d)",
							seed, name, len(img), len(s), len(tail))
					}
					cmp := k
					if tear {
						cmp = max(0, k-tornMax)
					}
					if !bytes.Equal(img[len(s):len(s)+cmp], tail[:cmp]) {
						t.Fatalf("seed %d: %s: kept unsynced bytes differ from the tail", seed, name)
					}
					differs := !bytes.Equal(img[len(s):], tail[:k])
					if differs && !tear {
						t.Fatalf("seed %d: %s: torn without TearTail", seed, name)
					}
					switch {
					case len(tail) == 0:
					case k == 0:
						none++
					case k == len(tail):
						all++
					default:
						some++
					}
					if differs {
						torn++
						if img[len(img)-1] == 0 {
							zeroed++ // the workload writes no zeros
						}
					}
				}
			}
			if none == 0 || all == 0 || some == 0 {
				t.Errorf("kept none %d, all %d, some %d times: want each at least once", none, all, some)
			}
			// Half the tears zero, half garble (and a garbled byte is zero 1
			// time in 256).
			if tear && (zeroed < torn/4 || zeroed > torn*3/4) {
				t.Errorf("TearTail tore %d tails, %d zeroed: want about half zeroed", torn, zeroed)
			}
		})
	}
}

// A file written in place since its Sync keeps, at a crash, a prefix of
// the changes from the first byte rewritten; a truncation is not kept.
func TestKeepUnsyncedRewritten(t *testing.T) {
	fs := NewMem()
	writeFile(t, fs, "a", "hello", true)
	writeFile(t, fs, "b", "hello", true)
	must(t, fs.SyncDir("/"))
	f, err := fs.OpenReadWrite("a")
	must(t, err)
	_, err = f.WriteAt([]byte("J"), 0)
	must(t, err)
	_, err = f.WriteAt([]byte("y"), 4)
	must(t, err)
	g, err := fs.OpenReadWrite("b")
	must(t, err)
	must(t, g.Truncate(2))
	seen := map[string]int{}
	for seed := uint64(0); seed < 100; seed++ {
		c := fs.CrashClone(CrashOptions{KeepUnsynced: rand.New(rand.NewPCG(seed, 1))})
		got, _ := readFile(t, c, "a")
		switch got {
		case "hello", "Jello", "Jelly":
			seen[got]++
		default:
			t.Fatalf("seed %d: a = %q after crash, want hello, Jello or Jelly", seed, got)
		}
		if got, _ := readFile(t, c, "b"); got != "hello" {
			t.Fatalf("seed %d: b = %q after crash, want the synced hello", seed, got)
		}
	}
	if len(seen) != 3 {
		t.Errorf("crash images seen %v, want all three", seen)
	}
}

func TestMemSemantics(t *testing.T) {
	fs := NewMem()

	if _, err := fs.Open("missing"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open(missing) = %v, want ErrNotExist", err)
	}
	if _, err := fs.OpenReadWrite("missing"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("OpenReadWrite(missing) = %v, want ErrNotExist", err)
	}

	writeFile(t, fs, "a", "hello world", false)
	writeFile(t, fs, "a", "bye", false)
	if got, _ := readFile(t, fs, "a"); got != "bye" {
		t.Errorf("Create did not truncate: %q", got)
	}

	f, err := fs.OpenReadWrite("/./a")
	must(t, err)
	buf := make([]byte, 2)
	_, err = f.Read(buf) // moves the offset, where Write then writes
	must(t, err)
	_, err = f.Write([]byte("e!"))
	must(t, err)
	_, err = f.WriteAt([]byte("!"), 4)
	must(t, err)
	if got, _ := readFile(t, fs, "a"); got != "bye!!" {
		t.Errorf("Write after Read, then WriteAt(4): %q, want bye!!", got)
	}
	n, err := f.ReadAt(buf, 3)
	if n != 2 || err != nil || string(buf) != "!!" {
		t.Errorf("ReadAt(3) = %d, %v, %q", n, err, buf)
	}
	if n, err := f.ReadAt(buf, 4); n != 1 || err != io.EOF {
		t.Errorf("ReadAt past the end = %d, %v, want 1, EOF", n, err)
	}
	must(t, f.Truncate(1))
	must(t, f.Truncate(3))
	if size, err := f.Size(); size != 3 || err != nil {
		t.Errorf("Size = %d, %v, want 3", size, err)
	}
	if got, _ := readFile(t, fs, "a"); got != "b\x00\x00" {
		t.Errorf("after Truncate 1, 3: %q", got)
	}
	must(t, f.Close())
	if _, err := f.Write([]byte("x")); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Write after Close = %v, want ErrClosed", err)
	}
	if err := f.Close(); err == nil {
		t.Errorf("second Close succeeded")
	}

	r, err := fs.Open("a")
	must(t, err)
	if _, err := r.Write([]byte("x")); err == nil {
		t.Errorf("Write to a file opened read-only succeeded")
	}
	must(t, r.Close())

	must(t, fs.MkdirAll("d/e", 0o755))
	must(t, fs.MkdirAll("d/e", 0o755))
	writeFile(t, fs, "d/z", "", false)
	writeFile(t, fs, "d/b", "", false)
	if got, err := fs.List("d"); err != nil || !slices.Equal(got, []string{"b", "e", "z"}) {
		t.Errorf("List(d) = %q, %v", got, err)
	}
	if err := fs.MkdirAll("d/z/x", 0o755); err == nil {
		t.Errorf("MkdirAll through a file succeeded")
	}
	if err := fs.Remove("d"); err == nil {
		t.Errorf("Remove of a non-empty directory succeeded")
	}
	must(t, fs.Remove("d/e"))

	fi, err := fs.Stat("a")
	must(t, err)
	if fi.Name() != "a" || fi.Size() != 3 || fi.IsDir() {
		t.Errorf("Stat(a) = %s %d dir=%v", fi.Name(), fi.Size(), fi.IsDir())
	}
	if fi, err := fs.Stat("d/"); err != nil || !fi.IsDir() || fi.Name() != "d" {
		t.Errorf("Stat(d/) = %v, %v", fi, err)
	}

	writeFile(t, fs, "old", "new contents", false)
	must(t, fs.Rename("old", "a"))
	if got, _ := readFile(t, fs, "a"); got != "new contents" {
		t.Errorf("Rename did not replace: a = %q", got)
	}
	if _, ok := readFile(t, fs, "old"); ok {
		t.Errorf("old name still there after Rename")
	}
	if err := fs.Rename("d", "d/sub"); err == nil {
		t.Errorf("Rename of a directory into itself succeeded")
	}
	if err := fs.Rename("a", "d"); err == nil {
		t.Errorf("Rename of a file over a directory succeeded")
	}
}

// An open file outlives its name, as on Unix.
func TestMemHandleOutlivesName(t *testing.T) {
	fs := NewMem()
	f, err := fs.Create("a")
	must(t, err)
	must(t, fs.Rename("a", "b"))
	_, err = f.Write([]byte("one "))
	must(t, err)
	if got, _ := readFile(t, fs, "b"); got != "one " {
		t.Errorf("write after rename: b = %q", got)
	}
	must(t, fs.Remove("b"))
	_, err = f.Write([]byte("two"))
	must(t, err)
	must(t, f.Sync())
	buf := make([]byte, 7)
	if n, err := f.ReadAt(buf, 0); n != 7 || err != nil || string(buf) != "one two" {
		t.Errorf("ReadAt after remove = %d, %v, %q", n, err, buf)
	}
	if names, _ := fs.List("/"); len(names) != 0 {
		t.Errorf("List after remove = %q", names)
	}
}

// Run with -race: concurrent writers to separate files, and a crash clone.
func TestMemConcurrent(t *testing.T) {
	fs := NewMem()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			name := fmt.Sprintf("f%d", i)
			for range 100 {
				f, err := fs.OpenReadWrite(name)
				if errors.Is(err, os.ErrNotExist) {
					f, err = fs.Create(name)
				}
				if err != nil {
					t.Error(err)
					return
				}
				if size, err := f.Size(); err == nil {
					f.WriteAt([]byte("x"), size)
				}
				f.Sync()
				f.Close()
			}
			fs.SyncDir("/")
		})
	}
	wg.Go(func() { fs.CrashClone(CrashOptions{}) })
	wg.Wait()
	crashed := fs.CrashClone(CrashOptions{})
	for i := range 8 {
		if got, _ := readFile(t, crashed, fmt.Sprintf("f%d", i)); len(got) != 100 {
			t.Errorf("f%d has %d bytes after crash, want 100", i, len(got))
		}
	}
}
