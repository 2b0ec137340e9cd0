package wal

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"

	"github.com/golang/snappy"
)

// The constants in this block are part of the on-disk format and must not
// be changed: a log written with one value cannot be read with another. A
// change of layout gets a new formatVersion.
const (
	// segmentMagic opens every segment file.
	segmentMagic = "CAIRNWAL"
	// formatVersion is the version of the segment and frame layout.
	formatVersion uint32 = 1
	// segmentHeaderSize is the size of a segment header: magic (8),
	// version (4), first LSN (8), CRC-32C of the preceding 20 bytes (4).
	segmentHeaderSize = 24
	// frameHeaderSize is the size of a frame header: CRC-32C (4), payload
	// length (4), type (1), count (4), first LSN (8), durable offset (8).
	frameHeaderSize = 29

	// frameInvalid is never written: a header of zeros is unwritten
	// space (a file extended by the filesystem but never filled), not data.
	frameInvalid byte = 0
	// frameRaw holds count records, each a uvarint length and its bytes.
	frameRaw byte = 1
	// frameSnappy holds the payload of a frameRaw, snappy-compressed (block
	// format) as a whole.
	frameSnappy byte = 2
	// frameMark holds no records (count 0, empty payload). It is written
	// after the final fsync at Close, so that its durable offset vouches
	// for every frame before it (see "Torn tail or corruption" in doc.go).
	frameMark byte = 3
	// frameSkip holds no payload; its count LSNs, from its first LSN on,
	// are absent on purpose: they were covered by a snapshot newer than the
	// log when the log was reopened (Replay with after > the last LSN).
	frameSkip byte = 4
	// maxFrameType is the highest frame type this version knows.
	maxFrameType = frameSkip

	// MaxFramePayload bounds a frame's stored payload and, for a snappy
	// frame, its decoded payload. A reader rejects a frame claiming more
	// before it allocates anything.
	MaxFramePayload = 1 << 30
	// maxSnappyExpansion bounds decoded/encoded for a snappy payload; the
	// block format cannot expand more than about 21× (a 3-byte copy tag
	// yields at most 64 bytes), so a larger claim is corrupt, and a reader
	// never allocates more than this multiple of what it read.
	maxSnappyExpansion = 32
)

// MaxRecordSize is the largest record Append accepts: one record must fit
// one frame's payload, with its length prefix.
const MaxRecordSize = MaxFramePayload - binary.MaxVarintLen64

// castagnoli is the CRC-32C table every checksum of the format uses.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// segmentName is the file name of the segment whose first LSN is first.
func segmentName(first uint64) string { return fmt.Sprintf("%012d.log", first) }

// parseSegmentName returns the first LSN a segment file name stands for;
// ok is false for names that are not segments (they are ignored).
func parseSegmentName(name string) (first uint64, ok bool) {
	digits, found := strings.CutSuffix(name, ".log")
	if !found || len(digits) < 12 || len(digits) > 20 {
		return 0, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || n == 0 {
		return 0, false
	}
	return n, true
}

// appendSegmentHeader appends the header of a segment whose first LSN is
// first.
func appendSegmentHeader(dst []byte, first uint64) []byte {
	start := len(dst)
	dst = append(dst, segmentMagic...)
	dst = binary.LittleEndian.AppendUint32(dst, formatVersion)
	dst = binary.LittleEndian.AppendUint64(dst, first)
	return binary.LittleEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli))
}

// errVersion reports a segment written by a newer (or unknown) format
// version. It is not corruption: repairing would destroy a good log.
type errVersion struct{ version uint32 }

func (e errVersion) Error() string {
	return fmt.Sprintf("unsupported format version %d (this build reads version %d)", e.version, formatVersion)
}

