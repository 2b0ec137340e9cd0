package wal

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"

	"github.com/cairn-db/cairn/vfs"
)

// ScanInfo describes a log as Scan found it.
type ScanInfo struct {
	// Segments describes every segment file, oldest first.
	Segments []SegmentInfo
	// Records is the number of records read (before any damage).
	Records int
	// FirstLSN and LastLSN are the LSNs of the first and last record read
	// (0 if none).
	FirstLSN, LastLSN uint64
	// Bytes is the total size of the segment files.
	Bytes int64
	// Damage is the first damage found, or nil.
	Damage *Damage
}

// SegmentInfo describes one segment file.
type SegmentInfo struct {
	// File is the segment's path.
	File string
	// Name is the first LSN its file name stands for.
	Name uint64
	// Bytes is the file's size.
	Bytes int64
	// Unwritten counts the zeros at the end of the last segment: space
	// prepared for frames (see preallocated), not damage.
	Unwritten int64
	// Frames and Records count what was read in order, before any damage;
	// Compressed counts the snappy frames among Frames.
	Frames, Records, Compressed int
	// FirstLSN and LastLSN are the LSNs of its first and last record read
	// (0 if none).
	FirstLSN, LastLSN uint64
	// Skipped counts LSNs that skip frames declare absent (covered by a
	// snapshot when the log was reopened).
	Skipped uint64
	// Marked reports whether the segment was read to a mark frame (written
	// at a clean Close) with nothing after it.
	Marked bool
	// Damaged reports that the damage, or bytes after it, lie in this file.
	Damaged bool
}

// Damage is the first bad spot in a log and what lies after it.
type Damage struct {
	// File and Offset locate the first bad frame (Offset 0: the header).
	File   string
	Offset int64
	// Reason says what is wrong there.
	Reason string
	// ExpectedLSN is the LSN the bad frame should have started with.
	ExpectedLSN uint64
	// Torn reports that nothing after the damage proves the damaged bytes
	// were ever fsynced: the tail of a write interrupted by a crash.
	// Replay truncates a torn tail; any other damage is corruption.
	Torn bool
	// Bytes is the number of bytes from Offset to the end of the log,
	// later segments included: what a truncation there removes.
	Bytes int64
	// Frames and Records count the checksum-valid frames, and the records
	// in them, found after the damage (a truncation loses them; the bad
	// frame's own records cannot be counted).
	Frames, Records int
	// Unverified reports that the search for valid frames after the
	// damage gave up (pathological input); the damage then counts as
	// corruption.
	Unverified bool
}

// segRef names a segment file.
type segRef struct {
	name  string
	first uint64
}

// listSegments returns the segment files in dir, ordered by first LSN.
// Other names are ignored.
func listSegments(fs vfs.FS, dir string) ([]segRef, error) {
	names, err := fs.List(dir)
	if err != nil {
		return nil, err
	}
	var refs []segRef
	for _, n := range names {
		if first, ok := parseSegmentName(n); ok {
			refs = append(refs, segRef{name: n, first: first})
		}
	}
	sort.SliceStable(refs, func(i, j int) bool { return refs[i].first < refs[j].first })
	return refs, nil
}

// window reads a file through a buffer: buf holds the file's bytes
// [start, start+len(buf)). It never reads, nor allocates, past the file's
// size.
type window struct {
	f     vfs.File
	size  int64
	buf   []byte
	start int64
}

// readChunk is how much a window reads at once.
const readChunk = 4 << 20

func (w *window) reset(f vfs.File, size int64) {
	w.f, w.size, w.buf, w.start = f, size, w.buf[:0], 0
}

