package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unsafe"
)

// The hash type.
//
// A hash is kept in one of two encodings, as Redis 7.0 keeps it:
//
//   - "listpack": while it has at most hashMaxListpackEntries fields and no
//     field or value longer than hashMaxListpackValue bytes, its entries
//     are packed in one byte slice in insertion order (an update keeps a
//     field's place), searched linearly;
//   - "hashtable": otherwise, a strTable. The conversion is one-way, as in
//     Redis: a hash that shrinks stays a hashtable.
//
// Effects (ops from opHashFirst), and their encoding after the common
// op/db/key prefix (see codec.go):
//
//	OpHSet  Values = field, value, field, value, …: each field now holds
//	        its value, in this order; the hash is created if missing.
//	        fields = count:uvarint bytes*  (count is even)
//	OpHDel  Values = the fields removed; the key is removed when the hash
//	        becomes empty.
//	        fields = count:uvarint bytes*
//
// Both ops apply the encoding rules above, so replaying them rebuilds the
// encoding as well as the content.
const (
	OpHSet Op = opHashFirst + iota
	OpHDel
)

// Redis 7.0's defaults for hash-max-listpack-entries and -value.
const (
	hashMaxListpackEntries = 128
	hashMaxListpackValue   = 64
)

// Errors of the hash commands.
var (
	ErrHashNotInteger = errors.New("engine: hash value is not an integer")
	ErrHashNotFloat   = errors.New("engine: hash value is not a float")
	// ErrIncrNaNOrInf is an increment that is itself infinite.
	ErrIncrNaNOrInf = errors.New("engine: value is NaN or Infinity")
)

func appendHashFields(dst []byte, ef *Effect) []byte {
	return appendValues(dst, ef.Values)
}

func decodeHashFields(d *decoder, ef *Effect) bool {
	switch ef.Op {
	case OpHSet:
		ef.Values = d.values()
		return d.err == nil && len(ef.Values)%2 == 0 && len(ef.Values) > 0
	case OpHDel:
		ef.Values = d.values()
		return d.err == nil
	}
	return false
}

// appendValues encodes a list of byte strings: count, then each.
func appendValues(dst []byte, vals [][]byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(vals)))
	for _, v := range vals {
		dst = appendBytes(dst, v)
	}
	return dst
}

// values decodes what appendValues wrote; the slices alias the record.
func (d *decoder) values() [][]byte {
	n := d.uvarint()
	// Each value takes at least one byte: bound the count first.
	if d.err != nil || n > uint64(len(d.b)) {
		d.fail("value count")
		return nil
	}
	out := make([][]byte, n)
	for i := range out {
		out[i] = d.bytes()
	}
	return out
}

func (tx *Tx) applyHash(ef *Effect) error {
	ent := tx.raw(ef.DB, ef.Key)
	var h *hashValue
	if ent != nil {
		var ok bool
		if h, ok = ent.collection().(*hashValue); !ok {
			return fmt.Errorf("engine: apply %v: key holds a %v", ef, ent.kind())
		}
	}
	switch ef.Op {
	case OpHSet:
		if h == nil {
			h = &hashValue{}
			tx.put(ef.DB, newCollEntry(ef.Key, h, 0))
		}
		h.convertFor(ef.Values)
		for i := 0; i+1 < len(ef.Values); i += 2 {
			h.set(ef.Values[i], ef.Values[i+1])
		}
	case OpHDel:
		if h == nil {
			return nil
		}
		for _, f := range ef.Values {
			h.del(f)
		}
		if h.length() == 0 {
			tx.remove(ef.DB, ef.Key)
		}
	default:
		return fmt.Errorf("engine: apply: unknown hash op %d", ef.Op)
	}
	return nil
}

// hashValue is a hash: lp (listpack encoding) while t is nil.
type hashValue struct {
	// lp holds n entries, each uvarint(len(field)) field uvarint(len(value))
	// value, in insertion order.
	lp []byte
	n  int
	t  *strTable
}

func (h *hashValue) kind() Kind { return KindHash }

func (h *hashValue) length() int {
	if h.t != nil {
		return h.t.count
	}
	return h.n
}

