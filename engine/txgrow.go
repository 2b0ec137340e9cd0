package engine

import (
	"math/rand/v2"
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
	s := uint16(hashKey(key) & tx.e.shardMask)
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

// The whole-keyspace reads below run inside a transaction that holds every
// shard (a script's or a MULTI block's), where Engine.Keys and the others,
// which lock shard by shard, would wait for the caller's own locks.

// DBSize is Engine.DBSize inside a transaction holding every shard.
func (tx *Tx) DBSize(db int) (int, error) {
	if err := tx.allReadable(db); err != nil {
		return 0, err
	}
	n := 0
	for i := range tx.e.shards {
		n += tx.e.shards[i].dbs[db].count
	}
	return n, nil
}

// Keys is Engine.Keys inside a transaction holding every shard.
func (tx *Tx) Keys(db int, f ScanFilter) ([][]byte, error) {
	if err := tx.allReadable(db); err != nil {
		return nil, err
	}
	var out [][]byte
	for i := range tx.e.shards {
		sd := &tx.e.shards[i].dbs[db]
		if sd.count == 0 {
			continue
		}
		for _, t := range sd.slots {
			t.each(func(ent *entry) bool {
				if f.accepts(ent, tx.now) {
					out = append(out, cloneBytes(ent.keyBytes()))
				}
				return true
			})
		}
	}
	return out, nil
}

// Scan is Engine.Scan inside a transaction holding every shard.
func (tx *Tx) Scan(db int, cursor uint64, count int, f ScanFilter) ([][]byte, uint64, error) {
	if err := tx.allReadable(db); err != nil {
		return nil, 0, err
	}
	if count < 1 {
		count = 10
	}
	if cursor >= NumSlots {
		return nil, 0, nil
	}
	var out [][]byte
	visited, empty := 0, 0
	slot := int(cursor)
	nShards := len(tx.e.shards)
	for slot < NumSlots && visited < count && empty < count*10 {
		sd := &tx.e.shards[slot&int(tx.e.shardMask)].dbs[db]
		t := sd.slots[slot/nShards]
		if sd.count == 0 || t.len() == 0 {
			empty++
		}
		if sd.count > 0 {
			t.each(func(ent *entry) bool {
				visited++
				if f.accepts(ent, tx.now) {
					out = append(out, cloneBytes(ent.keyBytes()))
				}
				return true
			})
		}
		slot++
	}
	if slot >= NumSlots {
		return out, 0, nil
	}
	if n, _ := tx.DBSize(db); visited == 0 && n == 0 {
		return out, 0, nil
	}
	return out, uint64(slot), nil
}

// RandomKey is Engine.RandomKey inside a transaction holding every shard.
func (tx *Tx) RandomKey(db int) ([]byte, error) {
	if n, err := tx.DBSize(db); err != nil || n == 0 {
		return nil, err
	}
	nShards := len(tx.e.shards)
	start := rand.IntN(NumSlots)
	for i := 0; i < NumSlots; i++ {
		slot := (start + i) % NumSlots
		t := tx.e.shards[slot&int(tx.e.shardMask)].dbs[db].slots[slot/nShards]
		if t.len() == 0 {
			continue
		}
		var found []byte
		skip := rand.IntN(t.len())
		t.each(func(ent *entry) bool {
			if ent.expireAt != 0 && ent.expireAt <= tx.now {
				return true
			}
			found = ent.keyBytes()
			if skip == 0 {
				return false
			}
			skip--
			return true
		})
		if found != nil {
			return cloneBytes(found), nil
		}
	}
	return nil, nil
}

func (tx *Tx) allReadable(db int) error {
	if err := tx.checkDB(db); err != nil {
		return err
	}
	if !tx.all {
		return ErrKeyNotLocked
	}
	return nil
}
