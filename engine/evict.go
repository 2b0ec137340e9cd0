package engine

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Policy is a maxmemory policy: which keys to evict when the data outgrows
// maxmemory. The names are Redis's (maxmemory-policy).
type Policy int32

// Eviction policies.
const (
	NoEviction     Policy = iota // refuse writes that need memory
	AllKeysLRU                   // evict the least recently used key
	AllKeysLFU                   // evict the least frequently used key
	AllKeysRandom                // evict a random key
	VolatileLRU                  // as AllKeysLRU among keys with an expiry
	VolatileLFU                  // as AllKeysLFU among keys with an expiry
	VolatileRandom               // a random key with an expiry
	VolatileTTL                  // the key with an expiry that expires soonest
)

var policyNames = [...]string{"noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random",
	"volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"}

// PolicyNames lists the policies' names, in Redis's order of its error
// message.
func PolicyNames() []string {
	return []string{"volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
		"allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction"}
}

func (p Policy) String() string {
	if p >= 0 && int(p) < len(policyNames) {
		return policyNames[p]
	}
	return "noeviction"
}

// ParsePolicy returns the policy named s.
func ParsePolicy(s string) (Policy, bool) {
	for i, n := range policyNames {
		if n == s {
			return Policy(i), true
		}
	}
	return 0, false
}

// volatile: the policy evicts only keys with an expiry.
func (p Policy) volatile() bool { return p >= VolatileLRU }

// LFU reports whether the policy tracks access frequency (else the access
// bits are an LRU clock).
func (p Policy) LFU() bool { return p == AllKeysLFU || p == VolatileLFU }

// LRU reports whether the policy evicts by recency.
func (p Policy) LRU() bool { return p == AllKeysLRU || p == VolatileLRU }

// MemoryOptions configure maxmemory (Options.Memory). All can be changed
// at run time with the Set methods.
type MemoryOptions struct {
	// MaxMemory is the bound on UsedMemory, in bytes; 0: none.
	MaxMemory int64
	// Policy is what to do when a write finds the data over MaxMemory.
	Policy Policy
	// Samples is how many keys each eviction samples (Redis's
	// maxmemory-samples); default 5.
	Samples int
	// LFULogFactor and LFUDecayTime are Redis's lfu-log-factor and
	// lfu-decay-time (minutes); 0 means the defaults, 10 and 1; a
	// negative LFUDecayTime means no decay (Redis's 0).
	LFULogFactor, LFUDecayTime int
}

// evictState is maxmemory, its policy, and the eviction pool.
type evictState struct {
	maxMemory    atomic.Int64
	policy       atomic.Int32
	samples      atomic.Int32
	lfu          atomic.Bool
	lfuLogFactor atomic.Int32
	lfuDecay     atomic.Int32

	// mu serialises evictions and guards pool.
	mu sync.Mutex
	// pool holds the best candidates seen so far, ascending by score (the
	// last is evicted first): Redis's eviction pool, which makes a few
	// samples per eviction rank keys nearly as a full sort would.
	pool []candidate
}

// candidate is a key sampled for eviction.
type candidate struct {
	score uint64 // higher: evict sooner
	shard int
	db    int
	key   []byte // owned; its buffer is reused
	acc   uint32 // the access bits when sampled
}

const (
	evictPoolSize = 16
	// evictTimeLimit bounds the evictions one command waits for (Redis's
	// maxmemory-eviction-tenacity 10 gives 500 µs); past it the command
	// runs and the next one goes on evicting.
	evictTimeLimit = time.Millisecond
)

func (e *Engine) initMemory(o MemoryOptions) {
	e.memBase = e.fixedMemory()
	if o.Samples <= 0 {
		o.Samples = 5
	}
	if o.LFULogFactor <= 0 {
		o.LFULogFactor = 10
	}
	switch {
	case o.LFUDecayTime == 0:
		o.LFUDecayTime = 1
	case o.LFUDecayTime < 0:
		o.LFUDecayTime = 0
	}
	e.SetMaxMemory(o.MaxMemory)
	e.SetEvictionPolicy(o.Policy)
	e.SetEvictionSamples(o.Samples)
	e.SetLFU(o.LFULogFactor, o.LFUDecayTime)
}

