package engine

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"unsafe"
)

// The list type: a deque of chunks, each chunk one byte buffer holding a
// run of elements packed back to back, as Redis's quicklist holds
// listpacks. An element is stored as
//
//	uvarint(len) data reverse-uvarint(len)
//
// (the trailing length is the uvarint's bytes in reverse order, so a chunk
// can be walked from either end). A chunk's data lives in buf[lo:hi], with
// free room on both sides, so pushing and popping at either end of the list
// is O(1) amortised: only the end chunk is touched. A chunk grows up to
// listChunkBytes (Redis's list-max-listpack-size -2, 8 KiB); past that a new
// chunk is started. Finding an index walks the chunks from the nearer end,
// O(n / elements-per-chunk), as a quicklist does. One element larger than a
// chunk gets a chunk of its own.
//
// OBJECT ENCODING answers "quicklist" for every list, as Redis 7.0 does.

// listChunkBytes bounds the bytes of a chunk that holds more than one element.
const listChunkBytes = 8 << 10

// listChunk is a run of packed elements.
type listChunk struct {
	// buf[lo:hi] holds n packed elements.
	buf    []byte
	lo, hi int
	n      int
}

// listValue is a list: chunks head to tail, none empty.
type listValue struct {
	chunks []*listChunk
	// front is the number of free slots before chunks[0] in the array
	// chunks lies in, where prependChunk puts a new first chunk. Without
	// them, every chunk LPUSH started moved all the others up one slot:
	// O(chunks), and while a collection runs, each pointer moved goes
	// through the write barrier. Every assignment of chunks keeps it:
	// taking the first chunk off adds one, an append that moved the
	// slice to a new array resets it to 0. (The field fits in the
	// struct's size class: a small list costs no more.)
	front int
	n     int // elements in all chunks
	// bufBytes is what the chunks' buffers take of the heap (bufCost of
	// each), kept as buffers come, grow and go, for memUsage.
	bufBytes int
}

// bufCost is the heap a chunk buffer of n bytes takes.
func bufCost(n int) int { return int(allocSize(int64(n))) }

// resized counts a chunk buffer that went from old bytes to now (0: none).
// Most pushes do not reallocate, and they skip bufCost's search.
func (l *listValue) resized(old, now int) {
	if now != old {
		l.bufBytes += bufCost(now) - bufCost(old)
	}
}

// memUsage is the bytes the list holds (for maxmemory's accounting).
func (l *listValue) memUsage() int {
	return int(allocSize(int64(unsafe.Sizeof(*l)))) + int(allocSize(int64(l.front+cap(l.chunks))*8)) +
		len(l.chunks)*int(allocSize(int64(unsafe.Sizeof(listChunk{})))) + l.bufBytes
}

func (l *listValue) kind() Kind       { return KindList }
func (l *listValue) length() int      { return l.n }
func (l *listValue) encoding() string { return "quicklist" }

func (l *listValue) clone() collection {
	c := &listValue{n: l.n, chunks: make([]*listChunk, len(l.chunks))}
	for i, ch := range l.chunks {
		nb := make([]byte, ch.hi-ch.lo)
		copy(nb, ch.buf[ch.lo:ch.hi])
		c.chunks[i] = &listChunk{buf: nb, lo: 0, hi: len(nb), n: ch.n}
		c.bufBytes += bufCost(len(nb))
	}
	return c
}

// String lists the elements, head first (for tests and dumps).
func (l *listValue) String() string {
	var b strings.Builder
	b.WriteString("list[")
	i := 0
	l.each(func(v []byte) bool {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%q", v)
		i++
		return true
	})
	b.WriteByte(']')
	return b.String()
}

// ---- element encoding ----

// packedSize is the bytes an element of length n takes in a chunk.
func packedSize(n int) int { return n + 2*uvarintLen(uint64(n)) }

// putPacked writes v packed at dst[0:packedSize(len(v))].
func putPacked(dst []byte, v []byte) {
	k := binary.PutUvarint(dst, uint64(len(v)))
	copy(dst[k:], v)
	p := k + len(v)
	for i := 0; i < k; i++ {
		dst[p+i] = dst[k-1-i]
	}
}

// readFwd returns the element starting at buf[p] and the offset after it.
func readFwd(buf []byte, p int) ([]byte, int) {
	l, k := binary.Uvarint(buf[p:])
	start := p + k
	end := start + int(l)
	return buf[start:end:end], end + k
}

