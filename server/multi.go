package server

import (
	"sync"
	"sync/atomic"

	"github.com/cairn-db/cairn/engine"
)

// Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH, with Redis 7.0's
// semantics.
//
// Inside MULTI, dispatch runs its checks (unknown command, arity, auth,
// MISCONF, LOADING, commands refused in MULTI) and queues what passes: the
// arguments are copied into one per-client buffer, reused from one
// transaction to the next. A refused command flags the transaction (reject)
// and EXEC then answers EXECABORT.
//
// EXEC runs every queued command in ONE engine transaction, so the block
// is one write-ahead-log record and recovery never shows half of it (DESIGN
// rule 2). The transaction locks the union of the queued commands' keys
// (and the watched keys, so that the WATCH check and the commands see one
// state), or every shard when a queued command needs the whole keyspace
// (flagAllKeys: KEYS, SCAN, RANDOMKEY, DBSIZE, FLUSHDB, FLUSHALL, INFO). It
// is an Update when a queued command writes, a View otherwise. Keyed
// commands (tx handlers) get the EXEC's Tx. Commands that manage their own
// engine access (run handlers) must reach the engine through the client's
// helpers below (c.update, c.view, c.updateAll, c.engKeys, …): inside EXEC
// those use the EXEC's Tx instead of starting a transaction of their own,
// which would wait forever for the locks EXEC holds. A run handler that
// touches the engine must also name its keys in the table (key positions)
// or carry flagAllKeys, so that EXEC locks what it uses.
//
// Blocking commands inside EXEC do not block (Redis's CLIENT_DENY_BLOCKING):
// c.inExec() reports that EXEC is running the client's commands; a blocking
// command then answers as if its timeout had passed.
//
// WATCH: each watched key is registered in the server's watchRegistry. The
// engine hands every committed write's effects to Server.onCommit (under
// the write's locks, see engine/observe.go), which marks the clients
// watching a touched key dirty, with Redis 7.0's rules for keys that were
// already expired when watched and for FLUSHDB/FLUSHALL (only keys that
// existed count). Expiry's deletes are effects too, so they invalidate as
// in Redis; EXEC also treats a watched key that has expired but was not yet
// reclaimed as changed. Eviction, once it exists, logs its deletes as
// effects and needs nothing more here.

const (
	msgNoMulti   = "ERR Command not allowed inside a transaction"
	msgExecAbort = "EXECABORT Transaction discarded because of previous errors."
)

const grpT = "transactions"

func multiCommands() []*command {
	ctl := flagNoScript | flagLoading | flagStale | flagNoQueue
	return []*command{
		plainCmd("multi", 1, ctl|flagFast, grpT, "1.2.0", "Mark the start of a transaction block", cmdMulti),
		plainCmd("exec", 1, ctl, grpT, "1.2.0", "Execute all commands issued after MULTI", cmdExec),
		plainCmd("discard", 1, ctl|flagFast, grpT, "2.0.0", "Discard all commands issued after MULTI", cmdDiscard),
		{name: "watch", arity: -2, flags: ctl | flagFast, firstKey: 1, lastKey: -1, step: 1, group: grpT,
			since: "2.2.0", summary: "Watch the given keys to determine execution of the MULTI/EXEC block", run: cmdWatch},
		plainCmd("unwatch", 1, flagNoScript|flagLoading|flagStale|flagFast, grpT, "2.2.0", "Forget about all watched keys", cmdUnwatch),
	}
}

// multiSyntax documents the family's arguments for COMMAND DOCS (docs.go).
var multiSyntax = map[string]string{
	"multi": "", "exec": "", "discard": "", "watch": "key...", "unwatch": "",
}

