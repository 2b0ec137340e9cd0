package engine

// Del deletes key; reports whether it existed.
func (tx *Tx) Del(db int, key []byte) (bool, error) {
	if err := tx.writable(db, key); err != nil {
		return false, err
	}
	if tx.lookupKeepValue(db, key) == nil {
		return false, nil
	}
	tx.remove(db, key)
	tx.record(Effect{Op: OpDel, DB: db, Key: key})
	return true, nil
}

// Exists reports whether key is live.
func (tx *Tx) Exists(db int, key []byte) (bool, error) {
	if err := tx.readable(db, key); err != nil {
		return false, err
	}
	return tx.peek(db, key) != nil, nil
}

// Touch reports whether key is live, recording an access to it (TOUCH).
func (tx *Tx) Touch(db int, key []byte) (bool, error) {
	if err := tx.readable(db, key); err != nil {
		return false, err
	}
	return tx.lookup(db, key) != nil, nil
}

// Type returns key's kind; 0 when missing.
func (tx *Tx) Type(db int, key []byte) (Kind, error) {
	if err := tx.readable(db, key); err != nil {
		return 0, err
	}
	if ent := tx.peek(db, key); ent != nil {
		return ent.kind(), nil
	}
	return 0, nil
}

// ExpireCond is a set of EXPIRE's NX/XX/GT/LT conditions; all must hold.
type ExpireCond uint8

// Expire conditions.
const (
	ExpireNX ExpireCond = 1 << iota // only when the key has no expiry
	ExpireXX                        // only when the key has an expiry
	ExpireGT                        // only when the new expiry is later (none counts as infinite)
	ExpireLT                        // only when the new expiry is earlier
)

// Expire sets key's absolute expiry (Unix ms) under cond; reports whether
// it was set. An expiry not in the future deletes the key.
func (tx *Tx) Expire(db int, key []byte, at int64, cond ExpireCond) (bool, error) {
	if err := tx.writable(db, key); err != nil {
		return false, err
	}
	ent := tx.lookupKeepValue(db, key)
	if ent == nil {
		return false, nil
	}
	cur := ent.expireAt
	if (cond&ExpireNX != 0 && cur != 0) ||
		(cond&ExpireXX != 0 && cur == 0) ||
		(cond&ExpireGT != 0 && (cur == 0 || at <= cur)) ||
		(cond&ExpireLT != 0 && cur != 0 && at >= cur) {
		return false, nil
	}
	tx.expireEntry(db, key, ent, at)
	return true, nil
}

// ExpireTime returns key's absolute expiry in Unix ms: -2 when the key is missing,
// -1 when it has none.
func (tx *Tx) ExpireTime(db int, key []byte) (int64, error) {
	if err := tx.readable(db, key); err != nil {
		return 0, err
	}
	ent := tx.peek(db, key)
	switch {
	case ent == nil:
		return -2, nil
	case ent.expireAt == 0:
		return -1, nil
	}
	return ent.expireAt, nil
}

// Persist removes key's expiry; reports whether it had one.
func (tx *Tx) Persist(db int, key []byte) (bool, error) {
	if err := tx.writable(db, key); err != nil {
		return false, err
	}
	ent := tx.lookupKeepValue(db, key)
	if ent == nil || ent.expireAt == 0 {
		return false, nil
	}
	tx.setExpire(db, key, ent, 0)
	tx.record(Effect{Op: OpExpire, DB: db, Key: key})
	return true, nil
}

// Rename moves src to dst (keeping its TTL); with nx only when dst is
// missing, and reports whether it moved. A missing src is ErrNoSuchKey.
func (tx *Tx) Rename(db int, src, dst []byte, nx bool) (bool, error) {
	if err := tx.writable(db, src); err != nil {
		return false, err
	}
	if err := tx.writable(db, dst); err != nil {
		return false, err
	}
	ent := tx.lookupKeepValue(db, src) // its value moves as it is
	if ent == nil {
		return false, ErrNoSuchKey
	}
	if string(src) == string(dst) {
		return !nx, nil
	}
	if tx.lookupKeepValue(db, dst) != nil {
		if nx {
			return false, nil
		}
		tx.remove(db, dst)
	}
	tx.remove(db, src)
	tx.put(db, ent.withKey(dst))
	if tx.recording() {
		if tx.crossShardDuringSnapshot(src, dst) {
			tx.record(Effect{Op: OpDel, DB: db, Key: src})
			return true, tx.recordRestore(db, dst, ent)
		}
		tx.record(Effect{Op: OpRename, DB: db, Key: src, Key2: dst})
	}
	return true, nil
}

// Copy copies src in db to dst in dstDB (with its TTL); reports whether it
// copied (not when dst exists and !replace).
func (tx *Tx) Copy(db int, src []byte, dstDB int, dst []byte, replace bool) (bool, error) {
	if err := tx.writable(db, src); err != nil {
		return false, err
	}
	if err := tx.writable(dstDB, dst); err != nil {
		return false, err
	}
	if db == dstDB && string(src) == string(dst) {
		return false, ErrSameObject
	}
	ent := tx.lookupKeepValue(db, src) // only read, by cloneAs
	if ent == nil {
		return false, nil
	}
	if tx.lookupKeepValue(dstDB, dst) != nil {
		if !replace {
			return false, nil
		}
		tx.remove(dstDB, dst)
	}
	tx.put(dstDB, ent.cloneAs(dst))
	if tx.recording() {
		if tx.crossShardDuringSnapshot(src, dst) {
			return true, tx.recordRestore(dstDB, dst, ent)
		}
		tx.record(Effect{Op: OpCopy, DB: db, Key: src, DB2: dstDB, Key2: dst})
	}
	return true, nil
}

// Move moves key from db to dstDB unless it exists there; reports whether
// it moved.
func (tx *Tx) Move(db int, key []byte, dstDB int) (bool, error) {
	if err := tx.writable(db, key); err != nil {
		return false, err
	}
	if err := tx.checkDB(dstDB); err != nil {
		return false, err
	}
	if db == dstDB {
		return false, ErrSameObject
	}
	ent := tx.lookup(db, key)
	if ent == nil || tx.lookup(dstDB, key) != nil {
		return false, nil
	}
	tx.remove(db, key)
	tx.put(dstDB, ent)
	if tx.recording() {
		tx.record(Effect{Op: OpMove, DB: db, Key: key, DB2: dstDB})
	}
	return true, nil
}

// FlushDB empties db. The tx must hold every shard (UpdateAll).
func (tx *Tx) FlushDB(db int) error {
	if !tx.write {
		return ErrReadOnlyTx
	}
	if !tx.all {
		return ErrKeyNotLocked
	}
	if err := tx.checkDB(db); err != nil {
		return err
	}
	tx.flushDB(db)
	tx.record(Effect{Op: OpFlushDB, DB: db})
	return nil
}

// FlushAll empties every database. The tx must hold every shard.
func (tx *Tx) FlushAll() error {
	if !tx.write {
		return ErrReadOnlyTx
	}
	if !tx.all {
		return ErrKeyNotLocked
	}
	for db := 0; db < tx.e.dbs; db++ {
		tx.flushDB(db)
	}
	tx.record(Effect{Op: OpFlushAll})
	return nil
}

func (tx *Tx) flushDB(db int) {
	tx.dropMemDB(db)
	for i := range tx.e.shards {
		sd := &tx.e.shards[i].dbs[db]
		for j := range sd.slots {
			sd.slots[j] = nil
		}
		sd.count = 0
		sd.volatile = nil
	}
}