// readBack returns the element ending at buf[q] and its start offset.
func readBack(buf []byte, q int) ([]byte, int) {
	var l uint64
	var shift uint
	k := 0
	for {
		b := buf[q-1-k]
		l |= uint64(b&0x7f) << shift
		k++
		if b < 0x80 {
			break
		}
		shift += 7
	}
	end := q - k
	start := end - int(l)
	return buf[start:end:end], start - k
}

// ---- chunks ----

func (ch *listChunk) used() int { return ch.hi - ch.lo }

// newChunkFor returns an empty chunk with room for need bytes, placed for
// growth towards the back (front=false) or the front.
func newChunkFor(need int, front bool, big bool) *listChunk {
	c := 32
	if big {
		c = listChunkBytes
	}
	if c < need {
		c = need
	}
	ch := &listChunk{buf: make([]byte, c)}
	if front {
		ch.lo, ch.hi = c, c
	}
	return ch
}

// reserve makes room for need more bytes at the back (front=false) or at
// the front, moving or reallocating the data.
func (ch *listChunk) reserve(need int, front bool) {
	if front && ch.lo >= need || !front && len(ch.buf)-ch.hi >= need {
		return
	}
	used := ch.used()
	size := len(ch.buf)
	if used+need > size || used+need > size*3/4 {
		size = 2 * (used + need)
		if size < 32 {
			size = 32
		}
		if size > listChunkBytes && used+need <= listChunkBytes {
			size = listChunkBytes
		}
		if size < used+need {
			size = used + need
		}
	}
	nb := ch.buf
	if size != len(ch.buf) {
		nb = make([]byte, size)
	}
	var lo int
	if front {
		lo = size - used
	} else {
		lo = 0
	}
	copy(nb[lo:], ch.buf[ch.lo:ch.hi])
	ch.buf, ch.lo, ch.hi = nb, lo, lo+used
}

func (ch *listChunk) pushBack(v []byte) {
	sz := packedSize(len(v))
	ch.reserve(sz, false)
	putPacked(ch.buf[ch.hi:], v)
	ch.hi += sz
	ch.n++
}

func (ch *listChunk) pushFront(v []byte) {
	sz := packedSize(len(v))
	ch.reserve(sz, true)
	ch.lo -= sz
	putPacked(ch.buf[ch.lo:], v)
	ch.n++
}

func (ch *listChunk) popFront() []byte {
	v, next := readFwd(ch.buf, ch.lo)
	ch.lo = next
	ch.n--
	return v
}

func (ch *listChunk) popBack() []byte {
	v, start := readBack(ch.buf, ch.hi)
	ch.hi = start
	ch.n--
	return v
}

// offsetOf returns the offset in buf of the element at local index i.
func (ch *listChunk) offsetOf(i int) int {
	if i <= ch.n/2 {
		p := ch.lo
		for ; i > 0; i-- {
			_, p = readFwd(ch.buf, p)
		}
		return p
	}
	q := ch.hi
	for j := ch.n; j > i; j-- {
		_, q = readBack(ch.buf, q)
	}
	return q
}

func (ch *listChunk) get(i int) []byte {
	v, _ := readFwd(ch.buf, ch.offsetOf(i))
	return v
}

// replace swaps the bytes buf[p:q] for the packed element v (nil: removal).
func (ch *listChunk) replace(p, q int, v []byte, insert bool) {
	newSz := 0
	if insert {
		newSz = packedSize(len(v))
	}
	delta := newSz - (q - p)
	if delta > 0 {
		tail := ch.hi - q
		if len(ch.buf)-ch.hi >= delta {
			copy(ch.buf[q+delta:], ch.buf[q:ch.hi])
		} else {
			need := ch.used() + delta
			size := 2 * need
			if size > listChunkBytes && need <= listChunkBytes {
				size = listChunkBytes
			}
			nb := make([]byte, size)
			lo := (size - need) / 2
			copy(nb[lo:], ch.buf[ch.lo:p])
			copy(nb[lo+(p-ch.lo)+newSz:], ch.buf[q:ch.hi])
			p = lo + (p - ch.lo)
			ch.buf, ch.lo, ch.hi = nb, lo, lo+need
			if insert {
				putPacked(ch.buf[p:], v)
			}
			return
		}
		_ = tail
	} else if delta < 0 {
		copy(ch.buf[q+delta:], ch.buf[q:ch.hi])
	}
	ch.hi += delta
	if insert {
		putPacked(ch.buf[p:], v)
	}
}

// ---- lists ----

