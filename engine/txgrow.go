package engine

import (
	"slices"
)

// A transaction that grows: a Lua script declares its keys, but Redis lets
// it touch others too, so a script's transaction may need shards it did not
// lock at the start. Taking them must never deadlock. The rule that makes
// it so, kept by begin, beginAll and the methods here alike:
//
//	a transaction WAITS only for a shard numbered above every shard it holds.
//
// Then along any chain of waits (A waits for a shard B holds, B for one C
// holds, …) the shard numbers strictly rise, so the chain never comes back
// to A. A shard below one already held is taken only when TryLock wins at
// once; when it does not, the caller gets false and decides (the server
// reruns a script that has not written yet over every shard, or retries a
// bounded number of times and fails the script's call).

// LockKey makes key's shard part of tx. It reports false when that shard
// is below one tx holds and another transaction has it now.
func (tx *Tx) LockKey(key []byte) bool {
	if tx.all {
		return true
	}
	s := uint16(tx.hash(key) & tx.e.shardMask)
	if containsShard(tx.locked, s) {
		return true
	}
	return tx.lockShard(s)
}

// lockShard takes shard s (not held), by the rule above.
func (tx *Tx) lockShard(s uint16) bool {
	mu := &tx.e.shards[s].mu
	if len(tx.locked) == 0 || s > tx.locked[len(tx.locked)-1] {
		if tx.write {
			mu.Lock()
		} else {
			mu.RLock()
		}
		tx.locked = append(tx.locked, s)
		return true
	}
	var ok bool
	if tx.write {
		ok = mu.TryLock()
	} else {
		ok = mu.TryRLock()
	}
	if ok {
		i, _ := slices.BinarySearch(tx.locked, s)
		tx.locked = slices.Insert(tx.locked, i, s)
	}
	return ok
}

// LockAll makes every shard part of tx, as if it had begun with UpdateAll
// or ViewAll. It reports false when some shard below one tx holds is busy;
// the shards it took stay held (and are released when tx ends).
func (tx *Tx) LockAll() bool {
	if tx.all {
		return true
	}
	for s := range tx.e.shards {
		if !containsShard(tx.locked, uint16(s)) && !tx.lockShard(uint16(s)) {
			return false
		}
	}
	// Every shard is held exactly once: end releases them all.
	tx.all = true
	return true
}

// Holds reports whether tx holds key's shard.
func (tx *Tx) Holds(key []byte) bool { return tx.isLocked(key) }

// HoldsAll reports whether tx holds every shard.
func (tx *Tx) HoldsAll() bool { return tx.all }

// Writable reports whether tx may write.
func (tx *Tx) Writable() bool { return tx.write }
