package engine

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testClock is a settable clock.
type testClock struct{ ms atomic.Int64 }

func (c *testClock) now() time.Time  { return time.UnixMilli(c.ms.Load()) }
func (c *testClock) advance(d int64) { c.ms.Add(d) }
func newTestClock() *testClock       { c := &testClock{}; c.ms.Store(1_700_000_000_000); return c }
func (c *testClock) opts() Options   { return Options{Now: c.now, ActiveExpireHz: -1} }
func (r *recorder) snapshot() [][]Effect {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]Effect(nil), r.batches...)
}

// recorder is a Committer that keeps a deep copy of every batch.
type recorder struct {
	mu      sync.Mutex
	batches [][]Effect
}

func (r *recorder) Commit(lsn uint64, effects []Effect) error {
	r.mu.Lock()
	batch := make([]Effect, len(effects))
	for i, ef := range effects {
		ef.Key = append([]byte(nil), ef.Key...)
		ef.Key2 = append([]byte(nil), ef.Key2...)
		ef.Value = append([]byte(nil), ef.Value...)
		if effects[i].Key2 == nil {
			ef.Key2 = nil
		}
		batch[i] = ef
	}
	r.batches = append(r.batches, batch)
	r.mu.Unlock()
	return nil
}

type dumpEntry struct {
	kind Kind
	val  string
	exp  int64
}

// dump returns every key of every database, expired or not.
func dump(e *Engine) map[string]dumpEntry {
	out := map[string]dumpEntry{}
	for i := range e.shards {
		for db := range e.shards[i].dbs {
			sd := &e.shards[i].dbs[db]
			n := 0
			for slot, t := range sd.slots {
				if t != nil && t.len() == 0 {
					panic(fmt.Sprintf("shard %d db %d: empty table kept in slot %d", i, db, slot))
				}
				t.each(func(ent *entry) bool {
					k := ent.keyString()
					out[fmt.Sprintf("%d/%q", db, k)] = dumpEntry{ent.kind(), entryValueString(ent), ent.expireAt}
					n++
					if (ent.expireAt != 0) != (sd.volatile.get(ent.keyBytes(), hashKey(ent.keyBytes())) == ent) {
						panic(fmt.Sprintf("volatile index out of step for %q", k))
					}
					if got := sd.slots[slot].get(ent.keyBytes(), hashKey(ent.keyBytes())); got != ent {
						panic(fmt.Sprintf("key %q is not found where it is stored", k))
					}
					return true
				})
			}
			if n != sd.count {
				panic(fmt.Sprintf("shard %d db %d: count %d, have %d keys", i, db, sd.count, n))
			}
			if sd.volatile.len() > n {
				panic("volatile index holds deleted keys")
			}
		}
	}
	return out
}

