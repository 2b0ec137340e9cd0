package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDataDirRemoved: with the data directory removed under a running
// server (appendonly yes, no save rules), or removed and created again,
// writes are refused with -MISCONF within a few seconds, rather than
// acknowledged into a log that a restart would never find; reads go on.
func TestDataDirRemoved(t *testing.T) {
	for _, recreate := range []bool{false, true} {
		t.Run(map[bool]string{false: "removed", true: "recreated"}[recreate], func(t *testing.T) {
			testDataDirRemoved(t, recreate)
		})
	}
}

func testDataDirRemoved(t *testing.T, recreate bool) {
	dir := filepath.Join(t.TempDir(), "data")
	port := freePort(t)
	p := spawn(t, port, "--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--dir", dir, "--save", "")
	if err := p.waitReady(); err != nil {
		t.Fatal(err)
	}
	c := p.client(t, nil)
	ctx := testContext(t)
	if err := c.Set(ctx, "a", "1", 0).Err(); err != nil {
		t.Fatalf("SET before the removal: %v", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if recreate {
		if err := os.MkdirAll(filepath.Join(dir, "wal"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	const want = "MISCONF Errors writing to the AOF file: No such file or directory"
	start := time.Now()
	for {
		err := c.Set(ctx, "b", "2", 0).Err()
		if err != nil && err.Error() == want {
			break
		}
		if err != nil {
			t.Fatalf("SET after the removal: %v, want %q", err, want)
		}
		if time.Since(start) > 10*time.Second {
			t.Fatal("SET still acknowledged 10 s after the data directory was removed")
		}
		time.Sleep(20 * time.Millisecond) // polling the observable condition
	}
	t.Logf("writes refused %v after the removal", time.Since(start).Round(time.Millisecond))
	if v, err := c.Get(ctx, "a").Result(); err != nil || v != "1" {
		t.Fatalf("GET after the removal: %q, %v", v, err)
	}
	if !strings.Contains(p.log(), "the data directory was removed") {
		t.Fatalf("the log does not say the data directory was removed:\n%s", p.log())
	}
}
