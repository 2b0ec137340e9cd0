package snapshot

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pkg/errors"
)

// Version is the format version this package writes and reads.
const Version = 1

const (
	headerMagic = "CAIRNSNP"
	footerMagic = "CAIRNEND"
	headerSize  = 32
	blockHeader = 12
	footerSize  = 24
	// indexVersion is the index's own version byte.
	indexVersion = 1
	// maxBlockLen bounds a block's stored and decoded sizes: its header
	// holds them as 32-bit numbers. The writer cuts a block after the
	// entry that takes it past BlockSize, so a block holding a large key
	// (a list of millions of elements) is as large as that key.
	maxBlockLen = 1<<32 - 1
	// maxExpansion bounds how many times larger than its snappy encoding
	// a block decodes: a snappy copy of at most 64 bytes takes 3 or more.
	// The reader holds the index's sizes to it before allocating, so a
	// damaged or crafted file cannot make it allocate more than this many
	// times its own size.
	maxExpansion = 22
)

// ErrCorrupt is what a damaged snapshot file's errors match (errors.Is).
var ErrCorrupt = errors.New("snapshot: corrupt")

// CorruptError names what is wrong with a snapshot file and where.
type CorruptError struct {
	File   string
	Offset int64
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("snapshot %s is corrupt at offset %d: %s", e.File, e.Offset, e.Reason)
}

// Is makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func checksum(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// Type is an entry's value type. The values are part of the format.
type Type uint8

// Value types.
const (
	TypeString Type = 1
	TypeList   Type = 2
	TypeSet    Type = 3
	TypeZSet   Type = 4
	TypeHash   Type = 5
)

// String returns the name Redis's TYPE gives.
func (t Type) String() string {
	switch t {
	case TypeString:
		return "string"
	case TypeList:
		return "list"
	case TypeSet:
		return "set"
	case TypeZSet:
		return "zset"
	case TypeHash:
		return "hash"
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}

func (t Type) valid() bool { return t >= TypeString && t <= TypeHash }

// FileName returns the name of the snapshot that reaches lsn (the largest
// of its shard stamps).
func FileName(lsn uint64) string { return fmt.Sprintf("%012d.snap", lsn) }

// ParseFileName returns the LSN a snapshot file name carries.
func ParseFileName(name string) (uint64, bool) {
	base := filepath.Base(name)
	digits, ok := strings.CutSuffix(base, ".snap")
	if !ok || len(digits) != 12 {
		return 0, false
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	return n, err == nil
}

func appendHeader(dst []byte, shards int, created int64) []byte {
	dst = append(dst, headerMagic...)
	dst = binary.LittleEndian.AppendUint32(dst, Version)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(shards))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(created))
	dst = binary.LittleEndian.AppendUint32(dst, 0)
	return binary.LittleEndian.AppendUint32(dst, checksum(dst[len(dst)-28:]))
}

// BlockInfo is one data block as the index describes it.
type BlockInfo struct {
	Offset    int64 // of the block header
	StoredLen int   // compressed bytes, after the header
	RawLen    int   // decoded bytes
	Shard     int
	Entries   int
}

// Stat counts the keys of one type in one database.
type Stat struct {
	DB    int
	Type  Type
	Keys  int64
	Bytes int64 // encoded key and value bytes
}

// Index is a snapshot's table of contents.
type Index struct {
	// Stamps holds each shard's LSN stamp.
	Stamps []uint64
	Blocks []BlockInfo
	Stats  []Stat
}

// MinStamp and MaxStamp bound the shard stamps: replay starts after
// MinStamp; the file is named by MaxStamp.
func (ix *Index) MinStamp() uint64 {
	if len(ix.Stamps) == 0 {
		return 0
	}
	m := ix.Stamps[0]
	for _, s := range ix.Stamps {
		m = min(m, s)
	}
	return m
}

// MaxStamp is the largest shard stamp.
func (ix *Index) MaxStamp() uint64 {
	var m uint64
	for _, s := range ix.Stamps {
		m = max(m, s)
	}
	return m
}

// Keys is the number of entries in the snapshot.
func (ix *Index) Keys() int64 {
	var n int64
	for _, s := range ix.Stats {
		n += s.Keys
	}
	return n
}

// RawBytes is the size of the snapshot's entries before compression.
func (ix *Index) RawBytes() int64 {
	var n int64
	for _, s := range ix.Stats {
		n += s.Bytes
	}
	return n
}

func (ix *Index) append(dst []byte) []byte {
	dst = append(dst, indexVersion)
	dst = binary.AppendUvarint(dst, uint64(len(ix.Stamps)))
	for _, s := range ix.Stamps {
		dst = binary.AppendUvarint(dst, s)
	}
	dst = binary.AppendUvarint(dst, uint64(len(ix.Blocks)))
	for _, b := range ix.Blocks {
		dst = binary.AppendUvarint(dst, uint64(b.Offset))
		dst = binary.AppendUvarint(dst, uint64(b.StoredLen))
		dst = binary.AppendUvarint(dst, uint64(b.RawLen))
		dst = binary.AppendUvarint(dst, uint64(b.Shard))
		dst = binary.AppendUvarint(dst, uint64(b.Entries))
	}
	dst = binary.AppendUvarint(dst, uint64(len(ix.Stats)))
	for _, s := range ix.Stats {
		dst = binary.AppendUvarint(dst, uint64(s.DB))
		dst = append(dst, byte(s.Type))
		dst = binary.AppendUvarint(dst, uint64(s.Keys))
		dst = binary.AppendUvarint(dst, uint64(s.Bytes))
	}
	return dst
}

