package engine

import (
	"sync/atomic"
	"unsafe"
)

// Kind is the type of a value, as TYPE names it.
type Kind uint8

// Value kinds. Zero is never a valid kind.
const (
	KindString Kind = iota + 1
	KindList
	KindSet
	KindZSet
	KindHash
)

// String returns the name TYPE replies with.
func (k Kind) String() string {
	switch k {
	case KindString:
		return "string"
	case KindList:
		return "list"
	case KindSet:
		return "set"
	case KindZSet:
		return "zset"
	case KindHash:
		return "hash"
	}
	return "none"
}

// kind returns the entry's type.
func (ent *entry) kind() Kind { return Kind(atomic.LoadUint32(ent.accessWord())) }

// Tx is a transaction: the locked shards and the effects recorded so far.
// A Tx is valid only inside the function given to Update or View.
type Tx struct {
	e     *Engine
	write bool
	all   bool
	// now is the transaction's clock in Unix ms: one instant for the whole
	// transaction, so that every command in it sees the same expiries. It
	// is read at the first need (nowMs), 0 until then: most commands touch
	// no key with a TTL and set none, and reading the system clock for
	// each was 3 % of the server's time at LPUSH -P 16.
	now       int64
	locked    []uint16 // shards locked, ascending; unused when all
	lockedBuf [8]uint16
	effects   []Effect
	expired   []expiredKey // keys a read-only tx found expired
	// replaying: the tx applies the log's effects; nothing is logged again.
	replaying bool
	// rec: the tx records effects (decided once, under its locks, so that
	// a transaction records all of its effects or none).
	rec bool
	// enc is the reusable buffer effects are encoded into for the log.
	enc []byte
	// mem are the entries a write may change, for memory accounting (see
	// memory.go); memIdx indexes them when there are many; memDelta is
	// the change in bytes not yet added to the engine's total.
	mem      []memRec
	memBuf   [4]memRec
	memIdx   map[*entry]int
	memDelta int64
	// memIdxSpare is an emptied memIdx kept for the next transaction.
	memIdxSpare map[*entry]int
	// hashed are the hashes of the first keys begin locked, which their
	// command hashes again to check the lock, look the key up and store
	// it (INCR of a new key hashed it four times).
	hashed    []hashedKey
	hashedBuf [16]hashedKey
	// sink keeps prefetch's loads from being optimised away.
	sink uintptr
}

// hashedKey is a key and its hash (hashKey).
type hashedKey struct {
	key []byte
	h   uint32
}

// prefetch reads, for every key, the memory its lookup will start with:
// its slot's table, the tag and entry pointer at its home position, the
// entry and its key. Level by level over all the keys, so that the cache
// misses of the keys overlap: the lookups of MSET's ten keys over a
// million others each missed the cache five times in a row, one key after
// another, and spent a third of the server's time waiting for memory.
// keys are every step-th of keys, from the first.
func (tx *Tx) prefetch(db int, keys [][]byte, step int) {
	const batch = 16
	var tabs [batch]*table
	var ents [batch]*entry
	var hs [batch]uint32
	var sink uintptr
	for start := 0; start < len(keys); start += batch * step {
		n := 0
		for i := start; i < len(keys) && n < batch; i += step {
			sd, slot, h := tx.slotOf(db, keys[i])
			tabs[n], hs[n] = sd.slots[slot], h
			n++
		}
		for i := range n {
			if t := tabs[i]; t != nil {
				ents[i] = t.touchHome(hs[i])
			} else {
				ents[i] = nil
			}
		}
		for i := range n {
			if e := ents[i]; e != nil {
				sink += uintptr(e.kv)
			}
		}
		for i := range n {
			if e := ents[i]; e != nil && e.klen > 0 {
				sink += uintptr(*(*byte)(e.kv))
			}
		}
	}
	tx.sink = sink
}

