package engine

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unsafe"
)

// The set type.
//
// A set is kept in one of two encodings, as Redis 7.0 keeps it:
//
//   - "intset": while every member is an integer (as Redis's string2ll
//     reads one: canonical decimal within int64) and there are at most
//     setMaxIntsetEntries of them, a sorted []int64;
//   - "hashtable": otherwise, a strTable of members. The conversion is
//     one-way: a set that shrinks stays a hashtable (but SPOP, as in Redis,
//     may rebuild the set it leaves behind; see SPop).
//
// Effects (ops from opSetFirst), and their encoding after the common
// op/db/key prefix (see codec.go):
//
//	OpSAdd  Values = members added, in this order (the set is created if
//	        missing; members already there are no-ops).
//	        fields = count:uvarint bytes*
//	OpSRem  Values = members removed; the key is removed when the set
//	        becomes empty.
//	        fields = count:uvarint bytes*
//
// Both apply the encoding rules above, so replay rebuilds the encoding too.
// A STORE command logs OpDel of the destination, then OpSAdd of the
// result; SPOP logs the members it removed (or, when it rebuilt the set,
// OpDel, OpSAdd of what is left, and OpExpire to keep the TTL).
const (
	OpSAdd Op = opSetFirst + iota
	OpSRem
)

// Redis 7.0's default set-max-intset-entries.
const setMaxIntsetEntries = 512

func appendSetFields(dst []byte, ef *Effect) []byte { return appendValues(dst, ef.Values) }

func decodeSetFields(d *decoder, ef *Effect) bool {
	switch ef.Op {
	case OpSAdd, OpSRem:
		ef.Values = d.values()
		return d.err == nil
	}
	return false
}

func (tx *Tx) applySet(ef *Effect) error {
	ent := tx.raw(ef.DB, ef.Key)
	var s *setValue
	if ent != nil {
		var ok bool
		if s, ok = ent.collection().(*setValue); !ok {
			return fmt.Errorf("engine: apply %v: key holds a %v", ef, ent.kind())
		}
	}
	switch ef.Op {
	case OpSAdd:
		if len(ef.Values) == 0 {
			return nil
		}
		if s == nil {
			s = &setValue{}
			tx.put(ef.DB, newCollEntry(ef.Key, s, 0))
		}
		for _, m := range ef.Values {
			s.add(m)
		}
	case OpSRem:
		if s == nil {
			return nil
		}
		for _, m := range ef.Values {
			s.remove(m)
		}
		if s.length() == 0 {
			tx.remove(ef.DB, ef.Key)
		}
	default:
		return fmt.Errorf("engine: apply: unknown set op %d", ef.Op)
	}
	return nil
}

// setValue is a set: ints (intset encoding) while t is nil.
type setValue struct {
	ints []int64 // sorted ascending, no duplicates
	t    *strTable
}

func (s *setValue) kind() Kind { return KindSet }

func (s *setValue) length() int {
	if s.t != nil {
		return s.t.count
	}
	return len(s.ints)
}

func (s *setValue) encoding() string {
	if s.t != nil {
		return "hashtable"
	}
	return "intset"
}

func (s *setValue) clone() collection {
	if s.t != nil {
		return &setValue{t: s.t.clone()}
	}
	return &setValue{ints: slices.Clone(s.ints)}
}

func (s *setValue) convert() {
	t := newStrTable(false, len(s.ints))
	var buf [20]byte
	for _, v := range s.ints {
		t.add(strconv.AppendInt(buf[:0], v, 10), nil)
	}
	s.t, s.ints = t, nil
}

// add inserts m (copied); reports whether it is new.
func (s *setValue) add(m []byte) bool {
	if s.t == nil {
		if v, ok := ParseInt(m); ok {
			i, found := slices.BinarySearch(s.ints, v)
			if found {
				return false
			}
			s.ints = slices.Insert(s.ints, i, v)
			if len(s.ints) > setMaxIntsetEntries {
				s.convert()
			}
			return true
		}
		s.convert()
	}
	return s.t.set(m, nil)
}

func (s *setValue) has(m []byte) bool {
	if s.t != nil {
		return s.t.has(m)
	}
	v, ok := ParseInt(m)
	if !ok {
		return false
	}
	_, found := slices.BinarySearch(s.ints, v)
	return found
}

func (s *setValue) remove(m []byte) bool {
	if s.t != nil {
		return s.t.remove(m)
	}
	v, ok := ParseInt(m)
	if !ok {
		return false
	}
	i, found := slices.BinarySearch(s.ints, v)
	if found {
		s.ints = slices.Delete(s.ints, i, i+1)
	}
	return found
}

