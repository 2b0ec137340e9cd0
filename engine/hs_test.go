package engine

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/quick"
)

// entryValueString is a deterministic dump of an entry's value for the
// tests that compare keyspaces: the string, or the collection's String().
func entryValueString(ent *entry) string {
	c := ent.collection()
	if c == nil {
		return string(ent.value())
	}
	if s, ok := c.(fmt.Stringer); ok {
		return s.String()
	}
	return fmt.Sprintf("%T(len %d)", c, c.length())
}

// randomCollOp runs one random hash or set write (all through the public
// Tx API, inside one Update over k and k2). Members and fields come from a
// small pool, with integers (for intsets) and now and then a long value or
// a burst of many (to cross the encoding thresholds).
func randomCollOp(e *Engine, rng *rand.Rand, db int, k, k2 []byte) error {
	pool := func() []byte {
		switch rng.IntN(6) {
		case 0:
			return []byte("m" + strconv.Itoa(rng.IntN(20)))
		case 1:
			return []byte(fmt.Sprintf("%070d", rng.IntN(3)))
		default:
			return []byte(strconv.Itoa(rng.IntN(40) - 5))
		}
	}
	many := func(n int) [][]byte {
		out := make([][]byte, n)
		for i := range out {
			if n > 10 {
				out[i] = []byte(strconv.Itoa(rng.IntN(700)))
			} else {
				out[i] = pool()
			}
		}
		return out
	}
	n := 1 + rng.IntN(3)
	if rng.IntN(15) == 0 {
		n = 200 + rng.IntN(500)
	}
	return e.Update([][]byte{k, k2}, func(tx *Tx) error {
		var err error
		switch rng.IntN(14) {
		case 0, 1:
			_, err = tx.HSet(db, k, many(2*n))
		case 2:
			_, err = tx.HSetNX(db, k, pool(), pool())
		case 3:
			_, err = tx.HDel(db, k, many(n))
		case 4:
			_, err = tx.HIncrBy(db, k, pool(), int64(rng.IntN(10)))
		case 5:
			_, err = tx.HIncrByFloat(db, k, pool(), []byte("0.1"))
		case 6, 7:
			_, err = tx.SAdd(db, k, many(n))
		case 8:
			_, err = tx.SRem(db, k, many(n))
		case 9:
			_, err = tx.SPop(db, k, rng.IntN(8)-1)
		case 10:
			_, err = tx.SMove(db, k, k2, pool())
		case 11:
			_, err = tx.SetCombineStore(db, SetOp(rng.IntN(3)), k2, [][]byte{k, k2})
		case 12:
			// Several writes to one key in one transaction.
			if _, err = tx.HSet(db, k, [][]byte{[]byte("a"), []byte("1")}); err == nil {
				if _, err = tx.HIncrBy(db, k, []byte("a"), 1); err == nil {
					_, err = tx.HIncrBy(db, k, []byte("a"), 1)
				}
			}
		default:
			if _, err = tx.SAdd(db, k, many(n)); err == nil {
				_, err = tx.SPop(db, k, 2)
			}
		}
		return err
	})
}

// tableModelOp is one step of the strTable property test.
type tableModelOp struct {
	Kind  uint8
	Key   uint16
	Value uint8
}

