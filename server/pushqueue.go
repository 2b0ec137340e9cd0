package server

import (
	"sync"
	"time"
)

// pushQueue is a client's output once it has subscribed: publishers append
// messages to it from their own goroutines, and a writer goroutine of its
// own sends them, so that a publisher never waits for a subscriber's
// socket. The client's own replies go through it too (client.flush), so
// that replies and messages keep one order.
//
// Order: a subscription's confirmation must reach the client before any
// message of that subscription. The confirmation is written into the
// client's pending replies (c.out), which are flushed only at the end of the
// pipeline, after the durability wait; meanwhile a message may already be
// queued. So SUBSCRIBE holds the queue (under the registry's lock, before
// any publisher can see the new subscription): the writer sends nothing
// while held, and the owner's next flush puts its replies in front of what
// was queued since the hold began (after what was queued before it) and
// releases the hold.
//
// Memory: the queued bytes plus those being written count against the
// client-output-buffer-limit of the client's class (pubsub while it is
// subscribed; normal, unlimited by default, otherwise). Past the hard limit
// the client is disconnected at once; past the soft limit for longer than
// its seconds, at the next append.
type pushQueue struct {
	c  *client
	mu sync.Mutex
	// buf is what is queued and not yet taken by the writer; spare is a
	// buffer the writer gave back, reused for the next batch.
	buf, spare, tmp []byte
	// inflight is the size of the batch the writer is writing.
	inflight int
	// held: the writer sends nothing until the owner's next flush;
	// buf[:holdAt] was queued before the hold began.
	held   bool
	holdAt int
	// softSince is when the soft limit was first seen exceeded (Unix ms);
	// 0 while under it.
	softSince int64
	// closed: the client is gone or over its limit; appends are dropped.
	closed bool
	// draining: the owner is done; the writer sends what is queued and
	// exits (QUIT's reply must still go out).
	draining bool

	wake chan struct{} // a token: there is something to send
	stop chan struct{} // closed by the owner when the client ends
	done chan struct{} // closed when the writer has exited
}

// maxSpare bounds the buffer kept between batches.
const maxSpare = 256 << 10

// pushQueue returns the client's queue, starting it (and its writer) on
// first use.
func (c *client) pushQueue() *pushQueue {
	if c.pq == nil {
		c.pq = &pushQueue{c: c, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
		go c.pq.run()
	}
	return c.pq
}

// hold stops the writer until the owner's next flush (see above).
func (q *pushQueue) hold() {
	q.mu.Lock()
	if !q.held {
		q.held, q.holdAt = true, len(q.buf)
	}
	q.mu.Unlock()
}

// push appends b (a whole message) for the writer; it never blocks on the
// client's socket. lim is the limit of the client's class.
func (q *pushQueue) push(b []byte, lim BufferLimit) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.buf = append(q.buf, b...)
	if q.overLimitLocked(lim) {
		q.closeLocked()
		q.mu.Unlock()
		return
	}
	held := q.held
	q.mu.Unlock()
	if !held {
		q.signal()
	}
}

func (q *pushQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// flushOwner queues the owner's pending replies c.out (after the durability
// wait) and releases a hold.
func (q *pushQueue) flushOwner(out []byte, lim BufferLimit) error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return errClientClosed
	}
	if q.held && len(q.buf) > q.holdAt {
		// The replies go in front of what publishers queued since the
		// hold began.
		q.tmp = append(append(append(q.tmp[:0], q.buf[:q.holdAt]...), out...), q.buf[q.holdAt:]...)
		q.buf, q.tmp = q.tmp, q.buf[:0]
		if cap(q.tmp) > maxSpare {
			q.tmp = nil
		}
	} else {
		q.buf = append(q.buf, out...)
	}
	q.held = false
	if q.overLimitLocked(lim) {
		q.closeLocked()
		q.mu.Unlock()
		return errClientClosed
	}
	q.mu.Unlock()
	q.signal()
	return nil
}

// overLimitLocked applies client-output-buffer-limit as Redis's
// checkClientOutputBufferLimits does.
func (q *pushQueue) overLimitLocked(lim BufferLimit) bool {
	size := int64(len(q.buf) + q.inflight)
	if lim.Hard > 0 && size >= lim.Hard {
		return true
	}
	if lim.Soft > 0 && size >= lim.Soft {
		now := time.Now().UnixMilli()
		if q.softSince == 0 {
			q.softSince = now
			return false
		}
		return now-q.softSince > int64(lim.SoftSeconds)*1000
	}
	q.softSince = 0
	return false
}

// closeLocked disconnects a client over its limit: its queue is dropped
// and its connection closed (its reader then ends the client).
func (q *pushQueue) closeLocked() {
	q.closed = true
	q.buf, q.spare, q.tmp = nil, nil, nil
	c := q.c
	c.s.log.Warn("closing client for overcoming of output buffer limits", "client", c.addr, "id", c.id)
	c.nc.Close()
}

// run is the writer goroutine.
func (q *pushQueue) run() {
	defer close(q.done)
	for {
		select {
		case <-q.wake:
		case <-q.stop:
			q.mu.Lock()
			drain := q.draining
			q.mu.Unlock()
			if drain {
				q.writeOut()
			}
			return
		}
		if !q.writeOut() {
			return
		}
	}
}

// writeOut sends batches until nothing is left (or the queue is held);
// false when the connection failed.
func (q *pushQueue) writeOut() bool {
	for {
		q.mu.Lock()
		if q.closed || (q.held && !q.draining) || len(q.buf) == 0 {
			q.mu.Unlock()
			return !q.closed
		}
		batch := q.buf
		q.buf, q.spare = q.spare[:0], nil
		q.inflight = len(batch)
		q.mu.Unlock()

		n, err := q.c.nc.Write(batch)
		q.c.s.stats.netOutput.Add(int64(n))

		q.mu.Lock()
		q.inflight = 0
		if cap(batch) <= maxSpare && q.spare == nil {
			q.spare = batch[:0]
		}
		if err != nil {
			q.closed = true
			q.buf, q.spare, q.tmp = nil, nil, nil
			q.mu.Unlock()
			q.c.nc.Close()
			return false
		}
		q.mu.Unlock()
	}
}

// shutdown ends the writer when the client ends. With drain (the client
// quits) what is queued is sent first, for at most a few seconds.
func (q *pushQueue) shutdown(drain bool) {
	q.mu.Lock()
	q.draining = drain && !q.closed
	q.held = false
	q.mu.Unlock()
	close(q.stop)
	if drain {
		q.c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
		<-q.done
	}
}