// randomOp runs one random write or read against e through the public Tx API.
func randomOp(t *testing.T, e *Engine, rng *rand.Rand, clock *testClock) {
	keys := []string{"a", "b", "c", "d", "e\x00bin", "f"}
	k := []byte(keys[rng.IntN(len(keys))])
	k2 := []byte(keys[rng.IntN(len(keys))])
	db := rng.IntN(3)
	db2 := rng.IntN(3)
	now := clock.now().UnixMilli()
	val := []byte(fmt.Sprint(rng.IntN(100)))
	var err error
	if rng.IntN(3) == 0 {
		err = randomCollOp(e, rng, db, k, k2)
		if err != nil && err != ErrWrongType && err != ErrHashNotInteger && err != ErrHashNotFloat &&
			err != ErrOverflow && err != ErrNaNOrInfinity {
			t.Fatalf("unexpected error %v", err)
		}
		return
	}
	switch rng.IntN(24) {
	case 0:
		err = e.Update([][]byte{k}, func(tx *Tx) error {
			_, err := tx.Set(db, k, val, SetArgs{ExpireAt: now + int64(rng.IntN(50))})
			return err
		})
	case 1:
		err = e.Update([][]byte{k}, func(tx *Tx) error { _, err := tx.Set(db, k, val, SetArgs{KeepTTL: true, XX: true}); return err })
	case 2:
		err = e.Update([][]byte{k}, func(tx *Tx) error { _, err := tx.IncrBy(db, k, int64(rng.IntN(10))-5); return err })
	case 3:
		err = e.Update([][]byte{k}, func(tx *Tx) error { _, err := tx.IncrByFloat(db, k, []byte("1.5")); return err })
	case 4:
		err = e.Update([][]byte{k}, func(tx *Tx) error { _, err := tx.Append(db, k, []byte("xy")); return err })
	case 5:
		err = e.Update([][]byte{k}, func(tx *Tx) error {
			_, err := tx.SetRange(db, k, int64(rng.IntN(8)), []byte("Z"))
			return err
		})
	case 6:
		err = e.Update([][]byte{k}, func(tx *Tx) error { _, err := tx.Del(db, k); return err })
	case 7:
		err = e.Update([][]byte{k}, func(tx *Tx) error {
			_, err := tx.Expire(db, k, now+int64(rng.IntN(60))-10, ExpireCond(rng.IntN(16)))
			return err
		})
	case 8:
		err = e.Update([][]byte{k}, func(tx *Tx) error { _, err := tx.Persist(db, k); return err })
	case 9:
		err = e.Update([][]byte{k, k2}, func(tx *Tx) error { _, err := tx.Rename(db, k, k2, rng.IntN(2) == 0); return err })
	case 10:
		err = e.Update([][]byte{k, k2}, func(tx *Tx) error { _, err := tx.Copy(db, k, db2, k2, rng.IntN(2) == 0); return err })
	case 11:
		err = e.Update([][]byte{k}, func(tx *Tx) error { _, err := tx.Move(db, k, db2); return err })
	case 12:
		err = e.Update([][]byte{k, k2}, func(tx *Tx) error { _, err := tx.MSet(db, [][]byte{k, val, k2, val}, rng.IntN(2) == 0); return err })
	case 13:
		err = e.Update([][]byte{k}, func(tx *Tx) error { _, _, err := tx.GetDel(db, k); return err })
	case 14:
		err = e.Update([][]byte{k}, func(tx *Tx) error {
			_, _, err := tx.GetEx(db, k, ExpireChange{Set: true, At: now + int64(rng.IntN(40))})
			return err
		})
	case 15:
		if rng.IntN(10) == 0 {
			err = e.UpdateAll(func(tx *Tx) error { return tx.FlushDB(db) })
		}
	case 16:
		err = e.View([][]byte{k}, func(tx *Tx) error { _, _, err := tx.Get(db, k); return err })
	case 17:
		clock.advance(int64(rng.IntN(20)))
	case 18:
		e.ActiveExpireCycle(0, time.Second)
	case 19:
		err = e.Update([][]byte{k}, func(tx *Tx) error { _, err := tx.Set(db, k, val, SetArgs{Get: true, NX: rng.IntN(2) == 0}); return err })
	case 20, 21:
		err = e.Update([][]byte{k, k2}, func(tx *Tx) error { return randomListOp(tx, rng, db, k, k2) })
	case 22, 23:
		err = e.Update([][]byte{k, k2}, func(tx *Tx) error { return randomZSetOp(tx, rng, db, k, k2) })
	}
	if err != nil && err != ErrWrongType && err != ErrNotInteger && err != ErrNotFloat &&
		err != ErrNoSuchKey && err != ErrSameObject && err != ErrOverflow && err != ErrIndexRange && err != ErrNaNScore {
		t.Fatalf("unexpected error %v", err)
	}
}

