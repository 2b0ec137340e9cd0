package engine

import (
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkg/errors"

	"github.com/cairn-db/cairn/vfs"
	"github.com/cairn-db/cairn/wal"
)

// Slot and shard geometry. A key's slot is fnv1a(key) mod NumSlots; its shard
// is slot mod the shard count. Both are stable across restarts (a snapshot
// stamps each shard with an LSN, so recovery must map keys to the same
// shards), hence a fixed hash function rather than a seeded one.
const (
	// NumSlots is the number of scan slots per database. SCAN's cursor is a
	// slot number: a slot is always returned whole, which is what makes the
	// cursor never miss a key that is present for the whole scan.
	NumSlots = 16384
	// DefaultShards is the default number of locks per keyspace.
	DefaultShards = 256
)

// Options configure an Engine. The zero value is usable: every field has a
// documented default.
type Options struct {
	// Databases is the number of databases (SELECT 0..Databases-1).
	// Default 16.
	Databases int
	// Shards is the number of lock shards; a power of two that divides
	// NumSlots. Default DefaultShards.
	Shards int
	// Committer receives the effects of every write transaction, under the
	// transaction's locks. Nil: effects are not recorded at all.
	Committer Committer
	// Now returns the current time; default time.Now. Tests set it.
	Now func() time.Time
	// ActiveExpireHz is how many active-expiry cycles run per second (Redis's
	// hz). Default 10; negative disables active expiry.
	ActiveExpireHz int
	// Logger receives the engine's log lines. Default slog.Default().
	Logger *slog.Logger
	// WAL, if not nil, configures the write-ahead log the engine opens (and
	// closes): every write's effects go to it as one record while the
	// write holds its locks, and Load replays it. Nil: memory only.
	WAL *wal.Options
	// Snapshots, if not nil, configures snapshots: Load starts from the
	// newest sound one, Save and BGSave take one, and the save rules take
	// them in the background. Nil: no snapshots.
	Snapshots *SnapshotOptions
	// Memory configures maxmemory and eviction (see evict.go).
	Memory MemoryOptions
}

// Committer is where a write's effects go before the write is acknowledged:
// the write-ahead log plugs in here. Commit is called with the locks of the
// transaction's shards held, so conflicting writes commit in lock order.
// The effects are valid only during the call (see Effect).
type Committer interface {
	// Commit receives a write's effects and its log sequence number (0
	// without a log).
	Commit(lsn uint64, effects []Effect) error
}

// Engine is a set of databases split into lock shards.
type Engine struct {
	opts      Options
	shards    []shard
	shardMask uint32
	dbs       int
	now       func() time.Time
	wall      *wallClock // nil when Options.Now is set
	log       *slog.Logger
	txPool    sync.Pool
	stats     Stats

	stopCron chan struct{}
	cronDone chan struct{}
	// cronOn: the cron runs and refreshes the access clock.
	cronOn atomic.Bool
	// hz is the active-expiry frequency in force (SetActiveExpireHz);
	// hzChanged wakes the cron to apply a change.
	hz        atomic.Int32
	hzChanged chan struct{}
	closeOnce sync.Once

	// recording: writes record effects (a Committer or a log reads them).
	recording bool
	// observers counts the registered commit observers (ObserveCommits):
	// while it is above zero, writes record effects for OnCommit even
	// without a log.
	observers atomic.Int32
	// onCommit is the commit observer (SetOnCommit); nil: none.
	onCommit atomic.Pointer[func(effects []Effect)]
	// wlog is the write-ahead log; nil when memory only.
	wlog *wal.Log
	// policy is the log's fsync policy (a wal.SyncPolicy).
	policy atomic.Int32
	// loading is true until Load has replayed the log.
	loading atomic.Bool
	// loadProgress is what INFO persistence shows while loading.
	loadProgress LoadProgress
	loadMu       sync.Mutex
	// snap is the snapshots' state.
	snap snapState

	// mem is the bytes the keys hold (see memory.go); memBase is what the
	// empty keyspace's tables hold.
	mem     atomic.Int64
	memBase int64
	// evict is maxmemory and its policy (see evict.go).
	evict evictState
}