// checkSegmentHeader validates a segment header in the order magic,
// version, checksum (a different version may checksum differently), then
// its first LSN against the file name. It returns "" if the header is good,
// or why it is not; a version it cannot read is an errVersion.
func checkSegmentHeader(b []byte, nameLSN uint64) (reason string, err error) {
	if len(b) < segmentHeaderSize {
		if isZero(b) {
			return "segment header missing (file is empty or zeros)", nil
		}
		return fmt.Sprintf("segment header truncated (%d of %d bytes)", len(b), segmentHeaderSize), nil
	}
	b = b[:segmentHeaderSize]
	if isZero(b) {
		return "segment header is zeros", nil
	}
	if string(b[:8]) != segmentMagic {
		return "bad magic (not a cairn WAL segment)", nil
	}
	if v := binary.LittleEndian.Uint32(b[8:12]); v != formatVersion {
		return "", errVersion{v}
	}
	if crc32.Checksum(b[:20], castagnoli) != binary.LittleEndian.Uint32(b[20:24]) {
		return "segment header checksum mismatch", nil
	}
	if first := binary.LittleEndian.Uint64(b[12:20]); first != nameLSN {
		return fmt.Sprintf("segment header names first LSN %d, file name says %d", first, nameLSN), nil
	}
	return "", nil
}

// frameHeader is a decoded frame header.
type frameHeader struct {
	// typ is one of frameRaw, frameSnappy, frameMark, frameSkip.
	typ byte
	// length is the stored payload length (after compression).
	length uint32
	// count is the number of LSNs the frame covers: its records, or for a
	// skip frame the LSNs skipped; 0 for a mark.
	count uint32
	// first is the LSN of the frame's first record (for a mark, the LSN the
	// next frame will start at).
	first uint64
	// durable is a promise made when the frame was written: bytes
	// [0, durable) of this segment had been fsynced before.
	durable uint64
}

// appendFrame appends one frame to dst.
func appendFrame(dst []byte, h frameHeader, payload []byte) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0) // CRC, filled in below
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(payload)))
	dst = append(dst, h.typ)
	dst = binary.LittleEndian.AppendUint32(dst, h.count)
	dst = binary.LittleEndian.AppendUint64(dst, h.first)
	dst = binary.LittleEndian.AppendUint64(dst, h.durable)
	dst = append(dst, payload...)
	binary.LittleEndian.PutUint32(dst[start:], crc32.Checksum(dst[start+4:], castagnoli))
	return dst
}

// frameStatus classifies the bytes at an offset where a frame should be.
type frameStatus int

const (
	// frameOK: a whole frame whose checksum and structure are good.
	frameOK frameStatus = iota
	// frameZeros: the header is all zeros (unwritten space).
	frameZeros
	// frameShort: the file ends inside the header or the payload.
	frameShort
	// frameBad: checksum mismatch or an impossible header.
	frameBad
)

// peekFrameHeader decodes the fixed fields of a frame header (b must hold
// frameHeaderSize bytes) without checking the checksum.
func peekFrameHeader(b []byte) frameHeader {
	return frameHeader{
		length:  binary.LittleEndian.Uint32(b[4:8]),
		typ:     b[8],
		count:   binary.LittleEndian.Uint32(b[9:13]),
		first:   binary.LittleEndian.Uint64(b[13:21]),
		durable: binary.LittleEndian.Uint64(b[21:29]),
	}
}

// plausibleHeader reports whether a header could belong to a frame that
// starts at offset off: a cheap filter before a checksum is computed.
func plausibleHeader(h frameHeader, off int64) (reason string) {
	switch {
	case h.typ == frameInvalid || h.typ > maxFrameType:
		return fmt.Sprintf("invalid frame type %d", h.typ)
	case h.length > MaxFramePayload:
		return fmt.Sprintf("frame length %d exceeds the maximum %d", h.length, MaxFramePayload)
	case h.durable > uint64(off):
		return fmt.Sprintf("frame claims %d durable bytes at offset %d", h.durable, off)
	case (h.typ == frameMark || h.typ == frameSkip) && h.length != 0:
		return fmt.Sprintf("frame of type %d has a payload", h.typ)
	case h.typ == frameMark && h.count != 0:
		return "mark frame with records"
	case h.typ != frameMark && h.count == 0:
		return "frame with no records"
	case (h.typ == frameRaw) && h.count > h.length:
		return fmt.Sprintf("%d records cannot fit %d bytes", h.count, h.length)
	case h.first > ^uint64(0)-uint64(h.count):
		return "frame LSN overflows"
	}
	return ""
}

