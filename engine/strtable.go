package engine

import (
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"math/rand/v2"
	"runtime"
)

// strTable is the "hashtable" encoding of big hashes and sets: an
// open-addressing table (linear probing, backward-shift deletion, no
// tombstones) whose slots point into an arena of byte chunks where the
// entries live, each encoded as
//
//	uvarint(len(key)) key [uvarint(len(val)) val]   (val only when hasVal)
//
// Nothing in it is a Go pointer per element: a million members cost two
// allocations' worth of GC work, not a million, and about 12 bytes of slot
// plus the entry's own bytes (a Go map[string][]byte costs ~100 bytes per
// element). Measured figures are in the package's benchmarks.
//
// Arena bytes are never overwritten once written (an update appends a new
// entry and counts the old one dead), so an Effect may alias an entry for
// the rest of its transaction. Dead bytes are reclaimed by clean, a pass
// over the oldest chunks, a few entries per write, that copies their live
// entries to the end of the arena and then drops them (left to the
// collector, untouched).
//
// Scanning: a SCAN cursor is a home-bucket index in Redis's reverse-binary
// order (dictScan): visiting home bucket b returns every entry whose hash
// maps to b, found by walking the probe run from b to the next empty slot.
// Entries never move to another home bucket while the table keeps its
// size, and a resize doubles or halves it, so an entry present for the
// whole scan is returned at least once, as with Redis.
//
// Growing is incremental, as Redis rehashes: the old slots stay beside the
// new ones while each write moves a few of them over (see grow): a
// rehash at once, from a million slots to two, held its shard for 17 ms
// (from two million, 41 ms), half of it faulting in the new array's pages.
type strTable struct {
	// slots has a power-of-two length; a slot with h == 0 is empty.
	slots []tslot
	// old is, while the table grows, the slots it grows from, half as
	// many; nil otherwise. old[:moved] were moved into slots, and so
	// were the entries of the later ones whose off is movedOff (moved
	// early, when a write touched them). The rest are still only there.
	// Nothing in old is ever shifted, so its probe runs stay whole.
	old   []tslot
	moved int
	// count is the number of entries.
	count int
	// chunks hold the entries: chunks[i] is chunk number base+i, the
	// number a slot holds (uint32 arithmetic, so it may wrap). An entry
	// larger than bigEntry gets a chunk of its own, freed (set nil) when
	// the entry goes. Chunks only ever go from the front (see clean).
	chunks [][]byte
	base   uint32
	// dead is the number of arena bytes held by removed or replaced
	// entries in shared chunks.
	dead int
	// live is the number of arena bytes of live entries in shared chunks.
	live int
	// cur is 1 + the index in chunks of the shared chunk entries are
	// appended to; 0 before the first.
	cur int
	// hasVal: entries carry a value (hashes), or only a key (sets).
	hasVal bool
	// chunkBytes is the sum over chunks of cap+24 (the slice header), kept
	// as chunks change so that memBytes, run on every write of the
	// collection for maxmemory's accounting, is O(1).
	chunkBytes int
	// Compaction (see clean): the entry at cleanOff in chunk number
	// cleanAt, the oldest chunk or the one after it, is the next to look
	// at; cleaning is set while a pass is on.
	cleaning  bool
	cleanAt   uint32
	cleanOff  int
	cleanOwed int // work maybeClean has saved up
	// nils counts the chunks set to nil and not yet cut from the front.
	nils int
}

// tslot is one slot: the entry's 32-bit hash (forced nonzero) and where it
// is in the arena.
type tslot struct {
	h     uint32
	chunk uint32
	off   uint32
}

const (
	tableMinSlots = 8
	chunkMax      = 64 << 10 // a shared chunk grows up to this
	bigEntry      = 16 << 10 // larger entries get a chunk of their own
	compactMin    = 64 << 10 // dead bytes below this are never worth a compaction
)

// Growing (see grow).
const (
	// growMin is the fewest slots a table grows from incrementally; a
	// smaller one is rehashed at once (a few microseconds).
	growMin = 1 << 10
	// growStep is how many old slots each write moves over. The new slots
	// are twice as many: moving all of them takes len(old)/growStep
	// writes, too few for the table to fill the new ones past 3/4.
	growStep = 16
	// movedOff marks an old slot whose entry was moved early (no entry
	// starts there: chunks are far smaller).
	movedOff = ^uint32(0)
)