// txState is a client's MULTI/EXEC and WATCH state. Only the client's own
// goroutine touches it, except where noted.
type txState struct {
	inMulti bool
	// dirtyExec: a command was refused while queueing; EXEC aborts.
	dirtyExec bool
	// writes: a queued command writes; allKeys: one needs every shard.
	writes, allKeys bool
	cmds            []queuedCmd
	// argBuf holds the queued commands' arguments back to back; argEnds
	// the end offset of each argument.
	argBuf  []byte
	argEnds []int
	// args and keys are scratch for EXEC.
	args [][]byte
	keys [][]byte
	// execTx is EXEC's transaction while it runs the queued commands.
	execTx *engine.Tx
	// queued is len(cmds)+1 inside MULTI, 0 outside: CLIENT LIST's multi=
	// field, read by other clients.
	queued atomic.Int32

	// watched are the client's watched keys; guarded by the server's
	// watchRegistry.mu (the commit hook unwatches a dirty client).
	watched []*watchedKey
	// dirtyCAS: a watched key changed; set by any goroutine.
	dirtyCAS atomic.Bool
	// watching: WATCH ran since the last unwatch (the owner's view; the
	// hook may have unwatched meanwhile). EXEC skips the registry without.
	watching bool
}

// queuedCmd is one queued command: its arguments are argEnds[first:first+n].
type queuedCmd struct {
	cmd      *command
	first, n int
}

// inExec reports whether EXEC is running the client's queued commands:
// blocking commands must then answer at once, as if timed out.
func (c *client) inExec() bool { return c.txs.execTx != nil }

// reject writes the error for a command refused before it ran, flagging an
// open transaction as Redis's rejectCommand does; a refused EXEC aborts the
// transaction instead, with the reason. cmd is nil for an unknown command.
func (c *client) reject(cmd *command, msg string) {
	if cmd != nil && cmd.run == nil && cmd.tx == nil {
		cmd = nil // a container
	}
	if cmd != nil && cmd.name == "exec" {
		c.execAbort(msg)
		return
	}
	if c.txs.inMulti {
		c.txs.dirtyExec = true
	}
	c.writeError(msg)
}

// execAbort discards the transaction and answers EXECABORT with why. Like
// Redis, a reason written as "ERR text" shows as just "text".
func (c *client) execAbort(why string) {
	c.discardTx()
	if len(why) > 4 && why[:4] == "ERR " {
		why = why[4:]
	}
	c.writeError("EXECABORT Transaction discarded because of: " + why)
}

// queue appends a command to the transaction and answers QUEUED.
func (c *client) queue(cmd *command, args [][]byte) {
	t := &c.txs
	q := queuedCmd{cmd: cmd, first: len(t.argEnds), n: len(args)}
	for _, a := range args {
		t.argBuf = append(t.argBuf, a...)
		t.argEnds = append(t.argEnds, len(t.argBuf))
	}
	t.cmds = append(t.cmds, q)
	t.queued.Store(int32(len(t.cmds) + 1))
	if cmd.flags&(flagWrite|flagMayWrite) != 0 {
		t.writes = true
	}
	if cmd.flags&flagAllKeys != 0 {
		t.allKeys = true
	}
	c.out = append(c.out, "+QUEUED\r\n"...)
}

// queuedArgs returns the i-th queued command's arguments (valid until the
// transaction is discarded), in t.args.
func (t *txState) queuedArgs(i int) [][]byte {
	q := t.cmds[i]
	t.args = t.args[:0]
	start := 0
	if q.first > 0 {
		start = t.argEnds[q.first-1]
	}
	for _, end := range t.argEnds[q.first : q.first+q.n] {
		t.args = append(t.args, t.argBuf[start:end:end])
		start = end
	}
	return t.args
}

// discardTx leaves MULTI, forgets the queue and unwatches every key.
func (c *client) discardTx() {
	t := &c.txs
	t.inMulti, t.dirtyExec, t.writes, t.allKeys = false, false, false, false
	clear(t.cmds)
	t.cmds = t.cmds[:0]
	t.argEnds = t.argEnds[:0]
	if cap(t.argBuf) > 64<<10 {
		t.argBuf = nil // a big transaction's memory is not kept
	} else {
		t.argBuf = t.argBuf[:0]
	}
	clear(t.args)
	clear(t.keys)
	t.queued.Store(0)
	c.unwatchAll()
}

func cmdMulti(c *client, args [][]byte) {
	if c.txs.inMulti {
		c.writeError("ERR MULTI calls can not be nested")
		return
	}
	c.txs.inMulti = true
	c.txs.queued.Store(1)
	c.writeOK()
}

