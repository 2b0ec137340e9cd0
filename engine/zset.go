package engine

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math"
	"strconv"
	"strings"
	"unsafe"
)

// The sorted-set type. A small set (at most zsetSmallEntries members, none
// longer than zsetSmallValue bytes: Redis's zset-max-listpack-entries and
// -value) is packed into one buffer (zpack.go), searched linearly for a
// member as Redis searches its listpack; OBJECT ENCODING says "listpack".
// A set that outgrows either limit becomes big for good ("skiplist"): a
// map from member to score plus an order-statistic B+tree (zbtree.go) for
// ranks and ranges, O(log n) each. Members are Go strings shared by the
// map and the tree.

const (
	zsetSmallEntries = 128
	zsetSmallValue   = 64
)

// The count of a small set is one byte of its zpack.
var _ [255 - zsetSmallEntries]struct{}

// zsetValue is a sorted set: small (dict == nil, members packed in lp) or
// big.
type zsetValue struct {
	lp zpack // small form
	bf *zbig // big form; nil while small
}

// zbig is a big set: a member's score by member, and the members in
// order. It is its own allocation, so that a small set (most sets) does
// not carry its fields.
type zbig struct {
	dict map[string]float64
	tree zbtree
	// memberBytes is the heap the member strings take (their allocation
	// sizes), kept for memUsage.
	memberBytes int
}

// zsetElemBytes is what a big set's element costs beside its member
// string: its map slot and its B-tree item, at the map's and the tree's
// usual fill (TestZSetMemoryCharge).
const zsetElemBytes = 96

func (z *zsetValue) kind() Kind { return KindZSet }
func (z *zsetValue) big() bool  { return z.bf != nil }

func (z *zsetValue) length() int {
	if z.big() {
		return len(z.bf.dict)
	}
	return z.lp.count()
}

func (z *zsetValue) encoding() string {
	if z.big() {
		return "skiplist"
	}
	return "listpack"
}

func (z *zsetValue) clone() collection {
	c := &zsetValue{}
	if !z.big() {
		c.lp = z.lp // never changed in place
		return c
	}
	// Copied as they are, not rebuilt: re-inserting a million members
	// took 320 ms, which a snapshot's thaw made a writer wait. The
	// members' strings are shared; they are never changed.
	c.bf = &zbig{dict: maps.Clone(z.bf.dict), tree: z.bf.tree.clone(), memberBytes: z.bf.memberBytes}
	return c
}

// memUsage is the bytes the set holds (for maxmemory's accounting).
func (z *zsetValue) memUsage() int {
	n := int(allocSize(int64(unsafe.Sizeof(*z))))
	if z.big() {
		return n + int(allocSize(int64(unsafe.Sizeof(*z.bf)))) + z.length()*zsetElemBytes + z.bf.memberBytes
	}
	return n + int(allocSize(int64(len(z.lp))))
}

// String lists member=score pairs in order (for tests and dumps).
func (z *zsetValue) String() string {
	var b strings.Builder
	b.WriteString("zset")
	if z.big() {
		b.WriteString("(big)")
	}
	b.WriteByte('[')
	i := 0
	z.scan(0, z.length()-1, false, func(it zitem) bool {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%q=%s", it.member, FormatScore(it.score))
		i++
		return true
	})
	b.WriteByte(']')
	return b.String()
}

// toBig switches an empty or small set to the big form.
func (z *zsetValue) toBig(hint int) {
	if z.big() {
		return
	}
	z.bf = &zbig{dict: make(map[string]float64, max(hint, z.lp.count()))}
	for i, off := 0, 1; i < z.lp.count(); i++ {
		var it zitem
		it, off = z.lp.item(off)
		it.member = strings.Clone(it.member) // not pinning the pack
		z.bf.memberBytes += int(allocSize(int64(len(it.member))))
		z.bf.dict[it.member] = it.score
		z.bf.tree.insert(it)
	}
	z.lp = ""
}

// score returns member's score.
func (z *zsetValue) score(member []byte) (float64, bool) {
	if z.big() {
		s, ok := z.bf.dict[string(member)]
		return s, ok
	}
	if r, it := z.lp.find(member); r >= 0 {
		return it.score, true
	}
	return 0, false
}