func (h *hashValue) encoding() string {
	if h.t != nil {
		return "hashtable"
	}
	return "listpack"
}

func (h *hashValue) clone() collection {
	if h.t != nil {
		return &hashValue{t: h.t.clone()}
	}
	return &hashValue{lp: cloneBytes(h.lp), n: h.n}
}

// lpFind returns the offset of field's entry in lp and its size, or -1.
func (h *hashValue) lpFind(field []byte) (off, size int, val []byte) {
	for i := 0; i < len(h.lp); {
		f, v, n := decodeEntry(h.lp[i:], true)
		if string(f) == string(field) {
			return i, n, v
		}
		i += n
	}
	return -1, 0, nil
}

func (h *hashValue) get(field []byte) ([]byte, bool) {
	if h.t != nil {
		return h.t.get(field)
	}
	off, _, v := h.lpFind(field)
	return v, off >= 0
}

// convertFor converts to a hashtable when any of args is too long for a
// listpack (Redis's hashTypeTryConversion, run before a write).
func (h *hashValue) convertFor(args [][]byte) {
	if h.t != nil {
		return
	}
	for _, a := range args {
		if len(a) > hashMaxListpackValue {
			h.convert()
			return
		}
	}
}

func (h *hashValue) convert() {
	t := newStrTable(true, h.n)
	for i := 0; i < len(h.lp); {
		f, v, n := decodeEntry(h.lp[i:], true)
		t.add(f, v)
		i += n
	}
	h.t, h.lp, h.n = t, nil, 0
}

// set stores field=val (copying both) and reports whether the field is
// new. It converts to a hashtable as Redis's hashTypeSet does.
func (h *hashValue) set(field, val []byte) bool {
	if h.t == nil && (len(field) > hashMaxListpackValue || len(val) > hashMaxListpackValue) {
		h.convert()
	}
	if h.t != nil {
		return h.t.set(field, val)
	}
	off, size, _ := h.lpFind(field)
	if off < 0 {
		h.lp = appendEntry(h.lp, field, val, true)
		h.n++
		if h.n > hashMaxListpackEntries {
			h.convert()
		}
		return true
	}
	// Replace the entry in place, keeping the field's position. (No
	// effect ever points into a hash's storage: see HIncrBy.)
	nsize := uvarintLen(uint64(len(field))) + len(field) + uvarintLen(uint64(len(val))) + len(val)
	if nsize != size {
		end := len(h.lp)
		if nsize > size {
			h.lp = slices.Grow(h.lp, nsize-size)[:end+nsize-size]
		}
		copy(h.lp[off+nsize:], h.lp[off+size:end])
		h.lp = h.lp[:end-size+nsize]
	}
	appendEntry(h.lp[off:off], field, val, true)
	return false
}

// del removes field; reports whether it was there.
func (h *hashValue) del(field []byte) bool {
	if h.t != nil {
		return h.t.remove(field)
	}
	off, size, _ := h.lpFind(field)
	if off < 0 {
		return false
	}
	h.lp = append(h.lp[:off], h.lp[off+size:]...)
	h.n--
	return true
}

// each calls fn for every field and value, in the hash's stable order
// (insertion order for a listpack, slot order for a hashtable), until fn
// returns false. This is the iterator snapshots encode a hash with.
func (h *hashValue) each(fn func(field, val []byte) bool) {
	if h.t != nil {
		h.t.each(fn)
		return
	}
	for i := 0; i < len(h.lp); {
		f, v, n := decodeEntry(h.lp[i:], true)
		if !fn(f, v) {
			return
		}
		i += n
	}
}

// String is a deterministic dump (for tests): encoding and sorted pairs.
func (h *hashValue) String() string {
	var pairs []string
	h.each(func(f, v []byte) bool {
		pairs = append(pairs, strconv.Quote(string(f))+"="+strconv.Quote(string(v)))
		return true
	})
	sort.Strings(pairs)
	return h.encoding() + "{" + strings.Join(pairs, " ") + "}"
}