func cmdDiscard(c *client, args [][]byte) {
	if !c.txs.inMulti {
		c.writeError("ERR DISCARD without MULTI")
		return
	}
	c.discardTx()
	c.writeOK()
}

func cmdExec(c *client, args [][]byte) {
	t := &c.txs
	if !t.inMulti {
		c.writeError("ERR EXEC without MULTI")
		return
	}
	if t.dirtyExec {
		c.discardTx()
		c.writeError(msgExecAbort)
		return
	}
	if t.writes {
		if msg := c.s.diskError(); msg != "" {
			c.execAbort(msg)
			return
		}
	}
	keys := t.keys[:0]
	if !t.allKeys {
		for i, q := range t.cmds {
			keys = q.cmd.keys(t.queuedArgs(i), keys)
		}
		if t.watching {
			keys = c.s.watch.appendKeys(c, keys)
		}
	}
	t.keys = keys
	aborted := false
	run := func(tx *engine.Tx) error {
		if c.watchBroken(tx) {
			aborted = true
			return nil
		}
		c.writeArray(len(t.cmds))
		t.execTx = tx
		for i, q := range t.cmds {
			c.execOne(q.cmd, t.queuedArgs(i), tx)
		}
		t.execTx = nil
		return nil
	}
	var err error
	switch {
	case t.allKeys && t.writes:
		err = c.s.eng.UpdateAll(run)
	case t.allKeys:
		err = c.s.eng.ViewAll(run)
	case t.writes:
		err = c.s.eng.Update(keys, run)
	default:
		err = c.s.eng.View(keys, run)
	}
	if err != nil {
		// As in runTx: the replies are written; the log refuses writes
		// before running them once it fails.
		c.s.log.Error("commit failed", "cmd", "exec", "err", err)
	}
	if aborted {
		c.writeNullArray()
	}
	writes := t.writes && !aborted
	c.discardTx()
	if writes {
		c.noteWrite()
	}
}

// execOne runs one queued command inside EXEC's transaction.
func (c *client) execOne(cmd *command, args [][]byte, tx *engine.Tx) {
	c.s.stats.commandsProcessed.Add(1)
	c.lastCmd.Store(&cmd.name)
	switch {
	case cmd.tx != nil:
		cmd.tx(c, tx, args)
	case cmd.run != nil:
		cmd.run(c, args)
	default:
		c.writeError(errWrongArity(cmd.name))
	}
}

func cmdWatch(c *client, args [][]byte) {
	if c.txs.inMulti {
		c.writeError("ERR WATCH inside MULTI is not allowed")
		return
	}
	if c.txs.dirtyCAS.Load() {
		// No point in watching: EXEC will fail anyway (as Redis).
		c.writeOK()
		return
	}
	keys := args[1:]
	// Registered under the keys' shard locks: a write to them either
	// committed before (and this client sees its result) or commits after
	// and finds the registration (engine/observe.go).
	c.txs.watching = true
	err := c.s.eng.View(keys, func(tx *engine.Tx) error {
		return c.s.watch.add(c, tx, keys)
	})
	if err != nil {
		c.writeEngineError(err)
		return
	}
	c.writeOK()
}

func cmdUnwatch(c *client, args [][]byte) {
	c.unwatchAll()
	c.writeOK()
}

// unwatchAll forgets the client's watched keys and its dirty flag.
func (c *client) unwatchAll() {
	if !c.txs.watching && !c.txs.dirtyCAS.Load() {
		return
	}
	c.txs.watching = false
	c.s.watch.mu.Lock()
	c.s.watch.unwatchLocked(c)
	c.s.watch.mu.Unlock()
	c.txs.dirtyCAS.Store(false)
}