// TestEffectsReplay checks DESIGN rule 1: replaying the recorded effects in
// commit order onto an empty engine rebuilds exactly the same state, with no
// clock involved.
func TestEffectsReplay(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CAIRN_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (replay with CAIRN_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	for round := 0; round < 30; round++ {
		clock := newTestClock()
		rec := &recorder{}
		opts := clock.opts()
		opts.Committer = rec
		a := openT(t, opts)
		for i := 0; i < 400; i++ {
			randomOp(t, a, rng, clock)
		}
		b := openT(t, Options{ActiveExpireHz: -1, Now: func() time.Time { return time.Unix(0, 0) }})
		for _, batch := range rec.snapshot() {
			if err := b.Apply(batch); err != nil {
				t.Fatalf("seed %d: apply %v: %v", seed, batch, err)
			}
		}
		da, db := dump(a), dump(b)
		if len(da) != len(db) {
			t.Fatalf("seed %d round %d: %d keys, replay has %d\n%v\n%v", seed, round, len(da), len(db), da, db)
		}
		for k, v := range da {
			if db[k] != v {
				t.Fatalf("seed %d round %d: key %s = %+v, replay has %+v", seed, round, k, v, db[k])
			}
		}
		a.Close()
		b.Close()
	}
}

func TestLazyExpiry(t *testing.T) {
	clock := newTestClock()
	rec := &recorder{}
	opts := clock.opts()
	opts.Committer = rec
	e := openT(t, opts)
	defer e.Close()
	k := []byte("k")
	now := clock.now().UnixMilli()
	_ = e.Update([][]byte{k}, func(tx *Tx) error { _, err := tx.Set(0, k, []byte("v"), SetArgs{ExpireAt: now + 10}); return err })
	clock.advance(10)
	var found bool
	_ = e.View([][]byte{k}, func(tx *Tx) error { _, found, _ = tx.Get(0, k); return nil })
	if found {
		t.Fatal("expired key was returned")
	}
	if n := e.DBSize(0); n != 0 {
		t.Fatalf("DBSize after lazy expiry = %d, want 0", n)
	}
	b := rec.snapshot()
	last := b[len(b)-1]
	if len(last) != 1 || last[0].Op != OpDel {
		t.Fatalf("lazy expiry logged %v, want one delete", last)
	}
	if e.Stats().ExpiredKeys.Load() != 1 {
		t.Fatalf("expired_keys = %d", e.Stats().ExpiredKeys.Load())
	}
}

// TestActiveExpiry: keys nobody touches are reclaimed by the sampling cycle.
func TestActiveExpiry(t *testing.T) {
	clock := newTestClock()
	e := openT(t, clock.opts())
	defer e.Close()
	now := clock.now().UnixMilli()
	const n = 100_000
	for i := 0; i < n; i++ {
		k := []byte(fmt.Sprintf("key:%d", i))
		exp := now + 100
		if i%10 == 0 {
			exp = 0 // a tenth never expire
		}
		_ = e.Update([][]byte{k}, func(tx *Tx) error { _, err := tx.Set(0, k, []byte("v"), SetArgs{ExpireAt: exp}); return err })
	}
	clock.advance(100)
	next := 0
	for cycles := 0; e.DBSize(0) > n/10; cycles++ {
		if cycles > 10_000 {
			t.Fatalf("active expiry stalled at %d keys", e.DBSize(0))
		}
		next = e.ActiveExpireCycle(next, 25*time.Millisecond)
	}
	if got := e.DBSize(0); got != n/10 {
		t.Fatalf("DBSize = %d, want %d", got, n/10)
	}
	if got := e.Stats().ExpiredKeys.Load(); got != n-n/10 {
		t.Fatalf("expired_keys = %d, want %d", got, n-n/10)
	}
}

// TestActiveExpiryRealClock: a large number of keys with short TTLs are
// reclaimed by the background loop with the real clock, untouched.
func TestActiveExpiryRealClock(t *testing.T) {
	e := openT(t, Options{})
	defer e.Close()
	const n = 200_000
	exp := time.Now().Add(50 * time.Millisecond).UnixMilli()
	for i := 0; i < n; i++ {
		k := []byte(fmt.Sprintf("key:%d", i))
		_ = e.Update([][]byte{k}, func(tx *Tx) error { _, err := tx.Set(0, k, []byte("v"), SetArgs{ExpireAt: exp}); return err })
	}
	deadline := time.Now().Add(30 * time.Second)
	for e.DBSize(0) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d keys still present after 30 s", e.DBSize(0), n)
		}
		time.Sleep(20 * time.Millisecond) // polling the observable condition, not synchronising
	}
}

