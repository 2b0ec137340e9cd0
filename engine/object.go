package engine

// ObjectInfo is what OBJECT reports about a key.
type ObjectInfo struct {
	// Encoding is OBJECT ENCODING's answer.
	Encoding string
	// Shared: Redis would answer with one of its shared integer objects
	// (OBJECT REFCOUNT then says 2147483647).
	Shared bool
}

// Redis shares the string objects of the integers 0..objSharedIntegers-1,
// and embeds strings of up to embstrMaxLen bytes in their object.
const (
	objSharedIntegers = 10000
	embstrMaxLen      = 44
)

// Object returns key's OBJECT information; found is false when missing.
//
// A string's encoding is derived from its value as Redis's
// tryObjectEncoding decides it for a value that SET stores: "int" for an
// integer of up to 20 characters, "embstr" up to 44 bytes, else "raw".
// (Redis also answers "raw" for short strings that APPEND or SETRANGE
// built, and "embstr" for an integer that INCRBYFLOAT stored; Cairn does
// not keep a string's history, so it answers from the value.)
func (tx *Tx) Object(db int, key []byte) (info ObjectInfo, found bool, err error) {
	if err := tx.readable(db, key); err != nil {
		return info, false, err
	}
	ent := tx.lookup(db, key)
	if ent == nil {
		return info, false, nil
	}
	if c := ent.collection(); c != nil {
		return ObjectInfo{Encoding: c.encoding()}, true, nil
	}
	s := ent.value()
	if len(s) <= 20 {
		if v, ok := ParseInt(s); ok {
			return ObjectInfo{Encoding: "int", Shared: v >= 0 && v < objSharedIntegers}, true, nil
		}
	}
	if len(s) <= embstrMaxLen {
		return ObjectInfo{Encoding: "embstr"}, true, nil
	}
	return ObjectInfo{Encoding: "raw"}, true, nil
}