// get returns the file's bytes [off, off+n), cut short at the end of the
// file. The slice is valid until the next call.
func (w *window) get(off, n int64) ([]byte, error) {
	if off >= w.size {
		return nil, nil
	}
	if n > w.size-off {
		n = w.size - off
	}
	if off >= w.start && off+n <= w.start+int64(len(w.buf)) {
		return w.buf[off-w.start : off-w.start+n], nil
	}
	want := max(n, readChunk)
	if want > w.size-off {
		want = w.size - off
	}
	if int64(cap(w.buf)) < want {
		w.buf = make([]byte, want)
	}
	w.buf = w.buf[:want]
	w.start = off
	read := 0
	for int64(read) < want {
		k, err := w.f.ReadAt(w.buf[read:], off+int64(read))
		read += k
		if err != nil {
			if errors.Is(err, io.EOF) && int64(read) == want {
				break
			}
			if errors.Is(err, io.EOF) {
				// The file shrank under us: what is left is what there is.
				w.size = off + int64(read)
				w.buf = w.buf[:read]
				if n > int64(read) {
					n = int64(read)
				}
				return w.buf[:n], nil
			}
			w.buf = w.buf[:0]
			return nil, err
		}
		if k == 0 {
			w.buf = w.buf[:0]
			return nil, io.ErrNoProgress
		}
	}
	return w.buf[:n], nil
}

// frameAt examines the frame at off: it reads the header, and the payload
// only if the header is plausible, so a corrupt length never makes it read
// (or allocate) more than the file holds.
func (w *window) frameAt(off int64) (h frameHeader, frame []byte, st frameStatus, reason string, err error) {
	b, err := w.get(off, frameHeaderSize)
	if err != nil {
		return h, nil, frameBad, "", err
	}
	if len(b) == frameHeaderSize && !isZero(b) {
		if r := plausibleHeader(peekFrameHeader(b), off); r == "" {
			b, err = w.get(off, frameHeaderSize+int64(peekFrameHeader(b).length))
			if err != nil {
				return h, nil, frameBad, "", err
			}
		}
	}
	h, size, st, reason := checkFrame(b, off)
	if st != frameOK {
		return h, nil, st, reason, nil
	}
	return h, b[:size], frameOK, "", nil
}

// scanner walks a log's segments in order. It is shared by Replay, Scan
// and Repair; it never writes.
type scanner struct {
	fs  vfs.FS
	dir string
	w   window
	// scratch receives decoded snappy payloads.
	scratch []byte
	// onRecord receives every record of the valid prefix, in LSN order.
	onRecord func(lsn uint64, rec []byte) error
	// onSkip receives every skip frame of the valid prefix.
	onSkip func(first uint64, count uint32) error
	// onSegment is called before a segment of the valid prefix is read;
	// an error stops the scan.
	onSegment func(ref segRef) error
	// budget bounds the bytes checksummed while looking for valid frames
	// after damage, so a pathological file cannot make that quadratic.
	budget int64
	// coveredThrough lets the scan pass over segments whose LSNs are all
	// at most this (a snapshot holds them) without reading them: the next
	// segment's first LSN bounds them, and a segment is only begun once
	// the one before it is wholly fsynced.
	coveredThrough uint64
}

// scanResult is what a scanner found.
type scanResult struct {
	info ScanInfo
	// next is the LSN expected after the valid prefix (0: no segments).
	next uint64
	// endSeg and endOff locate the end of the valid prefix: segment
	// index (-1: no segment) and offset in it. With damage, this is where
	// the damage starts.
	endSeg int
	endOff int64
	// endMarked reports that the valid prefix ends with a mark frame.
	endMarked bool
	// refs are the segments, as listed.
	refs []segRef
	// covered is set once something after the damage proves that the
	// damaged bytes had been fsynced.
	covered bool
}

// run scans the whole log.
func (s *scanner) run() (*scanResult, error) {
	refs, err := listSegments(s.fs, s.dir)
	if err != nil {
		return nil, err
	}
	r := &scanResult{refs: refs, endSeg: -1}
	for i, ref := range refs {
		path := filepath.Join(s.dir, ref.name)
		f, err := s.fs.Open(path)
		if err != nil {
			return nil, err
		}
		size, err := f.Size()
		if err != nil {
			f.Close()
			return nil, err
		}
		s.w.reset(f, size)
		si := SegmentInfo{File: path, Name: ref.first, Bytes: size}
		if r.info.Damage == nil {
			if s.onSegment != nil {
				if err := s.onSegment(ref); err != nil {
					f.Close()
					return nil, err
				}
			}
			if s.covered(r, i, refs) {
				r.next, r.endSeg, r.endOff, r.endMarked = refs[i+1].first, i, size, false
			} else {
				err = s.readSegment(r, i, ref, &si)
			}
		} else {
			si.Damaged = true
			r.info.Damage.Bytes += size
			err = s.evidence(r, 0)
		}
		f.Close()
		if err != nil {
			return nil, err
		}
		r.info.Bytes += size
		r.info.Segments = append(r.info.Segments, si)
	}
	if d := r.info.Damage; d != nil {
		d.Torn = !r.covered && !d.Unverified
	}
	s.w.reset(nil, 0)
	return r, nil
}

