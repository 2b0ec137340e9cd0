package engine

import (
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// Stats are the engine's counters, as INFO stats reports them.
type Stats struct {
	ExpiredKeys atomic.Int64
	// EvictedKeys counts keys evicted under maxmemory.
	EvictedKeys atomic.Int64
	// ExpireCycles counts active-expiry cycles that ran.
	ExpireCycles atomic.Int64
}

// Stats returns the engine's counters.
func (e *Engine) Stats() *Stats { return &e.stats }

// Active expiry, after Redis's activeExpireCycle: each cycle visits the
// shards in turn and, per database, samples up to expireSamples volatile keys
// and deletes the expired ones; while more than a quarter of a sample was
// expired it samples that shard again. A cycle stops after its time budget
// (a quarter of the period, as Redis's slow cycle) and the next one resumes
// where it stopped.
const (
	expireSamples       = 20
	expireRepeatPercent = 25
)

// cronPeriod is the cron's period at hz (10 a second without active
// expiry, hz <= 0).
func cronPeriod(hz int) time.Duration {
	if hz > 0 {
		return time.Second / time.Duration(hz)
	}
	return 100 * time.Millisecond
}

// cronLoop is the engine's serverCron: hz times a second (see
// SetActiveExpireHz) it refreshes the access clock and runs an
// active-expiry cycle.
func (e *Engine) cronLoop() {
	defer close(e.cronDone)
	defer e.cronOn.Store(false)
	hz := int(e.hz.Load())
	period := cronPeriod(hz)
	t := time.NewTicker(period)
	defer t.Stop()
	next := 0
	for {
		select {
		case <-e.stopCron:
			return
		case <-e.hzChanged:
			hz = int(e.hz.Load())
			period = cronPeriod(hz)
			t.Reset(period)
		case <-t.C:
			e.NowMs()
			if hz > 0 {
				next = e.ActiveExpireCycle(next, period/4)
			}
		}
	}
}

// SetActiveExpireHz changes how many active-expiry cycles run per second
// (CONFIG SET hz); 0 or less turns active expiry off. It takes effect at
// once if the cron runs (it does unless the engine was opened with a
// test's clock and active expiry off).
func (e *Engine) SetActiveExpireHz(hz int) {
	if int(e.hz.Swap(int32(hz))) == hz {
		return
	}
	select {
	case e.hzChanged <- struct{}{}:
	default: // a change is already waiting; the loop reads the latest
	}
}

// ActiveExpireCycle runs one cycle from shard start for at most budget and
// returns the shard to start the next cycle from.
func (e *Engine) ActiveExpireCycle(start int, budget time.Duration) int {
	e.stats.ExpireCycles.Add(1)
	deadline := time.Now().Add(budget)
	n := len(e.shards)
	for i := 0; i < n; i++ {
		s := (start + i) % n
		e.expireShard(s)
		if i&15 == 15 && time.Now().After(deadline) {
			return (s + 1) % n
		}
	}
	return start
}

// expireShard samples one shard's volatile keys in every database.
func (e *Engine) expireShard(s int) {
	sh := &e.shards[s]
	sh.mu.RLock()
	any := false
	for d := range sh.dbs {
		if sh.dbs[d].volatile.len() > 0 {
			any = true
			break
		}
	}
	sh.mu.RUnlock()
	if !any {
		return
	}
	tx := e.beginShard(s)
	defer e.endShard(tx)
	for d := range sh.dbs {
		sd := &sh.dbs[d]
		var sample [expireSamples]*entry
		for rounds := 0; rounds < 16 && sd.volatile.len() > 0; rounds++ {
			// A run of positions from a random start: a random sample.
			vt := sd.volatile
			n := 0
			start := rand.IntN(vt.capacity())
			for i := 0; i < vt.capacity() && n < len(sample); i++ {
				if ent := vt.at(start + i); ent != nil {
					sample[n] = ent
					n++
				}
			}
			sampled, expired := n, 0
			for _, ent := range sample[:n] {
				if ent.expireAt != 0 && ent.expireAt <= tx.nowMs() {
					tx.removeExpired(d, ent.keyBytes())
					expired++
				}
			}
			clear(sample[:n])
			if expired*100 <= sampled*expireRepeatPercent {
				break
			}
		}
	}
}

// beginShard starts a write tx holding exactly shard s.
func (e *Engine) beginShard(s int) *Tx {
	tx := e.txPool.Get().(*Tx)
	tx.write = true
	tx.all = false
	tx.now = 0
	tx.locked = append(tx.lockedBuf[:0], uint16(s))
	e.shards[s].mu.Lock()
	tx.rec = e.recordsEffects()
	return tx
}

func (e *Engine) endShard(tx *Tx) {
	_ = e.commit(tx)
	e.end(tx)
}