// TestStrTableModel checks strTable against a Go map (testing/quick
// generates the operation sequences): contents, count, lookups, and that
// a full scan returns each entry exactly once.
func TestStrTableModel(t *testing.T) {
	check := func(ops []tableModelOp, keySpace uint16) bool {
		space := int(keySpace%2000) + 1
		tb := newStrTable(true, 0)
		model := map[string]string{}
		for _, op := range ops {
			k := []byte("key:" + strconv.Itoa(int(op.Key)%space))
			switch op.Kind % 4 {
			case 0, 1:
				v := []byte(fmt.Sprintf("%0*d", int(op.Value)%90, op.Value))
				_, had := model[string(k)]
				if tb.set(k, v) == had {
					return false
				}
				model[string(k)] = string(v)
			case 2:
				_, had := model[string(k)]
				if tb.remove(k) != had {
					return false
				}
				delete(model, string(k))
			case 3:
				v, ok := tb.get(k)
				mv, mok := model[string(k)]
				if ok != mok || string(v) != mv {
					return false
				}
			}
		}
		if tb.count != len(model) {
			return false
		}
		seen := map[string]int{}
		cursor := uint64(0)
		for {
			cursor = tb.scan(cursor, 7, func(k, v []byte) {
				seen[string(k)]++
				if model[string(k)] != string(v) {
					seen["!bad"]++
				}
			})
			if cursor == 0 {
				break
			}
		}
		if len(seen) != len(model) {
			return false
		}
		for _, n := range seen {
			if n != 1 {
				return false
			}
		}
		return true
	}
	if err := quick.Check(check, &quick.Config{MaxCount: 300}); err != nil {
		t.Fatal(err)
	}
}

// TestStrTableScanNeverMisses: while a table grows and shrinks between
// SCAN calls, every key present for the whole scan is returned.
func TestStrTableScanNeverMisses(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 50; round++ {
		tb := newStrTable(false, 0)
		stable := map[string]bool{}
		for i := 0; i < 200; i++ {
			k := "stable:" + strconv.Itoa(i)
			tb.set([]byte(k), nil)
			stable[k] = true
		}
		seen := map[string]bool{}
		cursor := uint64(0)
		churn := 0
		for {
			cursor = tb.scan(cursor, 1+rng.IntN(20), func(k, _ []byte) { seen[string(k)] = true })
			if cursor == 0 {
				break
			}
			// Grow a lot or shrink a lot between calls.
			if rng.IntN(2) == 0 {
				for i := 0; i < rng.IntN(2000); i++ {
					tb.set([]byte("churn:"+strconv.Itoa(churn)), nil)
					churn++
				}
			} else {
				for i := 0; i < churn; i++ {
					tb.remove([]byte("churn:" + strconv.Itoa(i)))
				}
			}
		}
		for k := range stable {
			if !seen[k] {
				t.Fatalf("round %d: %q present throughout, never returned", round, k)
			}
		}
	}
}

// TestStrTableCompaction: after heavy overwrites and deletes the arena
// shrinks, and every surviving value is intact.
func TestStrTableCompaction(t *testing.T) {
	tb := newStrTable(true, 0)
	val := make([]byte, 100)
	for round := 0; round < 20; round++ {
		for i := 0; i < 5000; i++ {
			copy(val, strconv.Itoa(round*10000+i))
			tb.set([]byte(strconv.Itoa(i)), val)
		}
	}
	for i := 0; i < 4000; i++ {
		tb.remove([]byte(strconv.Itoa(i)))
	}
	if tb.count != 1000 {
		t.Fatalf("count %d", tb.count)
	}
	if tb.dead > tb.live+compactMin {
		t.Fatalf("dead %d live %d: not compacted", tb.dead, tb.live)
	}
	for i := 4000; i < 5000; i++ {
		v, ok := tb.get([]byte(strconv.Itoa(i)))
		if !ok || string(v[:len(strconv.Itoa(190000+i))]) != strconv.Itoa(190000+i) {
			t.Fatalf("key %d: %q %v", i, v, ok)
		}
	}
	// A big entry gets a chunk of its own, freed with it.
	big := make([]byte, 2*chunkMax)
	tb.set([]byte("big"), big)
	if v, _ := tb.get([]byte("big")); len(v) != len(big) {
		t.Fatalf("big value has %d bytes", len(v))
	}
	tb.remove([]byte("big"))
	for _, c := range tb.chunks {
		if cap(c) >= len(big) {
			t.Fatal("big entry's chunk kept after its removal")
		}
	}
}