// insert adds a member that is not present (member is copied).
func (z *zsetValue) insert(member []byte, score float64) {
	if !z.big() && (z.lp.count()+1 > zsetSmallEntries || len(member) > zsetSmallValue) {
		z.toBig(z.lp.count() + 1)
	}
	if !z.big() && score == 0 {
		// A small set stores scores as text in Redis's listpack, where
		// "-0" reads back as the integer 0.
		score = 0
	}
	if !z.big() {
		z.lp = z.lp.with(member, score)
		return
	}
	it := zitem{member: string(member), score: score}
	z.bf.memberBytes += int(allocSize(int64(len(member))))
	z.bf.dict[it.member] = score
	z.bf.tree.insert(it)
}

// remove deletes member; reports whether it was there.
func (z *zsetValue) remove(member []byte) bool {
	if z.big() {
		s, ok := z.bf.dict[string(member)]
		if !ok {
			return false
		}
		z.bf.tree.delete(zitem{member: string(member), score: s})
		delete(z.bf.dict, string(member))
		z.bf.memberBytes -= int(allocSize(int64(len(member))))
		return true
	}
	r, _ := z.lp.find(member)
	if r < 0 {
		return false
	}
	z.lp = z.lp.without(r, r)
	return true
}

// set gives member the score s, adding it if absent.
func (z *zsetValue) set(member []byte, s float64) {
	if old, ok := z.score(member); ok {
		if old == s {
			return
		}
		z.remove(member)
	}
	z.insert(member, s)
}

// at returns the item of rank r.
func (z *zsetValue) at(r int) zitem {
	if z.big() {
		return z.bf.tree.at(r)
	}
	it, _ := z.lp.item(z.lp.offsetOf(r))
	return it
}

// scan walks ranks from..to (inclusive) ascending, or descending when rev.
func (z *zsetValue) scan(from, to int, rev bool, fn func(zitem) bool) {
	if from < 0 {
		from = 0
	}
	if to >= z.length() {
		to = z.length() - 1
	}
	if from > to {
		return
	}
	if z.big() {
		z.bf.tree.scan(from, to, rev, fn)
		return
	}
	if rev {
		var buf [zsetSmallEntries]zitem
		items := z.lp.items(buf[:0])
		for i := to; i >= from; i-- {
			if !fn(items[i]) {
				return
			}
		}
		return
	}
	off := z.lp.offsetOf(from)
	for i := from; i <= to; i++ {
		var it zitem
		it, off = z.lp.item(off)
		if !fn(it) {
			return
		}
	}
}

// countWhile is the number of leading items satisfying pred (monotone).
func (z *zsetValue) countWhile(pred func(zitem) bool) int {
	if z.big() {
		return z.bf.tree.countWhile(pred)
	}
	n := 0
	for off := 1; n < z.lp.count(); n++ {
		var it zitem
		it, off = z.lp.item(off)
		if !pred(it) {
			break
		}
	}
	return n
}

// rank returns member's 0-based rank in ascending order.
func (z *zsetValue) rank(member []byte) (int, bool) {
	s, ok := z.score(member)
	if !ok {
		return 0, false
	}
	it := zitem{member: string(member), score: s}
	return z.countWhile(func(x zitem) bool { return zless(x, it) }), true
}

// each calls fn for each member with its score, in order: the snapshot
// writer's iterator.
func (z *zsetValue) each(fn func(member []byte, score float64) bool) {
	z.scan(0, z.length()-1, false, func(it zitem) bool {
		return fn(unsafe.Slice(unsafe.StringData(it.member), len(it.member)), it.score)
	})
}

// zsetBuilder rebuilds a sorted set from members given in score order
// (newZSetBuilder, add for each, done): the snapshot loader's way in.
type zsetBuilder struct {
	z     *zsetValue
	n     int
	small bool
	pack  []byte // the small form being built
}

