package engine

import "runtime"

// table is one scan slot's keys (or one shard-database's volatile keys): an
// open-addressing hash table of entry pointers with linear probing, a tag
// per position, and backward-shift deletion (no tombstones). An entry
// holds its own key, so a position costs 10 bytes; Go's map would cost a
// string header and a pointer per position, at a lower load.
//
// The tag is the top 16 bits of the key's mixed hash, and the key's home
// position is computed from the tag alone: resizing and backward-shift
// deletion then never read an entry or hash a key again (they did, and at
// a million new keys resize and its cache misses were 13 % of the
// server's time), and a lookup compares a key only once in 65536 probes
// of another key's position. Above 65536 positions several share a home,
// as in a table of buckets; no table comes near it below a billion keys,
// save the volatile table of a shard with tens of millions of expiring
// keys.
type table struct {
	ents []*entry
	tags []uint16 // 0: empty; else tagOf(mix32(hash))
	n    int
}

// Position hash: a bijective mix of the key's 32-bit FNV-1a hash, whose low
// bits already chose the slot (so they must not choose the position).
func mix32(h uint32) uint32 {
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

// tagOf is a key's tag: the top 16 bits of its mixed hash, never 0.
func tagOf(m uint32) uint16 { return max(uint16(m>>16), 1) }

// minTable is the smallest capacity. Capacities need not be powers of two
// (a key's home is its hash scaled to the capacity), so a table grows by
// half past a load of 7/8 and stays between 7/12 and 7/8 full: a power of
// two would leave it as little as 7/16 full.
const minTable = 4

func newTable(hint int) *table {
	c := max(hint*8/7+1, minTable)
	return &table{ents: make([]*entry, c), tags: make([]uint16, c)}
}

// home is the first position probed for a key whose tag is tag.
func (t *table) home(tag uint16) int { return int(uint64(tag) * uint64(len(t.ents)) >> 16) }

// next is the position after i, wrapping.
func (t *table) next(i int) int {
	if i++; i == len(t.ents) {
		return 0
	}
	return i
}

// grown is the capacity a table grows to.
func grown(c int) int { return c + c/2 + 1 }

func (t *table) len() int {
	if t == nil {
		return 0
	}
	return t.n
}

// find returns key's position, or -1. h is the key's hash (hashKey).
func (t *table) find(key []byte, h uint32) int {
	tag := tagOf(mix32(h))
	for i := t.home(tag); ; i = t.next(i) {
		switch t.tags[i] {
		case 0:
			return -1
		case tag:
			if e := t.ents[i]; string(e.keyBytes()) == string(key) {
				return i
			}
		}
	}
}

func (t *table) get(key []byte, h uint32) *entry {
	if t == nil {
		return nil
	}
	if i := t.find(key, h); i >= 0 {
		return t.ents[i]
	}
	return nil
}

// set stores ent under its key, replacing any entry with that key; it
// returns the replaced entry (nil if none).
func (t *table) set(ent *entry, h uint32) *entry {
	if (t.n+1)*8 > len(t.ents)*7 {
		t.resize(grown(len(t.ents)))
	}
	tag := tagOf(mix32(h))
	key := ent.keyBytes()
	for i := t.home(tag); ; i = t.next(i) {
		switch t.tags[i] {
		case 0:
			t.tags[i], t.ents[i] = tag, ent
			t.n++
			return nil
		case tag:
			if old := t.ents[i]; string(old.keyBytes()) == string(key) {
				t.ents[i] = ent
				return old
			}
		}
	}
}

// insertTagged adds an entry known to be absent, whose tag is tag (resize).
func (t *table) insertTagged(ent *entry, tag uint16) {
	i := t.home(tag)
	for t.tags[i] != 0 {
		i = t.next(i)
	}
	t.tags[i], t.ents[i] = tag, ent
	t.n++
}

// del removes key; it returns the removed entry (nil if absent).
func (t *table) del(key []byte, h uint32) *entry {
	if t == nil {
		return nil
	}
	i := t.find(key, h)
	if i < 0 {
		return nil
	}
	old := t.ents[i]
	t.deleteAt(i)
	if len(t.ents) > minTable && t.n*4 < len(t.ents) {
		t.resize(max(t.n*2, minTable))
	}
	return old
}

// deleteAt empties position i and shifts back the entries after it that
// probed past it, so that lookups never need tombstones.
func (t *table) deleteAt(i int) {
	t.n--
	for {
		t.tags[i], t.ents[i] = 0, nil
		j := i
		for {
			j = t.next(j)
			if t.tags[j] == 0 {
				return
			}
			home := t.home(t.tags[j])
			// Entry j may move to i when i lies cyclically in [home, j).
			if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
				t.tags[i], t.ents[i] = t.tags[j], t.ents[j]
				i = j
				break
			}
		}
	}
}

func (t *table) resize(c int) {
	old, oldTags := t.ents, t.tags
	t.ents = make([]*entry, c)
	t.tags = make([]uint16, c)
	t.n = 0
	for i, e := range old {
		if e != nil {
			t.insertTagged(e, oldTags[i])
		}
	}
}

// each calls fn for every entry until fn returns false.
func (t *table) each(fn func(ent *entry) bool) {
	if t == nil {
		return
	}
	for _, e := range t.ents {
		if e != nil && !fn(e) {
			return
		}
	}
}

// eachWarm is each for a walk over a whole table that reads every entry's
// key, as a snapshot does: before it calls fn for a run of entries, it
// reads each entry and the first byte of its key block, so that their
// cache misses overlap instead of coming one after another (a snapshot of
// a million strings spent two thirds of its time on them).
func (t *table) eachWarm(fn func(ent *entry) bool) {
	if t == nil {
		return
	}
	const run = 16
	var sink uintptr
	for start := 0; start < len(t.ents); start += run {
		ents := t.ents[start:min(start+run, len(t.ents))]
		for _, e := range ents {
			if e != nil {
				sink += uintptr(e.kv)
			}
		}
		for _, e := range ents {
			if e != nil && e.klen > 0 {
				sink += uintptr(*(*byte)(e.kv))
			}
		}
		for _, e := range ents {
			if e != nil && !fn(e) {
				runtime.KeepAlive(sink)
				return
			}
		}
	}
	runtime.KeepAlive(sink) // or the reads ahead are optimised away
}

// at returns the entry at position i (nil if empty), for random sampling.
func (t *table) at(i int) *entry { return t.ents[i%len(t.ents)] }

// touchHome reads what a lookup of a key with hash h reads first, the tag
// and entry pointer at its home position, and returns the entry there (nil
// if none) for Tx.prefetch to read on.
func (t *table) touchHome(h uint32) *entry {
	i := t.home(tagOf(mix32(h)))
	if t.tags[i] == 0 {
		return nil
	}
	return t.ents[i]
}

// capacity is the number of positions.
func (t *table) capacity() int { return len(t.ents) }