// hash returns hashKey(key), from tx.hashed when begin hashed it: the same
// slice, or, for a transaction of one or two keys, the same bytes (a
// stored entry's copy of the key). Comparing the bytes of more keys, all
// of one length as a benchmark's are, cost more than hashing again.
func (tx *Tx) hash(key []byte) uint32 {
	for i := range tx.hashed {
		if k := tx.hashed[i].key; len(k) == len(key) && unsafe.SliceData(k) == unsafe.SliceData(key) {
			return tx.hashed[i].h
		}
	}
	if len(tx.hashed) <= 2 {
		for i := range tx.hashed {
			if string(tx.hashed[i].key) == string(key) {
				return tx.hashed[i].h
			}
		}
	}
	return hashKey(key)
}

func (tx *Tx) reset() {
	for i := range tx.effects {
		tx.effects[i] = Effect{}
	}
	if cap(tx.effects) > 1024 {
		tx.effects = nil
	} else {
		tx.effects = tx.effects[:0]
	}
	tx.expired = nil
	tx.replaying = false
	clear(tx.hashed) // not to keep the request's buffer alive in the pool
	tx.hashed = nil
	if cap(tx.enc) > 64<<10 {
		tx.enc = nil
	}
}

// Now returns the transaction's clock in Unix milliseconds.
func (tx *Tx) Now() int64 { return tx.nowMs() }

// nowMs is the transaction's clock, read from the engine's at the first call.
func (tx *Tx) nowMs() int64 {
	if tx.now == 0 {
		tx.now = tx.e.nowMs()
	}
	return tx.now
}

// Effects returns the effects recorded so far (valid until the tx ends).
func (tx *Tx) Effects() []Effect { return tx.effects }

func (tx *Tx) checkDB(db int) error {
	if db < 0 || db >= tx.e.dbs {
		return ErrDBIndex
	}
	return nil
}

// slotOf returns the shard-database of key, the index of its slot there,
// and the key's hash.
func (tx *Tx) slotOf(db int, key []byte) (*shardDB, int, uint32) {
	h := tx.hash(key)
	sh := &tx.e.shards[h&tx.e.shardMask]
	return &sh.dbs[db], int(h%NumSlots) / len(tx.e.shards), h
}

func (tx *Tx) isLocked(key []byte) bool {
	if tx.all {
		return true
	}
	return containsShard(tx.locked, uint16(tx.hash(key)&tx.e.shardMask))
}

// lookup returns key's live entry, or nil, and records the access (the
// key's LRU clock or LFU counter). An expired entry is removed when the tx
// may write, and remembered for lazy deletion otherwise.
func (tx *Tx) lookup(db int, key []byte) *entry {
	ent := tx.peek(db, key)
	if ent != nil {
		tx.e.touch(ent)
	}
	return ent
}

// lookupKeepValue is lookup for a write that removes the entry, moves it,
// copies it, replaces it or changes its expiry but leaves its value as it
// is (DEL, EXPIRE, PERSIST, RENAME, COPY, SET): a
// collection that a snapshot froze is not copied (see thaw), because the
// snapshot holds the collection and the expiry as they were at its stamp.
// A DEL of a list of millions copied it first, under its shard's lock.
func (tx *Tx) lookupKeepValue(db int, key []byte) *entry {
	ent := tx.peekEntry(db, key, false)
	if ent != nil {
		tx.e.touch(ent)
	}
	return ent
}

// peek is lookup without recording the access (TYPE, TTL, EXISTS, OBJECT).
// A read-only tx counts a hit or a miss (INFO keyspace_hits/misses).
func (tx *Tx) peek(db int, key []byte) *entry { return tx.peekEntry(db, key, true) }

// peekEntry is peek; a write tx thaws the entry's collection if thaw.
func (tx *Tx) peekEntry(db int, key []byte, thaw bool) *entry {
	sd, slot, h := tx.slotOf(db, key)
	ent := sd.slots[slot].get(key, h)
	if ent != nil && ent.expireAt != 0 && ent.expireAt <= tx.nowMs() {
		if tx.write {
			tx.removeExpired(db, key)
		} else {
			tx.expired = append(tx.expired, expiredKey{db: db, key: string(key)})
		}
		ent = nil
	}
	switch {
	case tx.write:
		if ent != nil {
			tx.noteMem(db, sd, ent, false)
			if thaw {
				tx.thaw(ent)
			}
		}
	case ent != nil:
		tx.e.shards[h&tx.e.shardMask].hits.Add(1)
	default:
		tx.e.shards[h&tx.e.shardMask].misses.Add(1)
	}
	return ent
}