// SetMaxMemory sets maxmemory in bytes (0: none).
func (e *Engine) SetMaxMemory(n int64) { e.evict.maxMemory.Store(max(n, 0)) }

// MaxMemory returns maxmemory in bytes (0: none).
func (e *Engine) MaxMemory() int64 { return e.evict.maxMemory.Load() }

// SetEvictionPolicy sets the maxmemory policy. Switching between LRU and
// LFU reinterprets the keys' access bits, as Redis does: it takes a while
// for them to mean what they should.
func (e *Engine) SetEvictionPolicy(p Policy) {
	e.evict.policy.Store(int32(p))
	e.evict.lfu.Store(p.LFU())
	e.evict.mu.Lock()
	e.evict.pool = e.evict.pool[:0]
	e.evict.mu.Unlock()
}

// EvictionPolicy returns the maxmemory policy.
func (e *Engine) EvictionPolicy() Policy { return Policy(e.evict.policy.Load()) }

// SetEvictionSamples sets the keys sampled per eviction (1..64).
func (e *Engine) SetEvictionSamples(n int) { e.evict.samples.Store(int32(min(max(n, 1), 64))) }

// SetLFU sets lfu-log-factor and lfu-decay-time.
func (e *Engine) SetLFU(logFactor, decayMinutes int) {
	e.evict.lfuLogFactor.Store(int32(max(logFactor, 0)))
	e.evict.lfuDecay.Store(int32(max(decayMinutes, 0)))
}

// OverMaxMemory reports whether the data is over maxmemory.
func (e *Engine) OverMaxMemory() bool {
	m := e.evict.maxMemory.Load()
	return m > 0 && e.UsedMemory() > m
}

// FreeMemory evicts keys per the policy until the data is within
// maxmemory, or for at most a millisecond. It reports false when the data
// is over maxmemory and nothing can be evicted (noeviction, or no key the
// policy may evict): a write that needs memory must then be refused. Each
// eviction is a write of its own, logged as a delete.
func (e *Engine) FreeMemory() bool {
	if !e.OverMaxMemory() || e.loading.Load() {
		return true
	}
	p := e.EvictionPolicy()
	if p == NoEviction {
		return false
	}
	e.evict.mu.Lock()
	defer e.evict.mu.Unlock()
	start := time.Now()
	for n := 1; e.OverMaxMemory(); n++ {
		if !e.evictOne(p) {
			return false
		}
		if n%16 == 0 && time.Since(start) > evictTimeLimit {
			return true
		}
	}
	return true
}

// evictOne evicts one key; false when the policy finds none to evict.
func (e *Engine) evictOne(p Policy) bool {
	if p == AllKeysRandom || p == VolatileRandom {
		return e.evictRandom(p.volatile())
	}
	for tries := 0; tries < 32; tries++ {
		if !e.populatePool(p) && len(e.evict.pool) == 0 {
			return false
		}
		for len(e.evict.pool) > 0 {
			c := &e.evict.pool[len(e.evict.pool)-1]
			ok := e.evictCandidate(c, p)
			e.evict.pool = e.evict.pool[:len(e.evict.pool)-1]
			if ok {
				return true
			}
		}
	}
	return false
}

// evictCandidate evicts c if its key is still there and was not accessed
// since it was sampled (then it is no longer the best candidate: a step
// closer to true LRU/LFU than Redis, which evicts it anyway).
func (e *Engine) evictCandidate(c *candidate, p Policy) bool {
	tx := e.beginShard(c.shard)
	defer e.endShard(tx)
	sd, slot, h := tx.slotOf(c.db, c.key)
	ent := sd.slots[slot].get(c.key, h)
	if ent == nil || (p.volatile() && ent.expireAt == 0) {
		return false
	}
	if p != VolatileTTL && ent.access() != c.acc {
		return false
	}
	tx.evict(c.db, c.key)
	return true
}

// evict removes key as an eviction: logged as a delete, counted.
func (tx *Tx) evict(db int, key []byte) {
	if tx.remove(db, key) {
		tx.e.stats.EvictedKeys.Add(1)
		tx.record(Effect{Op: OpDel, DB: db, Key: key})
	}
}

