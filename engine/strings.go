package engine

import (
	"math"
	"math/big"
	"strconv"
	"strings"
)

// MaxStringLen is the largest string value (Redis's proto-max-bulk-len).
const MaxStringLen = 512 << 20

// SetArgs are SET's options, already parsed and validated.
type SetArgs struct {
	NX, XX  bool
	Get     bool // return the old value
	KeepTTL bool
	// ExpireAt is the absolute expiry in Unix ms; 0 means none (the key's
	// TTL is cleared unless KeepTTL).
	ExpireAt int64
}

// SetResult is what SET did.
type SetResult struct {
	Done   bool   // the value was stored (NX/XX allowed it)
	Old    []byte // the previous value, with Get
	HadOld bool   // the key held a string before, with Get
}

// Get returns key's string value; found is false for a missing key.
func (tx *Tx) Get(db int, key []byte) (val []byte, found bool, err error) {
	if err := tx.readable(db, key); err != nil {
		return nil, false, err
	}
	ent := tx.lookup(db, key)
	if ent == nil {
		return nil, false, nil
	}
	if ent.kind() != KindString {
		return nil, false, ErrWrongType
	}
	return ent.value(), true, nil
}

// Set implements SET with its options. With Get, a non-string old value is
// ErrWrongType and nothing is stored.
func (tx *Tx) Set(db int, key, val []byte, a SetArgs) (SetResult, error) {
	var res SetResult
	if err := tx.writable(db, key); err != nil {
		return res, err
	}
	// A collection's entry is replaced, not changed (see setString).
	ent := tx.lookupKeepValue(db, key)
	if a.Get && ent != nil {
		if ent.kind() != KindString {
			return res, ErrWrongType
		}
		res.Old, res.HadOld = ent.value(), true
	}
	if (a.NX && ent != nil) || (a.XX && ent == nil) {
		return res, nil
	}
	exp := a.ExpireAt
	if a.KeepTTL && ent != nil {
		exp = ent.expireAt
	}
	res.Done = true
	// In place unless GET returns the old bytes or an effect of this
	// transaction may point at them.
	inPlace := !a.Get && tx.valuesFree()
	if exp != 0 && exp <= tx.nowMs() {
		// Already expired: the key ends up absent.
		if ent != nil {
			tx.remove(db, key)
			tx.record(Effect{Op: OpDel, DB: db, Key: key})
		}
		return res, nil
	}
	tx.setString(db, key, ent, val, exp, inPlace, 0)
	return res, nil
}

// valuesFree reports whether no effect of this transaction can point at a
// string value yet, so that one may be overwritten in place: an effect
// aliases the value it records until the commit encodes it, and the
// effects of earlier transactions were encoded (copied) at their commit.
func (tx *Tx) valuesFree() bool { return len(tx.effects) == 0 }

// setString stores a copy of val under key with expiry exp, reusing ent
// (key's live entry, or nil) where it can, and records the effect. The
// value is overwritten in place only if inPlace (nobody holds the old
// bytes); vcap is the room to leave for the value to grow.
func (tx *Tx) setString(db int, key []byte, ent *entry, val []byte, exp int64, inPlace bool, vcap int) {
	if ent != nil && ent.kind() == KindString {
		ent.setValue(val, inPlace, vcap)
		tx.setExpire(db, key, ent, exp)
	} else {
		ent = newStringEntryCap(key, val, vcap, exp)
		tx.put(db, ent)
	}
	if tx.recording() {
		tx.record(Effect{Op: OpSet, DB: db, Key: key, Value: ent.value(), ExpireAt: exp})
	}
}

// msetInPlaceMax bounds the keys of an MSET checked for repeats (a
// quadratic scan); a larger one copies every value.
const msetInPlaceMax = 32