// hashBuilder rebuilds a hash from its elements (snapshot loading): no
// duplicate checks, the encoding given rather than recomputed.
type hashBuilder struct{ h *hashValue }

// newHashBuilder starts a hash of n fields; hashtable says whether it was
// hashtable-encoded (collection.encoding() == "hashtable").
func newHashBuilder(n int, hashtable bool) *hashBuilder {
	h := &hashValue{}
	if hashtable {
		h.t = newStrTable(true, n)
	}
	return &hashBuilder{h: h}
}

// add appends a field known not to be in the hash yet.
func (b *hashBuilder) add(field, val []byte) {
	if b.h.t != nil {
		b.h.t.add(field, val)
		return
	}
	b.h.lp = appendEntry(b.h.lp, field, val, true)
	b.h.n++
}

// done returns the hash (nil when empty: a collection is never stored
// empty).
func (b *hashBuilder) done() collection {
	if b.h.length() == 0 {
		return nil
	}
	return b.h
}

// ---- the transaction API ----

// hashFor returns key's hash; nil when missing.
func (tx *Tx) hashFor(db int, key []byte) (*hashValue, error) {
	ent := tx.lookup(db, key)
	if ent == nil {
		return nil, nil
	}
	h, ok := ent.collection().(*hashValue)
	if !ok {
		return nil, ErrWrongType
	}
	return h, nil
}

// hashForWrite returns key's hash, creating an empty one (stored) when
// missing.
func (tx *Tx) hashForWrite(db int, key []byte) (*hashValue, error) {
	if err := tx.writable(db, key); err != nil {
		return nil, err
	}
	h, err := tx.hashFor(db, key)
	if err != nil || h != nil {
		return h, err
	}
	h = &hashValue{}
	tx.put(db, newCollEntry(key, h, 0))
	return h, nil
}

// HashReader reads a hash; valid only inside the transaction that
// returned it.
type HashReader struct{ h *hashValue }

// ReadHash returns key's hash; found is false when the key is missing.
func (tx *Tx) ReadHash(db int, key []byte) (r HashReader, found bool, err error) {
	if err := tx.readable(db, key); err != nil {
		return r, false, err
	}
	h, err := tx.hashFor(db, key)
	if err != nil || h == nil {
		return r, false, err
	}
	return HashReader{h}, true, nil
}

// Len is the number of fields.
func (r HashReader) Len() int { return r.h.length() }

// Get returns field's value.
func (r HashReader) Get(field []byte) ([]byte, bool) { return r.h.get(field) }

// Compact reports whether the hash is listpack-encoded.
func (r HashReader) Compact() bool { return r.h.t == nil }

// Each calls fn for every field and value until it returns false.
func (r HashReader) Each(fn func(field, val []byte) bool) { r.h.each(fn) }

// Random returns a uniformly chosen field and its value.
func (r HashReader) Random() (field, val []byte) {
	if r.h.t != nil {
		f, v, _ := r.h.t.entryAt(r.h.t.randomEntry())
		return f, v
	}
	i := rand.IntN(r.h.n)
	r.h.each(func(f, v []byte) bool {
		if i == 0 {
			field, val = f, v
			return false
		}
		i--
		return true
	})
	return field, val
}

// Scan continues an HSCAN from cursor: a listpack hash is returned whole
// with cursor 0, as Redis does; a hashtable as strTable.scan.
func (r HashReader) Scan(cursor uint64, count int, fn func(field, val []byte)) uint64 {
	if r.h.t == nil {
		r.h.each(func(f, v []byte) bool { fn(f, v); return true })
		return 0
	}
	return r.h.t.scan(cursor, count, fn)
}

// HSet sets the field/value pairs and returns how many fields were new.
func (tx *Tx) HSet(db int, key []byte, pairs [][]byte) (int, error) {
	h, err := tx.hashForWrite(db, key)
	if err != nil {
		return 0, err
	}
	h.convertFor(pairs)
	added := 0
	for i := 0; i+1 < len(pairs); i += 2 {
		if h.set(pairs[i], pairs[i+1]) {
			added++
		}
	}
	tx.record(Effect{Op: OpHSet, DB: db, Key: key, Values: pairs})
	return added, nil
}