// TestHashEncodings: listpack until 129 fields or a 65-byte field or
// value, one-way; updates keep a listpack field's place.
func TestHashEncodings(t *testing.T) {
	h := &hashValue{}
	for i := 0; i < 128; i++ {
		h.set([]byte(strconv.Itoa(i)), []byte("v"))
	}
	if h.encoding() != "listpack" {
		t.Fatal(h.encoding())
	}
	h.set([]byte("5"), []byte("longer value"))
	var order []string
	h.each(func(f, v []byte) bool { order = append(order, string(f)); return true })
	if order[5] != "5" || len(order) != 128 {
		t.Fatalf("update moved the field: %v", order[:8])
	}
	if v, _ := h.get([]byte("5")); string(v) != "longer value" {
		t.Fatalf("%q", v)
	}
	h.set([]byte("5"), []byte("s"))
	if v, _ := h.get([]byte("6")); string(v) != "v" {
		t.Fatalf("neighbour clobbered: %q", v)
	}
	h.set([]byte("new"), []byte("v"))
	if h.encoding() != "hashtable" || h.length() != 129 {
		t.Fatal(h.encoding(), h.length())
	}
	for i := 0; i < 129; i++ {
		h.del([]byte(strconv.Itoa(i)))
	}
	if h.encoding() != "hashtable" || h.length() != 1 {
		t.Fatal("converted back", h.encoding(), h.length())
	}
	h2 := &hashValue{}
	h2.set([]byte("f"), make([]byte, 65))
	if h2.encoding() != "hashtable" {
		t.Fatal(h2.encoding())
	}
}

// TestSetEncodings: intset while integers and at most 512; SPOP's rebuild.
func TestSetEncodings(t *testing.T) {
	s := &setValue{}
	for i := 512; i > 0; i-- {
		s.add([]byte(strconv.Itoa(i)))
	}
	if s.encoding() != "intset" || !slices.IsSorted(s.ints) {
		t.Fatal(s.encoding())
	}
	for _, m := range []string{"01", "+1", "-0", " 1"} {
		if s.has([]byte(m)) {
			t.Fatalf("%q read as an integer", m)
		}
	}
	s.add([]byte("513"))
	if s.encoding() != "hashtable" || s.length() != 513 {
		t.Fatal(s.encoding())
	}
	e := openT(t, Options{ActiveExpireHz: -1})
	key := []byte("s")
	_ = e.Update([][]byte{key}, func(tx *Tx) error {
		ms := make([][]byte, 600)
		for i := range ms {
			ms[i] = []byte(strconv.Itoa(i))
		}
		tx.SAdd(0, key, ms)
		out, err := tx.SPop(0, key, 550)
		if err != nil || len(out) != 550 {
			t.Fatal(err, len(out))
		}
		r, _, _ := tx.ReadSet(0, key)
		if r.Len() != 50 || !r.Compact() {
			t.Fatalf("after SPOP: %d members, compact %v", r.Len(), r.Compact())
		}
		return nil
	})
}

// TestHashSetBuilders: a value rebuilt from its iterator through the
// builder equals the original, encoding included.
func TestHashSetBuilders(t *testing.T) {
	for _, n := range []int{1, 5, 200} {
		h := &hashValue{}
		s := &setValue{}
		for i := 0; i < n; i++ {
			h.set([]byte("f"+strconv.Itoa(i)), []byte(strconv.Itoa(i)))
			s.add([]byte(strconv.Itoa(i * 3)))
		}
		hb := newHashBuilder(h.length(), h.encoding() == "hashtable")
		h.each(func(f, v []byte) bool { hb.add(f, v); return true })
		if got := hb.done().(*hashValue); got.String() != h.String() {
			t.Fatalf("hash: %s != %s", got, h)
		}
		sb := newSetBuilder(s.length(), s.encoding() == "hashtable")
		s.each(func(m []byte) bool {
			if err := sb.add(m); err != nil {
				t.Fatal(err)
			}
			return true
		})
		if got := sb.done().(*setValue); got.String() != s.String() {
			t.Fatalf("set: %s != %s", got, s)
		}
	}
	if newSetBuilder(0, false).done() != nil || newHashBuilder(0, true).done() != nil {
		t.Fatal("an empty builder made a collection")
	}
}