func (l *listValue) pushBack(v []byte) {
	var ch *listChunk
	if k := len(l.chunks); k > 0 {
		ch = l.chunks[k-1]
		if ch.used()+packedSize(len(v)) > listChunkBytes {
			ch = nil
		}
	}
	old := 0
	if ch == nil {
		ch = newChunkFor(packedSize(len(v)), false, len(l.chunks) > 0)
		l.appendChunk(ch)
	} else {
		old = len(ch.buf)
	}
	ch.pushBack(v)
	l.resized(old, len(ch.buf))
	l.n++
}

func (l *listValue) pushFront(v []byte) {
	var ch *listChunk
	if len(l.chunks) > 0 {
		ch = l.chunks[0]
		if ch.used()+packedSize(len(v)) > listChunkBytes {
			ch = nil
		}
	}
	old := 0
	if ch == nil {
		ch = newChunkFor(packedSize(len(v)), true, len(l.chunks) > 0)
		l.prependChunk(ch)
	} else {
		old = len(ch.buf)
	}
	ch.pushFront(v)
	l.resized(old, len(ch.buf))
	l.n++
}

// prependChunk puts ch before the first chunk: into the room before it
// when there is some, else into a new array with as much room before the
// chunks as they take (amortised O(1), as appending is).
func (l *listValue) prependChunk(ch *listChunk) {
	k := len(l.chunks)
	if l.front > 0 && cap(l.chunks) > 0 {
		// The slot before chunks[0] is in the same array.
		p := unsafe.Add(unsafe.Pointer(unsafe.SliceData(l.chunks)), -int(unsafe.Sizeof(ch)))
		s := unsafe.Slice((**listChunk)(p), cap(l.chunks)+1)
		s[0] = ch
		l.chunks = s[:k+1]
		l.front--
		return
	}
	room := k + 4
	s := make([]*listChunk, room+k+1+k/4+4)
	s[room] = ch
	copy(s[room+1:], l.chunks)
	l.chunks = s[room : room+k+1]
	l.front = room
}

// appendChunk puts ch after the last chunk.
func (l *listValue) appendChunk(ch *listChunk) {
	old := unsafe.SliceData(l.chunks)
	l.chunks = append(l.chunks, ch)
	if unsafe.SliceData(l.chunks) != old {
		l.front = 0 // a new array, with no room before
	}
}

// dropFirstChunk removes the first chunk, keeping its slot as room.
func (l *listValue) dropFirstChunk() {
	l.chunks[0] = nil
	l.chunks = l.chunks[1:]
	l.front++
	if cap(l.chunks) == 0 {
		// A slice of no capacity keeps the array's start as its
		// address, not the end: forget the array.
		l.chunks, l.front = nil, 0
	}
}

// popFront removes and returns the head; the bytes alias the list's memory
// and stay valid until the list is next written.
func (l *listValue) popFront() []byte {
	ch := l.chunks[0]
	v := ch.popFront()
	if ch.n == 0 {
		l.bufBytes -= bufCost(len(ch.buf))
		l.dropFirstChunk()
	}
	l.n--
	return v
}

// popBack removes and returns the tail (aliasing, as popFront).
func (l *listValue) popBack() []byte {
	k := len(l.chunks) - 1
	ch := l.chunks[k]
	v := ch.popBack()
	if ch.n == 0 {
		l.bufBytes -= bufCost(len(ch.buf))
		l.chunks[k] = nil
		l.chunks = l.chunks[:k]
	}
	l.n--
	return v
}

// dropFront removes the first k elements.
func (l *listValue) dropFront(k int) {
	for k > 0 {
		ch := l.chunks[0]
		if ch.n <= k {
			k -= ch.n
			l.n -= ch.n
			l.bufBytes -= bufCost(len(ch.buf))
			l.dropFirstChunk()
			continue
		}
		for ; k > 0; k-- {
			ch.popFront()
			l.n--
		}
	}
}

// dropBack removes the last k elements.
func (l *listValue) dropBack(k int) {
	for k > 0 {
		last := len(l.chunks) - 1
		ch := l.chunks[last]
		if ch.n <= k {
			k -= ch.n
			l.n -= ch.n
			l.bufBytes -= bufCost(len(ch.buf))
			l.chunks[last] = nil
			l.chunks = l.chunks[:last]
			continue
		}
		for ; k > 0; k-- {
			ch.popBack()
			l.n--
		}
	}
}