// newZSetBuilder starts a set of n members; size is their zpack size
// when known (the small form is then allocated once), else 0.
// It returns a value: a pointer from this call, not inlined, would put
// each builder on the heap (48 bytes of garbage per set loaded).
func newZSetBuilder(n, size int) zsetBuilder {
	b := zsetBuilder{z: &zsetValue{}, n: n, small: n <= zsetSmallEntries}
	if !b.small {
		b.z.toBig(n)
	} else if n > 0 {
		b.pack = make([]byte, 1, 1+size)
	}
	return b
}

// add appends member (copied) with its score; members come in order.
func (b *zsetBuilder) add(member []byte, score float64) {
	if b.small && (len(member) > zsetSmallValue || len(b.pack) > 0 && b.pack[0] == zsetSmallEntries) {
		b.z.lp = packed(b.pack)
		b.z.toBig(b.n)
		b.small, b.pack = false, nil
	}
	if b.small {
		if score == 0 {
			score = 0 // as insert: no -0 in a small set
		}
		if b.pack == nil {
			b.pack = []byte{0}
		}
		b.pack = appendZItem(b.pack, member, score)
		b.pack[0]++
		return
	}
	it := zitem{member: string(member), score: score}
	b.z.bf.memberBytes += int(allocSize(int64(len(member))))
	b.z.bf.dict[it.member] = score
	b.z.bf.tree.insert(it)
}

// done returns the set; nil when empty (never store it).
func (b *zsetBuilder) done() collection {
	if b.small {
		b.z.lp = packed(b.pack)
	}
	if b.z.length() == 0 {
		return nil
	}
	return b.z
}

// ---- scores ----

// FormatScore prints a score as Redis 7.0 replies with it: "inf", "-inf",
// or C's "%.17g".
func FormatScore(f float64) string {
	var buf [32]byte
	return string(AppendScore(buf[:0], f))
}

// AppendScore appends FormatScore(f) to dst.
func AppendScore(dst []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(dst, "inf"...)
	case math.IsInf(f, -1):
		return append(dst, "-inf"...)
	}
	return appendG17(dst, f)
}

// AppendStoredScore appends a score as Redis 7.0's d2string writes it into
// a small set's listpack, which ZSCAN and ZRANDMEMBER of a small set reply
// with as stored: integral values within ±2^62 as integers, others as
// FormatScore.
func AppendStoredScore(dst []byte, f float64) []byte {
	const lim = float64(math.MaxInt64 / 2)
	if f != 0 && f >= -lim && f <= lim && f == math.Trunc(f) {
		return strconv.AppendInt(dst, int64(f), 10)
	}
	return AppendScore(dst, f)
}

// appendG17 formats f as C's printf("%.17g") does: Go's 'g' with an
// explicit precision picks %e or %f by the same rule, strips trailing zeros
// and prints at least two exponent digits, as C does.
func appendG17(dst []byte, f float64) []byte {
	return strconv.AppendFloat(dst, f, 'g', 17, 64)
}

// ---- transactions ----

// Sentinel errors of the list and sorted-set types.
var (
	// ErrNaNScore is an operation whose resulting score is NaN.
	ErrNaNScore = errors.New("engine: resulting score is not a number (NaN)")
	// ErrIndexRange is a list index outside the list (LSET).
	ErrIndexRange = errors.New("engine: index out of range")
)

// zsetFor returns key's sorted set: nil when missing, ErrWrongType for
// another kind.
func (tx *Tx) zsetFor(db int, key []byte) (*zsetValue, error) {
	ent := tx.lookup(db, key)
	if ent == nil {
		return nil, nil
	}
	z, ok := ent.collection().(*zsetValue)
	if !ok {
		return nil, ErrWrongType
	}
	return z, nil
}

// ZAddFlags are ZADD's options.
type ZAddFlags struct {
	NX, XX, GT, LT, CH, Incr bool
}

// ZAddResult is what ZADD did.
type ZAddResult struct {
	Added, Updated int
	// Score is the member's score after ZADD INCR; Done is false when
	// INCR's condition (NX/XX/GT/LT) stopped it (the reply is then nil).
	Score float64
	Done  bool
}

