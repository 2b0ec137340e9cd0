package server

import (
	"errors"
	"math"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairn-db/cairn/engine"
)

// Blocking commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN,
// BZPOPMAX, BZMPOP).
//
// A blocking command first tries to run at once, in a write transaction
// over its keys. If none of its keys can serve it, it registers a waiter in
// the queue of each key, still inside that transaction (under the keys'
// shard locks), so no write to those keys can slip between the check and
// the registration. Then its goroutine parks until it is served, its
// timeout passes, or its connection closes.
//
// Serving is done by the writer: while clients are blocked, the engine's
// commit hook notes every key with waiters that a write left holding a
// value (noteReady), whatever wrote it; after the command, serveReady
// goes through those keys in the order they were written. For each
// key, the first waiter still waiting (first blocked, first served) is
// served: its pop runs as a transaction of its own (its own log record),
// from the key that became ready (as Redis 7.0 does), and its reply is
// handed to the parked goroutine. Then the next waiter, as long as the key
// still has data. A served BLMOVE pushes to its destination, which serves
// that key's waiters in turn.
//
// A parked client's connection is watched by a goroutine that reads from
// it: bytes that arrive (pipelined commands) are kept and handed back to the
// command reader once the block ends, and a read error (the client went
// away, CLIENT KILL) drops the waiter from every queue.

// blockKey is a key in a database.
type blockKey struct {
	db  int
	key string
}

// waiter states; changed under blocker.mu.
const (
	waitWaiting = iota // in the queues, may be picked
	waitServing        // a writer is running its pop
	waitDone           // served, timed out or gone: out of the queues
)

// waiter is one blocked client.
type waiter struct {
	keys []blockKey
	// serve runs the pop for ready key in a transaction of its own,
	// writing the reply into out; it reports whether it served (false: the
	// key had nothing for it, keep waiting).
	serve func(key []byte, out *client) bool
	// state, timedOut, gone: under blocker.mu.
	state    int
	timedOut bool // the deadline passed while a writer was serving
	gone     bool // the connection closed while a writer was serving
	// reply is the served reply (RESP bytes); set before done is closed.
	reply []byte
	// lsn is the log position of the served pop.
	lsn  uint64
	done chan struct{}
}

// blocker holds the queues of blocked clients.
type blocker struct {
	mu     sync.Mutex
	queues map[blockKey][]*waiter
	// count is the number of registered waiters (INFO blocked_clients); a
	// writer skips the queues entirely while it is 0.
	count atomic.Int64
	// ready lists the keys with waiters that committed writes touched, in
	// the order they were written (Redis's ready_keys); hasReady says it
	// is not empty. The engine's commit hook fills it (noteReady), so a
	// write reaches the waiters whatever made it: a command on another
	// database (COPY, MOVE, SELECT inside EXEC), a script, a transaction.
	ready    []blockKey
	hasReady atomic.Bool
	// observe registers commit observers with the engine: one per waiter,
	// so that every write to a key with waiters reaches noteReady.
	observe func(delta int)
}

func (b *blocker) register(w *waiter) {
	b.mu.Lock()
	if b.queues == nil {
		b.queues = make(map[blockKey][]*waiter)
	}
	for _, k := range w.keys {
		b.queues[k] = append(b.queues[k], w)
	}
	b.count.Add(1)
	b.mu.Unlock()
	// Under the keys' shard locks (register runs inside the blocking
	// command's transaction): every write to them from now on reaches
	// noteReady.
	b.observe(1)
}

// unlinkLocked removes w from its queues and marks it done.
func (b *blocker) unlinkLocked(w *waiter) {
	for _, k := range w.keys {
		q := b.queues[k]
		for i, x := range q {
			if x == w {
				q = append(q[:i], q[i+1:]...)
				break
			}
		}
		if len(q) == 0 {
			delete(b.queues, k)
		} else {
			b.queues[k] = q
		}
	}
	w.state = waitDone
	b.count.Add(-1)
	b.observe(-1)
}

// noteReady records the keys with waiters that effects leave holding a
// value. It runs in the engine's commit hook, under the write's locks.
func (b *blocker) noteReady(effects []engine.Effect) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.queues) == 0 {
		return
	}
	for i := range effects {
		touches, n := effects[i].Touches()
		for _, t := range touches[:n] {
			if !t.Exists {
				continue
			}
			if _, ok := b.queues[blockKey{t.DB, string(t.Key)}]; !ok {
				continue
			}
			bk := blockKey{t.DB, string(t.Key)}
			if !slices.Contains(b.ready, bk) {
				b.ready = append(b.ready, bk)
			}
		}
	}
	if len(b.ready) > 0 {
		b.hasReady.Store(true)
	}
}

