package engine

import "unsafe"

// Memory accounting. The engine keeps a count of the bytes its keys hold
// (UsedMemory), which maxmemory is compared with and INFO memory reports.
// It is a model of the Go heap, not a measurement: each entry is charged
// what its allocations cost after size-class rounding, plus its share of
// the slot tables.
//
// Keeping the count exact without each write path doing its own sums: a
// write transaction notes every entry it looks up together with its size
// at that moment (tx.mem), and every entry it puts; when the transaction
// ends, each noted entry still present is charged the difference between
// its size then and now, and each one removed was uncharged its size as
// first noted. So in-place changes (APPEND, a hash's HSET, …) are counted
// wherever they are made, as long as the entry was reached through
// lookup or raw, which is how every write reaches an entry.
//
// The count is kept per shard-database (for FLUSHDB) and in one atomic
// total (for the check before each write), both changed only under the
// shard's write lock.

const (
	// entryBytes and collEntryBytes are the entry structs (a collEntry
	// adds the collection's interface value).
	entryBytes     = int64(unsafe.Sizeof(entry{}))
	collEntryBytes = int64(unsafe.Sizeof(collEntry{}))
	// slotOverhead is a key's share of its slot table: a pointer and a
	// 2-byte tag per position at a load between 7/12 and 7/8. volatileOverhead
	// is the same in the volatile table. tableOverhead is what a slot
	// table costs besides its keys' positions (charged while it exists).
	slotOverhead     = 14
	volatileOverhead = 14
	tableOverhead    = 80
)

// memSize is what the engine charges for ent.
func (ent *entry) memSize() int64 {
	n := int64(slotOverhead)
	if ent.expireAt != 0 {
		n += volatileOverhead
	}
	if ent.kind() == KindString {
		n += entryBytes
		if kv := int64(ent.klen) + int64(ent.vcap); kv > 0 {
			n += allocSize(kv)
		}
		return n
	}
	n += collEntryBytes + allocSize(int64(ent.klen))
	if c := ent.collection(); c != nil {
		n += int64(c.memUsage())
	}
	return n
}

// sizeClasses are the Go allocator's small-object size classes
// (runtime/sizeclasses.go); an allocation is rounded up to one of them.
var sizeClasses = [...]int64{8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256,
	288, 320, 352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280, 1408, 1536, 1792, 2048,
	2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528, 6784, 6912, 8192, 9472, 9728, 10240, 10880,
	12288, 13568, 14336, 16384, 18432, 19072, 20480, 21760, 24576, 27264, 28672, 32768}

// allocSize is the heap bytes an allocation of n bytes takes.
func allocSize(n int64) int64 {
	if n <= 0 {
		return 0
	}
	if n > 32768 {
		return (n + 8191) &^ 8191 // large objects: whole pages
	}
	return int64(smallAllocSize[(n+7)>>3])
}

// smallAllocSize[(n+7)/8] is the size class of n, 0 < n <= 32768: looked
// up rather than searched for, as every write runs allocSize several
// times (memSize before and after, a list's buffers, a string's block).
var smallAllocSize = func() (t [32768/8 + 1]uint16) {
	c := 0
	for i := 1; i < len(t); i++ {
		for sizeClasses[c] < int64(i*8) {
			c++
		}
		t[i] = uint16(sizeClasses[c])
	}
	return t
}()

// memRec is an entry a write transaction may change: its size when first
// seen (0 for one it put), and where it is charged.
type memRec struct {
	ent    *entry // nil once uncharged
	sd     *shardDB
	db     int
	before int64
}

// memIndexAt is the number of noted entries past which the transaction
// indexes them in a map (MSET of many keys). Up to it a linear scan costs
// less than building a map; at 8, every MSET of 10 keys (redis-benchmark's)
// built one and dropped it.
const memIndexAt = 32

// findMem returns the index of ent's live record, or -1.
func (tx *Tx) findMem(ent *entry) int {
	if tx.memIdx != nil {
		if i, ok := tx.memIdx[ent]; ok {
			return i
		}
		return -1
	}
	for i := range tx.mem {
		if tx.mem[i].ent == ent {
			return i
		}
	}
	return -1
}

