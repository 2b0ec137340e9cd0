package engine

import (
	"encoding/binary"
	"math"
	"unsafe"
)

// zpack is the small form of a sorted set, packed into one allocation as
// Redis packs it into a listpack: a count byte, then for each member in
// order a header (uvarint of its length<<1 | 1 when the score is an
// integer), its bytes, and its score: an integer as a zigzag uvarint,
// any other as 8 bytes of float64, little endian. An empty zpack is the
// empty set.
//
// A zpack is a string: it is never changed in place. An insert or a
// removal builds a new one, so members handed out (zitem.member,
// ZItem.Member) point into it and stay valid, as the strings of the
// array form they replace did, and a clone shares it.
//
// Measured on five 16–40 byte members with integer scores (the cold-start
// benchmark's sets): ~190 bytes of heap per set, where an item array and a
// string per member took ~350.
type zpack string

// zpackIntLimit bounds the integer scores packed as integers: exactly
// representable in a float64.
const zpackIntLimit = 1 << 53

// zpackInt reports whether score is packed as an integer.
func zpackInt(score float64) bool {
	return score == math.Trunc(score) && math.Abs(score) < zpackIntLimit && !(score == 0 && math.Signbit(score))
}

// zpackItemSize is the packed size of member with score.
func zpackItemSize(member []byte, score float64) int {
	if zpackInt(score) {
		return uvarintLen(uint64(len(member))<<1|1) + len(member) + uvarintLen(zigzag(int64(score)))
	}
	return uvarintLen(uint64(len(member))<<1) + len(member) + 8
}

func zigzag(v int64) uint64 { return uint64(v<<1) ^ uint64(v>>63) }

func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// uvarint decodes a uvarint at off.
func (p zpack) uvarint(off int) (uint64, int) {
	var v uint64
	for shift := 0; ; shift += 7 {
		b := p[off]
		off++
		v |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return v, off
		}
	}
}

func (p zpack) count() int {
	if len(p) == 0 {
		return 0
	}
	return int(p[0])
}

// item decodes the member at offset off (1 for the first) and returns the
// offset of the next.
func (p zpack) item(off int) (zitem, int) {
	h, off := p.uvarint(off)
	n := int(h >> 1)
	m := string(p[off : off+n])
	off += n
	if h&1 != 0 {
		u, next := p.uvarint(off)
		return zitem{member: m, score: float64(unzigzag(u))}, next
	}
	var bits uint64
	for i := 7; i >= 0; i-- {
		bits = bits<<8 | uint64(p[off+i])
	}
	return zitem{member: m, score: math.Float64frombits(bits)}, off + 8
}

// offsetOf returns the offset of rank r (len(p) for r == count).
func (p zpack) offsetOf(r int) int {
	off := 1
	for ; r > 0; r-- {
		_, off = p.item(off)
	}
	return off
}

// items appends the members in order to dst (a caller's stack array).
func (p zpack) items(dst []zitem) []zitem {
	for i, off := 0, 1; i < p.count(); i++ {
		var it zitem
		it, off = p.item(off)
		dst = append(dst, it)
	}
	return dst
}

func appendZItem(dst []byte, member []byte, score float64) []byte {
	if zpackInt(score) {
		dst = binary.AppendUvarint(dst, uint64(len(member))<<1|1)
		dst = append(dst, member...)
		return binary.AppendUvarint(dst, zigzag(int64(score)))
	}
	dst = binary.AppendUvarint(dst, uint64(len(member))<<1)
	dst = append(dst, member...)
	return binary.LittleEndian.AppendUint64(dst, math.Float64bits(score))
}

// packed makes a zpack of b, which nothing else may hold.
func packed(b []byte) zpack {
	if len(b) == 0 {
		return ""
	}
	return zpack(unsafe.String(&b[0], len(b)))
}

// with returns a new zpack holding p's members and member (absent from
// p) with score, in order.
func (p zpack) with(member []byte, score float64) zpack {
	it := zitem{member: unsafe.String(unsafe.SliceData(member), len(member)), score: score}
	n := p.count()
	off := 1
	for i := 0; i < n; i++ {
		cur, next := p.item(off)
		if !zless(cur, it) {
			break
		}
		off = next
	}
	if len(p) == 0 {
		p = "\x00"
	}
	q := make([]byte, 0, len(p)+zpackItemSize(member, score))
	q = append(q, p[:off]...)
	q = appendZItem(q, member, score)
	q = append(q, p[off:]...)
	q[0] = byte(n + 1)
	return packed(q)
}

// without returns a new zpack without the members of ranks lo..hi; empty
// when none is left.
func (p zpack) without(lo, hi int) zpack {
	n := p.count()
	if hi-lo+1 >= n {
		return ""
	}
	from := p.offsetOf(lo)
	to := from
	for r := lo; r <= hi; r++ {
		_, to = p.item(to)
	}
	q := make([]byte, 0, len(p)-(to-from))
	q = append(q, p[:from]...)
	q = append(q, p[to:]...)
	q[0] = byte(n - (hi - lo + 1))
	return packed(q)
}

// find returns member's rank and item, or -1.
func (p zpack) find(member []byte) (int, zitem) {
	for i, off := 0, 1; i < p.count(); i++ {
		var it zitem
		it, off = p.item(off)
		if it.member == string(member) {
			return i, it
		}
	}
	return -1, zitem{}
}