// checkFrame examines the frame at offset off of a segment; b holds the
// bytes from off to the end of the file (or at least the whole frame). On
// frameOK it returns the header and the frame's total size. It checks only
// the checksum and the header; decodePayload checks the records.
func checkFrame(b []byte, off int64) (h frameHeader, size int64, st frameStatus, reason string) {
	if len(b) < frameHeaderSize {
		if isZero(b) {
			return h, 0, frameZeros, "unwritten space (zeros) at the end of the file"
		}
		return h, 0, frameShort, fmt.Sprintf("frame header truncated (%d of %d bytes)", len(b), frameHeaderSize)
	}
	if isZero(b[:frameHeaderSize]) {
		return h, 0, frameZeros, "unwritten space (zeros)"
	}
	h = peekFrameHeader(b)
	if r := plausibleHeader(h, off); r != "" {
		return h, 0, frameBad, r
	}
	size = frameHeaderSize + int64(h.length)
	if int64(len(b)) < size {
		return h, 0, frameShort, fmt.Sprintf("frame of %d bytes extends past the end of the file (%d bytes left)", size, len(b))
	}
	if crc32.Checksum(b[4:size], castagnoli) != binary.LittleEndian.Uint32(b[0:4]) {
		return h, 0, frameBad, "frame checksum mismatch"
	}
	return h, size, frameOK, ""
}

// decodePayload returns the raw payload of a checksum-valid frame (for a
// snappy frame decoded into scratch, which it may grow) after checking that
// it holds exactly h.count well-formed records. A checksum-valid frame that
// fails here was written by a broken writer or collided; it is bad all the
// same.
func decodePayload(h frameHeader, payload []byte, scratch *[]byte) (raw []byte, reason string) {
	switch h.typ {
	case frameMark, frameSkip:
		return nil, ""
	case frameRaw:
		raw = payload
	case frameSnappy:
		n, err := snappy.DecodedLen(payload)
		if err != nil {
			return nil, "snappy payload: " + err.Error()
		}
		if n > MaxFramePayload || n > maxSnappyExpansion*len(payload) {
			return nil, fmt.Sprintf("snappy payload claims %d decoded bytes from %d", n, len(payload))
		}
		if uint64(h.count) > uint64(n) {
			return nil, fmt.Sprintf("%d records cannot fit %d bytes", h.count, n)
		}
		if cap(*scratch) < n {
			*scratch = make([]byte, n)
		}
		raw, err = snappy.Decode((*scratch)[:n], payload)
		if err != nil {
			return nil, "snappy payload: " + err.Error()
		}
	default:
		return nil, fmt.Sprintf("invalid frame type %d", h.typ)
	}
	p := raw
	for i := uint32(0); i < h.count; i++ {
		n, k := binary.Uvarint(p)
		if k <= 0 {
			return nil, fmt.Sprintf("record %d of %d: bad length", i+1, h.count)
		}
		if n > uint64(len(p)-k) {
			return nil, fmt.Sprintf("record %d of %d: length %d exceeds the payload", i+1, h.count, n)
		}
		p = p[k+int(n):]
	}
	if len(p) != 0 {
		return nil, fmt.Sprintf("%d bytes after the last record", len(p))
	}
	return raw, ""
}

// nextRecord splits the first record off a payload checked by
// decodePayload.
func nextRecord(p []byte) (rec, rest []byte) {
	n, k := binary.Uvarint(p)
	return p[k : k+int(n)], p[k+int(n):]
}

func isZero(b []byte) bool {
	// bytes.Count of a single zero byte is vectorised; compare lengths.
	return bytes.Count(b, []byte{0}) == len(b)
}
