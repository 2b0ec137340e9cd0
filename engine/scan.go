package engine

import (
	"math/rand/v2"

	"github.com/cairn-db/cairn/internal/glob"
)

// DBSize returns the number of keys in db, counting keys that have expired
// but not yet been reclaimed (as Redis's DBSIZE does).
func (e *Engine) DBSize(db int) int { return e.dbSize(db, false) }

// dbSize is DBSize; held: the caller holds every shard (a Tx over all).
func (e *Engine) dbSize(db int, held bool) int {
	n := 0
	for i := range e.shards {
		sh := &e.shards[i]
		sh.rlock(held)
		n += sh.dbs[db].count
		sh.runlock(held)
	}
	return n
}

// rlock read-locks the shard unless the caller already holds it.
func (sh *shard) rlock(held bool) {
	if !held {
		sh.mu.RLock()
	}
}

func (sh *shard) runlock(held bool) {
	if !held {
		sh.mu.RUnlock()
	}
}

// KeyspaceInfo is one database's line of INFO keyspace.
type KeyspaceInfo struct {
	Keys, Expires int
}

// Keyspace returns the key and volatile-key counts of every database.
func (e *Engine) Keyspace() []KeyspaceInfo { return e.keyspace(false) }

func (e *Engine) keyspace(held bool) []KeyspaceInfo {
	out := make([]KeyspaceInfo, e.dbs)
	for i := range e.shards {
		sh := &e.shards[i]
		sh.rlock(held)
		for d := range sh.dbs {
			out[d].Keys += sh.dbs[d].count
			out[d].Expires += sh.dbs[d].volatile.len()
		}
		sh.runlock(held)
	}
	return out
}

// ScanFilter selects keys for Keys and Scan.
type ScanFilter struct {
	Pattern []byte // glob; nil or "*" matches all (an empty pattern matches none)
	Kind    Kind   // 0: any type
}

func (f *ScanFilter) matchAll() bool {
	return f.Pattern == nil || (len(f.Pattern) == 1 && f.Pattern[0] == '*')
}

func (f *ScanFilter) accepts(ent *entry, now int64) bool {
	if ent.expireAt != 0 && ent.expireAt <= now {
		return false
	}
	if f.Kind != 0 && ent.kind() != f.Kind {
		return false
	}
	return f.matchAll() || glob.Match(f.Pattern, ent.keyBytes())
}

// Keys returns every live key of db matching f. Each shard is read under its
// own lock, one at a time, so a long KEYS does not stop the world.
func (e *Engine) Keys(db int, f ScanFilter) [][]byte { return e.keys(db, f, e.nowMs(), false) }

func (e *Engine) keys(db int, f ScanFilter, now int64, held bool) [][]byte {
	var out [][]byte
	for i := range e.shards {
		sh := &e.shards[i]
		sh.rlock(held)
		sd := &sh.dbs[db]
		if sd.count > 0 {
			for _, t := range sd.slots {
				t.each(func(ent *entry) bool {
					if f.accepts(ent, now) {
						out = append(out, cloneBytes(ent.keyBytes()))
					}
					return true
				})
			}
		}
		sh.runlock(held)
	}
	return out
}

// Scan returns keys of db from the slot cursor on, visiting whole slots
// until it has at least count keys or has looked at 10*count empty slots,
// and the cursor to continue from (0 when done). A key present for the
// whole scan is returned at least once: its slot is visited exactly once.
func (e *Engine) Scan(db int, cursor uint64, count int, f ScanFilter) ([][]byte, uint64) {
	return e.scan(db, cursor, count, f, e.nowMs(), false)
}

func (e *Engine) scan(db int, cursor uint64, count int, f ScanFilter, now int64, held bool) ([][]byte, uint64) {
	if count < 1 {
		count = 10
	}
	if cursor >= NumSlots {
		return nil, 0
	}
	var out [][]byte
	visited, empty := 0, 0
	slot := int(cursor)
	nShards := len(e.shards)
	for slot < NumSlots && visited < count && empty < count*10 {
		sh := &e.shards[slot&int(e.shardMask)]
		sh.rlock(held)
		sd := &sh.dbs[db]
		if sd.count == 0 {
			sh.runlock(held)
			// Nothing in this shard: skip ahead past all its slots is not
			// possible (they interleave), so count it as an empty slot.
			empty++
			slot++
			continue
		}
		t := sd.slots[slot/nShards]
		if t.len() == 0 {
			empty++
		}
		t.each(func(ent *entry) bool {
			visited++
			if f.accepts(ent, now) {
				out = append(out, cloneBytes(ent.keyBytes()))
			}
			return true
		})
		sh.runlock(held)
		slot++
	}
	if slot >= NumSlots {
		return out, 0
	}
	if visited == 0 && e.dbSize(db, held) == 0 {
		return out, 0
	}
	return out, uint64(slot)
}

// RandomKey returns a random live key of db, or nil when it has none.
func (e *Engine) RandomKey(db int) []byte { return e.randomKey(db, e.nowMs(), false) }

func (e *Engine) randomKey(db int, now int64, held bool) []byte {
	if e.dbSize(db, held) == 0 {
		return nil
	}
	nShards := len(e.shards)
	start := rand.IntN(NumSlots)
	for tries := 0; tries < 2; tries++ {
		for i := 0; i < NumSlots; i++ {
			slot := (start + i) % NumSlots
			sh := &e.shards[slot&int(e.shardMask)]
			sh.rlock(held)
			t := sh.dbs[db].slots[slot/nShards]
			var found []byte
			if t.len() > 0 {
				skip := rand.IntN(t.len())
				t.each(func(ent *entry) bool {
					if ent.expireAt != 0 && ent.expireAt <= now {
						return true
					}
					found = ent.keyBytes()
					if skip == 0 {
						return false
					}
					skip--
					return true
				})
				found = cloneBytes(found)
			}
			sh.runlock(held)
			if found != nil {
				return found
			}
		}
	}
	return nil
}
