package engine

import (
	"testing"
	"time"
)

// TestWallClock: the derived clock stays within a millisecond of
// time.Now, never behind the time read before it nor ahead of the time
// read after it.
func TestWallClock(t *testing.T) {
	var c wallClock
	deadline := time.Now().Add(1500 * time.Millisecond) // across a re-base
	for n := 0; time.Now().Before(deadline); n++ {
		before := time.Now().UnixMilli()
		got := c.nowMs()
		after := time.Now().UnixMilli()
		if got < before || got > after {
			t.Fatalf("call %d: %d, not within [%d, %d]", n, got, before, after)
		}
	}
}