// TestScanNeverMisses: a key present for the whole scan is returned, even
// while other keys are added and removed between calls.
func TestScanNeverMisses(t *testing.T) {
	e := openT(t, Options{ActiveExpireHz: -1})
	defer e.Close()
	set := func(k string) {
		_ = e.Update([][]byte{[]byte(k)}, func(tx *Tx) error { _, err := tx.Set(0, []byte(k), []byte("v"), SetArgs{}); return err })
	}
	del := func(k string) {
		_ = e.Update([][]byte{[]byte(k)}, func(tx *Tx) error { _, err := tx.Del(0, []byte(k)); return err })
	}
	stable := map[string]bool{}
	for i := 0; i < 5000; i++ {
		k := fmt.Sprintf("stable:%d", i)
		set(k)
		stable[k] = true
	}
	seen := map[string]bool{}
	var cursor uint64
	churn := 0
	for {
		keys, next := e.Scan(0, cursor, 7, ScanFilter{})
		for _, k := range keys {
			seen[string(k)] = true
		}
		for j := 0; j < 5; j++ {
			set(fmt.Sprintf("churn:%d", churn))
			if churn > 3 {
				del(fmt.Sprintf("churn:%d", churn-3))
			}
			churn++
		}
		if next == 0 {
			break
		}
		cursor = next
	}
	for k := range stable {
		if !seen[k] {
			t.Fatalf("scan missed %q", k)
		}
	}
}

// TestConcurrentIncr: increments from many goroutines on shared keys are
// all counted (shard locks serialise them).
func TestConcurrentIncr(t *testing.T) {
	e := openT(t, Options{ActiveExpireHz: -1})
	defer e.Close()
	keys := [][]byte{[]byte("x"), []byte("y"), []byte("z")}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				k := keys[i%len(keys)]
				_ = e.Update([][]byte{k}, func(tx *Tx) error { _, err := tx.IncrBy(0, k, 1); return err })
			}
		}()
	}
	wg.Wait()
	var total int64
	for _, k := range keys {
		_ = e.View([][]byte{k}, func(tx *Tx) error {
			v, _, _ := tx.Get(0, k)
			n, _ := ParseInt(v)
			total += n
			return nil
		})
	}
	if total != 8000 {
		t.Fatalf("total = %d, want 8000", total)
	}
}

func TestTxRefusesUnlockedKey(t *testing.T) {
	e := openT(t, Options{ActiveExpireHz: -1})
	defer e.Close()
	var other []byte
	for i := 0; ; i++ {
		other = []byte(fmt.Sprint("k", i))
		if hashKey(other)&e.shardMask != hashKey([]byte("a"))&e.shardMask {
			break
		}
	}
	err := e.Update([][]byte{[]byte("a")}, func(tx *Tx) error {
		_, err := tx.Set(0, other, []byte("v"), SetArgs{})
		return err
	})
	if err != ErrKeyNotLocked {
		t.Fatalf("write outside the locked shards: err = %v", err)
	}
	err = e.View([][]byte{[]byte("a")}, func(tx *Tx) error {
		_, err := tx.Set(0, []byte("a"), []byte("v"), SetArgs{})
		return err
	})
	if err != ErrReadOnlyTx {
		t.Fatalf("write in View: err = %v", err)
	}
}