// noteMem records that the transaction may change ent, unless it is
// already noted; fresh says the transaction just put it (its size before
// is 0).
func (tx *Tx) noteMem(db int, sd *shardDB, ent *entry, fresh bool) {
	if tx.findMem(ent) >= 0 {
		return
	}
	var before int64
	if !fresh {
		before = ent.memSize()
	}
	if tx.mem == nil {
		tx.mem = tx.memBuf[:0]
	}
	tx.mem = append(tx.mem, memRec{ent: ent, sd: sd, db: db, before: before})
	switch {
	case tx.memIdx != nil:
		tx.memIdx[ent] = len(tx.mem) - 1
	case len(tx.mem) > memIndexAt:
		tx.memIdx = tx.memIdxSpare
		tx.memIdxSpare = nil
		if tx.memIdx == nil {
			tx.memIdx = make(map[*entry]int, 2*len(tx.mem))
		}
		for i, r := range tx.mem {
			if r.ent != nil {
				tx.memIdx[r.ent] = i
			}
		}
	}
}

// uncharge removes the charge of ent, just taken out of sd.
func (tx *Tx) uncharge(sd *shardDB, ent *entry) {
	if i := tx.findMem(ent); i >= 0 {
		r := &tx.mem[i]
		r.sd.mem -= r.before
		tx.memDelta -= r.before
		r.ent = nil
		if tx.memIdx != nil {
			delete(tx.memIdx, ent)
		}
		return
	}
	n := ent.memSize()
	sd.mem -= n
	tx.memDelta -= n
}

// dropMem forgets the records of db's entries (FLUSHDB emptied it) and
// uncharges the shard-databases of db.
func (tx *Tx) dropMemDB(db int) {
	for i := range tx.mem {
		if r := &tx.mem[i]; r.ent != nil && r.db == db {
			if tx.memIdx != nil {
				delete(tx.memIdx, r.ent)
			}
			r.ent = nil
		}
	}
	for i := range tx.e.shards {
		sd := &tx.e.shards[i].dbs[db]
		tx.memDelta -= sd.mem
		sd.mem = 0
	}
}

// settleMem charges the changes of the entries the transaction noted.
// Called with its locks held.
func (tx *Tx) settleMem() {
	for i := range tx.mem {
		r := &tx.mem[i]
		if r.ent != nil {
			d := r.ent.memSize() - r.before
			r.sd.mem += d
			tx.memDelta += d
		}
		tx.mem[i] = memRec{}
	}
	if tx.memDelta != 0 {
		tx.e.mem.Add(tx.memDelta)
		tx.memDelta = 0
	}
	if cap(tx.mem) > 1024 {
		tx.mem = nil
	} else {
		tx.mem = tx.mem[:0]
	}
	if tx.memIdx != nil && len(tx.memIdx) <= 1024 {
		clear(tx.memIdx)
		tx.memIdxSpare = tx.memIdx // kept with the pooled Tx
	}
	tx.memIdx = nil
}

// dropShardDBMem uncharges sd, emptied outside a transaction (a failed
// load, a replayed flush). Called with its shard's lock held.
func (e *Engine) dropShardDBMem(sd *shardDB) {
	e.mem.Add(-sd.mem)
	sd.mem = 0
}

// UsedMemory is the bytes the engine's data holds by its model: the keys
// and values, their entries and slot tables, and the fixed tables of the
// keyspace.
func (e *Engine) UsedMemory() int64 { return e.mem.Load() + e.memBase }

// DatasetMemory is UsedMemory without the fixed tables.
func (e *Engine) DatasetMemory() int64 { return e.mem.Load() }

// fixedMemory is what the empty keyspace's tables cost.
func (e *Engine) fixedMemory() int64 {
	slotsPerShard := int64(NumSlots / len(e.shards))
	perDB := int64(unsafe.Sizeof(shardDB{})) + allocSize(slotsPerShard*8)
	return int64(len(e.shards)) * (int64(unsafe.Sizeof(shard{})) + int64(e.dbs)*perDB)
}

// MemoryUsage returns the bytes key is charged (MEMORY USAGE); found is
// false for a missing key.
func (tx *Tx) MemoryUsage(db int, key []byte) (int64, bool, error) {
	if err := tx.readable(db, key); err != nil {
		return 0, false, err
	}
	ent := tx.peek(db, key)
	if ent == nil {
		return 0, false, nil
	}
	return ent.memSize(), true, nil
}