// GetDel returns key's string value and deletes the key.
func (tx *Tx) GetDel(db int, key []byte) ([]byte, bool, error) {
	if err := tx.writable(db, key); err != nil {
		return nil, false, err
	}
	ent := tx.lookup(db, key)
	if ent == nil {
		return nil, false, nil
	}
	if ent.kind() != KindString {
		return nil, false, ErrWrongType
	}
	tx.remove(db, key)
	tx.record(Effect{Op: OpDel, DB: db, Key: key})
	return ent.value(), true, nil
}

// ExpireChange says what GETEX does to the TTL.
type ExpireChange struct {
	Set     bool  // change the expiry
	At      int64 // new absolute expiry in Unix ms when Set; 0 with Persist
	Persist bool  // remove the expiry
}

// GetEx returns key's string value and changes its expiry as ch says.
func (tx *Tx) GetEx(db int, key []byte, ch ExpireChange) ([]byte, bool, error) {
	if err := tx.writable(db, key); err != nil {
		return nil, false, err
	}
	ent := tx.lookup(db, key)
	if ent == nil {
		return nil, false, nil
	}
	if ent.kind() != KindString {
		return nil, false, ErrWrongType
	}
	val := ent.value()
	switch {
	case ch.Persist:
		if ent.expireAt != 0 {
			tx.setExpire(db, key, ent, 0)
			tx.record(Effect{Op: OpExpire, DB: db, Key: key})
		}
	case ch.Set:
		tx.expireEntry(db, key, ent, ch.At)
	}
	return val, true, nil
}

// expireEntry sets a live entry's expiry to at, deleting it when at is not
// in the future, and records the effect.
func (tx *Tx) expireEntry(db int, key []byte, ent *entry, at int64) {
	if at <= tx.nowMs() {
		tx.remove(db, key)
		tx.record(Effect{Op: OpDel, DB: db, Key: key})
		return
	}
	tx.setExpire(db, key, ent, at)
	tx.record(Effect{Op: OpExpire, DB: db, Key: key, ExpireAt: at})
}

// MSet stores every pair; with nx, only if none of the keys exists, and then
// reports whether it stored them.
func (tx *Tx) MSet(db int, pairs [][]byte, nx bool) (bool, error) {
	for i := 0; i < len(pairs); i += 2 {
		if err := tx.writable(db, pairs[i]); err != nil {
			return false, err
		}
	}
	if nx {
		for i := 0; i < len(pairs); i += 2 {
			if tx.lookup(db, pairs[i]) != nil {
				return false, nil
			}
		}
	}
	if len(pairs) > 2 {
		tx.prefetch(db, pairs, 2)
	}
	// In place where no effect of this transaction points at the value:
	// none before MSET, and this key not set earlier by the same MSET.
	free := tx.valuesFree() && len(pairs) <= 2*msetInPlaceMax
	for i := 0; i+1 < len(pairs); i += 2 {
		ent := tx.lookup(db, pairs[i])
		inPlace := free
		for j := 0; inPlace && j < i; j += 2 {
			inPlace = string(pairs[j]) != string(pairs[i])
		}
		tx.setString(db, pairs[i], ent, pairs[i+1], 0, inPlace, 0)
	}
	return true, nil
}

// Append appends val to key's string, creating it, and returns the new length.
func (tx *Tx) Append(db int, key, val []byte) (int64, error) {
	if err := tx.writable(db, key); err != nil {
		return 0, err
	}
	ent := tx.lookup(db, key)
	if ent == nil {
		tx.setString(db, key, nil, val, 0, false, 0)
		return int64(len(val)), nil
	}
	if ent.kind() != KindString {
		return 0, ErrWrongType
	}
	if int(ent.vlen)+len(val) > MaxStringLen {
		return 0, ErrStringTooLong
	}
	off := ent.vlen
	// Past the current value: no effect points there.
	ent.appendValue(val)
	// Even an empty APPEND is recorded: for Redis it is a write to the
	// key (it breaks a WATCH), and replaying it changes nothing.
	if tx.recording() {
		tx.record(Effect{Op: OpSetRange, DB: db, Key: key, Offset: int64(off), Value: val})
	}
	return int64(ent.vlen), nil
}

