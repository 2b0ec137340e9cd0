package snapshot

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/cairn-db/cairn/vfs"
	"github.com/edsrzf/mmap-go"
	"github.com/golang/snappy"
	"github.com/pkg/errors"
)

// WriterOptions configures Create.
type WriterOptions struct {
	// FS is the filesystem; default vfs.Default.
	FS vfs.FS
	// Dir is the directory the snapshot goes to; created if missing.
	Dir string
	// Shards is the number of shards whose stamps the snapshot carries.
	Shards int
	// Created is the creation time in Unix ms, for information.
	Created int64
	// BlockSize is the raw size past which a block is cut. Default 256 KiB.
	BlockSize int
	// Pace, if set, is called between pieces of AddLarge's compression
	// (see compressPaced); the engine passes runtime.Gosched.
	Pace func()
}

// Writer writes a snapshot, one shard at a time: the entries of a shard
// are added (into memory; typically under the shard's lock), then
// EndShard compresses and writes them (without it).
type Writer struct {
	opts  WriterOptions
	fs    vfs.FS
	f     vfs.File
	tmp   string
	off   int64
	index Index
	stats map[[2]int]*Stat
	// lastStat is the entry of stats that count added to last.
	lastStat *Stat
	shard    int // shard being added to; -1 between shards
	// A shard's strings and its collections go to blocks of their own: a
	// loader keeps a block of strings as their memory, and a block of
	// collections (which it copies out) is garbage once loaded.
	streams [2]stream
	comp    []byte
	hdr     [blockHeader]byte
	done    bool
}

type blockCut struct{ end, entries int }

// stream is the entries of one kind a shard holds, cut into blocks.
type stream struct {
	buf    []byte
	cuts   []blockCut
	cutAt  int // start of the block being filled
	nInCut int
}

func (st *stream) reset() {
	st.buf, st.cuts = st.buf[:0], st.cuts[:0]
	st.cutAt, st.nInCut = 0, 0
}

// Create starts a snapshot under a temporary name in opts.Dir.
func Create(opts WriterOptions) (*Writer, error) {
	if opts.FS == nil {
		opts.FS = vfs.Default
	}
	if opts.BlockSize <= 0 {
		opts.BlockSize = 256 << 10
	}
	if opts.Shards <= 0 {
		return nil, errors.New("snapshot: Shards must be positive")
	}
	if err := mkdirDurable(opts.FS, opts.Dir); err != nil {
		return nil, err
	}
	// The directory's own entry must be durable too, or a power loss can
	// take the directory and every snapshot in it.
	if err := opts.FS.SyncDir(filepath.Dir(opts.Dir)); err != nil {
		return nil, errors.Wrapf(err, "fsync directory %s", filepath.Dir(opts.Dir))
	}
	tmp := filepath.Join(opts.Dir, fmt.Sprintf("temp-%d.snap.tmp", opts.Created))
	f, err := opts.FS.Create(tmp)
	if err != nil {
		return nil, errors.Wrapf(err, "create %s", tmp)
	}
	w := &Writer{opts: opts, fs: opts.FS, f: f, tmp: tmp, shard: -1, stats: map[[2]int]*Stat{}}
	w.index.Stamps = make([]uint64, opts.Shards)
	hdr := appendHeader(nil, opts.Shards, opts.Created)
	if _, err := f.Write(hdr); err != nil {
		w.Abort()
		return nil, errors.Wrapf(err, "write %s", tmp)
	}
	w.off = int64(len(hdr))
	return w, nil
}

// BeginShard starts adding the entries of shard.
func (w *Writer) BeginShard(shard int) {
	if w.shard >= 0 || shard < 0 || shard >= w.opts.Shards {
		panic(fmt.Sprintf("snapshot: BeginShard(%d) while in shard %d of %d", shard, w.shard, w.opts.Shards))
	}
	w.shard = shard
	w.streams[0].reset()
	w.streams[1].reset()
}

