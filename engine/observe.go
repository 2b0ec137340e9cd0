package engine

// Commit observers: how the server learns which keys changed (WATCH).
//
// Every committed write reaches the log as effects (rule 1): the same
// effects are the complete list of keys a write changed, whoever made it (a
// client, active expiry, a lazy-expiry delete, eviction once it exists). So
// rather than a hook in every write path, the engine hands a transaction's
// effects to the function given to SetOnCommit, at commit, under the
// transaction's locks.
// Because it runs under the locks, an observer that registers interest in
// a key while holding that key's shard (a View over it) sees every write to
// the key that commits after its registration, and none that committed
// before it.
//
// Cost on the write path while nobody observes: one atomic load per write
// transaction (in begin, deciding whether a memory-only engine records
// effects; an engine with a log records them anyway) and one in commit.
// While observers are registered, a memory-only engine records effects as a
// durable one does (an append of a small struct per change, no allocation
// once the transaction's pooled slice has grown), and OnCommit runs once per
// write transaction.

// SetOnCommit sets the function that sees the effects of every write
// transaction (active and lazy expiry's deletes included) while commit
// observers are registered (ObserveCommits). It runs under the write's
// locks: it must be quick, must not retain the effects (they alias the
// write's buffers) and must not start a transaction. One function per
// engine; a later call replaces it.
func (e *Engine) SetOnCommit(fn func(effects []Effect)) {
	if fn == nil {
		e.onCommit.Store(nil)
		return
	}
	e.onCommit.Store(&fn)
}

// ObserveCommits registers (delta > 0) or unregisters (delta < 0) commit
// observers. The SetOnCommit function is called only while the count is
// above zero. An
// observer that needs to see every write to a key after some point must
// register before that point under the key's shard lock (from inside a
// transaction over the key), see above.
func (e *Engine) ObserveCommits(delta int) {
	e.observers.Add(int32(delta))
}

// recordsEffects says whether a transaction beginning now records effects.
func (e *Engine) recordsEffects() bool {
	return e.recording || e.observers.Load() > 0
}

// KeyState tells whether key is in db at all (present, live or expired, as
// Redis's dictFind sees it) and whether it has expired without being
// reclaimed yet. It does not reclaim an expired key (WATCH must not change
// the keyspace).
func (tx *Tx) KeyState(db int, key []byte) (present, expired bool, err error) {
	if err := tx.readable(db, key); err != nil {
		return false, false, err
	}
	ent := tx.raw(db, key)
	if ent == nil {
		return false, false, nil
	}
	return true, ent.expireAt != 0 && ent.expireAt <= tx.nowMs(), nil
}

// Touch is a key an effect changed, and whether it exists once the effect
// has applied.
type Touch struct {
	DB     int
	Key    []byte
	Exists bool
}

// Touches returns the keys ef changes, as Redis's touchWatchedKey sees
// them (a COPY touches only its destination; a RENAME and a MOVE both
// ends), in t[:n]. FLUSHDB and FLUSHALL are not per key: n is 0 for them
// and callers look at ef.Op.
func (ef *Effect) Touches() (t [2]Touch, n int) {
	switch ef.Op {
	case OpFlushDB, OpFlushAll:
		return t, 0
	case OpDel:
		t[0] = Touch{ef.DB, ef.Key, false}
		return t, 1
	case OpRename:
		t[0], t[1] = Touch{ef.DB, ef.Key, false}, Touch{ef.DB, ef.Key2, true}
		return t, 2
	case OpCopy:
		t[0] = Touch{ef.DB2, ef.Key2, true}
		return t, 1
	case OpMove:
		t[0], t[1] = Touch{ef.DB, ef.Key, false}, Touch{ef.DB2, ef.Key, true}
		return t, 2
	}
	// Every other op (strings, expiries, restores, the collection types'
	// ops) changes Key in DB. It is reported as existing afterwards even
	// when a collection op emptied it: Exists matters only for a key that
	// was WATCHed while already expired, and the first write to such a key
	// is always the OpDel that reclaims it.
	t[0] = Touch{ef.DB, ef.Key, true}
	return t, 1
}

// Whole-keyspace reads inside a transaction that holds every shard
// (UpdateAll, ViewAll): what KEYS, SCAN, RANDOMKEY, DBSIZE and INFO
// keyspace do inside MULTI/EXEC, where the Engine methods of the same names
// would wait for the locks the transaction holds. Each returns
// ErrKeyNotLocked from a transaction over some shards only.

// Keys is Engine.Keys inside tx, at tx's clock.
func (tx *Tx) Keys(db int, f ScanFilter) ([][]byte, error) {
	if err := tx.holdsAll(db); err != nil {
		return nil, err
	}
	return tx.e.keys(db, f, tx.nowMs(), true), nil
}

// Scan is Engine.Scan inside tx.
func (tx *Tx) Scan(db int, cursor uint64, count int, f ScanFilter) ([][]byte, uint64, error) {
	if err := tx.holdsAll(db); err != nil {
		return nil, 0, err
	}
	keys, next := tx.e.scan(db, cursor, count, f, tx.nowMs(), true)
	return keys, next, nil
}

// RandomKey is Engine.RandomKey inside tx.
func (tx *Tx) RandomKey(db int) ([]byte, error) {
	if err := tx.holdsAll(db); err != nil {
		return nil, err
	}
	return tx.e.randomKey(db, tx.nowMs(), true), nil
}

// DBSize is Engine.DBSize inside tx.
func (tx *Tx) DBSize(db int) (int, error) {
	if err := tx.holdsAll(db); err != nil {
		return 0, err
	}
	return tx.e.dbSize(db, true), nil
}

// Keyspace is Engine.Keyspace inside tx.
func (tx *Tx) Keyspace() ([]KeyspaceInfo, error) {
	if err := tx.holdsAll(0); err != nil {
		return nil, err
	}
	return tx.e.keyspace(true), nil
}

func (tx *Tx) holdsAll(db int) error {
	if !tx.all {
		return ErrKeyNotLocked
	}
	return tx.checkDB(db)
}