// Strlen returns the length of key's string (0 when missing).
func (tx *Tx) Strlen(db int, key []byte) (int64, error) {
	v, _, err := tx.Get(db, key)
	return int64(len(v)), err
}

// GetRange returns the substring start..end (inclusive, negative from the
// end) as GETRANGE does.
func (tx *Tx) GetRange(db int, key []byte, start, end int64) ([]byte, error) {
	v, found, err := tx.Get(db, key)
	if err != nil || !found {
		return nil, err
	}
	n := int64(len(v))
	if start < 0 && end < 0 && start > end {
		return nil, nil
	}
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	if start < 0 {
		start = 0
	}
	if end < 0 {
		end = 0
	}
	if end >= n {
		end = n - 1
	}
	if n == 0 || start > end {
		return nil, nil
	}
	return v[start : end+1], nil
}

// SetRange overwrites key's string at offset, zero-padding, and returns the
// new length. An empty val on a missing key creates nothing.
func (tx *Tx) SetRange(db int, key []byte, offset int64, val []byte) (int64, error) {
	if err := tx.writable(db, key); err != nil {
		return 0, err
	}
	ent := tx.lookup(db, key)
	if ent != nil && ent.kind() != KindString {
		return 0, ErrWrongType
	}
	cur := 0
	if ent != nil {
		cur = int(ent.vlen)
	}
	if len(val) == 0 {
		return int64(cur), nil
	}
	if offset > MaxStringLen-int64(len(val)) { // no overflow for huge offsets
		return 0, ErrStringTooLong
	}
	if ent == nil {
		ent = newStringEntry(key, nil, 0)
		tx.put(db, ent)
	}
	// Copy on write when an earlier effect of this transaction may point
	// at the current value.
	ent.setRange(int(offset), val, tx.valuesFree())
	if tx.recording() {
		tx.record(Effect{Op: OpSetRange, DB: db, Key: key, Offset: offset, Value: val})
	}
	return int64(ent.vlen), nil
}

// IncrBy adds delta to key's integer value (0 when missing) and returns the
// result; the key's TTL is kept.
func (tx *Tx) IncrBy(db int, key []byte, delta int64) (int64, error) {
	if err := tx.writable(db, key); err != nil {
		return 0, err
	}
	ent := tx.lookup(db, key)
	var cur int64
	if ent != nil {
		if ent.kind() != KindString {
			return 0, ErrWrongType
		}
		v, ok := ParseInt(ent.value())
		if !ok {
			return 0, ErrNotInteger
		}
		cur = v
	}
	if (delta < 0 && cur < 0 && delta < math.MinInt64-cur) ||
		(delta > 0 && cur > 0 && delta > math.MaxInt64-cur) {
		return 0, ErrOverflow
	}
	cur += delta
	var exp int64
	if ent != nil {
		exp = ent.expireAt
	}
	var buf [20]byte
	// In place when nothing may point at the old value (no effect of this
	// transaction), with room for any int64 so the next INCR fits too.
	tx.setString(db, key, ent, strconv.AppendInt(buf[:0], cur, 10), exp, tx.valuesFree(), 20)
	return cur, nil
}

// IncrByFloat adds incr (the client's text) to key's value and returns the
// new value as Redis formats it. Arithmetic is done in 64-bit-mantissa
// binary floating point, as Redis's long double on x86-64 does, so results
// such as 0.1+0.2 print as Redis prints them.
func (tx *Tx) IncrByFloat(db int, key []byte, incr []byte) ([]byte, error) {
	if err := tx.writable(db, key); err != nil {
		return nil, err
	}
	ent := tx.lookup(db, key)
	cur := new(big.Float).SetPrec(64)
	if ent != nil {
		if ent.kind() != KindString {
			return nil, ErrWrongType
		}
		v, ok := parseLongDouble(ent.value())
		if !ok {
			return nil, ErrNotFloat
		}
		cur = v
	}
	inc, ok := parseLongDouble(incr)
	if !ok {
		return nil, ErrNotFloat
	}
	if cur.IsInf() || inc.IsInf() {
		// inf+x is inf and inf-inf is NaN: refused either way.
		return nil, ErrNaNOrInfinity
	}
	sum := new(big.Float).SetPrec(64).Add(cur, inc)
	if exceedsLongDouble(sum) {
		return nil, ErrNaNOrInfinity
	}
	out := []byte(formatLongDouble(sum))
	var exp int64
	if ent != nil {
		exp = ent.expireAt
	}
	tx.setString(db, key, ent, out, exp, false, 0)
	return out, nil
}