// ZAdd adds or updates members[i] with scores[i] under flags (ZADD,
// ZINCRBY with Incr).
func (tx *Tx) ZAdd(db int, key []byte, scores []float64, members [][]byte, f ZAddFlags) (ZAddResult, error) {
	var res ZAddResult
	if err := tx.writable(db, key); err != nil {
		return res, err
	}
	z, err := tx.zsetFor(db, key)
	if err != nil {
		return res, err
	}
	if z == nil {
		if f.XX {
			return res, nil
		}
		z = &zsetValue{}
		tx.put(db, newCollEntry(key, z, 0))
	}
	for i, m := range members {
		s := scores[i]
		old, exists := z.score(m)
		if exists {
			if f.NX {
				continue
			}
			if f.Incr {
				s += old
				if math.IsNaN(s) {
					if z.length() == 0 {
						tx.remove(db, key)
					}
					return res, ErrNaNScore
				}
			}
			if (f.GT && s <= old) || (f.LT && s >= old) {
				continue
			}
			res.Score, res.Done = s, true
			if s != old {
				z.remove(m)
				z.insert(m, s)
				res.Updated++
				tx.record(Effect{Op: OpZAdd, DB: db, Key: key, Field: m, Score: s})
			}
			continue
		}
		if f.XX {
			continue
		}
		z.insert(m, s)
		res.Added++
		res.Score, res.Done = s, true
		tx.record(Effect{Op: OpZAdd, DB: db, Key: key, Field: m, Score: s})
	}
	if z.length() == 0 {
		tx.remove(db, key) // created for nothing (NX/GT/LT stopped every member)
	}
	return res, nil
}

// ZRem removes members and returns how many were there.
func (tx *Tx) ZRem(db int, key []byte, members [][]byte) (int, error) {
	if err := tx.writable(db, key); err != nil {
		return 0, err
	}
	z, err := tx.zsetFor(db, key)
	if err != nil || z == nil {
		return 0, err
	}
	n := 0
	for i, m := range members {
		if z.remove(m) {
			n++
			tx.record(Effect{Op: OpZRem, DB: db, Key: key, Values: members[i : i+1 : i+1]})
		}
	}
	if z.length() == 0 {
		tx.remove(db, key)
	}
	return n, nil
}

// ZScore returns member's score.
func (tx *Tx) ZScore(db int, key, member []byte) (float64, bool, error) {
	if err := tx.readable(db, key); err != nil {
		return 0, false, err
	}
	z, err := tx.zsetFor(db, key)
	if err != nil || z == nil {
		return 0, false, err
	}
	s, ok := z.score(member)
	return s, ok, nil
}

// ZCard returns the number of members (0 when missing).
func (tx *Tx) ZCard(db int, key []byte) (int, error) {
	if err := tx.readable(db, key); err != nil {
		return 0, err
	}
	z, err := tx.zsetFor(db, key)
	if err != nil || z == nil {
		return 0, err
	}
	return z.length(), nil
}

// ZRank returns member's rank, ascending or (rev) descending.
func (tx *Tx) ZRank(db int, key, member []byte, rev bool) (int, bool, error) {
	if err := tx.readable(db, key); err != nil {
		return 0, false, err
	}
	z, err := tx.zsetFor(db, key)
	if err != nil || z == nil {
		return 0, false, err
	}
	r, ok := z.rank(member)
	if ok && rev {
		r = z.length() - 1 - r
	}
	return r, ok, nil
}

// ZItem is a member and its score, as returned by range reads. Member
// aliases the set's memory: valid until the set is next written.
type ZItem struct {
	Member []byte
	Score  float64
}

func zitemOut(it zitem) ZItem {
	return ZItem{Member: unsafe.Slice(unsafe.StringData(it.member), len(it.member)), Score: it.score}
}

// ZRangeKind says how a ZRange's bounds are read.
type ZRangeKind uint8

// Range kinds.
const (
	ZByRank ZRangeKind = iota
	ZByScore
	ZByLex
)