// locate returns the chunk index and local index of element i (0 <= i < n),
// walking from the nearer end.
func (l *listValue) locate(i int) (int, int) {
	if i < l.n/2 {
		for ci, ch := range l.chunks {
			if i < ch.n {
				return ci, i
			}
			i -= ch.n
		}
	} else {
		j := l.n - i // elements from i to the end
		for ci := len(l.chunks) - 1; ci >= 0; ci-- {
			ch := l.chunks[ci]
			if j <= ch.n {
				return ci, ch.n - j
			}
			j -= ch.n
		}
	}
	panic("engine: list index out of range")
}

func (l *listValue) index(i int) []byte {
	ci, li := l.locate(i)
	return l.chunks[ci].get(li)
}

// set replaces element i by v.
func (l *listValue) set(i int, v []byte) {
	ci, li := l.locate(i)
	ch := l.chunks[ci]
	p := ch.offsetOf(li)
	_, q := readFwd(ch.buf, p)
	old := len(ch.buf)
	ch.replace(p, q, v, true)
	l.resized(old, len(ch.buf))
	l.split(ci)
}

// insert puts v at index i (0 <= i <= n), shifting the rest back.
func (l *listValue) insert(i int, v []byte) {
	switch {
	case i == 0:
		l.pushFront(v)
		return
	case i == l.n:
		l.pushBack(v)
		return
	}
	ci, li := l.locate(i)
	ch := l.chunks[ci]
	p := ch.offsetOf(li)
	old := len(ch.buf)
	ch.replace(p, p, v, true)
	l.resized(old, len(ch.buf))
	ch.n++
	l.n++
	l.split(ci)
}

// split halves chunk ci if it outgrew listChunkBytes.
func (l *listValue) split(ci int) {
	ch := l.chunks[ci]
	if ch.used() <= listChunkBytes || ch.n < 2 {
		return
	}
	half := ch.n / 2
	p := ch.offsetOf(half)
	right := &listChunk{buf: make([]byte, ch.hi-p), n: ch.n - half}
	copy(right.buf, ch.buf[p:ch.hi])
	right.hi = len(right.buf)
	l.bufBytes += bufCost(len(right.buf))
	ch.hi = p
	ch.n = half
	l.appendChunk(nil)
	copy(l.chunks[ci+2:], l.chunks[ci+1:])
	l.chunks[ci+1] = right
}

// removeChunk drops the (empty) chunk ci.
func (l *listValue) removeChunk(ci int) {
	l.bufBytes -= bufCost(len(l.chunks[ci].buf))
	copy(l.chunks[ci:], l.chunks[ci+1:])
	l.chunks[len(l.chunks)-1] = nil
	l.chunks = l.chunks[:len(l.chunks)-1]
}

// mergeSmall joins neighbouring chunks that together fill at most half a
// chunk, after removals in the middle.
func (l *listValue) mergeSmall() {
	for ci := 0; ci+1 < len(l.chunks); {
		a, b := l.chunks[ci], l.chunks[ci+1]
		if a.used()+b.used() > listChunkBytes/2 {
			ci++
			continue
		}
		old := len(a.buf)
		a.reserve(b.used(), false)
		l.resized(old, len(a.buf))
		copy(a.buf[a.hi:], b.buf[b.lo:b.hi])
		a.hi += b.used()
		a.n += b.n
		l.removeChunk(ci + 1)
	}
}

// removeMatching removes elements equal to v: all of them (count 0), the
// first count (count > 0) or the last -count; returns how many it removed.
func (l *listValue) removeMatching(v []byte, count int) int {
	total := 0
	if count <= 0 {
		l.each(func(e []byte) bool {
			if bytes.Equal(e, v) {
				total++
			}
			return true
		})
	}
	skip, limit := 0, count
	if count < 0 {
		limit = -count
		if total > limit {
			skip = total - limit
		}
	} else if count == 0 {
		limit = total
	}
	removed := 0
	for ci := 0; ci < len(l.chunks) && removed < limit; {
		ch := l.chunks[ci]
		w, r := ch.lo, ch.lo
		kept := 0
		for r < ch.hi {
			e, next := readFwd(ch.buf, r)
			if removed < limit && bytes.Equal(e, v) {
				if skip > 0 {
					skip--
				} else {
					removed++
					r = next
					continue
				}
			}
			if w != r {
				copy(ch.buf[w:], ch.buf[r:next])
			}
			w += next - r
			r = next
			kept++
		}
		l.n -= ch.n - kept
		ch.hi, ch.n = w, kept
		if kept == 0 {
			l.removeChunk(ci)
			continue
		}
		ci++
	}
	if removed > 0 {
		l.mergeSmall()
	}
	return removed
}

