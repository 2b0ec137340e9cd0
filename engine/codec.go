package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The encoding of a transaction's effects as one write-ahead-log record.
// It is part of the on-disk format: never change the meaning of a byte.
//
//	record  := version:byte count:uvarint effect*
//	effect  := op:byte db:uvarint key:bytes fields(op)
//	bytes   := len:uvarint data
//	fields(OpSet)      = value:bytes expireAt:varint
//	fields(OpDel)      = (none)
//	fields(OpExpire)   = expireAt:varint
//	fields(OpSetRange) = offset:uvarint value:bytes
//	fields(OpRename)   = key2:bytes
//	fields(OpCopy)     = db2:uvarint key2:bytes
//	fields(OpMove)     = db2:uvarint
//	fields(OpFlushDB)  = (none; key is empty)
//	fields(OpFlushAll) = (none; db 0, key empty)
//	fields(OpRestore)  = type:byte expireAt:varint value:bytes
//	fields(op 16..79)  = as the collection type's file documents
const codecVersion = 1

// ErrBadRecord is a log record that does not decode.
var ErrBadRecord = errors.New("engine: bad effects record")

// AppendEffects appends the encoding of effects to dst.
func AppendEffects(dst []byte, effects []Effect) []byte {
	dst = append(dst, codecVersion)
	dst = binary.AppendUvarint(dst, uint64(len(effects)))
	for i := range effects {
		ef := &effects[i]
		dst = append(dst, byte(ef.Op))
		dst = binary.AppendUvarint(dst, uint64(ef.DB))
		dst = appendBytes(dst, ef.Key)
		switch ef.Op {
		case OpSet:
			dst = appendBytes(dst, ef.Value)
			dst = binary.AppendVarint(dst, ef.ExpireAt)
		case OpExpire:
			dst = binary.AppendVarint(dst, ef.ExpireAt)
		case OpSetRange:
			dst = binary.AppendUvarint(dst, uint64(ef.Offset))
			dst = appendBytes(dst, ef.Value)
		case OpRename:
			dst = appendBytes(dst, ef.Key2)
		case OpCopy:
			dst = binary.AppendUvarint(dst, uint64(ef.DB2))
			dst = appendBytes(dst, ef.Key2)
		case OpMove:
			dst = binary.AppendUvarint(dst, uint64(ef.DB2))
		case OpRestore:
			dst = append(dst, byte(ef.Offset))
			dst = binary.AppendVarint(dst, ef.ExpireAt)
			dst = appendBytes(dst, ef.Value)
		default:
			switch ef.Op.family() {
			case KindHash:
				dst = appendHashFields(dst, ef)
			case KindSet:
				dst = appendSetFields(dst, ef)
			case KindList:
				dst = appendListFields(dst, ef)
			case KindZSet:
				dst = appendZSetFields(dst, ef)
			}
		}
	}
	return dst
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// DecodeEffects decodes a record made by AppendEffects. The effects' byte
// slices alias rec.
func DecodeEffects(rec []byte) ([]Effect, error) {
	d := decoder{b: rec}
	if v := d.byte(); v != codecVersion {
		return nil, fmt.Errorf("%w: version %d", ErrBadRecord, v)
	}
	n := d.uvarint()
	// Each effect takes at least 3 bytes: bound the count before allocating.
	if d.err != nil || n > uint64(len(rec))/3 {
		return nil, fmt.Errorf("%w: effect count", ErrBadRecord)
	}
	out := make([]Effect, n)
	for i := range out {
		ef := &out[i]
		ef.Op = Op(d.byte())
		ef.DB = d.smallInt()
		ef.Key = d.bytes()
		switch ef.Op {
		case OpSet:
			ef.Value = d.bytes()
			ef.ExpireAt = d.varint()
		case OpDel, OpFlushDB, OpFlushAll:
		case OpExpire:
			ef.ExpireAt = d.varint()
		case OpSetRange:
			ef.Offset = int64(d.smallInt())
			ef.Value = d.bytes()
		case OpRename:
			ef.Key2 = d.bytes()
		case OpCopy:
			ef.DB2 = d.smallInt()
			ef.Key2 = d.bytes()
		case OpMove:
			ef.DB2 = d.smallInt()
		case OpRestore:
			ef.Offset = int64(d.byte())
			ef.ExpireAt = d.varint()
			ef.Value = d.bytes()
		default:
			ok := false
			switch ef.Op.family() {
			case KindHash:
				ok = decodeHashFields(&d, ef)
			case KindSet:
				ok = decodeSetFields(&d, ef)
			case KindList:
				ok = decodeListFields(&d, ef)
			case KindZSet:
				ok = decodeZSetFields(&d, ef)
			}
			if !ok {
				return nil, fmt.Errorf("%w: op %d", ErrBadRecord, ef.Op)
			}
		}
		if d.err != nil {
			return nil, d.err
		}
	}
	if d.err == nil && len(d.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrBadRecord, len(d.b))
	}
	return out, d.err
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: truncated %s", ErrBadRecord, what)
	}
}

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
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

// smallInt reads a uvarint that must fit an int32 (databases, offsets).
func (d *decoder) smallInt() int {
	v := d.uvarint()
	if v > 1<<31-1 {
		d.fail("integer range")
		return 0
	}
	return int(v)
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail("bytes")
		return nil
	}
	b := d.b[:n:n]
	d.b = d.b[n:]
	return b
}