var tableSeed = maphash.MakeSeed()

func hashBytes(b []byte) uint32 {
	h := maphash.Bytes(tableSeed, b)
	x := uint32(h) ^ uint32(h>>32)
	if x == 0 {
		x = 1
	}
	return x
}

func newStrTable(hasVal bool, sizeHint int) *strTable {
	n := tableMinSlots
	for n*3/4 < sizeHint {
		n <<= 1
	}
	return &strTable{slots: make([]tslot, n), hasVal: hasVal}
}

func (t *strTable) mask() uint32 { return uint32(len(t.slots) - 1) }

// chunk returns chunk number n.
func (t *strTable) chunk(n uint32) []byte { return t.chunks[n-t.base] }

// entryAt decodes the entry at s: its key and (hasVal) its value, and its
// encoded size.
func (t *strTable) entryAt(s tslot) (key, val []byte, size int) {
	return decodeEntry(t.chunk(s.chunk)[s.off:], t.hasVal)
}

// decodeEntry decodes the entry at the start of b.
func decodeEntry(b []byte, hasVal bool) (key, val []byte, size int) {
	kl, n := binary.Uvarint(b)
	key = b[n : n+int(kl) : n+int(kl)]
	size = n + int(kl)
	if hasVal {
		vl, m := binary.Uvarint(b[size:])
		val = b[size+m : size+m+int(vl) : size+m+int(vl)]
		size += m + int(vl)
	}
	return key, val, size
}

func (t *strTable) keyAt(s tslot) []byte {
	b := t.chunk(s.chunk)[s.off:]
	kl, n := binary.Uvarint(b)
	return b[n : n+int(kl) : n+int(kl)]
}

// find returns the index in slots of the slot holding key, or -1. An
// entry still only in old is moved over first, so find is for writers;
// readers use lookup.
func (t *strTable) find(key []byte, h uint32) int {
	if i := t.findIn(t.slots, 0, key, h); i >= 0 || t.old == nil {
		return i
	}
	if j := t.findIn(t.old, t.moved, key, h); j >= 0 {
		return t.moveEarly(j)
	}
	return -1
}

// lookup returns the slot holding key, without changing the table.
func (t *strTable) lookup(key []byte, h uint32) (tslot, bool) {
	if i := t.findIn(t.slots, 0, key, h); i >= 0 {
		return t.slots[i], true
	}
	if t.old != nil {
		if j := t.findIn(t.old, t.moved, key, h); j >= 0 {
			return t.old[j], true
		}
	}
	return tslot{}, false
}

// findIn returns the index in slots of the slot holding key, or -1,
// passing over the slots before from and those moved early (old's).
func (t *strTable) findIn(slots []tslot, from int, key []byte, h uint32) int {
	m := uint32(len(slots) - 1)
	for i := h & m; ; i = (i + 1) & m {
		s := slots[i]
		if s.h == 0 {
			return -1
		}
		if s.h == h && int(i) >= from && s.off != movedOff && string(t.keyAt(s)) == string(key) {
			return int(i)
		}
	}
}

// moveEarly moves the entry of old slot j into slots, ahead of the sweep,
// and returns its index there.
func (t *strTable) moveEarly(j int) int {
	s := t.old[j]
	t.old[j].off = movedOff
	return t.insertSlot(s)
}

// prefetch reads what finding the first 16 of keys will read: the slots
// at their homes, then the entry of the first slot there with the key's
// hash. Level by level over all the keys, so that their cache misses
// overlap (see Engine.PrefetchFields). A nil table (a listpack or an
// intset, which fit in the cache) reads nothing.
func (t *strTable) prefetch(keys [][]byte) {
	if t == nil {
		return
	}
	const most = 16
	var hs [most]uint32
	n := min(len(keys), most)
	m := t.mask()
	var sink uint32
	for i := range n {
		hs[i] = hashBytes(keys[i])
		sink += t.slots[hs[i]&m].h
	}
	if t.old != nil {
		om := uint32(len(t.old) - 1)
		for _, h := range hs[:n] {
			sink += t.old[h&om].h
		}
	}
	var sinkB byte
	for _, h := range hs[:n] {
		// The home's cache line holds the next few slots too.
		for i, j := h&m, 0; j < 4; i, j = (i+1)&m, j+1 {
			s := t.slots[i]
			if s.h == 0 {
				break
			}
			if s.h == h {
				sinkB += t.chunk(s.chunk)[s.off]
				break
			}
		}
	}
	runtime.KeepAlive(sink)
	runtime.KeepAlive(sinkB)
}