// damage records the first damage, at offset off of segment i, then looks
// for evidence after it in the same segment from offset from on.
func (s *scanner) damage(r *scanResult, i int, si *SegmentInfo, off int64, reason string, from int64) error {
	si.Damaged = true
	r.endSeg, r.endOff, r.endMarked = i, off, false
	r.info.Damage = &Damage{
		File:        si.File,
		Offset:      off,
		Reason:      reason,
		ExpectedLSN: r.next,
		Bytes:       si.Bytes - off,
	}
	return s.evidence(r, from)
}

// covered reports that segment i can be passed over unread: it is where
// the scan expects it, and the next segment begins within the LSNs that
// coveredThrough says are held elsewhere.
func (s *scanner) covered(r *scanResult, i int, refs []segRef) bool {
	ref := refs[i]
	if i+1 >= len(refs) || (r.next != 0 && ref.first != r.next) {
		return false
	}
	next := refs[i+1].first
	return next > ref.first && next <= s.coveredThrough+1
}

// readSegment reads segment i while no damage has been seen.
func (s *scanner) readSegment(r *scanResult, i int, ref segRef, si *SegmentInfo) error {
	hb, err := s.w.get(0, segmentHeaderSize)
	if err != nil {
		return err
	}
	reason, verr := checkSegmentHeader(hb, ref.first)
	if verr != nil {
		return fmt.Errorf("wal: %s: %w", si.File, verr)
	}
	if r.next == 0 {
		r.next = ref.first
	}
	r.endSeg, r.endOff, r.endMarked = i, 0, false
	if reason != "" {
		return s.damage(r, i, si, 0, reason, 1)
	}
	if ref.first != r.next {
		return s.damage(r, i, si, 0, fmt.Sprintf("segment starts at LSN %d, expected LSN %d", ref.first, r.next), segmentHeaderSize)
	}
	off := int64(segmentHeaderSize)
	r.endOff = off
	for off < s.w.size {
		h, frame, st, reason, err := s.w.frameAt(off)
		if err != nil {
			return err
		}
		if st == frameZeros && i == len(r.refs)-1 {
			// Zeros from here to the end of the last segment are the
			// space it was prepared with: the log ends here.
			end, err := s.zeroEnd(off)
			if err != nil {
				return err
			}
			if end == s.w.size {
				si.Unwritten = end - off
				break
			}
		}
		if st != frameOK {
			return s.damage(r, i, si, off, reason, off+1)
		}
		if h.first != r.next {
			// A valid frame in the wrong place: it counts as evidence.
			return s.damage(r, i, si, off, fmt.Sprintf("frame starts at LSN %d, expected LSN %d", h.first, r.next), off)
		}
		raw, reason := decodePayload(h, frame[frameHeaderSize:], &s.scratch)
		if reason != "" {
			return s.damage(r, i, si, off, reason, off+1)
		}
		switch h.typ {
		case frameRaw, frameSnappy:
			if h.typ == frameSnappy {
				si.Compressed++
			}
			if si.Records == 0 {
				si.FirstLSN = h.first
			}
			if r.info.Records == 0 {
				r.info.FirstLSN = h.first
			}
			lsn := h.first
			for p := raw; len(p) > 0; lsn++ {
				var rec []byte
				rec, p = nextRecord(p)
				if s.onRecord != nil {
					if err := s.onRecord(lsn, rec); err != nil {
						return err
					}
				}
			}
			si.Records += int(h.count)
			r.info.Records += int(h.count)
			si.LastLSN = h.first + uint64(h.count) - 1
			r.info.LastLSN = si.LastLSN
		case frameSkip:
			si.Skipped += uint64(h.count)
			if s.onSkip != nil {
				if err := s.onSkip(h.first, h.count); err != nil {
					return err
				}
			}
		}
		si.Frames++
		r.next += uint64(h.count)
		off += int64(len(frame))
		r.endOff, r.endMarked = off, h.typ == frameMark
	}
	si.Marked = r.endMarked
	return nil
}

