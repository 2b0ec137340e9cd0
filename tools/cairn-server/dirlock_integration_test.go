package main

import (
	"strconv"
	"strings"
	"testing"
)

// TestDataDirLock: a second server on a data directory in use stops at
// start with exit status 1 and a message naming the first one's PID,
// leaving the first serving; once the first has exited, a new one starts
// on the directory.
func TestDataDirLock(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := startServer(t, "--dir", dir)
	pid := strconv.Itoa(first.cmd.Process.Pid)

	port := freePort(t)
	second := spawn(t, port, "--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--dir", dir)
	if code := second.waitExit(t); code != 1 {
		t.Fatalf("second server on %s: exit status %d, want 1; stderr:\n%s", dir, code, second.log())
	}
	if want := "in use by another cairn-server (pid " + pid + ")"; !strings.Contains(second.log(), want) {
		t.Fatalf("second server's stderr lacks %q:\n%s", want, second.log())
	}
	c := first.client(t, nil)
	if err := c.Set(testContext(t), "k", "v", 0).Err(); err != nil {
		t.Fatalf("the first server after the second one's attempt: %v", err)
	}

	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	first.waitExit(t)
	third := startServer(t, "--dir", dir)
	if got := third.client(t, nil).Get(testContext(t), "k").Val(); got != "v" {
		t.Fatalf("after a restart on the directory: GET k = %q, want v", got)
	}
}