// shard is one lock and the part of every database whose keys hash to it.
type shard struct {
	mu  sync.RWMutex
	dbs []shardDB // one per database
	// hits and misses count read lookups (INFO keyspace_hits/misses).
	hits, misses atomic.Int64
	_            [24]byte // keep neighbouring shards' locks off one cache line
}

// shardDB is one database's part of a shard.
type shardDB struct {
	// slots[i] holds the keys of global slot i*nShards+shardIndex; nil until
	// first used.
	slots []*table
	// count is the number of keys in all slots, expired or not.
	count int
	// volatile holds the keys that have an expiry, for active expiry to
	// sample. An entry is in volatile iff its expireAt != 0.
	volatile *table
	// mem is the bytes charged for the keys (see memory.go).
	mem int64
}

// Open returns an engine with opts applied over the defaults. Without a
// WAL it is ready at once and its active expiry runs; with one, it is
// loading until Load has replayed the log.
func Open(opts Options) (*Engine, error) {
	if opts.Databases <= 0 {
		opts.Databases = 16
	}
	if opts.Shards <= 0 || opts.Shards&(opts.Shards-1) != 0 || NumSlots%opts.Shards != 0 {
		opts.Shards = DefaultShards
	}
	var wall *wallClock
	if opts.Now == nil {
		opts.Now = time.Now
		wall = &wallClock{}
	}
	if opts.ActiveExpireHz == 0 {
		opts.ActiveExpireHz = 10
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	e := &Engine{
		opts:      opts,
		shards:    make([]shard, opts.Shards),
		shardMask: uint32(opts.Shards - 1),
		dbs:       opts.Databases,
		now:       opts.Now,
		wall:      wall,
		log:       opts.Logger,
	}
	slotsPerShard := NumSlots / opts.Shards
	for i := range e.shards {
		e.shards[i].dbs = make([]shardDB, opts.Databases)
		for d := range e.shards[i].dbs {
			e.shards[i].dbs[d].slots = make([]*table, slotsPerShard)
		}
	}
	e.txPool.New = func() any { return &Tx{e: e} }
	e.hz.Store(int32(opts.ActiveExpireHz))
	e.hzChanged = make(chan struct{}, 1)
	e.initMemory(opts.Memory)
	e.recording = opts.Committer != nil || opts.WAL != nil || opts.Snapshots != nil
	e.snap.status.LastSave = time.Now()
	e.snap.status.LastOK = true
	if so := opts.Snapshots; so != nil {
		s := *so
		if s.FS == nil {
			s.FS = vfs.Default
		}
		e.opts.Snapshots = &s
		e.snap.rules = append([]SaveRule(nil), s.Rules...)
		e.snap.growthPercent, e.snap.growthMin = s.LogGrowthPercent, s.LogGrowthMin
		e.loading.Store(true)
	}
	if opts.WAL != nil {
		wo := *opts.WAL
		if wo.Logger == nil {
			wo.Logger = opts.Logger
		}
		log, err := wal.Open(wo)
		if err != nil {
			return nil, errors.Wrap(err, "open write-ahead log")
		}
		e.wlog = log
		e.policy.Store(int32(wo.Sync))
		e.loading.Store(true)
	}
	if so := e.opts.Snapshots; so != nil {
		// After the log made its directory, which is usually beside.
		_, err := so.FS.Stat(filepath.Dir(so.Dir))
		e.snap.parentAtOpen = err == nil
	}
	if !e.loading.Load() {
		e.startBackground()
	}
	return e, nil
}

// startBackground starts the cron (active expiry, the access clock) and
// the snapshot loop, once the data is loaded.
func (e *Engine) startBackground() {
	if e.hz.Load() > 0 || e.wall != nil {
		e.stopCron = make(chan struct{})
		e.cronDone = make(chan struct{})
		if e.wall != nil {
			e.NowMs()
			e.cronOn.Store(true)
		}
		go e.cronLoop()
	}
	if e.opts.Snapshots != nil {
		e.snap.stop = make(chan struct{})
		e.snap.done = make(chan struct{})
		go e.snapshotLoop()
	}
}

// Close stops background work and closes the log, which writes and fsyncs
// what is pending. The data stays readable.
func (e *Engine) Close() error {
	var err error
	e.closeOnce.Do(func() {
		if e.stopCron != nil {
			close(e.stopCron)
			<-e.cronDone
		}
		if e.snap.stop != nil {
			close(e.snap.stop)
			<-e.snap.done
		}
		e.snap.bg.Wait()
		if e.wlog != nil {
			err = e.wlog.Close()
		}
	})
	return err
}

// Databases returns the number of databases.
func (e *Engine) Databases() int { return e.dbs }

// nowMs is the engine clock in Unix milliseconds.
func (e *Engine) nowMs() int64 {
	if e.wall != nil {
		return e.wall.nowMs()
	}
	return e.now().UnixMilli()
}

// NowMs reads the engine clock in Unix ms, and with it refreshes the clock
// of access bits (see accessMs). The server calls it at each read from a
// client, so under load the access clock is as fresh as the last read.
func (e *Engine) NowMs() int64 {
	ms := e.nowMs()
	if e.wall != nil && e.wall.last.Load() != ms {
		e.wall.last.Store(ms)
	}
	return ms
}

// accessMs is the clock of access bits (the LRU clock, LFU minutes), in
// Unix ms. Every lookup records an access, and reading the system clock
// for each was 3 % of the server's time at LPUSH -P 16; so, as Redis
// reads its LRU clock from a value its cron refreshes, this is the last
// reading of NowMs, which the cron calls each tick and the server at each
// read. Without the cron (a test's clock, a load, after Close) it is
// nowMs.
func (e *Engine) accessMs() int64 {
	if e.cronOn.Load() {
		return e.wall.last.Load()
	}
	return e.nowMs()
}

// hashKey is 32-bit FNV-1a: cheap for short keys, allocation-free, and
// identical on every run (see the slot constants).
func hashKey(key []byte) uint32 {
	h := uint32(2166136261)
	for _, c := range key {
		h ^= uint32(c)
		h *= 16777619
	}
	return h
}

// SlotOf returns the scan slot of key.
func SlotOf(key []byte) int { return int(hashKey(key) % NumSlots) }

// Update runs fn as a write transaction over the shards of keys (all keys fn
// touches must be among them; Tx methods return ErrKeyNotLocked otherwise).
// fn's effects are handed to the Committer before the locks are released;
// Update returns fn's error, or the Committer's.
func (e *Engine) Update(keys [][]byte, fn func(tx *Tx) error) error {
	tx := e.begin(keys, true)
	err := fn(tx)
	if cerr := e.commit(tx); err == nil {
		err = cerr
	}
	e.end(tx)
	return err
}

// UpdateAll is Update over every shard: for writes whose keys are not known
// in advance (FLUSHDB, FLUSHALL).
func (e *Engine) UpdateAll(fn func(tx *Tx) error) error {
	tx := e.beginAll(true)
	err := fn(tx)
	if cerr := e.commit(tx); err == nil {
		err = cerr
	}
	e.end(tx)
	return err
}

// View runs fn as a read-only transaction over the shards of keys. Keys
// found expired read as absent and are deleted after fn returns (lazy
// expiry), as a write of their own.
func (e *Engine) View(keys [][]byte, fn func(tx *Tx) error) error {
	tx := e.begin(keys, false)
	err := fn(tx)
	expired := tx.expired
	tx.expired = nil
	e.end(tx)
	if len(expired) > 0 {
		e.deleteIfExpired(expired)
	}
	return err
}

// ViewAll is View over every shard, held together: a consistent read of the
// whole keyspace.
func (e *Engine) ViewAll(fn func(tx *Tx) error) error {
	tx := e.beginAll(false)
	err := fn(tx)
	tx.expired = nil // active expiry reclaims them
	e.end(tx)
	return err
}

// Prefetch reads into the cache what looking up keys in db will read
// first (see Tx.prefetch), under the keys' shards' read locks. The server
// calls it with the keys of a pipeline's commands before it runs them:
// their cache misses then overlap instead of following one another.
func (e *Engine) Prefetch(db int, keys [][]byte) {
	if db < 0 || db >= e.dbs || len(keys) == 0 {
		return
	}
	tx := e.begin(keys, false)
	tx.prefetch(db, keys, 1)
	e.end(tx)
}

// PrefetchFields reads into the cache what looking up fields in the hash
// or set at key will read first (see strTable.prefetch), under the key's
// shard's read lock. The server calls it with the fields of a pipeline's
// commands to one big hash or set (HSET, SADD, HGET at pipeline 16):
// their lookups in a table of a million then miss the cache together,
// not one after another. It does nothing for any other kind of value.
func (e *Engine) PrefetchFields(db int, key []byte, fields [][]byte) {
	if db < 0 || db >= e.dbs || len(fields) < 2 {
		return
	}
	keys := [1][]byte{key}
	tx := e.begin(keys[:], false)
	sd, slot, h := tx.slotOf(db, key)
	if ent := sd.slots[slot].get(key, h); ent != nil {
		switch c := ent.collection().(type) {
		case *hashValue:
			c.t.prefetch(fields)
		case *setValue:
			c.t.prefetch(fields)
		}
	}
	e.end(tx)
}

func (e *Engine) begin(keys [][]byte, write bool) *Tx {
	tx := e.txPool.Get().(*Tx)
	tx.write = write
	tx.now = 0
	tx.all = false
	tx.locked = tx.lockedBuf[:0]
	tx.hashed = tx.hashedBuf[:0]
	for _, k := range keys {
		h := hashKey(k)
		if len(tx.hashed) < len(tx.hashedBuf) {
			tx.hashed = append(tx.hashed, hashedKey{k, h})
		}
		s := uint16(h & e.shardMask)
		if !containsShard(tx.locked, s) {
			tx.locked = append(tx.locked, s)
		}
	}
	if len(tx.locked) > 1 {
		slices.Sort(tx.locked)
	}
	for _, s := range tx.locked {
		if write {
			e.shards[s].mu.Lock()
		} else {
			e.shards[s].mu.RLock()
		}
	}
	tx.rec = e.recordsEffects()
	return tx
}

func (e *Engine) beginAll(write bool) *Tx {
	tx := e.txPool.Get().(*Tx)
	tx.write = write
	tx.now = 0
	tx.all = true
	tx.locked = tx.lockedBuf[:0]
	for i := range e.shards {
		if write {
			e.shards[i].mu.Lock()
		} else {
			e.shards[i].mu.RLock()
		}
	}
	tx.rec = e.recordsEffects()
	return tx
}

func (e *Engine) commit(tx *Tx) error {
	if len(tx.effects) == 0 || tx.replaying {
		return nil
	}
	e.snap.dirty.Add(int64(len(tx.effects)))
	var lsn uint64
	if e.wlog != nil {
		// Under the locks: the LSN order is the order of conflicting writes.
		tx.enc = AppendEffects(tx.enc[:0], tx.effects)
		lsn = e.wlog.Append(tx.enc)
	}
	if e.observers.Load() > 0 {
		if fn := e.onCommit.Load(); fn != nil {
			(*fn)(tx.effects)
		}
	}
	if e.opts.Committer != nil {
		return e.opts.Committer.Commit(lsn, tx.effects)
	}
	return nil
}

func (e *Engine) end(tx *Tx) {
	if tx.write {
		tx.settleMem()
	}
	if tx.all {
		for i := len(e.shards) - 1; i >= 0; i-- {
			if tx.write {
				e.shards[i].mu.Unlock()
			} else {
				e.shards[i].mu.RUnlock()
			}
		}
	} else {
		for i := len(tx.locked) - 1; i >= 0; i-- {
			if tx.write {
				e.shards[tx.locked[i]].mu.Unlock()
			} else {
				e.shards[tx.locked[i]].mu.RUnlock()
			}
		}
	}
	tx.reset()
	e.txPool.Put(tx)
}

func containsShard(list []uint16, s uint16) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// expiredKey names a key that a read found expired.
type expiredKey struct {
	db  int
	key string
}

func (e *Engine) deleteIfExpired(keys []expiredKey) {
	for _, k := range keys {
		kb := []byte(k.key)
		_ = e.Update([][]byte{kb}, func(tx *Tx) error {
			ent := tx.raw(k.db, kb)
			if ent != nil && ent.expireAt != 0 && ent.expireAt <= tx.nowMs() {
				tx.removeExpired(k.db, kb)
			}
			return nil
		})
	}
}

// Now returns the engine's clock.
func (e *Engine) Now() time.Time { return e.now() }