// TestCollEffectsCodec: the collection ops survive encode/decode.
func TestCollEffectsCodec(t *testing.T) {
	in := []Effect{
		{Op: OpHSet, DB: 3, Key: []byte("h"), Values: [][]byte{[]byte("f"), []byte("")}},
		{Op: OpHDel, DB: 0, Key: []byte("h"), Values: [][]byte{[]byte("f"), []byte("g")}},
		{Op: OpSAdd, DB: 1, Key: []byte("s"), Values: [][]byte{[]byte("1"), []byte("\x00")}},
		{Op: OpSRem, DB: 1, Key: []byte("s"), Values: [][]byte{[]byte("1")}},
	}
	out, err := DecodeEffects(AppendEffects(nil, in))
	if err != nil || len(out) != len(in) {
		t.Fatal(err)
	}
	for i := range in {
		if fmt.Sprint(in[i].Values) != fmt.Sprint(out[i].Values) || in[i].Op != out[i].Op || string(in[i].Key) != string(out[i].Key) {
			t.Fatalf("%d: %+v != %+v", i, in[i], out[i])
		}
	}
	// A truncated record, or a huge count, is an error, not a panic.
	enc := AppendEffects(nil, in[:1])
	for i := 1; i < len(enc); i++ {
		if _, err := DecodeEffects(enc[:i]); err == nil {
			t.Fatalf("truncated at %d decoded", i)
		}
	}
	bad := append(AppendEffects(nil, nil)[:1], 1, byte(OpSAdd), 0, 1, 'k', 0xff, 0xff, 0xff, 0x0f)
	if _, err := DecodeEffects(bad); err == nil {
		t.Fatal("a huge value count decoded")
	}
}

// TestStrTableCloneIndependent: a clone shares its original's arena, and
// each side's writes (overwrites, removals, big entries, the compactions
// they cause) leave the other's contents as they were. The original is
// read concurrently while the clone changes, as a snapshot reads the
// frozen table a writer has thawed (run with -race to check the sharing).
func TestStrTableCloneIndependent(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	orig := newStrTable(true, 0)
	model := map[string]string{}
	mutate := func(tb *strTable, m map[string]string, tag string, n int, rng *rand.Rand) {
		for i := 0; i < n; i++ {
			k := "key:" + strconv.Itoa(rng.IntN(3000))
			switch rng.IntN(10) {
			case 0, 1:
				tb.remove([]byte(k))
				delete(m, k)
			case 2:
				v := tag + string(make([]byte, bigEntry+rng.IntN(100)))
				tb.set([]byte(k), []byte(v))
				m[k] = v
			default:
				v := tag + strconv.Itoa(i) + string(make([]byte, rng.IntN(200)))
				tb.set([]byte(k), []byte(v))
				m[k] = v
			}
		}
	}
	check := func(tb *strTable, m map[string]string) error {
		n := 0
		var err error
		tb.each(func(k, v []byte) bool {
			n++
			if want, ok := m[string(k)]; !ok || want != string(v) {
				err = fmt.Errorf("key %q: %d bytes, want %d (present %v)", k, len(v), len(want), ok)
				return false
			}
			return true
		})
		if err == nil && (n != len(m) || tb.count != len(m)) {
			err = fmt.Errorf("%d entries (count %d), want %d", n, tb.count, len(m))
		}
		return err
	}
	mutate(orig, model, "a", 20000, rng)
	// Few writes on each side land in the chunk both were appending to;
	// many cross chunks and compact.
	for round, n := range []int{3, 30, 300, 20000, 3, 20000} {
		c := orig.clone()
		cmodel := maps.Clone(model)
		done := make(chan error)
		go func() {
			var err error
			for i := 0; i < 3 && err == nil; i++ {
				err = check(orig, model)
			}
			done <- err
		}()
		mutate(c, cmodel, "b", n, rand.New(rand.NewPCG(uint64(round), 9)))
		if err := <-done; err != nil {
			t.Fatalf("round %d: original while its clone changed: %v", round, err)
		}
		if err := check(c, cmodel); err != nil {
			t.Fatalf("round %d: clone: %v", round, err)
		}
		// Now the original changes (COPY's source), and the clone must not.
		mutate(orig, model, "c", n, rng)
		if err := check(c, cmodel); err != nil {
			t.Fatalf("round %d: clone after its original changed: %v", round, err)
		}
		if err := check(orig, model); err != nil {
			t.Fatalf("round %d: original: %v", round, err)
		}
		if n > 10000 && c.dead > c.live+compactMin {
			t.Fatalf("round %d: clone never compacted: dead %d live %d", round, c.dead, c.live)
		}
	}
}