// serveReady serves the clients blocked on the keys that writes made
// ready, in the order the writes committed, until none is left: a served
// pop or move may make more keys ready. The writer calls it once its
// transaction has committed and before its reply goes out, so that, as in
// Redis, what it pushed is already handed to the blocked clients when it
// hears back.
func (s *Server) serveReady() {
	b := &s.blk
	for b.hasReady.Load() {
		b.mu.Lock()
		keys := b.ready
		b.ready = nil
		b.hasReady.Store(false)
		b.mu.Unlock()
		for _, k := range keys {
			s.serveKey(k.db, []byte(k.key))
		}
	}
}

func (s *Server) serveKey(db int, key []byte) {
	b := &s.blk
	bk := blockKey{db, string(key)}
	for {
		b.mu.Lock()
		var w *waiter
		for _, x := range b.queues[bk] {
			if x.state == waitWaiting {
				w = x
				break
			}
		}
		if w == nil {
			b.mu.Unlock()
			return
		}
		w.state = waitServing
		b.mu.Unlock()

		out := &client{s: s, db: db}
		served := w.serve(key, out)

		b.mu.Lock()
		if served || w.timedOut || w.gone {
			b.unlinkLocked(w)
			if served {
				w.reply = out.out
				w.lsn = s.eng.LastLSN()
			}
			close(w.done)
			b.mu.Unlock()
			if served {
				continue
			}
			return
		}
		w.state = waitWaiting
		b.mu.Unlock()
		return // the key has nothing for anyone
	}
}

// mayBlock reports whether the client may block. Inside MULTI (not built
// yet) it must return false: a blocking command then answers at once as if
// its timeout had passed, as Redis's CLIENT_DENY_BLOCKING does.
func (c *client) mayBlock() bool { return !c.inExec() }

// parseTimeout reads a blocking command's timeout in seconds (a float) as
// Redis's getTimeoutFromObjectOrReply does: 0 means forever. It writes the
// error itself.
func (c *client) parseTimeout(arg []byte) (time.Duration, bool) {
	f, ok := parseLongDoubleArg(arg)
	if !ok {
		c.writeError("ERR timeout is not a float or out of range")
		return 0, false
	}
	ms := f * 1000
	// C converts with a truncating (long long) cast; out-of-range values
	// (and infinities) become LLONG_MIN on x86-64, hence "negative".
	if math.IsInf(ms, 0) || ms >= 9.223372036854775807e18 || ms < -9.223372036854775808e18 {
		c.writeError(msgTimeoutNegative)
		return 0, false
	}
	t := int64(ms)
	if t < 0 {
		c.writeError(msgTimeoutNegative)
		return 0, false
	}
	if t > math.MaxInt64-time.Now().UnixMilli() {
		c.writeError("ERR timeout is out of range")
		return 0, false
	}
	if t > math.MaxInt64/int64(time.Millisecond) {
		t = math.MaxInt64 / int64(time.Millisecond)
	}
	return time.Duration(t) * time.Millisecond, true
}

// blockOn runs a blocking command: try runs it at once over lockKeys (in a
// write transaction) and reports whether it was answered; if not, the
// client waits on waitKeys until serve answers it, timeout passes (0:
// never) or the connection closes.
//
// Inside EXEC it does not block: it answers as its non-blocking form does
// when there is nothing to pop, a nil array, or with nilBulk a nil bulk
// string (BLMOVE and BRPOPLPUSH, as LMOVE and RPOPLPUSH).
func (c *client) blockOn(lockKeys, waitKeys [][]byte, timeout time.Duration, nilBulk bool,
	try func(tx *engine.Tx) bool, serve func(key []byte, out *client) bool) {
	var w *waiter
	// c.update: inside EXEC, EXEC's transaction (and no blocking).
	err := c.update(lockKeys, func(tx *engine.Tx) error {
		if try(tx) {
			return nil
		}
		if !c.mayBlock() {
			if nilBulk {
				c.writeNull()
			} else {
				c.writeNullArray()
			}
			return nil
		}
		w = &waiter{serve: serve, done: make(chan struct{}), keys: make([]blockKey, len(waitKeys))}
		for i, k := range waitKeys {
			w.keys[i] = blockKey{c.db, string(k)}
		}
		c.s.blk.register(w)
		return nil
	})
	if err != nil {
		c.s.log.Error("commit failed", "err", err)
	}
	if w == nil {
		return // answered at once (dispatch serves what it pushed)
	}
	c.wait(w, timeout)
}

