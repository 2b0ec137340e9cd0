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

// TestTxClockLazy: a transaction reads the clock only when it meets a TTL,
// and then keeps that one reading.
func TestTxClockLazy(t *testing.T) {
	e := openT(t, Options{})
	defer e.Close()
	k, v := []byte("k"), []byte("v")
	err := e.Update([][]byte{k}, func(tx *Tx) error {
		if _, err := tx.Set(0, k, v, SetArgs{}); err != nil {
			return err
		}
		if _, _, err := tx.Get(0, k); err != nil {
			return err
		}
		if tx.now != 0 {
			t.Errorf("clock read (%d) by a SET and GET without TTL", tx.now)
		}
		_, err := tx.Set(0, k, v, SetArgs{ExpireAt: time.Now().Add(time.Hour).UnixMilli()})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	err = e.Update([][]byte{k}, func(tx *Tx) error {
		if _, found, err := tx.Get(0, k); err != nil || !found {
			t.Fatalf("GET: found %v, err %v", found, err)
		}
		first := tx.now
		if first == 0 {
			t.Fatal("clock not read by a GET of a key with a TTL")
		}
		if tx.Now() != first {
			t.Errorf("Now %d after %d in the same transaction", tx.Now(), first)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestAccessClock: with the wall clock and the cron, access bits read the
// last reading of NowMs; after Close, the clock itself.
func TestAccessClock(t *testing.T) {
	e := openT(t, Options{ActiveExpireHz: -1})
	if last := e.wall.last.Load(); last == 0 || e.accessMs() != last {
		t.Fatalf("accessMs %d, last reading %d: none at start", e.accessMs(), last)
	}
	// A stale reading, which a read of the clock replaces.
	e.wall.last.Store(1)
	if got := e.accessMs(); got != 1 {
		t.Fatalf("accessMs %d, want the last reading 1", got)
	}
	before := time.Now().UnixMilli()
	if now := e.NowMs(); now < before || e.accessMs() != now {
		t.Fatalf("accessMs %d after NowMs %d (clock %d before)", e.accessMs(), now, before)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e.wall.last.Store(1)
	if got := e.accessMs(); got < before {
		t.Fatalf("accessMs %d after Close, clock %d before", got, before)
	}
}

// TestSetActiveExpireHz: a new hz takes effect at once, not at the next
// tick of the old one (CONFIG SET hz).
func TestSetActiveExpireHz(t *testing.T) {
	e := openT(t, Options{ActiveExpireHz: 1})
	defer e.Close()
	start := time.Now()
	e.SetActiveExpireHz(200)
	// At 1 Hz five cycles take five seconds; at 200 Hz 25 ms.
	for e.Stats().ExpireCycles.Load() < 5 {
		if time.Since(start) > 3*time.Second {
			t.Fatalf("%d active-expiry cycles in %v after SET hz 200", e.Stats().ExpireCycles.Load(), time.Since(start))
		}
		time.Sleep(time.Millisecond)
	}
	e.SetActiveExpireHz(-1)
	n := e.Stats().ExpireCycles.Load()
	// The cron still ticks (the access clock), without expiry cycles:
	// wait for a tick through the access clock's reading.
	e.wall.last.Store(1)
	for e.wall.last.Load() == 1 {
		if time.Since(start) > 5*time.Second {
			t.Fatal("the cron stopped ticking with active expiry off")
		}
		time.Sleep(time.Millisecond)
	}
	if got := e.Stats().ExpireCycles.Load(); got > n+1 {
		t.Fatalf("%d active-expiry cycles after turning it off (%d before)", got, n)
	}
}