func TestParseInt(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"-1", -1, true}, {"9223372036854775807", 9223372036854775807, true},
		{"-9223372036854775808", -9223372036854775808, true}, {"9223372036854775808", 0, false},
		{"01", 0, false}, {"-0", 0, false}, {" 1", 0, false}, {"1 ", 0, false}, {"", 0, false},
		{"+1", 0, false}, {"1.0", 0, false}, {"-", 0, false},
	} {
		got, ok := ParseInt([]byte(c.in))
		if ok != c.ok || got != c.want {
			t.Errorf("ParseInt(%q) = %d, %v; want %d, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestIncrByFloatFormatting(t *testing.T) {
	cases := []struct{ start, incr, want string }{
		{"", "0.1", "0.1"},
		{"0.1", "0.2", "0.3"},
		{"10.50", "0.1", "10.6"},
		{"", "5.0e3", "5000"},
		{"", "1e20", "100000000000000000000"},
		{"3", "-3", "0"},
		{"-1", "0.5", "-0.5"},
		{"", "1.23456789012345678", "1.23456789012345678"},
	}
	for _, c := range cases {
		e := openT(t, Options{ActiveExpireHz: -1})
		k := []byte("k")
		var got []byte
		err := e.Update([][]byte{k}, func(tx *Tx) error {
			if c.start != "" {
				if _, err := tx.Set(0, k, []byte(c.start), SetArgs{}); err != nil {
					return err
				}
			}
			var err error
			got, err = tx.IncrByFloat(0, k, []byte(c.incr))
			return err
		})
		if err != nil || string(got) != c.want {
			t.Errorf("%q + %q = %q, %v; want %q", c.start, c.incr, got, err, c.want)
		}
		e.Close()
	}
	e := openT(t, Options{ActiveExpireHz: -1})
	defer e.Close()
	for _, bad := range []string{"nan", " 1", "1 ", "abc", "", "1e5000", "1e-5000", "--1", "infx"} {
		err := e.Update([][]byte{[]byte("k")}, func(tx *Tx) error {
			_, err := tx.IncrByFloat(0, []byte("k"), []byte(bad))
			return err
		})
		if err != ErrNotFloat {
			t.Errorf("INCRBYFLOAT %q: err = %v, want ErrNotFloat", bad, err)
		}
	}
	for _, inf := range []string{"inf", "-inf", "+Infinity"} {
		err := e.Update([][]byte{[]byte("k")}, func(tx *Tx) error {
			_, err := tx.IncrByFloat(0, []byte("k"), []byte(inf))
			return err
		})
		if err != ErrNaNOrInfinity {
			t.Errorf("INCRBYFLOAT %q: err = %v, want ErrNaNOrInfinity", inf, err)
		}
	}
}

// TestEffectsWithinOneTx: later writes in the same transaction must not
// change what earlier effects of it say, since the Committer reads them all
// at the end.
func TestEffectsWithinOneTx(t *testing.T) {
	rec := &recorder{}
	a := openT(t, Options{ActiveExpireHz: -1, Committer: rec})
	defer a.Close()
	k := []byte("k")
	err := a.Update([][]byte{k}, func(tx *Tx) error {
		if _, err := tx.Set(0, k, []byte("12345678901234567890123"), SetArgs{}); err != nil {
			return err
		}
		if _, err := tx.SetRange(0, k, 0, []byte("9")); err != nil {
			return err
		}
		if _, err := tx.Set(0, k, []byte("100000000000000000000"[:19]), SetArgs{}); err != nil {
			return err
		}
		_, err := tx.IncrBy(0, k, 1)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	batch := rec.snapshot()[0]
	want := []string{"12345678901234567890123", "9", "1000000000000000000", "1000000000000000001"}
	for i, ef := range batch {
		if string(ef.Value) != want[i] {
			t.Errorf("effect %d value %q, want %q", i, ef.Value, want[i])
		}
	}
}

// openT opens an engine or fails the test.
func openT(t testing.TB, opts Options) *Engine {
	t.Helper()
	e, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}