// AddString adds a string entry. It copies what it keeps.
func (w *Writer) AddString(db int, key []byte, expireAt int64, val []byte) {
	w.Add(db, TypeString, key, expireAt, val)
}

// Add adds an entry whose value is encoded with the value codecs
// (AppendCount and the like; a string's value is its bytes).
func (w *Writer) Add(db int, t Type, key []byte, expireAt int64, value []byte) {
	if w.shard < 0 {
		// BeginShard would drop it silently.
		panic("snapshot: Add outside a shard")
	}
	sm := &w.streams[0]
	if t != TypeString {
		sm = &w.streams[1]
	}
	start := len(sm.buf)
	sm.buf = appendEntry(sm.buf, db, t, key, expireAt, value)
	w.count(db, t, len(sm.buf)-start)
	sm.nInCut++
	if len(sm.buf)-sm.cutAt >= w.opts.BlockSize {
		sm.cuts = append(sm.cuts, blockCut{end: len(sm.buf), entries: sm.nInCut})
		sm.cutAt, sm.nInCut = len(sm.buf), 0
	}
}

// count adds an entry of n bytes to the statistics.
func (w *Writer) count(db int, t Type, n int) {
	st := w.lastStat
	if st == nil || st.DB != db || st.Type != t {
		// Most entries are of the same database and type as the one
		// before; the map lookup cost a million strings 20 ms.
		st = w.stats[[2]int{db, int(t)}]
		if st == nil {
			st = &Stat{DB: db, Type: t}
			w.stats[[2]int{db, int(t)}] = st
		}
		w.lastStat = st
	}
	st.Keys++
	st.Bytes += int64(n)
}

// AddLarge adds one entry, as a block of its own that it writes at once,
// built in memory mapped outside Go's heap and unmapped once written.
// encode appends the value to the empty dst it is given, of capacity
// sizeHint, and returns the value's type; a value longer than sizeHint
// still works, by way of the heap.
//
// Why: a collection of millions of elements encodes to hundreds of
// megabytes, and its encoding, the shard's buffer and the compressed block
// were three copies of it on the heap at once. The heap grew by more than
// the collector's goal in an instant, and each goroutine that allocated
// while the collector marked hundreds of megabytes waited for it: with a
// 3M-element list, a client's SET took up to 0.5-0.8 s during a snapshot.
// Mapped memory is outside the collector's reckoning.
func (w *Writer) AddLarge(db int, key []byte, expireAt int64, sizeHint int, encode func(dst []byte) (Type, []byte, error)) error {
	if w.shard < 0 {
		panic("snapshot: AddLarge outside a shard")
	}
	// The head and the key go right before the value, once its length
	// is known; room for the longest head is kept in front.
	pre := maxEntryHead + len(key)
	m, err := mapAnon(pre + max(sizeHint, 0))
	if err != nil {
		return err
	}
	defer m.Unmap()
	t, v, err := encode(m[pre:pre])
	if err != nil {
		return err
	}
	var raw []byte
	if len(v) == 0 || len(m) > pre && &v[0] == &m[pre] {
		var hb [maxEntryHead]byte
		head := appendEntryHead(hb[:0], db, t, expireAt, len(key), len(v))
		start := pre - len(key) - len(head)
		copy(m[start:], head)
		copy(m[pre-len(key):], key)
		raw = m[start : pre+len(v)]
	} else {
		raw = appendEntry(nil, db, t, key, expireAt, v) // outgrew the hint
	}
	w.count(db, t, len(raw))
	n := snappy.MaxEncodedLen(len(raw))
	if len(raw) > maxBlockLen || n < 0 {
		return errors.Errorf("snapshot: a block of %d bytes exceeds the format's limit of %d", len(raw), maxBlockLen)
	}
	c, err := mapAnon(n)
	if err != nil {
		return err
	}
	defer c.Unmap()
	return w.writeCompressed(raw, compressPaced(c, raw, w.opts.Pace), 1)
}

