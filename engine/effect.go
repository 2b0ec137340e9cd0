package engine

import (
	"fmt"

	"github.com/cairn-db/cairn/snapshot"
)

// Op is the kind of an effect. The values are part of the write-ahead log's
// format once it exists: never renumber them. Zero is not a valid op.
type Op uint8

// Effect ops.
const (
	// OpSet: Key in DB holds the string Value, expiring at ExpireAt (0: never).
	OpSet Op = iota + 1
	// OpDel: Key in DB is gone.
	OpDel
	// OpExpire: Key in DB expires at ExpireAt (0: persists).
	OpExpire
	// OpSetRange: Value overwrites Key's string at Offset (zero-padded).
	OpSetRange
	// OpRename: Key in DB now lives at Key2 in DB, replacing it.
	OpRename
	// OpCopy: Key in DB was copied to Key2 in DB2, replacing it.
	OpCopy
	// OpMove: Key in DB moved to DB2.
	OpMove
	// OpFlushDB: DB is empty.
	OpFlushDB
	// OpFlushAll: every database is empty.
	OpFlushAll
	// OpRestore: Key in DB holds the value Value, of snapshot type Offset
	// (snapshot.Type), encoded with the snapshot codecs, expiring at
	// ExpireAt. While a snapshot is being taken, a write that moves a
	// value between shards logs it so (see Tx.Rename).
	OpRestore
)

// Each collection type has a range of ops of its own, encoded, decoded and
// applied in that type's file (hash.go, set.go, list.go, zset.go).
const (
	opHashFirst Op = 16 // 16..31
	opSetFirst  Op = 32 // 32..47
	opListFirst Op = 48 // 48..63
	opZSetFirst Op = 64 // 64..79
	opCollEnd   Op = 80
)

// family returns the collection type whose range holds op; 0 for the ops
// above.
func (op Op) family() Kind {
	switch {
	case op >= opHashFirst && op < opSetFirst:
		return KindHash
	case op >= opSetFirst && op < opListFirst:
		return KindSet
	case op >= opListFirst && op < opZSetFirst:
		return KindList
	case op >= opZSetFirst && op < opCollEnd:
		return KindZSet
	}
	return 0
}

// Effect is one deterministic, key-level mutation: applying a write's
// effects in order to the state before it yields the state after it.
//
// An effect's byte slices alias the command's arguments and the stored
// values: they are valid only during Committer.Commit, which must encode or
// copy them before returning. (So recording effects costs no allocation.)
type Effect struct {
	Op       Op
	DB       int
	Key      []byte
	Value    []byte
	ExpireAt int64 // absolute Unix ms; 0: none
	Offset   int64
	Key2     []byte
	DB2      int

	// Fields of the collection ops; what each op uses is documented with
	// the op, in its type's file.
	Field  []byte   // a hash field, set or sorted-set member, list pivot
	Score  float64  // a sorted-set score
	Values [][]byte // several fields, members or elements at once
}

func (ef Effect) String() string {
	switch ef.Op {
	case OpSet:
		return fmt.Sprintf("set db=%d %q=%q exp=%d", ef.DB, ef.Key, ef.Value, ef.ExpireAt)
	case OpDel:
		return fmt.Sprintf("del db=%d %q", ef.DB, ef.Key)
	case OpExpire:
		return fmt.Sprintf("expire db=%d %q at=%d", ef.DB, ef.Key, ef.ExpireAt)
	case OpSetRange:
		return fmt.Sprintf("setrange db=%d %q off=%d %q", ef.DB, ef.Key, ef.Offset, ef.Value)
	case OpRename:
		return fmt.Sprintf("rename db=%d %q->%q", ef.DB, ef.Key, ef.Key2)
	case OpCopy:
		return fmt.Sprintf("copy db=%d %q -> db=%d %q", ef.DB, ef.Key, ef.DB2, ef.Key2)
	case OpMove:
		return fmt.Sprintf("move %q db=%d->%d", ef.Key, ef.DB, ef.DB2)
	case OpFlushDB:
		return fmt.Sprintf("flushdb db=%d", ef.DB)
	case OpFlushAll:
		return "flushall"
	case OpRestore:
		return fmt.Sprintf("restore db=%d %q type=%d exp=%d (%d bytes)", ef.DB, ef.Key, ef.Offset, ef.ExpireAt, len(ef.Value))
	}
	return fmt.Sprintf("op(%d)", ef.Op)
}