// each calls fn for every member in the set's stable order (ascending for
// an intset, slot order for a hashtable) until fn returns false. An
// intset's members are formatted into a scratch buffer: fn must copy what
// it keeps. This is the iterator snapshots encode a set with.
func (s *setValue) each(fn func(m []byte) bool) {
	if s.t != nil {
		s.t.each(func(k, _ []byte) bool { return fn(k) })
		return
	}
	var buf [20]byte
	for _, v := range s.ints {
		if !fn(strconv.AppendInt(buf[:0], v, 10)) {
			return
		}
	}
}

// members returns every member as a slice that stays valid (a hashtable's
// arena is never overwritten; an intset's members are formatted afresh).
func (s *setValue) members() [][]byte {
	out := make([][]byte, 0, s.length())
	if s.t != nil {
		s.t.each(func(k, _ []byte) bool { out = append(out, k); return true })
		return out
	}
	for _, v := range s.ints {
		out = append(out, strconv.AppendInt(nil, v, 10))
	}
	return out
}

// popRandom removes a uniformly chosen member and returns it (a slice
// that stays valid).
func (s *setValue) popRandom() []byte {
	if s.t != nil {
		m := s.t.keyAt(s.t.randomEntry())
		s.t.remove(m)
		return m
	}
	i := rand.IntN(len(s.ints))
	v := s.ints[i]
	s.ints = slices.Delete(s.ints, i, i+1)
	return strconv.AppendInt(nil, v, 10)
}

// random returns a uniformly chosen member; valid until the set changes
// (an intset's is formatted into buf).
func (s *setValue) random(buf []byte) []byte {
	if s.t != nil {
		return s.t.keyAt(s.t.randomEntry())
	}
	return strconv.AppendInt(buf[:0], s.ints[rand.IntN(len(s.ints))], 10)
}

// String is a deterministic dump (for tests): encoding and sorted members.
func (s *setValue) String() string {
	var ms []string
	s.each(func(m []byte) bool { ms = append(ms, strconv.Quote(string(m))); return true })
	sort.Strings(ms)
	return s.encoding() + "{" + strings.Join(ms, " ") + "}"
}

// setBuilder rebuilds a set from its members (snapshot loading), in the
// encoding given, without duplicate checks.
type setBuilder struct{ s *setValue }

// newSetBuilder starts a set of n members; hashtable says whether it was
// hashtable-encoded (else intset, whose members must come as each gives
// them: ascending integers).
func newSetBuilder(n int, hashtable bool) *setBuilder {
	s := &setValue{}
	if hashtable {
		s.t = newStrTable(false, n)
	} else {
		s.ints = make([]int64, 0, n)
	}
	return &setBuilder{s: s}
}

// add appends a member known not to be in the set yet. For an intset, a
// member that is not an integer or not above the previous one is an
// error (corrupt input), and nothing is added.
func (b *setBuilder) add(m []byte) error {
	if b.s.t != nil {
		b.s.t.add(m, nil)
		return nil
	}
	v, ok := ParseInt(m)
	if !ok || (len(b.s.ints) > 0 && v <= b.s.ints[len(b.s.ints)-1]) {
		return fmt.Errorf("engine: intset member %q out of order or not an integer", m)
	}
	b.s.ints = append(b.s.ints, v)
	return nil
}

// done returns the set (nil when empty).
func (b *setBuilder) done() collection {
	if b.s.length() == 0 {
		return nil
	}
	return b.s
}

// ---- the transaction API ----

func (tx *Tx) setFor(db int, key []byte) (*setValue, error) {
	ent := tx.lookup(db, key)
	if ent == nil {
		return nil, nil
	}
	s, ok := ent.collection().(*setValue)
	if !ok {
		return nil, ErrWrongType
	}
	return s, nil
}

// SetReader reads a set; valid only inside the transaction that returned
// it (and, for a computed set, until that transaction ends).
type SetReader struct{ s *setValue }

// ReadSet returns key's set; found is false when the key is missing.
func (tx *Tx) ReadSet(db int, key []byte) (r SetReader, found bool, err error) {
	if err := tx.readable(db, key); err != nil {
		return r, false, err
	}
	s, err := tx.setFor(db, key)
	if err != nil || s == nil {
		return r, false, err
	}
	return SetReader{s}, true, nil
}

// Len is the number of members (0 for the empty reader).
func (r SetReader) Len() int {
	if r.s == nil {
		return 0
	}
	return r.s.length()
}

// Has reports whether m is a member.
func (r SetReader) Has(m []byte) bool { return r.s != nil && r.s.has(m) }