// removeExpired deletes an expired key and logs it as a delete.
func (tx *Tx) removeExpired(db int, key []byte) {
	if tx.remove(db, key) {
		tx.e.stats.ExpiredKeys.Add(1)
		tx.record(Effect{Op: OpDel, DB: db, Key: key})
	}
}

// put stores ent under its key, replacing any entry, and keeps the
// volatile index in step.
func (tx *Tx) put(db int, ent *entry) {
	sd, slot, h := tx.slotOf(db, ent.keyBytes())
	if ent.access() == 0 {
		tx.e.initAccess(ent)
	}
	if sd.slots[slot] == nil {
		sd.mem += tableOverhead
		tx.memDelta += tableOverhead
	}
	if old := sd.put(slot, ent, h); old != nil {
		tx.uncharge(sd, old)
	}
	tx.noteMem(db, sd, ent, true)
}

// put stores ent in slot (h is its key's hash), replacing any entry, which
// it returns.
func (sd *shardDB) put(slot int, ent *entry, h uint32) *entry {
	t := sd.slots[slot]
	if t == nil {
		t = newTable(0)
		sd.slots[slot] = t
	}
	old := t.set(ent, h)
	if old == nil {
		sd.count++
	} else if old.expireAt != 0 {
		sd.volatile.del(old.keyBytes(), h)
	}
	if ent.expireAt != 0 {
		if sd.volatile == nil {
			sd.volatile = newTable(0)
		}
		sd.volatile.set(ent, h)
	}
	return old
}

// setExpire changes an existing entry's expiry, keeping the volatile index
// in step.
func (tx *Tx) setExpire(db int, key []byte, ent *entry, at int64) {
	if (ent.expireAt == 0) != (at == 0) {
		sd, _, h := tx.slotOf(db, key)
		if at == 0 {
			sd.volatile.del(key, h)
		} else {
			if sd.volatile == nil {
				sd.volatile = newTable(0)
			}
			sd.volatile.set(ent, h)
		}
	}
	ent.expireAt = at
}

// remove deletes key, live or expired; reports whether it was there.
func (tx *Tx) remove(db int, key []byte) bool {
	sd, slot, h := tx.slotOf(db, key)
	old := sd.remove(slot, key, h)
	if old == nil {
		return false
	}
	tx.uncharge(sd, old)
	if sd.slots[slot] == nil {
		sd.mem -= tableOverhead
		tx.memDelta -= tableOverhead
	}
	return true
}

// remove deletes key from slot and returns its entry (nil if absent).
func (sd *shardDB) remove(slot int, key []byte, h uint32) *entry {
	t := sd.slots[slot]
	ent := t.del(key, h)
	if ent == nil {
		return nil
	}
	if ent.expireAt != 0 {
		sd.volatile.del(key, h)
	}
	sd.count--
	if t.len() == 0 {
		sd.slots[slot] = nil
	}
	return ent
}

// record appends an effect when a Committer, the log or a commit observer
// will read it.
func (tx *Tx) record(ef Effect) {
	if tx.rec {
		tx.effects = append(tx.effects, ef)
	}
}

func (tx *Tx) recording() bool { return tx.rec }

// writable checks that the tx may write db/key.
func (tx *Tx) writable(db int, key []byte) error {
	if !tx.write {
		return ErrReadOnlyTx
	}
	if err := tx.checkDB(db); err != nil {
		return err
	}
	if !tx.isLocked(key) {
		return ErrKeyNotLocked
	}
	return nil
}

// readable checks that the tx may read db/key.
func (tx *Tx) readable(db int, key []byte) error {
	if err := tx.checkDB(db); err != nil {
		return err
	}
	if !tx.isLocked(key) {
		return ErrKeyNotLocked
	}
	return nil
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	c := make([]byte, len(b))
	copy(c, b)
	return c
}