// get returns key's value (hashes) and whether it is present.
func (t *strTable) get(key []byte) ([]byte, bool) {
	s, ok := t.lookup(key, hashBytes(key))
	if !ok {
		return nil, false
	}
	_, v, _ := t.entryAt(s)
	return v, true
}

func (t *strTable) has(key []byte) bool {
	_, ok := t.lookup(key, hashBytes(key))
	return ok
}

func uvarintLen(x uint64) int { return (bits.Len64(x|1) + 6) / 7 }

// entrySize is the bytes key's entry (with val for hashes) takes.
func (t *strTable) entrySize(key, val []byte) int {
	size := uvarintLen(uint64(len(key))) + len(key)
	if t.hasVal {
		size += uvarintLen(uint64(len(val))) + len(val)
	}
	return size
}

// write appends an entry to the arena and returns where it is.
func (t *strTable) write(key, val []byte) (chunk, off uint32) {
	size := t.entrySize(key, val)
	if size > bigEntry {
		c := make([]byte, 0, size)
		c = appendEntry(c, key, val, t.hasVal)
		t.chunks = append(t.chunks, c)
		t.chunkBytes += cap(c) + 24
		return t.base + uint32(len(t.chunks)-1), 0
	}
	t.live += size
	if t.cur == 0 || len(t.chunks[t.cur-1])+size > chunkMax {
		// A new shared chunk. The first starts small, so that a small
		// table stays small, and grows; later ones start full size.
		want := chunkMax
		if t.cur == 0 {
			want = max(64, 2*size)
		}
		t.chunks = append(t.chunks, make([]byte, 0, want))
		t.chunkBytes += want + 24
		t.cur = len(t.chunks)
	}
	c := t.chunks[t.cur-1]
	if len(c)+size > cap(c) {
		// Grow by copying: the old array stays as it was, for any effect
		// that still points into it.
		nc := make([]byte, len(c), min(chunkMax, max(2*cap(c), len(c)+size)))
		copy(nc, c)
		t.chunkBytes += cap(nc) - cap(c)
		c = nc
	}
	off = uint32(len(c))
	t.chunks[t.cur-1] = appendEntry(c, key, val, t.hasVal)
	return t.base + uint32(t.cur-1), off
}

func appendEntry(c, key, val []byte, hasVal bool) []byte {
	c = binary.AppendUvarint(c, uint64(len(key)))
	c = append(c, key...)
	if hasVal {
		c = binary.AppendUvarint(c, uint64(len(val)))
		c = append(c, val...)
	}
	return c
}

// release marks the entry at s dead and returns its size.
func (t *strTable) release(s tslot) int {
	_, _, size := t.entryAt(s)
	if size > bigEntry {
		t.chunkBytes -= cap(t.chunk(s.chunk)) + 24
		t.chunks[s.chunk-t.base] = nil // its own chunk
		t.nils++
		t.trim()
		return size
	}
	t.dead += size
	t.live -= size
	return size
}

// set stores key (with val for hashes) and reports whether it was new.
func (t *strTable) set(key, val []byte) bool {
	if t.old != nil {
		t.moveSome(growStep)
	}
	h := hashBytes(key)
	if i := t.find(key, h); i >= 0 {
		if !t.hasVal {
			return false
		}
		old := t.slots[i]
		c, off := t.write(key, val)
		t.release(old)
		t.slots[i] = tslot{h: h, chunk: c, off: off}
		t.maybeClean(t.entrySize(key, val))
		return false
	}
	if (t.count+1)*4 > len(t.slots)*3 {
		t.grow()
	}
	c, off := t.write(key, val)
	t.insertSlot(tslot{h: h, chunk: c, off: off})
	t.count++
	if t.cleaning {
		t.maybeClean(t.entrySize(key, val))
	}
	return true
}

// add inserts a key known to be absent (builders, copies).
func (t *strTable) add(key, val []byte) {
	if t.old != nil {
		t.moveSome(growStep)
	}
	if (t.count+1)*4 > len(t.slots)*3 {
		t.grow()
	}
	c, off := t.write(key, val)
	t.insertSlot(tslot{h: hashBytes(key), chunk: c, off: off})
	t.count++
}