// ZBound is one end of a score or lex range.
type ZBound struct {
	Score float64
	Lex   []byte
	Excl  bool // exclusive
	Inf   int  // lex: -1 for "-", +1 for "+", 0 for a value
}

// ZRangeSpec is a parsed range: by rank (Start, Stop with Redis's index
// rules, Stop inclusive), by score or by lex (Min, Max), in ascending or
// (Rev) descending order, with LIMIT Offset, Count (Count < 0: all).
type ZRangeSpec struct {
	Kind        ZRangeKind
	Start, Stop int64
	Min, Max    ZBound
	Rev         bool
	Offset      int64
	Count       int64
}

// span returns the ranks [lo, hi] (inclusive, ascending) the spec covers
// before LIMIT and order; empty when lo > hi.
func (z *zsetValue) span(sp *ZRangeSpec) (int, int) {
	n := z.length()
	switch sp.Kind {
	case ZByRank:
		lo, hi, ok := listRange(sp.Start, sp.Stop, n)
		if !ok {
			return 0, -1
		}
		if sp.Rev {
			// Reversed ranks count from the highest score.
			return n - 1 - hi, n - 1 - lo
		}
		return lo, hi
	case ZByScore:
		min, max := sp.Min, sp.Max
		if min.Score > max.Score || (min.Score == max.Score && (min.Excl || max.Excl)) {
			return 0, -1
		}
		lo := z.countWhile(func(x zitem) bool {
			if min.Excl {
				return x.score <= min.Score
			}
			return x.score < min.Score
		})
		hi := z.countWhile(func(x zitem) bool {
			if max.Excl {
				return x.score < max.Score
			}
			return x.score <= max.Score
		}) - 1
		return lo, hi
	default:
		return z.lexSpan(sp.Min, sp.Max)
	}
}

func lexGteMin(m string, b ZBound) bool {
	switch b.Inf {
	case -1:
		return true
	case 1:
		return false
	}
	c := strings.Compare(m, string(b.Lex))
	if b.Excl {
		return c > 0
	}
	return c >= 0
}

func lexLteMax(m string, b ZBound) bool {
	switch b.Inf {
	case -1:
		return false
	case 1:
		return true
	}
	c := strings.Compare(m, string(b.Lex))
	if b.Excl {
		return c < 0
	}
	return c <= 0
}

// lexEmpty reports a lex range that can hold nothing.
func lexEmpty(min, max ZBound) bool {
	if min.Inf == 1 || max.Inf == -1 {
		return true
	}
	if min.Inf != 0 || max.Inf != 0 {
		return false
	}
	c := bytes.Compare(min.Lex, max.Lex)
	return c > 0 || (c == 0 && (min.Excl || max.Excl))
}

// lexSpan finds a lex range. Lex ranges assume equal scores; when scores
// differ the answer is what Redis's listpack walk gives for small sets
// (first member >= min from the head, then while <= max), and the binary
// search's for big ones.
func (z *zsetValue) lexSpan(min, max ZBound) (int, int) {
	n := z.length()
	if n == 0 || lexEmpty(min, max) {
		return 0, -1
	}
	if !z.big() {
		var buf [zsetSmallEntries]zitem
		items := z.lp.items(buf[:0])
		if !lexGteMin(items[n-1].member, min) || !lexLteMax(items[0].member, max) {
			return 0, -1
		}
		lo := 0
		for lo < n && !lexGteMin(items[lo].member, min) {
			lo++
		}
		hi := lo - 1
		for hi+1 < n && lexLteMax(items[hi+1].member, max) {
			hi++
		}
		return lo, hi
	}
	// Redis's zslIsInLexRange: the last member must reach min, the first
	// must not pass max.
	if !lexGteMin(z.at(n-1).member, min) || !lexLteMax(z.at(0).member, max) {
		return 0, -1
	}
	lo := z.countWhile(func(x zitem) bool { return !lexGteMin(x.member, min) })
	hi := z.countWhile(func(x zitem) bool { return lexLteMax(x.member, max) }) - 1
	return lo, hi
}