// TestPrefetchFields: prefetching fields of every kind of value (a big
// and a small hash and set, a string, a missing key, another database)
// changes nothing: not the values, nor the keyspace's hit counts.
func TestPrefetchFields(t *testing.T) {
	e := openT(t, Options{ActiveExpireHz: -1})
	update := func(key string, fn func(tx *Tx, k []byte) error) {
		t.Helper()
		k := []byte(key)
		if err := e.Update([][]byte{k}, func(tx *Tx) error { return fn(tx, k) }); err != nil {
			t.Fatal(err)
		}
	}
	fields := benchKeys(1000)
	update("bighash", func(tx *Tx, k []byte) error {
		for _, f := range fields {
			if _, err := tx.HSet(0, k, [][]byte{f, f}); err != nil {
				return err
			}
		}
		return nil
	})
	update("bigset", func(tx *Tx, k []byte) error { _, err := tx.SAdd(0, k, fields); return err })
	update("smallhash", func(tx *Tx, k []byte) error { _, err := tx.HSet(0, k, fields[:2]); return err })
	update("smallset", func(tx *Tx, k []byte) error { _, err := tx.SAdd(0, k, [][]byte{[]byte("1"), []byte("2")}); return err })
	update("string", func(tx *Tx, k []byte) error { _, err := tx.Set(0, k, []byte("v"), SetArgs{}); return err })
	before := dump(e)
	hits, misses := e.KeyspaceHits()
	probe := append(slices.Clone(fields[:20]), []byte("absent"), nil)
	for _, key := range []string{"bighash", "bigset", "smallhash", "smallset", "string", "missing"} {
		for _, db := range []int{0, 1, -1, 99} {
			for _, n := range []int{0, 1, 2, len(probe)} {
				e.PrefetchFields(db, []byte(key), probe[:n])
			}
		}
	}
	if h, m := e.KeyspaceHits(); h != hits || m != misses {
		t.Fatalf("hits/misses went from %d/%d to %d/%d", hits, misses, h, m)
	}
	if after := dump(e); !maps.Equal(after, before) {
		t.Fatalf("keyspace changed:\n%v\n%v", before, after)
	}
}

// checkStrTable checks a table's bookkeeping against its slots and chunks:
// live bytes, dead bytes, chunkBytes, nils, every slot in a chunk there.
func checkStrTable(tb *strTable) error {
	live, nils, chunkBytes, shared := 0, 0, 0, 0
	bigChunk := map[uint32]bool{}
	var slots []tslot
	slots = append(slots, tb.slots...)
	if tb.old != nil {
		slots = append(slots, tb.old[tb.moved:]...)
	}
	for _, s := range slots {
		if s.h == 0 || s.off == movedOff {
			continue
		}
		if idx := s.chunk - tb.base; int(idx) >= len(tb.chunks) || tb.chunks[idx] == nil {
			return fmt.Errorf("slot in chunk %d, base %d, %d chunks", s.chunk, tb.base, len(tb.chunks))
		}
		if _, _, size := tb.entryAt(s); size > bigEntry {
			bigChunk[s.chunk] = true
		} else {
			live += size
		}
	}
	for i, c := range tb.chunks {
		if c == nil {
			nils++
			continue
		}
		chunkBytes += cap(c) + 24
		if !bigChunk[tb.base+uint32(i)] {
			shared += len(c)
		}
	}
	switch {
	case live != tb.live:
		return fmt.Errorf("live %d, counted %d", live, tb.live)
	case shared-live != tb.dead:
		return fmt.Errorf("dead %d, counted %d", shared-live, tb.dead)
	case chunkBytes != tb.chunkBytes:
		return fmt.Errorf("chunk bytes %d, counted %d", chunkBytes, tb.chunkBytes)
	case nils != tb.nils:
		return fmt.Errorf("%d nil chunks, counted %d", nils, tb.nils)
	}
	return nil
}