// insertSlot puts s in the first empty slot from its home and returns
// its index.
func (t *strTable) insertSlot(s tslot) int {
	m := t.mask()
	i := s.h & m
	for t.slots[i].h != 0 {
		i = (i + 1) & m
	}
	t.slots[i] = s
	return int(i)
}

// remove deletes key; reports whether it was there.
func (t *strTable) remove(key []byte) bool {
	if t.old != nil {
		t.moveSome(growStep)
	}
	i := t.find(key, hashBytes(key))
	if i < 0 {
		return false
	}
	t.removeAt(i)
	return true
}

// removeAt deletes the entry in slot i, shifting later entries of its
// probe run back so that no tombstone is needed.
func (t *strTable) removeAt(i int) {
	size := t.release(t.slots[i])
	m := t.mask()
	hole := uint32(i)
	for j := (hole + 1) & m; ; j = (j + 1) & m {
		s := t.slots[j]
		if s.h == 0 {
			break
		}
		home := s.h & m
		// s may move into the hole if its home is not in (hole, j].
		if (j-home)&m >= (j-hole)&m {
			t.slots[hole] = s
			hole = j
		}
	}
	t.slots[hole] = tslot{}
	t.count--
	if t.count*8 < len(t.slots) && len(t.slots) > tableMinSlots {
		// Shrinking is rare enough to be done at once.
		t.moveSome(len(t.old))
		n := len(t.slots) / 2
		for n > tableMinSlots && t.count*8 < n {
			n /= 2
		}
		t.resize(n)
	}
	t.maybeClean(size)
}

// resize rehashes the table into n slots at once. No growth may be in
// progress.
func (t *strTable) resize(n int) {
	old := t.slots
	t.slots = make([]tslot, n)
	for _, s := range old {
		if s.h != 0 {
			t.insertSlot(s)
		}
	}
}

// grow doubles the slots: at once for a small table, otherwise by starting
// to move the old slots over a few at each write (see moveSome).
func (t *strTable) grow() {
	t.moveSome(len(t.old)) // a growth still in progress ends first
	if len(t.slots) < growMin {
		t.resize(2 * len(t.slots))
		return
	}
	t.old, t.moved = t.slots, 0
	t.slots = make([]tslot, 2*len(t.old))
}

// moveSome moves up to n more old slots' entries into slots, in order;
// once all are, old goes.
func (t *strTable) moveSome(n int) {
	if t.old == nil {
		return
	}
	end := min(t.moved+n, len(t.old))
	for _, s := range t.old[t.moved:end] {
		if s.h != 0 && s.off != movedOff {
			t.insertSlot(s)
		}
	}
	t.moved = end
	if end == len(t.old) {
		t.old, t.moved = nil, 0
	}
}

// hashAhead puts in hs the hashes of the entries of chunk c from off on,
// as many as fit, reads their home slots, and returns how many it did.
func (t *strTable) hashAhead(c []byte, off int, hs []uint32) int {
	n, m := 0, t.mask()
	var sink uint32
	for n < len(hs) && off < len(c) {
		k, _, size := decodeEntry(c[off:], t.hasVal)
		hs[n] = hashBytes(k)
		sink += t.slots[hs[n]&m].h
		off += size
		n++
	}
	runtime.KeepAlive(sink)
	return n
}

// cleanWork is how many bytes of old entries clean may look at for each
// byte a write adds or removes: more than a pass needs to keep up with the
// writes (it looks at about 1.5 bytes for each dead one it frees, the
// oldest chunks being the deadest), so that a pass ends soon.
const cleanWork = 4

// maybeClean starts a compaction pass when at least half of the arena is
// dead (and at least compactMin), or most of the chunk list is freed big
// entries' places, and goes on with the pass in progress for cleanWork
// times work bytes.
func (t *strTable) maybeClean(work int) {
	if !t.cleaning {
		if !t.cleanDue(1) {
			return
		}
		t.cleaning = true
	}
	// Done a few kilobytes at a time, so that the slots of a run of
	// entries are read ahead together (see hashAhead): a write's own
	// share is three or four entries.
	if t.cleanOwed += cleanWork * work; t.cleanOwed >= cleanBatch {
		t.clean(t.cleanOwed)
		t.cleanOwed = 0
	}
}

// cleanBatch is how much work maybeClean saves up before it cleans.
const cleanBatch = 4 << 10