// Compact reports whether the set is intset-encoded.
func (r SetReader) Compact() bool { return r.s != nil && r.s.t == nil }

// Each calls fn for every member until it returns false; fn must copy a
// member it keeps.
func (r SetReader) Each(fn func(m []byte) bool) {
	if r.s != nil {
		r.s.each(fn)
	}
}

// Random returns a uniformly chosen member (formatted into buf for an
// intset).
func (r SetReader) Random(buf []byte) []byte { return r.s.random(buf) }

// Scan continues an SSCAN from cursor: an intset is returned whole with
// cursor 0, as Redis does.
func (r SetReader) Scan(cursor uint64, count int, fn func(m []byte)) uint64 {
	if r.s.t == nil {
		r.s.each(func(m []byte) bool { fn(m); return true })
		return 0
	}
	return r.s.t.scan(cursor, count, func(k, _ []byte) { fn(k) })
}

// SAdd adds members and returns how many were new.
func (tx *Tx) SAdd(db int, key []byte, members [][]byte) (int, error) {
	if err := tx.writable(db, key); err != nil {
		return 0, err
	}
	s, err := tx.setFor(db, key)
	if err != nil {
		return 0, err
	}
	if s == nil {
		s = &setValue{}
		tx.put(db, newCollEntry(key, s, 0))
	}
	n := 0
	for _, m := range members {
		if s.add(m) {
			n++
		}
	}
	if n > 0 {
		tx.record(Effect{Op: OpSAdd, DB: db, Key: key, Values: members})
	}
	return n, nil
}

// SRem removes members and returns how many were there.
func (tx *Tx) SRem(db int, key []byte, members [][]byte) (int, error) {
	if err := tx.writable(db, key); err != nil {
		return 0, err
	}
	s, err := tx.setFor(db, key)
	if err != nil || s == nil {
		return 0, err
	}
	n := 0
	for _, m := range members {
		if s.remove(m) {
			n++
		}
	}
	if n == 0 {
		return 0, nil
	}
	tx.afterRemove(db, key, s, members)
	return n, nil
}

// afterRemove removes an emptied set's key and records the removal.
func (tx *Tx) afterRemove(db int, key []byte, s *setValue, removed [][]byte) {
	if s.length() == 0 {
		tx.remove(db, key)
		tx.record(Effect{Op: OpDel, DB: db, Key: key})
		return
	}
	tx.record(Effect{Op: OpSRem, DB: db, Key: key, Values: removed})
}

// SPop removes up to count random members and returns them; count < 0
// means one, as SPOP without a count. It follows Redis 7.0's three cases:
// the whole set (the key goes); count*5 <= size: members drawn one by
// one; otherwise the members to keep are drawn into a new set, which
// replaces the old one (and may be an intset again).
func (tx *Tx) SPop(db int, key []byte, count int) ([][]byte, error) {
	if err := tx.writable(db, key); err != nil {
		return nil, err
	}
	s, err := tx.setFor(db, key)
	if err != nil || s == nil || count == 0 {
		return nil, err
	}
	size := s.length()
	if count < 0 {
		m := s.popRandom()
		tx.afterRemove(db, key, s, [][]byte{m})
		return [][]byte{m}, nil
	}
	if count >= size {
		out := s.members()
		tx.remove(db, key)
		tx.record(Effect{Op: OpDel, DB: db, Key: key})
		return out, nil
	}
	if count*5 <= size {
		out := make([][]byte, count)
		for i := range out {
			out[i] = s.popRandom()
		}
		tx.afterRemove(db, key, s, out)
		return out, nil
	}
	keep := make([][]byte, size-count)
	ns := &setValue{}
	for i := range keep {
		keep[i] = s.popRandom()
		ns.add(keep[i])
	}
	out := s.members()
	ent := tx.lookup(db, key)
	ent.setCollection(ns)
	if tx.recording() {
		tx.record(Effect{Op: OpDel, DB: db, Key: key})
		tx.record(Effect{Op: OpSAdd, DB: db, Key: key, Values: keep})
		if ent.expireAt != 0 {
			tx.record(Effect{Op: OpExpire, DB: db, Key: key, ExpireAt: ent.expireAt})
		}
	}
	return out, nil
}

