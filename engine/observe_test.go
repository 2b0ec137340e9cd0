package engine

import (
	"testing"
	"time"
)

// TestCommitObserver: a memory-only engine hands effects to the observer
// only while one is registered, active expiry's deletes included; the
// cost when none is: no effects recorded at all.
func TestCommitObserver(t *testing.T) {
	now := time.UnixMilli(1_000_000)
	e, err := Open(Options{ActiveExpireHz: -1, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var seen []string
	e.SetOnCommit(func(effects []Effect) {
		for i := range effects {
			ts, n := effects[i].Touches()
			for _, tc := range ts[:n] {
				seen = append(seen, string(tc.Key))
			}
		}
	})
	set := func(key string, px int64) {
		t.Helper()
		if err := e.Update([][]byte{[]byte(key)}, func(tx *Tx) error {
			if len(tx.Effects()) != 0 {
				t.Fatal("effects before any write")
			}
			_, err := tx.Set(0, []byte(key), []byte("v"), SetArgs{ExpireAt: px})
			if !e.recordsEffects() && len(tx.Effects()) != 0 {
				t.Error("effects recorded with no observer and no log")
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	set("before", 0)
	e.ObserveCommits(1)
	set("during", now.UnixMilli()+10)
	now = now.Add(time.Second)
	e.ActiveExpireCycle(0, time.Second) // deletes "during": an effect too
	e.ObserveCommits(-1)
	set("after", 0)
	if want := []string{"during", "during"}; len(seen) != 2 || seen[0] != want[0] || seen[1] != want[1] {
		t.Fatalf("observer saw %q, want %q", seen, want)
	}
}

// TestTxWholeKeyspace: KEYS, SCAN, DBSIZE, RANDOMKEY and the keyspace
// counts inside a transaction over every shard, and refused in one over
// some shards.
func TestTxWholeKeyspace(t *testing.T) {
	e, err := Open(Options{ActiveExpireHz: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	err = e.UpdateAll(func(tx *Tx) error {
		for _, k := range []string{"a", "b", "c"} {
			if _, err := tx.Set(0, []byte(k), []byte("v"), SetArgs{}); err != nil {
				return err
			}
		}
		keys, err := tx.Keys(0, ScanFilter{})
		if err != nil || len(keys) != 3 {
			t.Errorf("Keys = %q, %v", keys, err)
		}
		if n, err := tx.DBSize(0); n != 3 || err != nil {
			t.Errorf("DBSize = %d, %v", n, err)
		}
		if k, err := tx.RandomKey(0); len(k) != 1 || err != nil {
			t.Errorf("RandomKey = %q, %v", k, err)
		}
		var all [][]byte
		for cursor := uint64(0); ; {
			keys, next, err := tx.Scan(0, cursor, 10, ScanFilter{})
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, keys...)
			if cursor = next; cursor == 0 {
				break
			}
		}
		if len(all) != 3 {
			t.Errorf("Scan found %q", all)
		}
		if ks, err := tx.Keyspace(); err != nil || ks[0].Keys != 3 {
			t.Errorf("Keyspace = %v, %v", ks, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e.View([][]byte{[]byte("a")}, func(tx *Tx) error {
		if _, err := tx.Keys(0, ScanFilter{}); err != ErrKeyNotLocked {
			t.Errorf("Keys over one shard: %v, want ErrKeyNotLocked", err)
		}
		return nil
	})
}