// cleanDue reports whether a pass should start (slack 1), or go on (slack
// 2: until dead bytes are down to half the live ones).
func (t *strTable) cleanDue(slack int) bool {
	return t.dead >= compactMin && slack*t.dead >= t.live || t.nils >= 64 && 2*t.nils >= len(t.chunks)
}

// clean goes on with the compaction pass for about budget bytes, from the
// oldest chunk on: each of its entries that a slot still points to is
// written again at the end of the arena, and a chunk looked through is
// dropped. An entry is live iff a slot holds its very chunk and offset
// (entries are never written over), so telling needs no key compared, and
// its slot's read is started a run of entries ahead. Where a
// stop-the-world compaction of a hash of a million fields held its shard
// for 85-200 ms, a write now does a few entries' worth; the pass ends
// once the dead bytes are down to half the live ones, having looked at
// the oldest, deadest chunks only.
func (t *strTable) clean(budget int) {
	for t.cleaning && budget > 0 {
		end := t.base + uint32(len(t.chunks))
		if t.cur > 0 {
			end = t.base + uint32(t.cur-1) // not the chunk appended to
		}
		if t.cleanAt == end || !t.cleanDue(2) {
			t.cleaning = false
			break
		}
		n := t.cleanAt
		c := t.chunk(n)
		var ahead [16]uint32 // hashes of the entries from cleanOff on
		nAhead, next := 0, 0
		for c != nil && t.cleanOff < len(c) && budget > 0 {
			if next == nAhead {
				nAhead, next = t.hashAhead(c, t.cleanOff, ahead[:]), 0
			}
			k, v, size := decodeEntry(c[t.cleanOff:], t.hasVal)
			budget -= size
			i := t.slotOf(ahead[next], n, uint32(t.cleanOff))
			next++
			if i < 0 {
				t.cleanOff += size
				continue
			}
			if size > bigEntry {
				// Its own chunk: moved to the end as it is.
				t.chunks = append(t.chunks, c)
				t.chunks[n-t.base] = nil
				t.nils++
				t.slots[i].chunk = t.base + uint32(len(t.chunks)-1)
				c = nil
				break
			}
			t.slots[i].chunk, t.slots[i].off = t.write(k, v)
			t.live -= size
			t.dead += size
			t.cleanOff += size
		}
		if c != nil && t.cleanOff < len(c) {
			break // out of budget
		}
		if c != nil {
			// Every byte of it is dead now.
			t.dead -= len(c)
			t.chunkBytes -= cap(c) + 24
			t.chunks[n-t.base] = nil
			t.nils++
		}
		t.cleanAt, t.cleanOff = n+1, 0
		t.trim()
	}
}

// slotOf returns the index of the slot that points to the entry at off in
// chunk number n, whose hash is h, or -1 if none does (it is dead).
func (t *strTable) slotOf(h, n, off uint32) int {
	if i := slotIn(t.slots, 0, h, n, off); i >= 0 || t.old == nil {
		return i
	}
	if j := slotIn(t.old, t.moved, h, n, off); j >= 0 {
		return t.moveEarly(j)
	}
	return -1
}

// slotIn is slotOf in slots, passing over those before from.
func slotIn(slots []tslot, from int, h, n, off uint32) int {
	m := uint32(len(slots) - 1)
	for i := h & m; ; i = (i + 1) & m {
		s := slots[i]
		if s.h == 0 {
			return -1
		}
		if s.h == h && s.chunk == n && s.off == off && int(i) >= from {
			return int(i)
		}
	}
}

// trim cuts the freed chunks at the front of the list.
func (t *strTable) trim() {
	for len(t.chunks) > 0 && t.chunks[0] == nil {
		if t.cleanAt == t.base {
			t.cleanAt, t.cleanOff = t.base+1, 0
		}
		t.chunks = t.chunks[1:]
		t.base++
		t.nils--
		if t.cur > 0 {
			t.cur--
		}
	}
}

// each calls fn for every entry until fn returns false: those in slots in
// slot order, then those still only in old. The entries lie in the arena
// in another order, so it reads a run of them before it decodes the first
// (see table.eachWarm): a walk of a million took 66-86 ms, one cache miss
// after another.
func (t *strTable) each(fn func(key, val []byte) bool) {
	if t.eachIn(t.slots, fn) && t.old != nil {
		t.eachIn(t.old[t.moved:], fn)
	}
}