// lexSpanRev is the descending walk of a small set for a reversed lex
// range: from the tail, the last member <= max, then back while >= min.
func (z *zsetValue) lexSpanRev(min, max ZBound) (int, int) {
	n := z.length()
	if !z.big() && n > 0 && !lexEmpty(min, max) {
		var buf [zsetSmallEntries]zitem
		items := z.lp.items(buf[:0])
		if !lexGteMin(items[n-1].member, min) || !lexLteMax(items[0].member, max) {
			return 0, -1
		}
		hi := n - 1
		for hi >= 0 && !lexLteMax(items[hi].member, max) {
			hi--
		}
		lo := hi + 1
		for lo-1 >= 0 && lexGteMin(items[lo-1].member, min) {
			lo--
		}
		return lo, hi
	}
	return z.lexSpan(min, max)
}

// window applies order and LIMIT to ranks [lo, hi]: it returns the first
// rank to visit and how many to visit, in spec order.
func (sp *ZRangeSpec) window(z *zsetValue) (first, count int) {
	lo, hi := z.span(sp)
	if sp.Kind == ZByLex && sp.Rev {
		lo, hi = z.lexSpanRev(sp.Min, sp.Max)
	}
	if lo > hi {
		return 0, 0
	}
	total := hi - lo + 1
	off := sp.Offset
	if sp.Kind == ZByRank {
		off = 0
	}
	if off < 0 || off >= int64(total) {
		return 0, 0
	}
	count = total - int(off)
	if sp.Kind != ZByRank && sp.Count >= 0 && sp.Count < int64(count) {
		count = int(sp.Count)
	}
	if sp.Rev {
		return hi - int(off), count
	}
	return lo + int(off), count
}

// ZRange calls fn for each item of the range, in the spec's order, after
// calling size with their number. Items alias the set.
func (tx *Tx) ZRange(db int, key []byte, sp *ZRangeSpec, size func(n int), fn func(ZItem)) error {
	if err := tx.readable(db, key); err != nil {
		return err
	}
	z, err := tx.zsetFor(db, key)
	if err != nil {
		return err
	}
	if z == nil {
		size(0)
		return nil
	}
	first, count := sp.window(z)
	size(count)
	if count == 0 {
		return nil
	}
	if sp.Rev {
		z.scan(first-count+1, first, true, func(it zitem) bool { fn(zitemOut(it)); return true })
	} else {
		z.scan(first, first+count-1, false, func(it zitem) bool { fn(zitemOut(it)); return true })
	}
	return nil
}

// ZCount counts the members in a score or lex range.
func (tx *Tx) ZCount(db int, key []byte, sp *ZRangeSpec) (int, error) {
	if err := tx.readable(db, key); err != nil {
		return 0, err
	}
	z, err := tx.zsetFor(db, key)
	if err != nil || z == nil {
		return 0, err
	}
	lo, hi := z.span(sp)
	if lo > hi {
		return 0, nil
	}
	return hi - lo + 1, nil
}

// ZRemRange removes the members of a rank, score or lex range (no LIMIT,
// ascending) and returns how many.
func (tx *Tx) ZRemRange(db int, key []byte, sp *ZRangeSpec) (int, error) {
	if err := tx.writable(db, key); err != nil {
		return 0, err
	}
	z, err := tx.zsetFor(db, key)
	if err != nil || z == nil {
		return 0, err
	}
	lo, hi := z.span(sp)
	if lo > hi {
		return 0, nil
	}
	tx.zremRanks(db, key, z, lo, hi)
	return hi - lo + 1, nil
}

// zremRanks removes ranks lo..hi, records their removal, and removes an
// emptied key.
func (tx *Tx) zremRanks(db int, key []byte, z *zsetValue, lo, hi int) {
	var gone [][]byte
	z.scan(lo, hi, false, func(it zitem) bool {
		gone = append(gone, unsafe.Slice(unsafe.StringData(it.member), len(it.member)))
		return true
	})
	if z.big() {
		for _, m := range gone {
			z.remove(m)
		}
	} else {
		z.lp = z.lp.without(lo, hi)
	}
	tx.record(Effect{Op: OpZRem, DB: db, Key: key, Values: gone})
	if z.length() == 0 {
		tx.remove(db, key)
	}
}