// each calls fn for each element head to tail until it returns false.
func (l *listValue) each(fn func(v []byte) bool) {
	for _, ch := range l.chunks {
		for p := ch.lo; p < ch.hi; {
			var v []byte
			v, p = readFwd(ch.buf, p)
			if !fn(v) {
				return
			}
		}
	}
}

// eachFrom calls fn for elements from index i towards the tail (rev=false)
// or towards the head, with their index, until fn returns false.
func (l *listValue) eachFrom(i int, rev bool, fn func(idx int, v []byte) bool) {
	if i < 0 || i >= l.n {
		return
	}
	ci, li := l.locate(i)
	idx := i
	if !rev {
		ch := l.chunks[ci]
		p := ch.offsetOf(li)
		for {
			for p < ch.hi {
				var v []byte
				v, p = readFwd(ch.buf, p)
				if !fn(idx, v) {
					return
				}
				idx++
			}
			ci++
			if ci == len(l.chunks) {
				return
			}
			ch = l.chunks[ci]
			p = ch.lo
		}
	}
	ch := l.chunks[ci]
	_, q := readFwd(ch.buf, ch.offsetOf(li))
	for {
		for q > ch.lo {
			var v []byte
			v, q = readBack(ch.buf, q)
			if !fn(idx, v) {
				return
			}
			idx--
		}
		ci--
		if ci < 0 {
			return
		}
		ch = l.chunks[ci]
		q = ch.hi
	}
}

// ---- snapshot support ----

// listBuilder rebuilds a list from its elements, head first: the
// snapshot loader's way in (newListBuilder, add for each element, done).
type listBuilder struct{ l *listValue }

// newListBuilder starts a list of n elements (n is a hint).
func newListBuilder(n int) *listBuilder { return &listBuilder{l: &listValue{}} }

// add appends v (copied) at the tail.
func (b *listBuilder) add(v []byte) { b.l.pushBack(v) }

// done returns the list; nil when it has no elements (never store it).
func (b *listBuilder) done() collection {
	if b.l.n == 0 {
		return nil
	}
	return b.l
}

// ---- transactions ----

// listFor returns key's list: nil when missing, ErrWrongType for another
// kind.
func (tx *Tx) listFor(db int, key []byte) (*entry, *listValue, error) {
	ent := tx.lookup(db, key)
	if ent == nil {
		return nil, nil, nil
	}
	l, ok := ent.collection().(*listValue)
	if !ok {
		return nil, nil, ErrWrongType
	}
	return ent, l, nil
}

// Push adds vals at the head (LPUSH: each in turn, so the last ends up
// first) or the tail (RPUSH) of key's list, creating it unless
// onlyExisting (LPUSHX, RPUSHX). It returns the new length (0 when
// onlyExisting found no list).
func (tx *Tx) Push(db int, key []byte, vals [][]byte, head, onlyExisting bool) (int64, error) {
	if err := tx.writable(db, key); err != nil {
		return 0, err
	}
	_, l, err := tx.listFor(db, key)
	if err != nil {
		return 0, err
	}
	if l == nil {
		if onlyExisting || len(vals) == 0 {
			return 0, nil
		}
		l = &listValue{}
		tx.put(db, newCollEntry(key, l, 0))
	}
	l.pushAll(vals, head)
	op := OpListRPush
	if head {
		op = OpListLPush
	}
	tx.record(Effect{Op: op, DB: db, Key: key, Values: vals})
	return int64(l.n), nil
}

func (l *listValue) pushAll(vals [][]byte, head bool) {
	for _, v := range vals {
		if head {
			l.pushFront(v)
		} else {
			l.pushBack(v)
		}
	}
}

// Pop removes up to count elements from the head or the tail of key's list
// and returns them (nil for a missing key). The returned bytes stay valid
// until the list is next written in this transaction.
func (tx *Tx) Pop(db int, key []byte, head bool, count int) ([][]byte, error) {
	if err := tx.writable(db, key); err != nil {
		return nil, err
	}
	_, l, err := tx.listFor(db, key)
	if err != nil || l == nil {
		return nil, err
	}
	if count > l.n {
		count = l.n
	}
	out := make([][]byte, count)
	for i := range out {
		if head {
			out[i] = l.popFront()
		} else {
			out[i] = l.popBack()
		}
	}
	tx.listPopped(db, key, l, head, count)
	return out, nil
}

