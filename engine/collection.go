package engine

// collection is the value of a hash, list, set or sorted-set entry. Each
// type implements it in its own file, with its effects (a range of Op
// values, see Op.family) encoded, decoded and applied there too.
type collection interface {
	kind() Kind
	// length is the number of elements. A collection is never stored
	// empty: the write that empties it removes the key, as in Redis.
	length() int
	// clone returns a deep copy, for COPY.
	clone() collection
	// encoding is OBJECT ENCODING's answer ("listpack", "hashtable", …).
	encoding() string
	// memUsage is the bytes the value holds without its entry, for
	// maxmemory's accounting; O(1), as it runs on every write.
	memUsage() int
}
