package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// lockFileName is the file in the data directory a running server holds
// an exclusive flock(2) on, so that a second server started on the same
// directory stops at once instead of interleaving its writes with the
// first's log and snapshots. The kernel drops the lock when the process
// dies, however it dies, so a crash leaves nothing to clean up.
const lockFileName = "LOCK"

// lockDir takes the data directory's lock; the returned file holds it
// until it is closed or the process exits. The file records the holder's
// PID, for the message a second server prints.
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, lockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		if err == syscall.EWOULDBLOCK {
			if pid := strings.TrimSpace(string(holder)); pid != "" {
				return nil, fmt.Errorf("the data directory %s is in use by another cairn-server (pid %s)", dir, pid)
			}
			return nil, fmt.Errorf("the data directory %s is in use by another cairn-server", dir)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}