// TestStrTableCleaning: through overwrites, removals and big entries the
// compaction passes keep the bookkeeping exact, the dead bytes within
// about the live ones, the chunk list within a few times the chunks in
// use, and every value right; a clone taken in the middle of a pass
// finishes it on its own.
func TestStrTableCleaning(t *testing.T) {
	for seed := uint64(0); seed < 8; seed++ {
		rng := rand.New(rand.NewPCG(seed, 11))
		tb := newStrTable(true, 0)
		model := map[string]string{}
		keys := 200 + rng.IntN(5000)
		var clone *strTable
		var cloneModel map[string]string
		for step := 0; step < 60000; step++ {
			k := "key:" + strconv.Itoa(rng.IntN(keys))
			switch r := rng.IntN(100); {
			case r < 25:
				tb.remove([]byte(k))
				delete(model, k)
			case r < 27:
				v := strings.Repeat("B", bigEntry+rng.IntN(300))
				tb.set([]byte(k), []byte(v))
				model[k] = v
			default:
				v := strconv.Itoa(step) + strings.Repeat("v", rng.IntN(120))
				tb.set([]byte(k), []byte(v))
				model[k] = v
			}
			if clone == nil && tb.cleaning && tb.cleanOff > 0 {
				clone, cloneModel = tb.clone(), maps.Clone(model)
			}
			if step%500 != 0 {
				continue
			}
			if err := checkStrTable(tb); err != nil {
				t.Fatalf("seed %d step %d: %v", seed, step, err)
			}
			if tb.dead > 2*tb.live+compactMin+2*chunkMax {
				t.Fatalf("seed %d step %d: dead %d against live %d", seed, step, tb.dead, tb.live)
			}
			if inUse := len(tb.chunks) - tb.nils; len(tb.chunks) > 2*inUse+64 {
				t.Fatalf("seed %d step %d: %d chunks listed, %d in use", seed, step, len(tb.chunks), inUse)
			}
		}
		for k, v := range model {
			if got, ok := tb.get([]byte(k)); !ok || string(got) != v {
				t.Fatalf("seed %d: %q = %.20q (%v), want %.20q", seed, k, got, ok, v)
			}
		}
		if tb.count != len(model) {
			t.Fatalf("seed %d: count %d, model %d", seed, tb.count, len(model))
		}
		if clone == nil {
			t.Fatalf("seed %d: no pass was ever in the middle of a chunk", seed)
		}
		for i := 0; clone.cleaning; i++ {
			k := []byte("key:" + strconv.Itoa(i%keys))
			clone.set(k, k)
			cloneModel[string(k)] = string(k)
		}
		if err := checkStrTable(clone); err != nil {
			t.Fatalf("seed %d: clone: %v", seed, err)
		}
		for k, v := range cloneModel {
			if got, ok := clone.get([]byte(k)); !ok || string(got) != v {
				t.Fatalf("seed %d: clone: %q = %.20q (%v), want %.20q", seed, k, got, ok, v)
			}
		}
	}
}