// HSetNX sets field only if it is missing; reports whether it did.
func (tx *Tx) HSetNX(db int, key, field, val []byte) (bool, error) {
	if err := tx.writable(db, key); err != nil {
		return false, err
	}
	h, err := tx.hashFor(db, key)
	if err != nil {
		return false, err
	}
	if h != nil {
		if _, ok := h.get(field); ok {
			return false, nil
		}
	}
	_, err = tx.HSet(db, key, [][]byte{field, val})
	return err == nil, err
}

// HDel removes fields and returns how many were there; the key goes when
// the hash is empty.
func (tx *Tx) HDel(db int, key []byte, fields [][]byte) (int, error) {
	if err := tx.writable(db, key); err != nil {
		return 0, err
	}
	h, err := tx.hashFor(db, key)
	if err != nil || h == nil {
		return 0, err
	}
	n := 0
	for _, f := range fields {
		if h.del(f) {
			n++
		}
	}
	if n == 0 {
		return 0, nil
	}
	if h.length() == 0 {
		tx.remove(db, key)
		tx.record(Effect{Op: OpDel, DB: db, Key: key})
	} else {
		// Fields that were not there are no-ops on replay too.
		tx.record(Effect{Op: OpHDel, DB: db, Key: key, Values: fields})
	}
	return n, nil
}

// hashIncrLocate returns key's hash and field's current value for an
// increment.
func (tx *Tx) hashIncrLocate(db int, key, field []byte) (h *hashValue, cur []byte, found bool, err error) {
	if err := tx.writable(db, key); err != nil {
		return nil, nil, false, err
	}
	h, err = tx.hashFor(db, key)
	if err != nil || h == nil {
		return h, nil, false, err
	}
	cur, found = h.get(field)
	return h, cur, found, nil
}

// HIncrBy adds delta to field's integer value (0 when missing).
func (tx *Tx) HIncrBy(db int, key, field []byte, delta int64) (int64, error) {
	_, cur, found, err := tx.hashIncrLocate(db, key, field)
	if err != nil {
		return 0, err
	}
	var v int64
	if found {
		var ok bool
		if v, ok = ParseInt(cur); !ok {
			return 0, ErrHashNotInteger
		}
	}
	if (delta < 0 && v < 0 && delta < math.MinInt64-v) || (delta > 0 && v > 0 && delta > math.MaxInt64-v) {
		return 0, ErrOverflow
	}
	v += delta
	// A fresh slice: the effect keeps it while the hash may change again
	// in the same transaction.
	out := strconv.AppendInt(make([]byte, 0, 20), v, 10)
	_, err = tx.HSet(db, key, [][]byte{field, out})
	return v, err
}

// HIncrByFloat adds incr (the client's text) to field's value and returns
// the new value, computed and formatted as INCRBYFLOAT does.
func (tx *Tx) HIncrByFloat(db int, key, field, incr []byte) ([]byte, error) {
	inc, ok := parseLongDouble(incr)
	if !ok {
		return nil, ErrNotFloat
	}
	if inc.IsInf() {
		return nil, ErrIncrNaNOrInf
	}
	_, cur, found, err := tx.hashIncrLocate(db, key, field)
	if err != nil {
		return nil, err
	}
	v := new(big.Float).SetPrec(64)
	if found {
		if v, ok = parseLongDouble(cur); !ok {
			return nil, ErrHashNotFloat
		}
		if v.IsInf() {
			return nil, ErrNaNOrInfinity
		}
	}
	sum := new(big.Float).SetPrec(64).Add(v, inc)
	if exceedsLongDouble(sum) {
		return nil, ErrNaNOrInfinity
	}
	out := []byte(formatLongDouble(sum))
	_, err = tx.HSet(db, key, [][]byte{field, out})
	return out, err
}

// memUsage is the bytes the hash holds (for maxmemory's accounting).
func (h *hashValue) memUsage() int {
	n := int(allocSize(int64(unsafe.Sizeof(*h))))
	if h.t != nil {
		return n + h.t.memBytes()
	}
	return n + int(allocSize(int64(cap(h.lp))))
}