// Keys appends the keys whose shards applying ef touches.
func (ef *Effect) keys(dst [][]byte) [][]byte {
	dst = append(dst, ef.Key)
	if ef.Key2 != nil {
		dst = append(dst, ef.Key2)
	}
	return dst
}

// Apply replays effects, in order, as one transaction: recovery's way in.
// Effects are applied as recorded: expired keys are not treated specially
// (a later OpDel removes them), so the result does not depend on the clock.
// What Apply changes is not logged again.
func (e *Engine) Apply(effects []Effect) error {
	all := false
	var keys [][]byte
	for i := range effects {
		if op := effects[i].Op; op == OpFlushDB || op == OpFlushAll {
			all = true
		}
		keys = effects[i].keys(keys)
	}
	var tx *Tx
	if all {
		tx = e.beginAll(true)
	} else {
		tx = e.begin(keys, true)
	}
	tx.replaying = true
	var err error
	for i := range effects {
		if err = tx.apply(&effects[i]); err != nil {
			break
		}
	}
	e.end(tx)
	return err
}

// raw returns key's entry whether expired or not.
func (tx *Tx) raw(db int, key []byte) *entry {
	sd, slot, h := tx.slotOf(db, key)
	ent := sd.slots[slot].get(key, h)
	if ent != nil && tx.write {
		tx.noteMem(db, sd, ent, false)
		tx.thaw(ent)
	}
	return ent
}

func (tx *Tx) apply(ef *Effect) error {
	if err := tx.checkDB(ef.DB); err != nil {
		return err
	}
	switch ef.Op {
	case OpSet:
		tx.put(ef.DB, newStringEntry(ef.Key, ef.Value, ef.ExpireAt))
	case OpDel:
		tx.remove(ef.DB, ef.Key)
	case OpExpire:
		if ent := tx.raw(ef.DB, ef.Key); ent != nil {
			tx.setExpire(ef.DB, ef.Key, ent, ef.ExpireAt)
		}
	case OpSetRange:
		ent := tx.raw(ef.DB, ef.Key)
		if ent == nil {
			ent = newStringEntry(ef.Key, nil, 0)
			tx.put(ef.DB, ent)
		}
		ent.setRange(int(ef.Offset), ef.Value, true)
	case OpRename:
		ent := tx.raw(ef.DB, ef.Key)
		if ent == nil {
			return fmt.Errorf("engine: apply %v: no source key", ef)
		}
		tx.remove(ef.DB, ef.Key)
		tx.remove(ef.DB, ef.Key2)
		tx.put(ef.DB, ent.withKey(ef.Key2))
	case OpCopy:
		ent := tx.raw(ef.DB, ef.Key)
		if ent == nil {
			return fmt.Errorf("engine: apply %v: no source key", ef)
		}
		if err := tx.checkDB(ef.DB2); err != nil {
			return err
		}
		tx.remove(ef.DB2, ef.Key2)
		tx.put(ef.DB2, ent.cloneAs(ef.Key2))
	case OpMove:
		ent := tx.raw(ef.DB, ef.Key)
		if ent == nil {
			return fmt.Errorf("engine: apply %v: no source key", ef)
		}
		if err := tx.checkDB(ef.DB2); err != nil {
			return err
		}
		tx.remove(ef.DB, ef.Key)
		tx.put(ef.DB2, ent)
	case OpFlushDB:
		tx.flushDB(ef.DB)
	case OpFlushAll:
		for db := 0; db < tx.e.dbs; db++ {
			tx.flushDB(db)
		}
	case OpRestore:
		ent, err := entryFromSnapshot(ef.Key, snapshot.Type(ef.Offset), ef.Value, ef.ExpireAt)
		if err != nil {
			return fmt.Errorf("engine: apply %v: %w", ef, err)
		}
		tx.remove(ef.DB, ef.Key)
		tx.put(ef.DB, ent)
	default:
		switch ef.Op.family() {
		case KindHash:
			return tx.applyHash(ef)
		case KindSet:
			return tx.applySet(ef)
		case KindList:
			return tx.applyList(ef)
		case KindZSet:
			return tx.applyZSet(ef)
		}
		return fmt.Errorf("engine: apply: unknown op %d", ef.Op)
	}
	return nil
}