// TestStrTableGrowing: while a table grows (old slots beside the new),
// every way in reads the model's contents exactly: lookups, each, a whole
// scan, random picks; writes that touch entries not yet moved (overwrites,
// removals, compaction) move them early; and a clone taken mid-growth
// finishes on its own.
func TestStrTableGrowing(t *testing.T) {
	for seed := uint64(0); seed < 6; seed++ {
		rng := rand.New(rand.NewPCG(seed, 21))
		tb := newStrTable(true, 0)
		model := map[string]string{}
		var clone *strTable
		var cloneModel map[string]string
		midGrowth, cleaningMidGrowth := 0, false
		next := 0
		for step := 0; step < 40000; step++ {
			var k string
			if len(model) == 0 || rng.IntN(3) == 0 {
				k = "key:" + strconv.Itoa(next)
				next++
			} else {
				k = "key:" + strconv.Itoa(rng.IntN(next))
			}
			switch r := rng.IntN(100); {
			case r < 15:
				tb.remove([]byte(k))
				delete(model, k)
			default:
				v := strconv.Itoa(step) + strings.Repeat("v", rng.IntN(60))
				tb.set([]byte(k), []byte(v))
				model[k] = v
			}
			if tb.old == nil {
				continue
			}
			if len(tb.slots) != 2*len(tb.old) {
				t.Fatalf("seed %d step %d: %d slots growing from %d", seed, step, len(tb.slots), len(tb.old))
			}
			cleaningMidGrowth = cleaningMidGrowth || tb.cleaning
			if midGrowth++; midGrowth%31 != 0 {
				continue
			}
			if clone == nil && tb.moved > 0 {
				clone, cloneModel = tb.clone(), maps.Clone(model)
			}
			if err := checkStrTable(tb); err != nil {
				t.Fatalf("seed %d step %d: %v", seed, step, err)
			}
			if err := sameAsModel(tb, model); err != nil {
				t.Fatalf("seed %d step %d (moved %d of %d): %v", seed, step, tb.moved, len(tb.old), err)
			}
			for range 20 {
				k, v, _ := tb.entryAt(tb.randomEntry())
				if mv, ok := model[string(k)]; !ok || mv != string(v) {
					t.Fatalf("seed %d step %d: random entry %q=%.20q, model %.20q (%v)", seed, step, k, v, mv, ok)
				}
			}
		}
		if midGrowth < 500 || clone == nil {
			t.Fatalf("seed %d: %d writes mid-growth, clone %v", seed, midGrowth, clone != nil)
		}
		if !cleaningMidGrowth {
			t.Logf("seed %d: no compaction pass ran mid-growth", seed)
		}
		if err := sameAsModel(tb, model); err != nil {
			t.Fatalf("seed %d: end: %v", seed, err)
		}
		// The clone goes on growing by itself, and its original is as it was.
		for i := 0; i < 5000; i++ {
			k := "clone:" + strconv.Itoa(i)
			clone.set([]byte(k), []byte(k))
			cloneModel[k] = k
		}
		if clone.old != nil {
			t.Fatalf("seed %d: clone still growing after 5000 writes", seed)
		}
		if err := sameAsModel(clone, cloneModel); err != nil {
			t.Fatalf("seed %d: clone: %v", seed, err)
		}
		if err := sameAsModel(tb, model); err != nil {
			t.Fatalf("seed %d: original after its clone grew: %v", seed, err)
		}
	}
}

// sameAsModel checks tb's contents against model through get, each and a
// whole scan (each entry exactly once), and its count.
func sameAsModel(tb *strTable, model map[string]string) error {
	if tb.count != len(model) {
		return fmt.Errorf("count %d, model %d", tb.count, len(model))
	}
	for k, v := range model {
		if got, ok := tb.get([]byte(k)); !ok || string(got) != v {
			return fmt.Errorf("get %q = %.20q (%v), want %.20q", k, got, ok, v)
		}
	}
	walked := map[string]int{}
	tb.each(func(k, v []byte) bool {
		if model[string(k)] != string(v) {
			walked["!bad"]++
		}
		walked[string(k)]++
		return true
	})
	scanned := map[string]int{}
	for cursor := uint64(0); ; {
		cursor = tb.scan(cursor, 10, func(k, v []byte) {
			if model[string(k)] != string(v) {
				scanned["!bad"]++
			}
			scanned[string(k)]++
		})
		if cursor == 0 {
			break
		}
	}
	for name, seen := range map[string]map[string]int{"each": walked, "scan": scanned} {
		if len(seen) != len(model) {
			return fmt.Errorf("%s: %d distinct entries, model %d (bad %d)", name, len(seen), len(model), seen["!bad"])
		}
		for k, n := range seen {
			if n != 1 {
				return fmt.Errorf("%s: %q seen %d times", name, k, n)
			}
		}
	}
	return nil
}