// Pop1 is Pop of one element without the slice: nil when the key is missing.
func (tx *Tx) Pop1(db int, key []byte, head bool) ([]byte, error) {
	if err := tx.writable(db, key); err != nil {
		return nil, err
	}
	_, l, err := tx.listFor(db, key)
	if err != nil || l == nil {
		return nil, err
	}
	var v []byte
	if head {
		v = l.popFront()
	} else {
		v = l.popBack()
	}
	tx.listPopped(db, key, l, head, 1)
	return v, nil
}

// listPopped records the removal of count elements from one end and
// removes the key when the list is empty.
func (tx *Tx) listPopped(db int, key []byte, l *listValue, head bool, count int) {
	if count == 0 {
		return
	}
	if l.n == 0 {
		tx.remove(db, key)
	}
	op := OpListRPop
	if head {
		op = OpListLPop
	}
	tx.record(Effect{Op: op, DB: db, Key: key, Offset: int64(count)})
}

// LLen returns the length of key's list (0 when missing).
func (tx *Tx) LLen(db int, key []byte) (int64, error) {
	if err := tx.readable(db, key); err != nil {
		return 0, err
	}
	_, l, err := tx.listFor(db, key)
	if err != nil || l == nil {
		return 0, err
	}
	return int64(l.n), nil
}

// listRange clamps Redis's start/stop (negative from the end) to
// [start, stop] within 0..n-1; ok false when the range is empty.
func listRange(start, stop int64, n int) (int, int, bool) {
	if start < 0 {
		start += int64(n)
	}
	if stop < 0 {
		stop += int64(n)
	}
	if start < 0 {
		start = 0
	}
	if start > stop || start >= int64(n) {
		return 0, 0, false
	}
	if stop >= int64(n) {
		stop = int64(n) - 1
	}
	return int(start), int(stop), true
}

// LRange calls fn for the elements start..stop of key's list (Redis's
// index rules), after calling size with their number. The bytes passed to
// fn alias the list.
func (tx *Tx) LRange(db int, key []byte, start, stop int64, size func(n int), fn func(v []byte)) error {
	if err := tx.readable(db, key); err != nil {
		return err
	}
	_, l, err := tx.listFor(db, key)
	if err != nil {
		return err
	}
	if l == nil {
		size(0)
		return nil
	}
	s, e, ok := listRange(start, stop, l.n)
	if !ok {
		size(0)
		return nil
	}
	size(e - s + 1)
	l.eachFrom(s, false, func(idx int, v []byte) bool {
		fn(v)
		return idx < e
	})
	return nil
}

// LIndex returns element index of key's list (negative from the end);
// found is false when the key is missing or the index out of range.
func (tx *Tx) LIndex(db int, key []byte, index int64) ([]byte, bool, error) {
	if err := tx.readable(db, key); err != nil {
		return nil, false, err
	}
	_, l, err := tx.listFor(db, key)
	if err != nil || l == nil {
		return nil, false, err
	}
	if index < 0 {
		index += int64(l.n)
	}
	if index < 0 || index >= int64(l.n) {
		return nil, false, nil
	}
	return l.index(int(index)), true, nil
}

// LSet replaces element index: ErrNoSuchKey for a missing key,
// ErrIndexRange for an index outside the list.
func (tx *Tx) LSet(db int, key []byte, index int64, v []byte) error {
	if err := tx.writable(db, key); err != nil {
		return err
	}
	_, l, err := tx.listFor(db, key)
	if err != nil {
		return err
	}
	if l == nil {
		return ErrNoSuchKey
	}
	if index < 0 {
		index += int64(l.n)
	}
	if index < 0 || index >= int64(l.n) {
		return ErrIndexRange
	}
	l.set(int(index), v)
	tx.record(Effect{Op: OpListSet, DB: db, Key: key, Offset: index, Value: v})
	return nil
}

// LRem removes elements equal to v (count as LREM's) and returns how many.
func (tx *Tx) LRem(db int, key []byte, count int64, v []byte) (int64, error) {
	if err := tx.writable(db, key); err != nil {
		return 0, err
	}
	_, l, err := tx.listFor(db, key)
	if err != nil || l == nil {
		return 0, err
	}
	c := count
	if c > int64(l.n) {
		c = int64(l.n)
	} else if c < -int64(l.n) {
		c = -int64(l.n)
	}
	n := l.removeMatching(v, int(c))
	if n > 0 {
		if l.n == 0 {
			tx.remove(db, key)
		}
		tx.record(Effect{Op: OpListRem, DB: db, Key: key, Offset: c, Value: v})
	}
	return int64(n), nil
}

