package snapshot

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"

	"github.com/cairn-db/cairn/vfs"
	"github.com/edsrzf/mmap-go"
	"github.com/golang/snappy"
	"github.com/pkg/errors"
)

// Header is what a snapshot's header says.
type Header struct {
	Version int
	Shards  int
	Created int64 // Unix ms
}

// Reader reads a snapshot file. Its methods may be called concurrently.
type Reader struct {
	Path   string
	Header Header
	Index  *Index
	// Size is the file's size in bytes.
	Size int64

	data []byte
	mm   mmap.MMap
	f    vfs.File
}

// osFiler is a vfs.File backed by an *os.File, which can be mmapped.
type osFiler interface{ OSFile() *os.File }

// Open opens a snapshot and checks its header, footer and index; blocks
// are checked as they are read (Block) or all at once (Verify). A file
// on the operating system's filesystem is mmapped; any other is read
// into memory.
func Open(fs vfs.FS, path string) (*Reader, error) {
	if fs == nil {
		fs = vfs.Default
	}
	f, err := fs.Open(path)
	if err != nil {
		return nil, errors.Wrapf(err, "open snapshot")
	}
	r := &Reader{Path: path, f: f}
	size, err := f.Size()
	if err != nil {
		f.Close()
		return nil, errors.Wrapf(err, "size of %s", path)
	}
	r.Size = size
	if of, ok := f.(osFiler); ok && size > 0 {
		r.mm, err = mmap.Map(of.OSFile(), mmap.RDONLY, 0)
		if err != nil {
			f.Close()
			return nil, errors.Wrapf(err, "mmap %s", path)
		}
		r.data = r.mm
	} else {
		r.data = make([]byte, size)
		// A ReadAt that fills the buffer may still say io.EOF.
		if n, err := f.ReadAt(r.data, 0); err != nil && !(n == len(r.data) && errors.Is(err, io.EOF)) {
			f.Close()
			return nil, errors.Wrapf(err, "read %s", path)
		}
	}
	if err := r.parse(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// OpenBytes reads a snapshot held in memory (for tests and fuzzing).
func OpenBytes(name string, data []byte) (*Reader, error) {
	r := &Reader{Path: name, data: data, Size: int64(len(data))}
	if err := r.parse(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Reader) corrupt(off int64, format string, args ...any) error {
	return &CorruptError{File: r.Path, Offset: off, Reason: fmt.Sprintf(format, args...)}
}

func (r *Reader) parse() error {
	d := r.data
	if len(d) < headerSize+footerSize {
		return r.corrupt(0, "%d bytes is too short for a snapshot", len(d))
	}
	if string(d[:8]) != headerMagic {
		return r.corrupt(0, "not a Cairn snapshot (bad magic)")
	}
	if got, want := binary.LittleEndian.Uint32(d[28:]), checksum(d[:28]); got != want {
		return r.corrupt(0, "header checksum mismatch")
	}
	r.Header = Header{
		Version: int(binary.LittleEndian.Uint32(d[8:])),
		Shards:  int(binary.LittleEndian.Uint32(d[12:])),
		Created: int64(binary.LittleEndian.Uint64(d[16:])),
	}
	if r.Header.Version != Version {
		return r.corrupt(8, "format version %d (this build reads %d)", r.Header.Version, Version)
	}
	foot := d[len(d)-footerSize:]
	footOff := int64(len(d) - footerSize)
	if string(foot[16:]) != footerMagic {
		return r.corrupt(footOff, "no footer: the file is incomplete")
	}
	ixOff := int64(binary.LittleEndian.Uint64(foot))
	ixLen := int64(binary.LittleEndian.Uint32(foot[8:]))
	if ixOff < headerSize || ixOff+ixLen != footOff {
		return r.corrupt(footOff, "footer locates the index at %d+%d", ixOff, ixLen)
	}
	ixb := d[ixOff:footOff]
	if checksum(ixb) != binary.LittleEndian.Uint32(foot[12:]) {
		return r.corrupt(ixOff, "index checksum mismatch")
	}
	ix, reason := decodeIndex(ixb, ixOff)
	if reason != "" {
		return r.corrupt(ixOff, "index: %s", reason)
	}
	if len(ix.Stamps) != r.Header.Shards {
		return r.corrupt(ixOff, "index has %d shard stamps, the header says %d shards", len(ix.Stamps), r.Header.Shards)
	}
	r.Index = ix
	return nil
}

// Block checks block i's checksum and decodes it into dst (grown as
// needed), returning the raw entries.
func (r *Reader) Block(i int, dst []byte) ([]byte, error) {
	bl := r.Index.Blocks[i]
	h := r.data[bl.Offset : bl.Offset+blockHeader]
	rawLen := int(binary.LittleEndian.Uint32(h))
	storedLen := int(binary.LittleEndian.Uint32(h[4:]))
	if rawLen != bl.RawLen || storedLen != bl.StoredLen {
		return nil, r.corrupt(bl.Offset, "block %d header disagrees with the index", i)
	}
	stored := r.data[bl.Offset+blockHeader : bl.Offset+blockHeader+int64(storedLen)]
	if checksum(stored) != binary.LittleEndian.Uint32(h[8:]) {
		return nil, r.corrupt(bl.Offset, "block %d checksum mismatch", i)
	}
	n, err := snappy.DecodedLen(stored)
	if err != nil || n != rawLen {
		return nil, r.corrupt(bl.Offset, "block %d does not decode", i)
	}
	if cap(dst) < rawLen {
		dst = make([]byte, rawLen)
	}
	raw, err := snappy.Decode(dst[:rawLen], stored)
	if err != nil || len(raw) != rawLen {
		return nil, r.corrupt(bl.Offset, "block %d does not decode", i)
	}
	return raw, nil
}

// Entry is one key of a snapshot. Its slices alias the block it came from.
type Entry struct {
	DB       int
	Type     Type
	Key      []byte
	ExpireAt int64 // Unix ms; 0: none
	Value    []byte
}

// Entries iterates over the entries of a decoded block.
type Entries struct {
	d decoder
}

// NewEntries starts iterating over raw, a decoded block.
func NewEntries(raw []byte) Entries { return Entries{d: decoder{b: raw}} }

// Next decodes the next entry into e; false at the end or on damage
// (Err tells).
func (it *Entries) Next(e *Entry) bool {
	if len(it.d.b) == 0 || it.d.err != "" {
		return false
	}
	e.DB = it.d.int(1 << 20)
	e.Type = Type(it.d.byte())
	e.ExpireAt = it.d.varint()
	klen := it.d.uvarint()
	vlen := it.d.uvarint()
	if it.d.err == "" && (klen > uint64(len(it.d.b)) || vlen > uint64(len(it.d.b))-klen) {
		it.d.fail("key or value length")
	}
	if it.d.err == "" {
		e.Key = it.d.b[:klen:klen]
		e.Value = it.d.b[klen : klen+vlen : klen+vlen]
		it.d.b = it.d.b[klen+vlen:]
	}
	if it.d.err == "" && !e.Type.valid() {
		it.d.err = fmt.Sprintf("unknown value type %d", e.Type)
	}
	return it.d.err == ""
}

// Err reports damage found by Next.
func (it *Entries) Err() error {
	if it.d.err != "" {
		return fmt.Errorf("%w: entry: %s", ErrCorrupt, it.d.err)
	}
	return nil
}

// Verify checks every block and every entry: checksums, encodings and
// the counts the index gives. It returns the first problem found.
func (r *Reader) Verify() error {
	var buf []byte
	var e Entry
	var elems Elems
	stats := map[[2]int]int64{}
	size := map[[2]int]int64{}
	for i, bl := range r.Index.Blocks {
		raw, err := r.Block(i, buf)
		if err != nil {
			return err
		}
		buf = raw
		it := NewEntries(raw)
		n := 0
		for left := len(raw); it.Next(&e); left = len(it.d.b) {
			n++
			stats[[2]int{e.DB, int(e.Type)}]++
			size[[2]int{e.DB, int(e.Type)}] += int64(left - len(it.d.b))
			if e.Type != TypeString {
				if err := elems.Reset(e.Type, e.Value); err != nil {
					return r.corrupt(bl.Offset, "block %d entry %d (key %q): %v", i, n, e.Key, err)
				}
				for {
					if _, _, _, ok := elems.Next(); !ok {
						break
					}
				}
				if err := elems.Err(); err != nil {
					return r.corrupt(bl.Offset, "block %d entry %d (key %q): %v", i, n, e.Key, err)
				}
			}
		}
		if err := it.Err(); err != nil {
			return r.corrupt(bl.Offset, "block %d: %v", i, err)
		}
		if n != bl.Entries {
			return r.corrupt(bl.Offset, "block %d has %d entries, the index says %d", i, n, bl.Entries)
		}
	}
	for _, st := range r.Index.Stats {
		if got := stats[[2]int{st.DB, int(st.Type)}]; got != st.Keys {
			return r.corrupt(0, "db %d has %d %v keys, the index says %d", st.DB, got, st.Type, st.Keys)
		}
		if got := size[[2]int{st.DB, int(st.Type)}]; got != st.Bytes {
			return r.corrupt(0, "db %d has %d bytes of %v keys, the index says %d", st.DB, got, st.Type, st.Bytes)
		}
		delete(stats, [2]int{st.DB, int(st.Type)})
	}
	for k, n := range stats {
		return r.corrupt(0, "db %d has %d %v keys the index does not count", k[0], n, Type(k[1]))
	}
	return nil
}

// Close releases the file and its mapping. Slices from Block stay valid
// (they are decoded copies); nothing else read from r does.
func (r *Reader) Close() error {
	var err error
	if r.mm != nil {
		err = r.mm.Unmap()
		r.mm = nil
	}
	if r.f != nil {
		if cerr := r.f.Close(); err == nil {
			err = cerr
		}
		r.f = nil
	}
	r.data = nil
	return err
}
