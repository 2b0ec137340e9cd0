package engine

import "unsafe"

// entry is one key and its value. A string entry keeps its key and value
// in one byte block, kv: klen key bytes, then vcap bytes whose first vlen
// are the value. A collection entry is a collEntry, whose kv holds only
// the key. An entry is 32 bytes (plus its kv block) — the engine holds
// one per key, so every byte here is paid millions of times.
//
// kv points into memory the entry owns, or into a decoded snapshot block
// shared with its neighbours (then vcap == vlen, so that growing the value
// moves it out rather than writing over the next key).
type entry struct {
	// expireAt is the absolute expiry in Unix ms; 0 means none.
	expireAt int64
	kv       unsafe.Pointer
	klen     uint32
	vlen     uint32
	vcap     uint32
	// typ never changes; kind() reads it atomically, as the word it
	// shares with acc (see access.go).
	typ Kind
	// acc are the access bits (LRU clock or LFU counter), accessed only
	// as part of the 32-bit word that starts at typ.
	acc [3]byte
}

// collEntry is the entry of a hash, list, set or sorted set. Its entry
// comes first, so a *entry of kind other than string is a *collEntry.
type collEntry struct {
	entry
	coll collection
}

// newStringEntry returns an entry holding copies of key and val.
func newStringEntry(key, val []byte, expireAt int64) *entry {
	return newStringEntryCap(key, val, len(val), expireAt)
}

// newStringEntryCap is newStringEntry with room for the value to grow to
// vcap bytes in place.
func newStringEntryCap(key, val []byte, vcap int, expireAt int64) *entry {
	vcap = max(vcap, len(val))
	ent := &entry{expireAt: expireAt, typ: KindString, klen: uint32(len(key)), vlen: uint32(len(val)), vcap: uint32(vcap)}
	if n := len(key) + vcap; n > 0 {
		buf := make([]byte, n)
		copy(buf, key)
		copy(buf[len(key):], val)
		ent.kv = unsafe.Pointer(&buf[0])
	}
	return ent
}

// newCollEntry returns the entry of a collection under a copy of key.
func newCollEntry(key []byte, c collection, expireAt int64) *entry {
	ce := &collEntry{coll: c}
	ce.expireAt, ce.typ, ce.klen = expireAt, c.kind(), uint32(len(key))
	if len(key) > 0 {
		buf := make([]byte, len(key))
		copy(buf, key)
		ce.kv = unsafe.Pointer(&buf[0])
	}
	return &ce.entry
}

// keyBytes returns the key. It must not be modified.
func (ent *entry) keyBytes() []byte {
	if ent.klen == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(ent.kv), ent.klen)
}

// keyString returns the key as a string sharing the entry's memory.
func (ent *entry) keyString() string {
	if ent.klen == 0 {
		return ""
	}
	return unsafe.String((*byte)(ent.kv), ent.klen)
}

// value returns a string entry's value (capacity: its room to grow). It
// aliases the entry: effects may record it, but a write that changes it
// in place must not when an effect of the same transaction still points
// at it (see setValue).
func (ent *entry) value() []byte {
	if ent.kv == nil || ent.vcap == 0 {
		return []byte{}
	}
	return unsafe.Slice((*byte)(unsafe.Add(ent.kv, ent.klen)), ent.vcap)[:ent.vlen]
}

// setValue makes val (copied) the string value: in place when it fits
// and inPlace allows it (no effect of the transaction may still point at
// the old bytes, nor a caller hold them), otherwise in a new block with
// room for a value of vcap bytes.
func (ent *entry) setValue(val []byte, inPlace bool, vcap int) {
	if inPlace && len(val) <= int(ent.vcap) {
		copy(ent.value()[:len(val)], val)
		ent.vlen = uint32(len(val))
		return
	}
	vcap = max(vcap, len(val))
	key := ent.keyBytes()
	buf := make([]byte, len(key)+vcap)
	copy(buf, key)
	copy(buf[len(key):], val)
	if len(buf) > 0 {
		ent.kv = unsafe.Pointer(&buf[0])
	} else {
		ent.kv = nil
	}
	ent.vlen, ent.vcap = uint32(len(val)), uint32(vcap)
}

// appendValue appends to the string value, growing it amortised. Writing
// past the current value never touches bytes an effect points at.
func (ent *entry) appendValue(b []byte) {
	if len(b) == 0 {
		// Nothing to write; with no room either, the value's address
		// would point past the key's block.
		return
	}
	n := int(ent.vlen) + len(b)
	if n <= int(ent.vcap) {
		copy(unsafe.Slice((*byte)(unsafe.Add(ent.kv, ent.klen)), ent.vcap)[ent.vlen:], b)
		ent.vlen = uint32(n)
		return
	}
	old := ent.value()
	vcap := max(n*2, 16)
	if n > 1<<20 {
		vcap = n + n/4
	}
	key := ent.keyBytes()
	buf := make([]byte, len(key)+vcap)
	copy(buf, key)
	copy(buf[len(key):], old)
	copy(buf[len(key)+len(old):], b)
	ent.kv = unsafe.Pointer(&buf[0])
	ent.vlen, ent.vcap = uint32(n), uint32(vcap)
}

// collection returns a collection entry's value (nil for a string).
func (ent *entry) collection() collection {
	if ent.kind() == KindString {
		return nil
	}
	return (*collEntry)(unsafe.Pointer(ent)).coll
}

// setCollection replaces a collection entry's value with one of the same
// kind.
func (ent *entry) setCollection(c collection) {
	if ent.typ == KindString || c.kind() != ent.typ {
		panic("engine: setCollection on an entry of another kind")
	}
	(*collEntry)(unsafe.Pointer(ent)).coll = c
}

// withKey returns a copy of ent under another key, sharing a collection's
// value (RENAME moves it) and copying a string's.
func (ent *entry) withKey(key []byte) *entry {
	if ent.kind() == KindString {
		return newStringEntry(key, ent.value(), ent.expireAt)
	}
	return newCollEntry(key, ent.collection(), ent.expireAt)
}

// cloneAs returns a deep copy of ent under key (COPY).
func (ent *entry) cloneAs(key []byte) *entry {
	if ent.kind() == KindString {
		return newStringEntry(key, ent.value(), ent.expireAt)
	}
	return newCollEntry(key, ent.collection().clone(), ent.expireAt)
}

// setRange overwrites the string value at off with val, zero-padding a
// gap, in place when inPlace allows and it fits.
func (ent *entry) setRange(off int, val []byte, inPlace bool) {
	need := max(off+len(val), int(ent.vlen))
	if need == 0 {
		return // nothing to write (see appendValue)
	}
	if !inPlace || need > int(ent.vcap) {
		ent.setValue(ent.value(), false, need)
	}
	v := unsafe.Slice((*byte)(unsafe.Add(ent.kv, ent.klen)), ent.vcap)
	clear(v[ent.vlen:need]) // the gap is zero bytes, not what the block held
	copy(v[off:], val)
	ent.vlen = uint32(need)
}
