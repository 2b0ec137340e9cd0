package vfs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"testing"
)

// workload does a little of everything, stopping at the first error.
func workload(fs FS) error {
	steps := []func() error{
		func() error { return fs.MkdirAll("d", 0o755) },
		func() error { return fs.SyncDir("/") },
		func() error {
			f, err := fs.Create("d/a")
			if err != nil {
				return err
			}
			defer f.Close()
			if _, err := f.Write([]byte("hello")); err != nil {
				return err
			}
			if err := f.Truncate(4); err != nil {
				return err
			}
			return f.Sync()
		},
		func() error { return fs.Rename("d/a", "d/b") },
		func() error { return fs.SyncDir("d") },
		func() error {
			f, err := fs.OpenReadWrite("d/b")
			if err != nil {
				return err
			}
			defer f.Close()
			if _, err := f.Size(); err != nil {
				return err
			}
			if _, err := f.ReadAt(make([]byte, 1), 0); err != nil {
				return err
			}
			_, err = f.Write([]byte("!"))
			return err
		},
		func() error {
			f, err := fs.Open("d/b")
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.ReadAll(f)
			return err
		},
		func() error { _, err := fs.Stat("d/b"); return err },
		func() error { _, err := fs.List("d"); return err },
		func() error { return fs.Remove("d/b") },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// Failing operation 0, 1, 2, … in turn: each run fails exactly once, with the
// injected error, until the index passes the workload's last operation.
func TestOnIndex(t *testing.T) {
	counter := NewCounter(nil)
	must(t, workload(NewError(NewMem(), counter)))
	total := counter.Count()
	if total < 15 {
		t.Fatalf("workload did %d operations; expected more", total)
	}
	for i := 0; ; i++ {
		inj := OnIndex(i, ErrEIO)
		failures := 0
		err := workload(NewError(NewMem(), InjectorFunc(func(op Op, path string) error {
			err := inj.MaybeError(op, path)
			if err != nil {
				failures++
			}
			return err
		})))
		if !inj.Fired() {
			if err != nil || i != total {
				t.Fatalf("index %d did not fire: err %v, want nil after %d ops", i, err, total)
			}
			break
		}
		if !errors.Is(err, ErrEIO) || failures != 1 {
			t.Fatalf("index %d: err %v, %d failures; want EIO once", i, err, failures)
		}
	}
}

// OnIndex with ops counts only those ops.
func TestOnIndexOps(t *testing.T) {
	var failed []string
	inj := OnIndex(1, ErrEIO, OpSync, OpSyncDir)
	err := workload(NewError(NewMem(), InjectorFunc(func(op Op, path string) error {
		err := inj.MaybeError(op, path)
		if err != nil {
			failed = append(failed, fmt.Sprint(op, " ", path))
		}
		return err
	})))
	// Syncs in order: SyncDir("/"), Sync("d/a").
	if !errors.Is(err, ErrEIO) || len(failed) != 1 || failed[0] != "sync d/a" {
		t.Errorf("err %v, failed %q; want EIO from sync d/a", err, failed)
	}
}

// Each operation, failed alone, reports the injected error in a PathError (a
// LinkError for Rename) and leaves the underlying filesystem as it was.
func TestErrorEachOp(t *testing.T) {
	tests := []struct {
		op Op
		do func(fs FS, f File) error
	}{
		{OpCreate, func(fs FS, _ File) error { _, err := fs.Create("a"); return err }},
		{OpOpen, func(fs FS, _ File) error { _, err := fs.Open("a"); return err }},
		{OpOpenReadWrite, func(fs FS, _ File) error { _, err := fs.OpenReadWrite("a"); return err }},
		{OpRead, func(_ FS, f File) error { _, err := f.Read(make([]byte, 1)); return err }},
		{OpReadAt, func(_ FS, f File) error { _, err := f.ReadAt(make([]byte, 1), 0); return err }},
		{OpWrite, func(_ FS, f File) error { _, err := f.Write([]byte("x")); return err }},
		{OpSync, func(_ FS, f File) error { return f.Sync() }},
		{OpTruncate, func(_ FS, f File) error { return f.Truncate(0) }},
		{OpSize, func(_ FS, f File) error { _, err := f.Size(); return err }},
		{OpRemove, func(fs FS, _ File) error { return fs.Remove("a") }},
		{OpRename, func(fs FS, _ File) error { return fs.Rename("a", "b") }},
		{OpMkdirAll, func(fs FS, _ File) error { return fs.MkdirAll("e", 0o755) }},
		{OpList, func(fs FS, _ File) error { _, err := fs.List("/"); return err }},
		{OpSyncDir, func(fs FS, _ File) error { return fs.SyncDir("/") }},
		{OpStat, func(fs FS, _ File) error { _, err := fs.Stat("a"); return err }},
	}
	covered := map[Op]bool{}
	for _, tt := range tests {
		covered[tt.op] = true
		t.Run(tt.op.String(), func(t *testing.T) {
			mem := NewMem()
			writeFile(t, mem, "a", "hello", false)
			must(t, mem.SyncDir("/"))
			writeFile(t, mem, "c", "", false) // durable only after a SyncDir
			var tog Toggle
			efs := NewError(mem, &tog)
			f, err := efs.Create("a") // the file's durable contents stay empty
			must(t, err)
			_, err = f.Write([]byte("hi"))
			must(t, err)
			before := state(t, mem)
			tog.Fail(ErrEIO, tt.op)
			err = tt.do(efs, f)
			if !errors.Is(err, ErrEIO) {
				t.Fatalf("%v = %v, want EIO", tt.op, err)
			}
			var pe *os.PathError
			var le *os.LinkError
			if !errors.As(err, &pe) && !(tt.op == OpRename && errors.As(err, &le)) {
				t.Errorf("%v: %T is not a PathError", tt.op, err)
			}
			if after := state(t, mem); after != before {
				t.Errorf("%v touched the filesystem:\nbefore %s\nafter  %s", tt.op, before, after)
			}
			must(t, f.Close()) // Close is never failed
		})
	}
	for op := Op(1); op < numOps; op++ {
		if !covered[op] {
			t.Errorf("no case for %v", op)
		}
	}
}

// state describes mem: current names and contents, and what a crash leaves.
func state(t *testing.T, mem *MemFS) string {
	names, err := mem.List("/")
	must(t, err)
	a, _ := readFile(t, mem, "a")
	crashed := mem.CrashClone(CrashOptions{})
	cnames, err := crashed.List("/")
	must(t, err)
	ca, _ := readFile(t, crashed, "a")
	return fmt.Sprintf("names %q a %q; after crash names %q a %q", names, a, cnames, ca)
}

// A Toggle fails matching operations until healed, from any goroutine.
func TestToggle(t *testing.T) {
	mem := NewMem()
	var tog Toggle
	fs := NewError(mem, &tog)
	f, err := fs.Create("a")
	must(t, err)

	tog.Fail(ErrENOSPC, OpWrite, OpSync)
	if _, err := f.Write([]byte("lost")); !errors.Is(err, ErrENOSPC) {
		t.Errorf("Write while failing = %v, want ENOSPC", err)
	}
	if err := f.Sync(); !errors.Is(err, ErrENOSPC) {
		t.Errorf("Sync while failing = %v, want ENOSPC", err)
	}
	if _, err := f.Size(); err != nil {
		t.Errorf("Size while failing writes = %v, want nil", err)
	}
	tog.Heal()
	_, err = f.Write([]byte("kept"))
	must(t, err)
	must(t, f.Sync())
	if got, _ := readFile(t, mem, "a"); got != "kept" {
		t.Errorf("a = %q, want %q", got, "kept")
	}

	// Flip the toggle while writers run (for -race); every write either
	// succeeds whole or fails with the injected error.
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, failed := 0, 0
	for range 4 {
		wg.Go(func() {
			for range 200 {
				_, err := f.Write([]byte("x"))
				mu.Lock()
				switch {
				case err == nil:
					ok++
				case errors.Is(err, ErrEIO):
					failed++
				default:
					t.Errorf("unexpected error %v", err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Go(func() {
		for range 200 {
			tog.Fail(ErrEIO, OpWrite)
			tog.Heal()
		}
	})
	wg.Wait()
	size, err := f.Size()
	must(t, err)
	if ok+failed != 800 || size != int64(len("kept")+ok) {
		t.Errorf("%d ok + %d failed writes, size %d; want 800 writes, size 4+ok", ok, failed, size)
	}
}

// A ShortWrite error passes a prefix of the write through, then fails.
func TestShortWrite(t *testing.T) {
	tests := []struct {
		n    int
		want string
	}{{-1, ""}, {0, ""}, {3, "hel"}, {5, "hello"}, {9, "hello"}}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.n), func(t *testing.T) {
			mem := NewMem()
			inj := OnIndex(0, ShortWrite(ErrENOSPC, tt.n), OpWrite)
			f, err := NewError(mem, inj).Create("a")
			must(t, err)
			n, err := f.Write([]byte("hello"))
			var sw *ShortWriteError
			if n != len(tt.want) || !errors.Is(err, ErrENOSPC) || errors.As(err, &sw) {
				t.Errorf("Write = %d, %v; want %d, ENOSPC without the marker", n, err, len(tt.want))
			}
			if got, _ := readFile(t, mem, "a"); got != tt.want {
				t.Errorf("a = %q, want %q", got, tt.want)
			}
			if _, err := f.Write([]byte("!")); err != nil {
				t.Errorf("second Write = %v; OnIndex should fail only one", err)
			}
		})
	}
}