// ZPop removes and returns up to count members with the lowest (or, max,
// highest) scores, in pop order.
func (tx *Tx) ZPop(db int, key []byte, max bool, count int) ([]ZItem, error) {
	if err := tx.writable(db, key); err != nil {
		return nil, err
	}
	z, err := tx.zsetFor(db, key)
	if err != nil || z == nil {
		return nil, err
	}
	n := z.length()
	if count > n {
		count = n
	}
	if count <= 0 {
		return nil, nil
	}
	out := make([]ZItem, 0, count)
	lo, hi := 0, count-1
	if max {
		lo, hi = n-count, n-1
	}
	z.scan(lo, hi, max, func(it zitem) bool { out = append(out, zitemOut(it)); return true })
	tx.zremRanks(db, key, z, lo, hi)
	return out, nil
}

// ZItems returns all members of key's sorted set in order; for a set key
// (ZUNION and kin accept sets), its members with score 1. found is false
// for a missing key.
func (tx *Tx) ZItems(db int, key []byte) ([]ZItem, bool, error) {
	if err := tx.readable(db, key); err != nil {
		return nil, false, err
	}
	ent := tx.lookup(db, key)
	if ent == nil {
		return nil, false, nil
	}
	switch c := ent.collection().(type) {
	case *zsetValue:
		out := make([]ZItem, 0, c.length())
		c.scan(0, c.length()-1, false, func(it zitem) bool { out = append(out, zitemOut(it)); return true })
		return out, true, nil
	case interface {
		eachMember(fn func(m []byte) bool)
	}:
		// A set: every member scores 1.
		var out []ZItem
		c.eachMember(func(m []byte) bool { out = append(out, ZItem{Member: m, Score: 1}); return true })
		return out, true, nil
	}
	return nil, false, ErrWrongType
}

// ZStore replaces dst with a sorted set of items (unique members, any
// order; copied), or deletes it when items is empty: the STORE variants.
// It returns the new cardinality.
func (tx *Tx) ZStore(db int, dst []byte, items []ZItem) (int, error) {
	if err := tx.writable(db, dst); err != nil {
		return 0, err
	}
	if tx.lookup(db, dst) != nil {
		tx.remove(db, dst)
		tx.record(Effect{Op: OpDel, DB: db, Key: dst})
	}
	if len(items) == 0 {
		return 0, nil
	}
	maxLen := 0
	for _, it := range items {
		maxLen = max(maxLen, len(it.Member))
	}
	z := newZSetSized(len(items), maxLen)
	for _, it := range items {
		z.insert(it.Member, it.Score)
	}
	tx.put(db, newCollEntry(dst, z, 0))
	if tx.recording() {
		members := make([][]byte, len(items))
		scores := make([]byte, 8*len(items))
		for i, it := range items {
			members[i] = it.Member
			binary.LittleEndian.PutUint64(scores[8*i:], math.Float64bits(it.Score))
		}
		tx.record(Effect{Op: OpZAddMany, DB: db, Key: dst, Values: members, Value: scores})
	}
	return len(items), nil
}

// newZSetSized returns an empty set in the form a set of n members, the
// longest maxLen bytes, takes (as Redis converts a STORE's result): a big
// one keeps -0 scores, a small one does not, so the choice must be made
// before the members go in, the same way live and in replay.
func newZSetSized(n, maxLen int) *zsetValue {
	z := &zsetValue{}
	if n > zsetSmallEntries || maxLen > zsetSmallValue {
		z.toBig(n)
	}
	return z
}

// ZRandom returns the set for ZRANDMEMBER to pick from (read-only use):
// n members, and at(i) for the i-th in order.
func (tx *Tx) ZRandom(db int, key []byte) (int, func(i int) ZItem, error) {
	if err := tx.readable(db, key); err != nil {
		return 0, nil, err
	}
	z, err := tx.zsetFor(db, key)
	if err != nil || z == nil {
		return 0, nil, err
	}
	return z.length(), func(i int) ZItem { return zitemOut(z.at(i)) }, nil
}