// ParseInt parses a Redis integer: optional '-', digits, no leading zeros
// or spaces, within int64 (Redis's string2ll).
func ParseInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	if len(b) == 1 && b[0] == '0' {
		return 0, true
	}
	neg := false
	i := 0
	if b[0] == '-' {
		neg = true
		i = 1
		if len(b) == 1 {
			return 0, false
		}
	}
	if b[i] < '1' || b[i] > '9' {
		return 0, false
	}
	var v uint64
	for ; i < len(b); i++ {
		c := b[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if v > (math.MaxUint64-9)/10 {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return -int64(v), true
	}
	if v > math.MaxInt64 {
		return 0, false
	}
	return int64(v), true
}

// Bounds of the x87 80-bit extended format Redis's long double has on
// x86-64: values beyond maxLongDouble overflow to infinity, nonzero values
// below minLongDouble underflow to zero (strtold's ERANGE; Redis rejects both).
var (
	maxLongDouble = func() *big.Float {
		f := new(big.Float).SetPrec(64).SetMantExp(big.NewFloat(1).SetPrec(64), 16384)
		ulp := new(big.Float).SetPrec(64).SetMantExp(big.NewFloat(1).SetPrec(64), 16384-64)
		return f.Sub(f, ulp)
	}()
	minLongDouble = new(big.Float).SetPrec(64).SetMantExp(big.NewFloat(1).SetPrec(64), -16445)
)

func exceedsLongDouble(f *big.Float) bool {
	a := new(big.Float).Abs(f)
	return a.Cmp(maxLongDouble) > 0
}

// parseLongDouble parses text as Redis's string2ld does with strtold: no
// leading space, nothing after the number, no NaN, no overflow or
// underflow; infinity is accepted (and INCRBYFLOAT then refuses the sum).
func parseLongDouble(b []byte) (*big.Float, bool) {
	if len(b) == 0 || len(b) > 5000 {
		return nil, false
	}
	if isSpace(b[0]) {
		return nil, false
	}
	s := string(b)
	ls := strings.ToLower(s)
	unsigned := strings.TrimLeft(ls, "+-")
	if len(ls)-len(unsigned) > 1 {
		return nil, false
	}
	if unsigned == "inf" || unsigned == "infinity" {
		return new(big.Float).SetInf(ls[0] == '-'), true
	}
	if strings.Contains(ls, "nan") || strings.Contains(s, "_") || strings.Contains(ls, "inf") ||
		strings.HasPrefix(unsigned, "0b") || strings.HasPrefix(unsigned, "0o") {
		return nil, false
	}
	f, _, err := new(big.Float).SetPrec(64).SetMode(big.ToNearestEven).Parse(s, 0)
	if err != nil || f.IsInf() || exceedsLongDouble(f) {
		return nil, false
	}
	if f.Sign() != 0 && new(big.Float).Abs(f).Cmp(minLongDouble) < 0 {
		return nil, false
	}
	return f, true
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// formatLongDouble prints f as Redis's ld2string in human-friendly mode:
// "%.17Lf" with trailing zeros (and a trailing point) removed.
func formatLongDouble(f *big.Float) string {
	s := f.Text('f', 17)
	if strings.IndexByte(s, '.') >= 0 {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}