// score ranks ent for eviction by p: higher is evicted first.
func (e *Engine) score(ent *entry, acc uint32, p Policy, now int64) uint64 {
	switch {
	case p == VolatileTTL:
		return ^uint64(ent.expireAt) // sooner expiry: higher
	case p.LFU():
		return 255 - uint64(lfuDecayed(acc, now, int(e.evict.lfuDecay.Load())))
	}
	return uint64(lruIdleMs(acc, now))
}

// populatePool samples maxmemory-samples keys the policy may evict, from
// random shards, and merges them into the pool. It reports false when no
// shard has such keys.
func (e *Engine) populatePool(p Policy) bool {
	n := int(e.evict.samples.Load())
	now := e.accessMs()
	got := 0
	for tries := 0; got < n && tries < 2*n; tries++ {
		s := e.pickShard(p.volatile())
		if s < 0 {
			return false
		}
		sh := &e.shards[s]
		sh.mu.RLock()
		for db := range sh.dbs {
			sampleShardDB(&sh.dbs[db], p.volatile(), n-got, func(ent *entry) {
				acc := ent.access()
				e.offer(e.score(ent, acc, p, now), s, db, ent, acc)
				got++
			})
		}
		sh.mu.RUnlock()
	}
	return true
}

// offer inserts a candidate into the pool if it ranks among the best.
func (e *Engine) offer(score uint64, shard, db int, ent *entry, acc uint32) {
	pool := e.evict.pool
	if len(pool) == evictPoolSize && pool[0].score >= score {
		// Worse than all of a full pool, as Redis checks first: the key's
		// bytes (a cache miss) are not read. A pooled copy of this key
		// keeps its older score; evictCandidate checks the key's access
		// stamp before it evicts it.
		return
	}
	key := ent.keyBytes()
	// Already pooled: take it out, to insert it again where it now ranks.
	for i := range pool {
		if pool[i].db == db && string(pool[i].key) == string(key) {
			old := pool[i]
			copy(pool[i:], pool[i+1:])
			pool[len(pool)-1] = old // its buffer stays past the end, for reuse
			pool = pool[:len(pool)-1]
			break
		}
	}
	// Position: the first with a higher score (the pool is ascending).
	i := 0
	for i < len(pool) && pool[i].score < score {
		i++
	}
	var buf []byte
	switch {
	case len(pool) < evictPoolSize:
		if cap(pool) > len(pool) {
			buf = pool[:len(pool)+1][len(pool)].key[:0] // reuse a popped slot's buffer
		}
		pool = append(pool, candidate{})
		copy(pool[i+1:], pool[i:len(pool)-1])
	case i == 0:
		return // worse than all of a full pool
	default:
		// Drop the worst (first) and shift down to make room at i-1.
		buf = pool[0].key[:0]
		copy(pool[:i-1], pool[1:i])
		i--
	}
	pool[i] = candidate{score: score, shard: shard, db: db, key: append(buf, key...), acc: acc}
	e.evict.pool = pool
}

// pickShard returns a random shard holding keys (keys with an expiry, if
// volatile), or -1 when there are none.
func (e *Engine) pickShard(volatile bool) int {
	n := len(e.shards)
	has := func(s int) bool {
		sh := &e.shards[s]
		sh.mu.RLock()
		defer sh.mu.RUnlock()
		for db := range sh.dbs {
			if sd := &sh.dbs[db]; (volatile && sd.volatile.len() > 0) || (!volatile && sd.count > 0) {
				return true
			}
		}
		return false
	}
	for tries := 0; tries < 16; tries++ {
		if s := rand.IntN(n); has(s) {
			return s
		}
	}
	// Sparse: walk from a random shard.
	start := rand.IntN(n)
	for i := 0; i < n; i++ {
		if s := (start + i) % n; has(s) {
			return s
		}
	}
	return -1
}