// ZListpack reports whether key holds a small ("listpack") sorted set.
func (tx *Tx) ZListpack(db int, key []byte) bool {
	z, _ := tx.zsetFor(db, key)
	return z != nil && !z.big()
}

// ZSetLen returns key's cardinality or ErrWrongType; 0 when missing (for the
// blocking commands).
func (tx *Tx) ZSetLen(db int, key []byte) (int, error) {
	z, err := tx.zsetFor(db, key)
	if err != nil || z == nil {
		return 0, err
	}
	return z.length(), nil
}

// ---- effects ----

// The sorted-set effect ops. Numbers and encodings are part of the log's
// format: never change them.
const (
	// OpZAdd: member Field now has score Score in Key's set (added or
	// updated; the set is created if missing).
	// fields = member:bytes score:8 bytes (IEEE 754 bits, little endian)
	OpZAdd Op = opZSetFirst + iota
	// OpZAddMany: each Values[i] now has score float64 i of Value (8
	// bytes each, little endian bits), added or updated, in order.
	// fields = count:uvarint (member:bytes)* scores:bytes
	OpZAddMany
	// OpZRem: the members Values left Key's set; an emptied set is
	// removed. fields = count:uvarint member:bytes*
	OpZRem
)

func appendZSetFields(dst []byte, ef *Effect) []byte {
	switch ef.Op {
	case OpZAdd:
		dst = appendBytes(dst, ef.Field)
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(ef.Score))
	case OpZAddMany, OpZRem:
		dst = binary.AppendUvarint(dst, uint64(len(ef.Values)))
		for _, v := range ef.Values {
			dst = appendBytes(dst, v)
		}
		if ef.Op == OpZAddMany {
			dst = appendBytes(dst, ef.Value)
		}
	}
	return dst
}

func decodeZSetFields(d *decoder, ef *Effect) bool {
	switch ef.Op {
	case OpZAdd:
		ef.Field = d.bytes()
		if len(d.b) < 8 {
			d.fail("score")
			return true
		}
		ef.Score = math.Float64frombits(binary.LittleEndian.Uint64(d.b))
		d.b = d.b[8:]
	case OpZAddMany, OpZRem:
		n := d.uvarint()
		if d.err != nil || n > uint64(len(d.b)) {
			return false
		}
		ef.Values = make([][]byte, n)
		for i := range ef.Values {
			ef.Values[i] = d.bytes()
		}
		if ef.Op == OpZAddMany {
			ef.Value = d.bytes()
			if d.err == nil && len(ef.Value) != 8*len(ef.Values) {
				return false
			}
		}
	default:
		return false
	}
	return true
}

func (tx *Tx) applyZSet(ef *Effect) error {
	ent := tx.raw(ef.DB, ef.Key)
	var z *zsetValue
	if ent != nil {
		var ok bool
		if z, ok = ent.collection().(*zsetValue); !ok {
			return fmt.Errorf("engine: apply %v: key holds a %v", ef, ent.kind())
		}
	}
	switch ef.Op {
	case OpZAdd, OpZAddMany:
		if z == nil {
			z = &zsetValue{}
			if ef.Op == OpZAddMany {
				maxLen := 0
				for _, m := range ef.Values {
					maxLen = max(maxLen, len(m))
				}
				z = newZSetSized(len(ef.Values), maxLen)
			}
			tx.put(ef.DB, newCollEntry(ef.Key, z, 0))
		}
		if ef.Op == OpZAdd {
			z.set(ef.Field, ef.Score)
			break
		}
		for i, m := range ef.Values {
			z.set(m, math.Float64frombits(binary.LittleEndian.Uint64(ef.Value[8*i:])))
		}
	case OpZRem:
		if z == nil {
			return fmt.Errorf("engine: apply zrem: no sorted set at %q", ef.Key)
		}
		for _, m := range ef.Values {
			z.remove(m)
		}
	default:
		return fmt.Errorf("engine: apply: unknown op %d", ef.Op)
	}
	if z.length() == 0 {
		tx.remove(ef.DB, ef.Key)
	}
	return nil
}