// decodeIndex parses an index; dataEnd is where the blocks must end.
func decodeIndex(b []byte, dataEnd int64) (*Index, string) {
	d := decoder{b: b}
	if v := d.byte(); v != indexVersion {
		return nil, fmt.Sprintf("index version %d", v)
	}
	// Every count is bounded by the bytes left, before allocating.
	n := d.count(1)
	ix := &Index{Stamps: make([]uint64, n)}
	for i := range ix.Stamps {
		ix.Stamps[i] = d.uvarint()
	}
	n = d.count(5)
	ix.Blocks = make([]BlockInfo, n)
	next := int64(headerSize)
	for i := range ix.Blocks {
		bl := &ix.Blocks[i]
		bl.Offset = int64(d.uvarint())
		bl.StoredLen = d.int(maxBlockLen)
		bl.RawLen = d.int(maxBlockLen)
		bl.Shard = d.int(len(ix.Stamps) - 1)
		bl.Entries = d.int(bl.RawLen)
		if d.err != "" {
			return nil, d.err
		}
		if bl.RawLen > maxExpansion*bl.StoredLen {
			return nil, fmt.Sprintf("block %d claims %d bytes decoded from %d", i, bl.RawLen, bl.StoredLen)
		}
		if bl.Offset != next {
			return nil, fmt.Sprintf("block %d at offset %d, expected %d", i, bl.Offset, next)
		}
		next += blockHeader + int64(bl.StoredLen)
	}
	if d.err == "" && next != dataEnd {
		return nil, fmt.Sprintf("blocks end at %d, the index starts at %d", next, dataEnd)
	}
	n = d.count(4)
	ix.Stats = make([]Stat, n)
	for i := range ix.Stats {
		s := &ix.Stats[i]
		s.DB = d.int(1 << 20)
		s.Type = Type(d.byte())
		s.Keys = int64(d.int(math.MaxInt))
		s.Bytes = int64(d.int(math.MaxInt))
		if d.err != "" {
			return nil, d.err
		}
		// The writer writes one stat per db and type that has keys, in
		// ascending order.
		if !s.Type.valid() || s.Keys == 0 {
			return nil, fmt.Sprintf("stat %d: %d keys of %v", i, s.Keys, s.Type)
		}
		if p := ix.Stats[max(i-1, 0)]; i > 0 && (s.DB < p.DB || s.DB == p.DB && s.Type <= p.Type) {
			return nil, fmt.Sprintf("stat %d (db %d %v) out of order", i, s.DB, s.Type)
		}
	}
	if d.err == "" && len(d.b) != 0 {
		return nil, fmt.Sprintf("%d trailing bytes in the index", len(d.b))
	}
	if d.err != "" {
		return nil, d.err
	}
	return ix, ""
}

// decoder reads varints and byte strings, remembering the first failure.
type decoder struct {
	b   []byte
	err string
}

func (d *decoder) fail(what string) {
	if d.err == "" {
		d.err = "truncated or malformed " + what
	}
	d.b = nil
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.fail("byte")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// int reads a uvarint no larger than limit.
func (d *decoder) int(limit int) int {
	v := d.uvarint()
	if limit < 0 || v > uint64(limit) {
		d.fail("integer (out of range)")
		return 0
	}
	return int(v)
}

// count reads a count of items each at least minSize bytes long.
func (d *decoder) count(minSize int) int {
	return d.int(len(d.b) / minSize)
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("byte string")
		return nil
	}
	b := d.b[:n:n]
	d.b = d.b[n:]
	return b
}

// appendEntry encodes one entry. The key and the value are adjacent, so
// that a loader can keep both in one piece of the decoded block.
func appendEntry(dst []byte, db int, t Type, key []byte, expireAt int64, value []byte) []byte {
	dst = appendEntryHead(dst, db, t, expireAt, len(key), len(value))
	dst = append(dst, key...)
	return append(dst, value...)
}

// maxEntryHead bounds appendEntryHead's output.
const maxEntryHead = 4*binary.MaxVarintLen64 + 1

// appendEntryHead encodes what precedes an entry's key.
func appendEntryHead(dst []byte, db int, t Type, expireAt int64, keyLen, valueLen int) []byte {
	dst = binary.AppendUvarint(dst, uint64(db))
	dst = append(dst, byte(t))
	dst = binary.AppendVarint(dst, expireAt)
	dst = binary.AppendUvarint(dst, uint64(keyLen))
	return binary.AppendUvarint(dst, uint64(valueLen))
}
