package snapshot

import (
	"encoding/binary"
	"fmt"
	"math"
)

// The value codecs. A string's value is its bytes; a collection's is a
// count followed by its elements (see the package comment).

// AppendCount starts a collection value of n elements (pairs for a hash
// or a sorted set).
func AppendCount(dst []byte, n int) []byte { return binary.AppendUvarint(dst, uint64(n)) }

// AppendBytes appends one element, field, value or member.
func AppendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// AppendScore appends a sorted-set score, after its member.
func AppendScore(dst []byte, score float64) []byte {
	return binary.LittleEndian.AppendUint64(dst, math.Float64bits(score))
}

// Elems iterates over the elements of a collection value.
type Elems struct {
	t Type
	d decoder
	n int // elements (pairs) left
}

// OpenCollection starts iterating over value, a collection of type t.
func OpenCollection(t Type, value []byte) (*Elems, error) {
	it := &Elems{}
	if err := it.Reset(t, value); err != nil {
		return nil, err
	}
	return it, nil
}

// Reset makes it iterate over value, a collection of type t, so that one
// Elems can serve many values without allocating.
func (it *Elems) Reset(t Type, value []byte) error {
	if t == TypeString || !t.valid() {
		return fmt.Errorf("%w: %v is not a collection type", ErrCorrupt, t)
	}
	it.t = t
	it.d = decoder{b: value}
	min := 1
	if t == TypeHash {
		min = 2
	} else if t == TypeZSet {
		min = 9
	}
	it.n = it.d.count(min)
	if it.d.err != "" {
		return fmt.Errorf("%w: %v value: %s", ErrCorrupt, t, it.d.err)
	}
	return nil
}

// Len is the number of elements (pairs) not yet returned.
func (it *Elems) Len() int { return it.n }

// Next returns the next element of a list or a set, or the next
// field/value or member/score of a hash or a sorted set: a, b and score
// are what the type has (b nil, score 0 when it has not). ok is false at
// the end or on damage; Err tells which.
func (it *Elems) Next() (a, b []byte, score float64, ok bool) {
	if it.n == 0 || it.d.err != "" {
		return nil, nil, 0, false
	}
	it.n--
	a = it.d.bytes()
	switch it.t {
	case TypeHash:
		b = it.d.bytes()
	case TypeZSet:
		if len(it.d.b) < 8 {
			it.d.fail("score")
			return nil, nil, 0, false
		}
		score = math.Float64frombits(binary.LittleEndian.Uint64(it.d.b))
		if math.IsNaN(score) {
			it.d.err = "NaN score"
			return nil, nil, 0, false
		}
		it.d.b = it.d.b[8:]
	}
	if it.d.err != "" {
		return nil, nil, 0, false
	}
	return a, b, score, true
}

// Err reports damage found, including bytes left after the last element
// once all were read.
func (it *Elems) Err() error {
	if it.d.err == "" && it.n == 0 && len(it.d.b) != 0 {
		it.d.err = fmt.Sprintf("%d bytes after the last element", len(it.d.b))
	}
	if it.d.err != "" {
		return fmt.Errorf("%w: %v value: %s", ErrCorrupt, it.t, it.d.err)
	}
	return nil
}

// CheckValue decodes a whole value of type t and reports damage; it
// returns the number of elements (1 for a string).
func CheckValue(t Type, value []byte) (int, error) {
	if t == TypeString {
		return 1, nil
	}
	var it Elems
	if err := it.Reset(t, value); err != nil {
		return 0, err
	}
	n := it.Len()
	for {
		if _, _, _, ok := it.Next(); !ok {
			break
		}
	}
	return n, it.Err()
}