// paceBytes is how much of a large block compressPaced compresses between
// two calls of its pace function: about a millisecond's work.
const paceBytes = 512 << 10

// compressPaced is snappy.Encode(dst, src) (dst must hold
// snappy.MaxEncodedLen(len(src)) bytes), calling pace, if not nil, after
// every paceBytes of src.
//
// Why: snappy's encoder is assembly, which Go cannot preempt, and a
// collection of a few hundred thousand elements is tens of megabytes,
// compressed in one call: on a server of one P every client waited for it
// (a hash of 330k fields: HSET's slowest reply 43-59 ms during a snapshot,
// 8-9 ms on two Ps). snappy.Encode compresses its input in independent
// pieces of 64 KiB, one after the other behind the length of the whole, so
// compressing the pieces one call each gives the same bytes.
func compressPaced(dst, src []byte, pace func()) []byte {
	if pace == nil || len(src) <= paceBytes {
		return snappy.Encode(dst, src)
	}
	d := binary.PutUvarint(dst, uint64(len(src)))
	var scratch []byte
	for done := 0; len(src) > 0; {
		p := src[:min(len(src), snappyPiece)]
		src = src[len(p):]
		// Encode heads each piece with its own length; only the rest is
		// the piece's part of the whole.
		scratch = snappy.Encode(scratch[:cap(scratch)], p)
		_, h := binary.Uvarint(scratch)
		d += copy(dst[d:], scratch[h:])
		if done += len(p); done >= paceBytes && len(src) > 0 {
			done = 0
			pace()
		}
	}
	return dst[:d]
}

// snappyPiece is the size of the pieces snappy.Encode compresses
// independently (the package's maxBlockSize).
const snappyPiece = 64 << 10

// mapAnon maps n bytes of zeroed memory that is not Go's heap.
func mapAnon(n int) (mmap.MMap, error) {
	m, err := mmap.MapRegion(nil, max(n, 1), mmap.RDWR, mmap.ANON, 0)
	return m, errors.Wrapf(err, "map %d bytes of memory", n)
}

// Buffered is the number of bytes the current shard holds in memory.
func (w *Writer) Buffered() int { return len(w.streams[0].buf) + len(w.streams[1].buf) }

// EndShard stamps the shard with the LSN its entries reflect, and
// compresses and writes them.
func (w *Writer) EndShard(stamp uint64) error {
	if w.shard < 0 {
		panic("snapshot: EndShard outside a shard")
	}
	w.index.Stamps[w.shard] = stamp
	for i := range w.streams {
		sm := &w.streams[i]
		if sm.nInCut > 0 {
			sm.cuts = append(sm.cuts, blockCut{end: len(sm.buf), entries: sm.nInCut})
		}
		start := 0
		for _, c := range sm.cuts {
			if err := w.writeBlock(sm.buf[start:c.end], c.entries); err != nil {
				return err
			}
			start = c.end
			// A snapshot is background work: between blocks, let the
			// goroutines waiting for this P run (see engine's writer).
			runtime.Gosched()
		}
		if cap(sm.buf) > 64<<20 {
			sm.buf = nil // one huge shard should not pin its memory
		}
		if cap(w.comp) > 64<<20 {
			w.comp = nil // nor one huge key's compressed block
		}
	}
	w.shard = -1
	return nil
}

func (w *Writer) writeBlock(raw []byte, entries int) error {
	if len(raw) > maxBlockLen {
		return errors.Errorf("snapshot: a block of %d bytes exceeds the format's limit of %d", len(raw), maxBlockLen)
	}
	w.comp = snappy.Encode(w.comp[:cap(w.comp)], raw)
	return w.writeCompressed(raw, w.comp, entries)
}