// LTrim keeps only elements start..stop (Redis's index rules).
func (tx *Tx) LTrim(db int, key []byte, start, stop int64) error {
	if err := tx.writable(db, key); err != nil {
		return err
	}
	_, l, err := tx.listFor(db, key)
	if err != nil || l == nil {
		return err
	}
	s, e, ok := listRange(start, stop, l.n)
	if !ok {
		s, e = l.n, l.n-1 // remove everything
	}
	front, back := s, l.n-1-e
	if front > 0 {
		l.dropFront(front)
		if l.n == 0 {
			tx.remove(db, key)
		}
		tx.record(Effect{Op: OpListLPop, DB: db, Key: key, Offset: int64(front)})
	}
	if back > 0 {
		l.dropBack(back)
		if l.n == 0 {
			tx.remove(db, key)
		}
		tx.record(Effect{Op: OpListRPop, DB: db, Key: key, Offset: int64(back)})
	}
	return nil
}

// LInsert puts v before (or after) the first element equal to pivot and
// returns the new length; -1 when pivot is absent, 0 when the key is.
func (tx *Tx) LInsert(db int, key []byte, before bool, pivot, v []byte) (int64, error) {
	if err := tx.writable(db, key); err != nil {
		return 0, err
	}
	_, l, err := tx.listFor(db, key)
	if err != nil || l == nil {
		return 0, err
	}
	at := -1
	l.eachFrom(0, false, func(idx int, e []byte) bool {
		if bytes.Equal(e, pivot) {
			at = idx
			return false
		}
		return true
	})
	if at < 0 {
		return -1, nil
	}
	if !before {
		at++
	}
	l.insert(at, v)
	tx.record(Effect{Op: OpListInsert, DB: db, Key: key, Offset: int64(at), Value: v})
	return int64(l.n), nil
}

// LPos finds elements equal to v as LPOS does: rank (nonzero; negative
// searches from the tail), at most count matches (0: all), looking at no
// more than maxlen elements (0: all).
func (tx *Tx) LPos(db int, key []byte, v []byte, rank, count, maxlen int64) ([]int64, error) {
	if err := tx.readable(db, key); err != nil {
		return nil, err
	}
	_, l, err := tx.listFor(db, key)
	if err != nil || l == nil {
		return nil, err
	}
	var out []int64
	rev := rank < 0
	skip := rank - 1
	start := 0
	if rev {
		skip = -rank - 1
		start = l.n - 1
		if rank == math.MinInt64 {
			skip = 0 // Redis negates it to itself: every match qualifies
		}
	}
	var seen int64
	l.eachFrom(start, rev, func(idx int, e []byte) bool {
		if maxlen != 0 && seen >= maxlen {
			return false
		}
		seen++
		if bytes.Equal(e, v) {
			if skip > 0 {
				skip--
				return true
			}
			out = append(out, int64(idx))
			if count != 0 && int64(len(out)) >= count {
				return false
			}
		}
		return true
	})
	return out, nil
}

// LMove pops from one end of src and pushes onto one end of dst (LMOVE,
// RPOPLPUSH); found is false when src is missing. A wrong type at dst is
// ErrWrongType and changes nothing.
func (tx *Tx) LMove(db int, src, dst []byte, fromHead, toHead bool) ([]byte, bool, error) {
	if err := tx.writable(db, src); err != nil {
		return nil, false, err
	}
	if err := tx.writable(db, dst); err != nil {
		return nil, false, err
	}
	_, sl, err := tx.listFor(db, src)
	if err != nil || sl == nil {
		return nil, false, err
	}
	if _, _, err := tx.listFor(db, dst); err != nil {
		return nil, false, err
	}
	var v []byte
	if fromHead {
		v = sl.popFront()
	} else {
		v = sl.popBack()
	}
	// The popped bytes alias src's memory, which the push may reuse.
	v = cloneBytes(v)
	tx.listPopped(db, src, sl, fromHead, 1)
	if _, err := tx.Push(db, dst, [][]byte{v}, toHead, false); err != nil {
		return nil, false, err
	}
	return v, true, nil
}

// ListLen returns key's list length, or ErrWrongType; 0 when missing. (For
// the blocking commands, which must see whether a key can serve them.)
func (tx *Tx) ListLen(db int, key []byte) (int, error) {
	_, l, err := tx.listFor(db, key)
	if err != nil || l == nil {
		return 0, err
	}
	return l.n, nil
}

// ---- effects ----

