package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestRefusesCorruptLog: a byte flipped in the middle of a log that was
// fsynced and closed cleanly stops the start with a message naming the
// file, the offset and the repair command; nothing is dropped silently.
func TestRefusesCorruptLog(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	port := freePort(t)
	args := []string{"--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--dir", dir, "--appendfsync", "always"}
	p := spawn(t, port, args...)
	if err := p.waitReady(); err != nil {
		t.Fatal(err)
	}
	rdb := p.client(t, nil)
	ctx := context.Background()
	for i := 0; i < 200; i++ {
		if err := rdb.Set(ctx, fmt.Sprint("key", i), fmt.Sprint("value", i), 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.waitExit(t); code != 0 {
		t.Fatalf("exit status %d after SIGTERM", code)
	}

	// The last segment: the snapshot taken at shutdown covers the LSNs of
	// any before it (under always, the first writes may go to a plain
	// segment until a preallocated one is ready), and covered segments
	// are not read.
	segs, err := filepath.Glob(filepath.Join(dir, "wal", "*.log"))
	if err != nil || len(segs) == 0 {
		t.Fatalf("segments %v, %v", segs, err)
	}
	seg := segs[len(segs)-1]
	data, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0x5a
	if err := os.WriteFile(seg, data, 0o644); err != nil {
		t.Fatal(err)
	}

	code, _, stderr := runToExit(t, args...)
	if code == 0 {
		t.Fatalf("started on a corrupt log; stderr:\n%s", stderr)
	}
	for _, want := range []string{filepath.Base(seg), "offset", "cairn-inspect wal repair"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("the refusal does not mention %q:\n%s", want, stderr)
		}
	}
	after, err := os.ReadFile(seg)
	if err != nil || string(after) != string(data) {
		t.Fatalf("the refused log was modified (%v)", err)
	}
}