// watchBroken reports, inside EXEC's transaction, whether a watched key
// changed since WATCH: the client was marked dirty, or a watched key has
// expired without being reclaimed yet (keys already expired when watched
// excepted), as Redis's isWatchedKeyExpired.
func (c *client) watchBroken(tx *engine.Tx) bool {
	if c.txs.dirtyCAS.Load() {
		return true
	}
	if !c.txs.watching {
		return false
	}
	w := &c.s.watch
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, wk := range c.txs.watched {
		if wk.expired {
			continue
		}
		if present, expired, err := tx.KeyState(wk.db, wk.keyB); err == nil && present && expired {
			return true
		}
	}
	return c.txs.dirtyCAS.Load()
}

// watchRegistry maps watched keys to the clients watching them.
type watchRegistry struct {
	mu sync.Mutex
	// keys: by key name (any database); each entry carries its database.
	keys map[string][]*watchedKey
	// victims is the commit hook's scratch.
	victims []*client
}

// watchedKey is one client's watch of one key.
type watchedKey struct {
	c    *client
	db   int
	key  string
	keyB []byte
	// present: the key is in the keyspace (live or expired); exact while
	// the watcher is clean, since any other change to the key dirties it.
	present bool
	// expired: the key had expired (unreclaimed) when watched; its
	// reclaiming is no change (Redis's watchedKey.expired).
	expired bool
}

// add registers c's watch of keys in c's database; tx holds their shards.
func (w *watchRegistry) add(c *client, tx *engine.Tx, keys [][]byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.keys == nil {
		w.keys = make(map[string][]*watchedKey)
	}
	for _, k := range keys {
		dup := false
		for _, wk := range w.keys[string(k)] {
			if wk.c == c && wk.db == c.db {
				dup = true
				break
			}
		}
		if dup {
			continue
		}
		present, expired, err := tx.KeyState(c.db, k)
		if err != nil {
			return err
		}
		wk := &watchedKey{c: c, db: c.db, key: string(k), present: present, expired: expired}
		wk.keyB = []byte(wk.key)
		w.keys[wk.key] = append(w.keys[wk.key], wk)
		if len(c.txs.watched) == 0 {
			c.s.eng.ObserveCommits(1)
		}
		c.txs.watched = append(c.txs.watched, wk)
	}
	return nil
}

// appendKeys appends c's watched keys (for EXEC's lock set).
func (w *watchRegistry) appendKeys(c *client, dst [][]byte) [][]byte {
	w.mu.Lock()
	for _, wk := range c.txs.watched {
		dst = append(dst, wk.keyB)
	}
	w.mu.Unlock()
	return dst
}

// unwatchLocked removes all of c's watches; w.mu is held.
func (w *watchRegistry) unwatchLocked(c *client) {
	if len(c.txs.watched) == 0 {
		return
	}
	for _, wk := range c.txs.watched {
		list := w.keys[wk.key]
		for i, x := range list {
			if x == wk {
				list[i] = list[len(list)-1]
				list[len(list)-1] = nil
				list = list[:len(list)-1]
				break
			}
		}
		if len(list) == 0 {
			delete(w.keys, wk.key)
		} else {
			w.keys[wk.key] = list
		}
	}
	clear(c.txs.watched)
	c.txs.watched = c.txs.watched[:0]
	c.s.eng.ObserveCommits(-1)
}

// onCommit is the engine's commit hook (engine.SetOnCommit): it runs under
// the committing write's locks while any client watches, and dirties the
// clients watching a key the write changed.
func (s *Server) onCommit(effects []engine.Effect) {
	if s.blk.count.Load() > 0 {
		s.blk.noteReady(effects)
	}
	w := &s.watch
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.keys) == 0 {
		return
	}
	w.victims = w.victims[:0]
	for i := range effects {
		ef := &effects[i]
		switch ef.Op {
		case engine.OpFlushDB:
			w.flushed(ef.DB)
		case engine.OpFlushAll:
			w.flushed(-1)
		default:
			touches, n := ef.Touches()
			for _, t := range touches[:n] {
				w.touched(t.DB, t.Key, t.Exists)
			}
		}
	}
	for _, c := range w.victims {
		w.unwatchLocked(c)
	}
	clear(w.victims)
}

