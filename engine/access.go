package engine

import (
	"math/rand/v2"
	"sync/atomic"
	"unsafe"
)

// Access tracking: the LRU clock or the LFU counter of a key, in the 24
// bits that follow the entry's type byte (the entry stays 32 bytes). As in
// Redis, the bits mean one thing or the other depending on the eviction
// policy in force:
//
//	LRU:  clock (24 bits): the engine clock in units of lruResolutionMs
//	LFU:  minutes (16 bits) | counter (8 bits): the last decrement time in
//	      minutes, and the logarithmic access counter
//
// Reads update them under a shared lock, so every access to the 32-bit
// word (type byte included) that can race is atomic: the type byte is
// immutable, and kind() reads it with an atomic load.
const (
	// lruResolutionMs is the LRU clock's unit. Redis's is a second, so
	// keys touched within the same second tie, and a busy cache turns over
	// much of its memory in a second: a hot key then ranks with the cold
	// keys written in its second. 24 bits of 10 ms wrap after 46.6 hours
	// (Redis's: 194 days): a key idle longer looks younger than it is.
	lruResolutionMs = 10
	lruClockMax     = 1<<24 - 1
	// lfuInitVal is a new key's LFU counter (Redis's LFU_INIT_VAL), so
	// that it is not evicted before it had a chance to be read again.
	lfuInitVal = 5
)

// accessWord is the 32-bit word holding the type (low byte) and the access
// bits (high 24).
func (ent *entry) accessWord() *uint32 { return (*uint32)(unsafe.Pointer(&ent.typ)) }

// access returns the 24 access bits.
func (ent *entry) access() uint32 { return atomic.LoadUint32(ent.accessWord()) >> 8 }

// setAccess stores the 24 access bits, if they changed (a store dirties
// the entry's cache line; most reads change nothing).
func (ent *entry) setAccess(acc uint32) {
	w := ent.accessWord()
	old := atomic.LoadUint32(w)
	if nw := old&0xff | acc<<8; nw != old {
		atomic.StoreUint32(w, nw)
	}
}

// lruClock is the LRU clock at now (Unix ms).
func lruClock(now int64) uint32 { return uint32(now/lruResolutionMs) & lruClockMax }

// lruIdleMs estimates how long ago (ms) an entry with LRU bits acc was
// last accessed, allowing for one wrap of the clock.
func lruIdleMs(acc uint32, now int64) int64 {
	clock := lruClock(now)
	if clock >= acc {
		return int64(clock-acc) * lruResolutionMs
	}
	return int64(clock+(lruClockMax-acc)) * lruResolutionMs
}

// lfuMinutes is the LFU decrement clock: Unix minutes, 16 bits.
func lfuMinutes(now int64) uint32 { return uint32(now/60000) & 0xffff }

// lfuDecayed returns the LFU counter of bits acc after decay: one less per
// decayMin minutes elapsed since the last decrement (0: no decay).
func lfuDecayed(acc uint32, now int64, decayMin int) uint32 {
	ldt, counter := acc>>8, acc&0xff
	cur := lfuMinutes(now)
	var elapsed uint32
	if cur >= ldt {
		elapsed = cur - ldt
	} else {
		elapsed = 0xffff - ldt + cur
	}
	if decayMin > 0 {
		if periods := elapsed / uint32(decayMin); periods > 0 {
			if periods >= counter {
				return 0
			}
			return counter - periods
		}
	}
	return counter
}

// lfuLogIncr increments a counter with probability 1/((counter-5)*factor+1),
// so that 255 stands for about a million accesses at factor 10.
func lfuLogIncr(counter uint32, factor int) uint32 {
	if counter == 255 {
		return 255
	}
	base := float64(counter) - lfuInitVal
	if base < 0 {
		base = 0
	}
	if rand.Float64() < 1/(base*float64(factor)+1) {
		counter++
	}
	return counter
}

// touch records an access to ent, per the policy in force.
func (e *Engine) touch(ent *entry) {
	now := e.accessMs()
	if e.evict.lfu.Load() {
		counter := lfuDecayed(ent.access(), now, int(e.evict.lfuDecay.Load()))
		counter = lfuLogIncr(counter, int(e.evict.lfuLogFactor.Load()))
		ent.setAccess(lfuMinutes(now)<<8 | counter)
		return
	}
	ent.setAccess(lruClock(now))
}

// initAccess gives a new entry the access bits of a fresh key.
func (e *Engine) initAccess(ent *entry) { e.initAccessAt(ent, e.accessMs()) }

// initAccessAt is initAccess with the access clock read by the caller.
func (e *Engine) initAccessAt(ent *entry, now int64) {
	if e.evict.lfu.Load() {
		ent.setAccess(lfuMinutes(now)<<8 | lfuInitVal)
		return
	}
	ent.setAccess(lruClock(now))
}