// SMove moves member from src to dst; reports whether it was in src.
func (tx *Tx) SMove(db int, src, dst, member []byte) (bool, error) {
	if err := tx.writable(db, src); err != nil {
		return false, err
	}
	if err := tx.writable(db, dst); err != nil {
		return false, err
	}
	ss, err := tx.setFor(db, src)
	if err != nil {
		return false, err
	}
	ds, err := tx.setFor(db, dst)
	if ss == nil {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if string(src) == string(dst) {
		return ss.has(member), nil
	}
	if !ss.remove(member) {
		return false, nil
	}
	tx.afterRemove(db, src, ss, [][]byte{member})
	if ds == nil {
		ds = &setValue{}
		tx.put(db, newCollEntry(dst, ds, 0))
	}
	if ds.add(member) {
		tx.record(Effect{Op: OpSAdd, DB: db, Key: dst, Values: [][]byte{member}})
	}
	return true, nil
}

// SetOp is what SetCombine computes.
type SetOp int

// Set operations.
const (
	SetInter SetOp = iota
	SetUnion
	SetDiff
)

// readSets returns the sets of keys (nil for a missing key); any key of
// another type is ErrWrongType.
func (tx *Tx) readSets(db int, keys [][]byte) ([]*setValue, error) {
	sets := make([]*setValue, len(keys))
	for i, k := range keys {
		if err := tx.readable(db, k); err != nil {
			return nil, err
		}
		s, err := tx.setFor(db, k)
		if err != nil {
			return nil, err
		}
		sets[i] = s
	}
	return sets, nil
}

// combine computes op over sets; limit > 0 stops an intersection once it
// has that many members.
func combine(op SetOp, sets []*setValue, limit int) *setValue {
	out := &setValue{}
	switch op {
	case SetInter:
		for _, s := range sets {
			if s == nil {
				return out
			}
		}
		order := slices.Clone(sets)
		slices.SortFunc(order, func(a, b *setValue) int { return a.length() - b.length() })
		order[0].each(func(m []byte) bool {
			for _, o := range order[1:] {
				if !o.has(m) {
					return true
				}
			}
			out.add(m)
			return limit <= 0 || out.length() < limit
		})
	case SetUnion:
		for _, s := range sets {
			if s != nil {
				s.each(func(m []byte) bool { out.add(m); return true })
			}
		}
	case SetDiff:
		if sets[0] == nil {
			return out
		}
		sets[0].each(func(m []byte) bool {
			for _, o := range sets[1:] {
				if o != nil && o.has(m) {
					return true
				}
			}
			out.add(m)
			return true
		})
	}
	return out
}

// SetCombine computes op (SINTER, SUNION, SDIFF) over the sets of keys,
// missing keys being empty sets.
func (tx *Tx) SetCombine(db int, op SetOp, keys [][]byte) (SetReader, error) {
	sets, err := tx.readSets(db, keys)
	if err != nil {
		return SetReader{}, err
	}
	return SetReader{combine(op, sets, 0)}, nil
}

// SInterCard returns the size of the intersection, counting up to limit
// (0: no limit).
func (tx *Tx) SInterCard(db int, keys [][]byte, limit int) (int, error) {
	sets, err := tx.readSets(db, keys)
	if err != nil {
		return 0, err
	}
	return combine(SetInter, sets, limit).length(), nil
}

// SetCombineStore stores op over keys' sets in dst (replacing it, TTL
// cleared; an empty result deletes dst) and returns the result's size.
func (tx *Tx) SetCombineStore(db int, op SetOp, dst []byte, keys [][]byte) (int, error) {
	if err := tx.writable(db, dst); err != nil {
		return 0, err
	}
	sets, err := tx.readSets(db, keys)
	if err != nil {
		return 0, err
	}
	res := combine(op, sets, 0)
	existed := tx.lookup(db, dst) != nil
	if existed {
		tx.remove(db, dst)
	}
	if res.length() == 0 {
		if existed {
			tx.record(Effect{Op: OpDel, DB: db, Key: dst})
		}
		return 0, nil
	}
	tx.put(db, newCollEntry(dst, res, 0))
	if tx.recording() {
		tx.record(Effect{Op: OpDel, DB: db, Key: dst})
		tx.record(Effect{Op: OpSAdd, DB: db, Key: dst, Values: res.members()})
	}
	return res.length(), nil
}

// eachMember calls fn for every member, each its own copy (each reuses
// one buffer for an intset's): how the sorted-set commands (ZUNION and
// kin) read a set given as input, each member scoring 1.
func (s *setValue) eachMember(fn func(m []byte) bool) {
	s.each(func(m []byte) bool { return fn(bytes.Clone(m)) })
}

// memUsage is the bytes the set holds (for maxmemory's accounting).
func (s *setValue) memUsage() int {
	n := int(allocSize(int64(unsafe.Sizeof(*s))))
	if s.t != nil {
		return n + s.t.memBytes()
	}
	return n + int(allocSize(int64(8*cap(s.ints))))
}