// sampleShardDB calls fn for up to n keys of sd (those with an expiry, if
// volatile): a run of positions from a random one, as Redis's
// dictGetSomeKeys takes a run of buckets. The caller holds the shard.
func sampleShardDB(sd *shardDB, volatile bool, n int, fn func(ent *entry)) {
	if volatile {
		t := sd.volatile
		if t.len() == 0 {
			return
		}
		start := rand.IntN(t.capacity())
		for i, got := 0, 0; i < t.capacity() && got < n; i++ {
			if ent := t.at(start + i); ent != nil {
				fn(ent)
				got++
			}
		}
		return
	}
	if sd.count == 0 {
		return
	}
	ns := len(sd.slots)
	first := rand.IntN(ns)
	got := 0
	for i := 0; i < ns && got < n; i++ {
		t := sd.slots[(first+i)%ns]
		if t.len() == 0 {
			continue
		}
		start := rand.IntN(t.capacity())
		for j := 0; j < t.capacity() && got < n; j++ {
			if ent := t.at(start + j); ent != nil {
				fn(ent)
				got++
			}
		}
	}
}

// evictRandom evicts a random key (with an expiry, if volatile).
func (e *Engine) evictRandom(volatile bool) bool {
	for tries := 0; tries < 32; tries++ {
		s := e.pickShard(volatile)
		if s < 0 {
			return false
		}
		var db int
		var key []byte
		sh := &e.shards[s]
		sh.mu.RLock()
		start := rand.IntN(len(sh.dbs))
		for i := 0; i < len(sh.dbs) && key == nil; i++ {
			db = (start + i) % len(sh.dbs)
			sampleShardDB(&sh.dbs[db], volatile, 1, func(ent *entry) { key = cloneBytes(ent.keyBytes()) })
		}
		sh.mu.RUnlock()
		if key == nil {
			continue
		}
		tx := e.beginShard(s)
		ent := tx.raw(db, key)
		ok := ent != nil && (!volatile || ent.expireAt != 0)
		if ok {
			tx.evict(db, key)
		}
		e.endShard(tx)
		if ok {
			return true
		}
	}
	return false
}

// ObjectInfo is what OBJECT reports about a key.
type ObjectInfo struct {
	Kind     Kind
	Encoding string
	// IdleMs is the time since the last access (LRU policies and
	// noeviction); Freq the LFU counter (LFU policies).
	IdleMs int64
	Freq   int
	// SharedInt: the value is an integer Redis would share (0..9999 and
	// no LRU/LFU maxmemory policy), so OBJECT REFCOUNT says INT_MAX.
	SharedInt bool
}

// Object returns OBJECT's view of key without recording an access.
func (tx *Tx) Object(db int, key []byte) (ObjectInfo, bool, error) {
	var oi ObjectInfo
	if err := tx.readable(db, key); err != nil {
		return oi, false, err
	}
	ent := tx.peek(db, key)
	if ent == nil {
		return oi, false, nil
	}
	oi.Kind = ent.kind()
	acc := ent.access()
	now := tx.e.accessMs()
	oi.IdleMs = lruIdleMs(acc, now)
	oi.Freq = int(lfuDecayed(acc, now, int(tx.e.evict.lfuDecay.Load())))
	if oi.Kind != KindString {
		oi.Encoding = ent.collection().encoding()
		return oi, true, nil
	}
	v := ent.value()
	n, isInt := ParseInt(v)
	p := tx.e.EvictionPolicy()
	switch {
	case isInt:
		oi.Encoding = "int"
		oi.SharedInt = n >= 0 && n < 10000 && (tx.e.MaxMemory() == 0 || !(p.LRU() || p.LFU()))
	case len(v) <= 44 && ent.vcap == ent.vlen:
		oi.Encoding = "embstr"
	default:
		oi.Encoding = "raw"
	}
	return oi, true, nil
}

// KeyspaceHits returns the read lookups that found their key and those
// that did not (INFO keyspace_hits and keyspace_misses).
func (e *Engine) KeyspaceHits() (hits, misses int64) {
	for i := range e.shards {
		hits += e.shards[i].hits.Load()
		misses += e.shards[i].misses.Load()
	}
	return hits, misses
}

// ResetStats zeroes the counters INFO stats shows (CONFIG RESETSTAT).
func (e *Engine) ResetStats() {
	e.stats.ExpiredKeys.Store(0)
	e.stats.EvictedKeys.Store(0)
	for i := range e.shards {
		e.shards[i].hits.Store(0)
		e.shards[i].misses.Store(0)
	}
}