// evidence looks, from offset from of the current file on, for
// checksum-valid frames after the damage: it counts them, and marks the
// damage covered (corruption, not a torn tail) if one of them vouches for
// the damaged bytes. A file after the damaged one is evidence by its valid
// header alone: a new segment is created only once the previous one is
// wholly fsynced. from == 0 means the file is a later segment.
func (s *scanner) evidence(r *scanResult, from int64) error {
	d := r.info.Damage
	later := from == 0
	if later {
		hb, err := s.w.get(0, segmentHeaderSize)
		if err != nil {
			return err
		}
		if len(hb) == segmentHeaderSize && string(hb[:8]) == segmentMagic {
			// Any version: a newer writer's header is evidence too.
			if reason, verr := checkSegmentHeader(hb, peekHeaderLSN(hb)); verr != nil || reason == "" {
				r.covered = true
				from = segmentHeaderSize
			}
		}
		if from == 0 {
			from = 1
		}
	}
	if s.budget <= 0 {
		s.budget = 1 << 20
	}
	s.budget += 8 * s.w.size
	for off := from; off+frameHeaderSize <= s.w.size; {
		hb, err := s.w.get(off, frameHeaderSize)
		if err != nil {
			return err
		}
		if len(hb) > 8 && hb[8] == 0 {
			// No frame has type 0: none starts at an offset whose type
			// byte lies in this run of zeros (a preallocated segment's
			// unwritten space, say), so pass over it at once.
			end, err := s.zeroEnd(off + 8)
			if err != nil {
				return err
			}
			off = max(off+1, end-8)
			continue
		}
		h := peekFrameHeader(hb)
		if plausibleHeader(h, off) != "" || off+frameHeaderSize+int64(h.length) > s.w.size {
			off++
			continue
		}
		if s.budget -= int64(h.length) + frameHeaderSize; s.budget < 0 {
			d.Unverified = true
			return nil
		}
		h, frame, st, _, err := s.w.frameAt(off)
		if err != nil {
			return err
		}
		if st != frameOK {
			off++
			continue
		}
		if _, reason := decodePayload(h, frame[frameHeaderSize:], &s.scratch); reason != "" {
			off++
			continue
		}
		if later || h.durable > uint64(d.Offset) {
			r.covered = true
		}
		d.Frames++
		if h.typ == frameRaw || h.typ == frameSnappy {
			d.Records += int(h.count)
		}
		off += int64(len(frame))
	}
	return nil
}

// zeroEnd returns the end of the run of zero bytes that starts at off in
// the current file (off itself if that byte is not zero).
func (s *scanner) zeroEnd(off int64) (int64, error) {
	for off < s.w.size {
		b, err := s.w.get(off, readChunk)
		if err != nil {
			return off, err
		}
		if len(b) == 0 {
			break
		}
		rest := bytes.TrimLeft(b, "\x00")
		off += int64(len(b) - len(rest))
		if len(rest) > 0 {
			break
		}
	}
	return off, nil
}

// peekHeaderLSN returns the first-LSN field of a segment header.
func peekHeaderLSN(hb []byte) uint64 {
	var v uint64
	for i := 19; i >= 12; i-- {
		v = v<<8 | uint64(hb[i])
	}
	return v
}

// Scan reads the log in dir without writing anything: it calls fn (if not
// nil) for every record of the valid prefix, in order (rec is valid only
// during the call), and describes every segment and the first damage, if
// any. Damage is reported in the info, not as an error; the error is for
// I/O failures, a format version this build cannot read, and fn's errors.
func Scan(fs vfs.FS, dir string, fn func(lsn uint64, rec []byte) error) (ScanInfo, error) {
	if fs == nil {
		fs = vfs.Default
	}
	s := &scanner{fs: fs, dir: dir, onRecord: fn}
	r, err := s.run()
	if err != nil {
		return ScanInfo{}, err
	}
	return r.info, nil
}