// The list type's effect ops. Their numbers and encodings are part of the
// log's format: never change them.
const (
	// OpListRPush: Values were appended at the tail of Key's list, in
	// order (creating it). fields = count:uvarint value:bytes*
	OpListRPush Op = opListFirst + iota
	// OpListLPush: Values were pushed at the head one by one (the last
	// ends up first), creating the list. fields as OpListRPush.
	OpListLPush
	// OpListRPop: Offset elements left the tail; an emptied list is
	// removed. fields = count:uvarint
	OpListRPop
	// OpListLPop: Offset elements left the head. fields as OpListRPop.
	OpListLPop
	// OpListSet: the element at index Offset (0-based from the head) is
	// now Value. fields = index:uvarint value:bytes
	OpListSet
	// OpListInsert: Value was inserted to become index Offset (0..len).
	// fields = index:uvarint value:bytes
	OpListInsert
	// OpListRem: elements equal to Value were removed as LREM with count
	// Offset does (0 all, >0 the first Offset, <0 the last -Offset); an
	// emptied list is removed. fields = count:varint value:bytes
	OpListRem
)

func appendListFields(dst []byte, ef *Effect) []byte {
	switch ef.Op {
	case OpListRPush, OpListLPush:
		dst = binary.AppendUvarint(dst, uint64(len(ef.Values)))
		for _, v := range ef.Values {
			dst = appendBytes(dst, v)
		}
	case OpListRPop, OpListLPop:
		dst = binary.AppendUvarint(dst, uint64(ef.Offset))
	case OpListSet, OpListInsert:
		dst = binary.AppendUvarint(dst, uint64(ef.Offset))
		dst = appendBytes(dst, ef.Value)
	case OpListRem:
		dst = binary.AppendVarint(dst, ef.Offset)
		dst = appendBytes(dst, ef.Value)
	}
	return dst
}

func decodeListFields(d *decoder, ef *Effect) bool {
	switch ef.Op {
	case OpListRPush, OpListLPush:
		n := d.uvarint()
		if d.err != nil || n > uint64(len(d.b)) { // each value takes a byte at least
			return false
		}
		ef.Values = make([][]byte, n)
		for i := range ef.Values {
			ef.Values[i] = d.bytes()
		}
	case OpListRPop, OpListLPop:
		ef.Offset = int64(d.smallInt())
	case OpListSet, OpListInsert:
		ef.Offset = int64(d.smallInt())
		ef.Value = d.bytes()
	case OpListRem:
		ef.Offset = d.varint()
		ef.Value = d.bytes()
	default:
		return false
	}
	return true
}

func (tx *Tx) applyList(ef *Effect) error {
	ent := tx.raw(ef.DB, ef.Key)
	var l *listValue
	if ent != nil {
		var ok bool
		if l, ok = ent.collection().(*listValue); !ok {
			return fmt.Errorf("engine: apply %v: key holds a %v", ef, ent.kind())
		}
	}
	if l == nil && ef.Op != OpListRPush && ef.Op != OpListLPush {
		return fmt.Errorf("engine: apply op %d: no list at %q", ef.Op, ef.Key)
	}
	switch ef.Op {
	case OpListRPush, OpListLPush:
		if l == nil {
			l = &listValue{}
			tx.put(ef.DB, newCollEntry(ef.Key, l, 0))
		}
		l.pushAll(ef.Values, ef.Op == OpListLPush)
	case OpListRPop, OpListLPop:
		if ef.Offset > int64(l.n) {
			return fmt.Errorf("engine: apply op %d: pop %d of %d", ef.Op, ef.Offset, l.n)
		}
		if ef.Op == OpListLPop {
			l.dropFront(int(ef.Offset))
		} else {
			l.dropBack(int(ef.Offset))
		}
	case OpListSet:
		if ef.Offset >= int64(l.n) {
			return fmt.Errorf("engine: apply lset: index %d of %d", ef.Offset, l.n)
		}
		l.set(int(ef.Offset), ef.Value)
	case OpListInsert:
		if ef.Offset > int64(l.n) {
			return fmt.Errorf("engine: apply linsert: index %d of %d", ef.Offset, l.n)
		}
		l.insert(int(ef.Offset), ef.Value)
	case OpListRem:
		l.removeMatching(ef.Value, int(ef.Offset))
	default:
		return fmt.Errorf("engine: apply: unknown op %d", ef.Op)
	}
	if l.n == 0 {
		tx.remove(ef.DB, ef.Key)
	}
	return nil
}