// touched applies a change of key in db (exists: it is there afterwards).
func (w *watchRegistry) touched(db int, key []byte, exists bool) {
	for _, wk := range w.keys[string(key)] {
		if wk.db != db || wk.c.txs.dirtyCAS.Load() {
			continue
		}
		if wk.expired && !exists {
			// The expired key was reclaimed: no logical change.
			wk.expired, wk.present = false, false
			continue
		}
		w.dirty(wk.c)
	}
}

// flushed applies FLUSHDB of db (-1: FLUSHALL): a watch is broken only if
// its key was there, as Redis's touchAllWatchedKeysInDb.
func (w *watchRegistry) flushed(db int) {
	for _, list := range w.keys {
		for _, wk := range list {
			if (db >= 0 && wk.db != db) || !wk.present || wk.c.txs.dirtyCAS.Load() {
				continue
			}
			if wk.expired {
				wk.expired, wk.present = false, false
				continue
			}
			w.dirty(wk.c)
		}
	}
}

func (w *watchRegistry) dirty(c *client) {
	c.txs.dirtyCAS.Store(true)
	w.victims = append(w.victims, c)
}

// Engine access for run handlers that works inside EXEC as well (see the
// comment at the top): outside EXEC each starts its own transaction or
// engine call; inside, it uses EXEC's transaction.

// update runs fn in a write transaction over keys.
func (c *client) update(keys [][]byte, fn func(tx *engine.Tx) error) error {
	if tx := c.txs.execTx; tx != nil {
		return fn(tx)
	}
	return c.s.eng.Update(keys, fn)
}

// view runs fn in a read transaction over keys.
func (c *client) view(keys [][]byte, fn func(tx *engine.Tx) error) error {
	if tx := c.txs.execTx; tx != nil {
		return fn(tx)
	}
	return c.s.eng.View(keys, fn)
}

// updateAll runs fn in a write transaction over every shard (the command
// must carry flagAllKeys).
func (c *client) updateAll(fn func(tx *engine.Tx) error) error {
	if tx := c.txs.execTx; tx != nil {
		return fn(tx)
	}
	return c.s.eng.UpdateAll(fn)
}

// missingAllKeys logs a run handler that reads the whole keyspace inside
// EXEC without flagAllKeys (EXEC then holds only some shards): a bug.
func (c *client) missingAllKeys(err error) {
	if err != nil {
		c.s.log.Error("a command read the whole keyspace inside EXEC without flagAllKeys", "cmd", *c.lastCmd.Load(), "err", err)
	}
}

// engKeys is Engine.Keys (flagAllKeys).
func (c *client) engKeys(db int, f engine.ScanFilter) [][]byte {
	if tx := c.txs.execTx; tx != nil {
		keys, err := tx.Keys(db, f)
		c.missingAllKeys(err)
		return keys
	}
	return c.s.eng.Keys(db, f)
}

// engScan is Engine.Scan (flagAllKeys).
func (c *client) engScan(db int, cursor uint64, count int, f engine.ScanFilter) ([][]byte, uint64) {
	if tx := c.txs.execTx; tx != nil {
		keys, next, err := tx.Scan(db, cursor, count, f)
		c.missingAllKeys(err)
		return keys, next
	}
	return c.s.eng.Scan(db, cursor, count, f)
}

// engRandomKey is Engine.RandomKey (flagAllKeys).
func (c *client) engRandomKey(db int) []byte {
	if tx := c.txs.execTx; tx != nil {
		k, err := tx.RandomKey(db)
		c.missingAllKeys(err)
		return k
	}
	return c.s.eng.RandomKey(db)
}

// engDBSize is Engine.DBSize (flagAllKeys).
func (c *client) engDBSize(db int) int {
	if tx := c.txs.execTx; tx != nil {
		n, err := tx.DBSize(db)
		c.missingAllKeys(err)
		return n
	}
	return c.s.eng.DBSize(db)
}

// engKeyspace is Engine.Keyspace (flagAllKeys).
func (c *client) engKeyspace() []engine.KeyspaceInfo {
	if tx := c.txs.execTx; tx != nil {
		ks, err := tx.Keyspace()
		c.missingAllKeys(err)
		return ks
	}
	return c.s.eng.Keyspace()
}