// writeCompressed writes a block: comp is raw compressed.
func (w *Writer) writeCompressed(raw, comp []byte, entries int) error {
	binary.LittleEndian.PutUint32(w.hdr[0:], uint32(len(raw)))
	binary.LittleEndian.PutUint32(w.hdr[4:], uint32(len(comp)))
	binary.LittleEndian.PutUint32(w.hdr[8:], checksum(comp))
	if _, err := w.f.Write(w.hdr[:]); err != nil {
		return errors.Wrapf(err, "write %s", w.tmp)
	}
	if _, err := w.f.Write(comp); err != nil {
		return errors.Wrapf(err, "write %s", w.tmp)
	}
	w.index.Blocks = append(w.index.Blocks, BlockInfo{
		Offset: w.off, StoredLen: len(comp), RawLen: len(raw), Shard: w.shard, Entries: entries,
	})
	w.off += blockHeader + int64(len(comp))
	return nil
}

// Commit writes the index and footer, fsyncs the file, renames it to its
// final name (FileName of the largest stamp) and fsyncs the directory.
// It returns the final path.
func (w *Writer) Commit() (string, error) {
	if w.shard >= 0 {
		panic("snapshot: Commit inside a shard")
	}
	for _, st := range w.stats {
		w.index.Stats = append(w.index.Stats, *st)
	}
	sortStats(w.index.Stats)
	ix := w.index.append(nil)
	foot := binary.LittleEndian.AppendUint64(nil, uint64(w.off))
	foot = binary.LittleEndian.AppendUint32(foot, uint32(len(ix)))
	foot = binary.LittleEndian.AppendUint32(foot, checksum(ix))
	foot = append(foot, footerMagic...)
	final := filepath.Join(w.opts.Dir, FileName(w.index.MaxStamp()))
	err := func() error {
		if _, err := w.f.Write(append(ix, foot...)); err != nil {
			return errors.Wrapf(err, "write %s", w.tmp)
		}
		if err := w.f.Sync(); err != nil {
			return errors.Wrapf(err, "fsync %s", w.tmp)
		}
		err := w.f.Close()
		w.f = nil
		if err != nil {
			return errors.Wrapf(err, "close %s", w.tmp)
		}
		if err := w.fs.Rename(w.tmp, final); err != nil {
			return errors.Wrapf(err, "rename %s to %s", w.tmp, final)
		}
		if err := w.fs.SyncDir(w.opts.Dir); err != nil {
			return errors.Wrapf(err, "fsync directory %s", w.opts.Dir)
		}
		return nil
	}()
	if err != nil {
		w.Abort()
		return "", err
	}
	w.done = true
	return final, nil
}

// Index returns the index as written so far (complete after Commit).
func (w *Writer) Index() *Index { return &w.index }

// Abort abandons the snapshot and removes its temporary file.
func (w *Writer) Abort() {
	if w.done {
		return
	}
	w.done = true
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
	w.fs.Remove(w.tmp)
}

func sortStats(s []Stat) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && (s[j].DB < s[j-1].DB || s[j].DB == s[j-1].DB && s[j].Type < s[j-1].Type); j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// mkdirDurable creates dir and its missing parents, and fsyncs the parent
// of each directory it creates: a new directory's name is durable only
// then, and without it a crash after Commit could lose the whole snapshot
// directory (and a caller that trusted Commit would have removed the log
// the snapshot replaces).
func mkdirDurable(fs vfs.FS, dir string) error {
	var missing []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := fs.Stat(d); err == nil {
			break
		} else if !errors.Is(err, os.ErrNotExist) {
			return errors.Wrapf(err, "create snapshot directory %s", dir)
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if err := fs.MkdirAll(dir, 0o755); err != nil {
		return errors.Wrapf(err, "create snapshot directory %s", dir)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		parent := filepath.Dir(missing[i])
		if err := fs.SyncDir(parent); err != nil {
			return errors.Wrapf(err, "fsync directory %s", parent)
		}
	}
	return nil
}