// wait parks the client until w is done.
func (c *client) wait(w *waiter, timeout time.Duration) {
	b := &c.s.blk
	c.blocked.Store(true)
	defer c.blocked.Store(false)
	// Replies to earlier commands of the pipeline go out now.
	flushErr := c.flush()

	var timer <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		timer = t.C
	}
	watch := c.watchConn()
	if flushErr != nil {
		watch.fail(flushErr)
	}
	for {
		select {
		case <-w.done:
		case <-timer:
			b.mu.Lock()
			if w.state == waitWaiting {
				b.unlinkLocked(w)
				close(w.done)
			} else if w.state == waitServing {
				w.timedOut = true
			}
			b.mu.Unlock()
			timer = nil
			continue
		case <-watch.failed:
			b.mu.Lock()
			if w.state == waitWaiting {
				b.unlinkLocked(w)
				close(w.done)
			} else if w.state == waitServing {
				w.gone = true
			}
			b.mu.Unlock()
			watch.failed = nil
			continue
		}
		break
	}
	watch.stop(c)
	if w.reply != nil {
		c.out = append(c.out, w.reply...)
		if w.lsn > c.lastWriteLSN {
			c.lastWriteLSN = w.lsn
		}
		c.mustSync = c.s.eng.Durable()
		return
	}
	if watch.err != nil {
		c.closeAfterReply = true
		return
	}
	c.writeNullArray()
}

// connWatch reads a parked client's connection.
type connWatch struct {
	nc      net.Conn
	mu      sync.Mutex
	pending []byte
	err     error         // the read error that ended the watch (not our deadline)
	failed  chan struct{} // closed when the connection failed
	exited  chan struct{}
	once    sync.Once
}

func (c *client) watchConn() *connWatch {
	w := &connWatch{nc: c.nc, failed: make(chan struct{}), exited: make(chan struct{})}
	// A blocked client is not idle: no timeout applies while it waits.
	c.nc.SetReadDeadline(time.Time{})
	go func() {
		defer close(w.exited)
		buf := make([]byte, 4096)
		for {
			n, err := w.nc.Read(buf)
			if n > 0 {
				w.mu.Lock()
				w.pending = append(w.pending, buf[:n]...)
				w.mu.Unlock()
			}
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					return // stopped by stop's deadline (or the idle timeout)
				}
				w.fail(err)
				return
			}
		}
	}()
	return w
}

func (w *connWatch) fail(err error) {
	w.once.Do(func() {
		w.mu.Lock()
		w.err = err
		w.mu.Unlock()
		close(w.failed)
	})
}

// stop ends the watch and hands what it read back to the command reader.
func (w *connWatch) stop(c *client) {
	c.nc.SetReadDeadline(time.Unix(1, 0))
	<-w.exited
	c.nc.SetReadDeadline(time.Time{})
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.pending) > 0 {
		c.rd.inject(w.pending)
	}
}

// inject appends bytes read elsewhere (while the client was blocked) to
// the unread input. The current command is complete, so the buffer may be
// compacted.
func (p *respReader) inject(b []byte) {
	if p.w+len(b) > len(p.buf) {
		n := p.w - p.r
		size := len(p.buf)
		for size < n+len(b) {
			size *= 2
		}
		nb := make([]byte, size)
		copy(nb, p.buf[p.r:p.w])
		p.buf, p.r, p.w = nb, 0, n
	}
	copy(p.buf[p.w:], b)
	p.w += len(b)
}

// parseLongDoubleArg parses a float as Redis's string2ld: no spaces, no
// trailing bytes, no NaN; infinities allowed.
func parseLongDoubleArg(b []byte) (float64, bool) {
	return engine.ParseLongDouble(b)
}

// blockPop blocks on keys until pop answers from one of them, as BLPOP,
// BLMPOP, BZPOPMIN and BZMPOP do: at once from the first key that is
// ready, else for the first key a write makes ready. pop writes the reply
// to the client it is given and reports whether it popped.
func (c *client) blockPop(keys [][]byte, timeout time.Duration, pop func(c *client, tx *engine.Tx, key []byte) (bool, error)) {
	c.blockOn(keys, keys, timeout, false,
		func(tx *engine.Tx) bool {
			return popFirst(c, tx, keys, func(k []byte) (bool, error) { return pop(c, tx, k) })
		},
		func(key []byte, out *client) bool {
			return out.serveOnce([][]byte{key}, func(tx *engine.Tx) (bool, error) { return pop(out, tx, key) })
		})
}