// eachIn is each over slots (skipping those moved early); it reports
// whether fn never returned false.
func (t *strTable) eachIn(slots []tslot, fn func(key, val []byte) bool) bool {
	const run = 16
	var sink byte
	for start := 0; start < len(slots); start += run {
		batch := slots[start:min(start+run, len(slots))]
		for _, s := range batch {
			if s.h != 0 && s.off != movedOff {
				sink += t.chunk(s.chunk)[s.off]
			}
		}
		for _, s := range batch {
			if s.h != 0 && s.off != movedOff {
				k, v, _ := t.entryAt(s)
				if !fn(k, v) {
					runtime.KeepAlive(sink)
					return false
				}
			}
		}
	}
	runtime.KeepAlive(sink) // or the reads ahead are optimised away
	return true
}

// randomEntry returns the slot of a uniformly chosen entry, without
// changing the table. The slots are at least 1/8 full (removeAt shrinks
// them), a quarter while the table grows, so this takes a few tries at
// most on average.
func (t *strTable) randomEntry() tslot {
	n, o := uint32(len(t.slots)), uint32(len(t.old))
	for {
		i := rand.Uint32N(n + o)
		if i < n {
			if t.slots[i].h != 0 {
				return t.slots[i]
			}
		} else if i -= n; int(i) >= t.moved && t.old[i].h != 0 && t.old[i].off != movedOff {
			return t.old[i]
		}
	}
}

// scan visits the home buckets from cursor in reverse-binary order, calling
// fn for their entries, until at least count entries were returned or
// 10*count buckets visited; it returns the next cursor (0: done). While
// the table grows, a cursor names a bucket of old and the two of slots it
// splits into, as Redis's dictScan walks its two tables.
func (t *strTable) scan(cursor uint64, count int, fn func(key, val []byte)) uint64 {
	emitted := 0
	visit := func(slots []tslot, from int, b uint32) {
		m := uint32(len(slots) - 1)
		for j := b; ; j = (j + 1) & m {
			s := slots[j]
			if s.h == 0 {
				break
			}
			if s.h&m == b && int(j) >= from && s.off != movedOff {
				k, v, _ := t.entryAt(s)
				fn(k, v)
				emitted++
			}
		}
	}
	m := uint64(t.mask())
	small := m
	if t.old != nil {
		small = uint64(len(t.old) - 1)
	}
	for iter := 0; iter < count*10; iter++ {
		if t.old != nil {
			visit(t.old, t.moved, uint32(cursor&small))
			// The buckets of slots that old's splits into: the
			// cursor's bits above old's mask, counted in reverse
			// until they carry into old's.
			for {
				visit(t.slots, 0, uint32(cursor&m))
				cursor = nextCursor(cursor, m)
				if cursor&(m^small) == 0 {
					break
				}
			}
		} else {
			visit(t.slots, 0, uint32(cursor&m))
			cursor = nextCursor(cursor, m)
		}
		if cursor == 0 || emitted >= count {
			break
		}
	}
	return cursor
}

// nextCursor increments the reversed cursor in the bits of mask (Redis's
// dictScan).
func nextCursor(cursor, mask uint64) uint64 {
	cursor |= ^mask
	cursor = bits.Reverse64(cursor)
	cursor++
	return bits.Reverse64(cursor)
}

// clone returns a copy that shares the arena's chunks: their bytes are
// never overwritten (see strTable), so only the slots and the chunk list
// are copied, and the copy appends to chunks of its own (cur 0), never to
// the space left in a shared one, which the original may still fill. A
// snapshot's thaw of a hash of a million fields took its writer 200 ms
// when it re-added every entry; this copies 24 MB of slots.
//
// Each table counts the shared chunks in memBytes, as if it had its own:
// maxmemory's accounting errs on the side of more, until a compaction
// gives the one that compacts chunks of its own.
func (t *strTable) clone() *strTable {
	c := *t
	c.slots = append([]tslot(nil), t.slots...)
	if t.old != nil {
		c.old = append([]tslot(nil), t.old...)
	}
	c.chunks = append([][]byte(nil), t.chunks...)
	c.cur = 0
	return &c
}

// memBytes estimates the table's memory.
func (t *strTable) memBytes() int {
	return (len(t.slots)+len(t.old))*12 + t.chunkBytes
}
