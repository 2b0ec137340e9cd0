package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidwall/redcon"

	"github.com/cairn-db/cairn/wal"
)

// maxPendingOutput is how much reply data a pipeline may buffer before it
// is written out mid-pipeline.
const maxPendingOutput = 64 << 10

// client is one connection.
type client struct {
	s  *Server
	id int64
	nc net.Conn
	// sock reads and writes nc (see sockIO); sio is it when it is a sockIO
	// counted by the server's busy poller.
	sock io.ReadWriter
	sio  *sockIO
	rd   *respReader
	// out holds replies not yet written; flushed when the reader would
	// block (end of a pipeline) or when it grows past maxPendingOutput.
	out []byte
	// prefetchBuf holds the keys prefetch passes to the engine.
	prefetchBuf [prefetchMax][]byte
	// lookedUp is the command this client looked up last, tried first: a
	// client mostly sends one command over and over, and comparing its
	// name costs less than hashing it for the table.
	lookedUp *command

	db     int
	authed bool
	// lastWriteLSN is the log position of this client's latest write;
	// mustSync says replies now buffered include a write not yet waited on.
	lastWriteLSN uint64
	mustSync     bool
	// closeAfterReply: QUIT or a protocol error; close once out is written.
	closeAfterReply bool
	// txs is the MULTI/EXEC and WATCH state (multi.go).
	txs txState
	// ps is the pub/sub state, nil until the first subscription; pq the
	// output queue a subscribed client's output goes through, nil until
	// then (pubsub.go, pushqueue.go); pubBuf is PUBLISH's scratch.
	ps     *pubsubState
	pq     *pushQueue
	pubBuf []byte
	// psShared is ps for other goroutines (CLIENT LIST's counts).
	psShared atomic.Pointer[pubsubState]

	created time.Time
	addr    string
	laddr   string

	// Fields other connections read (CLIENT LIST, CLIENT KILL).
	mu      sync.Mutex
	name    string
	libName string
	libVer  string
	dbShown atomic.Int32
	lastCmd atomic.Pointer[string]
	// blocked: the client waits in a blocking command (CLIENT LIST's "b").
	blocked atomic.Bool
	// lastTouch is the Unix ms when the client's last pipeline was done
	// (set once per pipeline, not per command: reading the clock is not free).
	lastTouch atomic.Int64
}

func (s *Server) newClient(nc net.Conn) *client {
	cfg := s.cfg.get()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		nc.Close()
		return nil
	}
	if len(s.clients) >= cfg.MaxClients {
		s.mu.Unlock()
		s.stats.rejectedConns.Add(1)
		nc.Write([]byte("-ERR max number of clients reached\r\n"))
		nc.Close()
		return nil
	}
	c := &client{
		s:       s,
		id:      s.nextClientID.Add(1),
		nc:      nc,
		created: time.Now(),
		addr:    nc.RemoteAddr().String(),
		laddr:   nc.LocalAddr().String(),
		authed:  cfg.RequirePass == "",
	}
	c.sock = io.ReadWriter(nc)
	if sio := newSockIO(nc); sio != nil {
		c.sock = sio
		if s.bp != nil {
			sio.bp, c.sio = s.bp, sio
			s.bp.active.Add(1)
			sio.raw.Control(s.bp.watch)
		}
	}
	c.rd = newRESPReader(c.sock, cfg.ProtoMaxBulkLen)
	c.rd.authed = c.authed
	c.rd.beforeBlock = c.beforeRead
	c.lastTouch.Store(time.Now().UnixMilli())
	noCmd := "NULL"
	c.lastCmd.Store(&noCmd)
	s.clients[c.id] = c
	s.mu.Unlock()
	return c
}

// serve reads and runs commands until the connection ends.
func (c *client) serve() {
	defer c.finish()
	for {
		args, err := c.rd.next()
		if err != nil {
			var pe *protocolError
			if errors.As(err, &pe) {
				c.writeError("ERR " + pe.Error())
				c.flush()
			}
			if err == errQueryLimit {
				c.s.log.Warn("closing client that reached the query buffer limit", "client", c.addr)
			}
			return
		}
		c.s.stats.netInput.Add(int64(argsSize(args)))
		if c.rd.filled {
			c.rd.filled = false
			c.prefetch(args)
		}
		c.dispatch(args)
		if c.closeAfterReply {
			c.flush()
			return
		}
		if len(c.out) > maxPendingOutput {
			if c.flush() != nil {
				return
			}
		}
	}
}

// prefetchMax bounds the keys of a pipeline prefetched at once.
const prefetchMax = 16

// prefetch has the engine read into the cache what the lookups of the
// keys of the commands just read will need (see Engine.Prefetch), once per
// read, when it brought more than one command: at pipeline 16, INCR of
// random keys among a million spent a quarter of its time waiting for
// memory, one key after another. args is the command about to run.
func (c *client) prefetch(args [][]byte) {
	if len(args) < 2 {
		return
	}
	defer clear(c.prefetchBuf[:]) // not to keep a replaced read buffer alive
	keys := append(c.prefetchBuf[:0], args[1])
	// A pipeline to one key (LPUSH, HSET at pipeline 16) needs no
	// prefetch: its first command looks the key up anyway. Judged by the
	// next command alone, so that such a pipeline is not read through
	// twice (BenchmarkPeekKeys: 26 ns, against 196 for all of sixteen
	// LPUSHes).
	if next := c.rd.peekKeys(keys, 2); len(next) < 2 || string(next[1]) == string(args[1]) {
		if len(next) == 2 {
			c.prefetchFields(args)
		}
		return
	}
	keys = c.rd.peekKeys(keys, prefetchMax)
	uniq := keys[:1]
	for _, k := range keys[1:] {
		if string(k) != string(uniq[len(uniq)-1]) {
			uniq = append(uniq, k)
		}
	}
	c.s.eng.Prefetch(c.db, uniq)
}

// prefetchFields has the engine read into the cache what the lookups of
// the fields of a pipeline to one hash or set will need (see
// Engine.PrefetchFields), when args is a command that looks up its third
// argument there (flagField) and the commands after it do too, with the
// same name and key. At pipeline 16, HSET of random fields of a hash of
// a million spent a quarter of its time waiting for memory, a field's
// slot then its entry, one field after another.
func (c *client) prefetchFields(args [][]byte) {
	if len(args) < 3 {
		return
	}
	if cmd := c.command(args[0]); cmd == nil || cmd.flags&flagField == 0 {
		return
	}
	fields := c.rd.peekFields(append(c.prefetchBuf[:0], args[2]), args[0], args[1], prefetchMax)
	c.s.eng.PrefetchFields(c.db, args[1], fields)
}

func argsSize(args [][]byte) int {
	n := 0
	for _, a := range args {
		n += len(a) + 16
	}
	return n
}

// beforeRead flushes pending replies and arms the idle timeout before the
// reader blocks.
func (c *client) beforeRead() error {
	if err := c.flush(); err != nil {
		return err
	}
	// NowMs also keeps the engine's access clock fresh (LRU, LFU).
	c.lastTouch.Store(c.s.eng.NowMs())
	if t := c.s.cfg.get().Timeout; t > 0 {
		c.nc.SetReadDeadline(time.Now().Add(time.Duration(t) * time.Second))
	}
	return nil
}

// noteWrite records that the command just run wrote, for the wait before
// its reply is sent and for WAITAOF.
func (c *client) noteWrite() {
	if c.s.eng.Durable() {
		c.lastWriteLSN = c.s.eng.LastLSN()
		c.mustSync = true
	}
}

// flush writes the buffered replies. If they include writes, it first
// waits for the log: under appendfsync always for the fsync that covers
// them, otherwise for their write to the log's file (so that, as with
// Redis's AOF, a crash of the process loses no acknowledged write; only
// the machine's crash loses the last second under everysec). It waits once
// per pipeline, however many writes it holds, and the log's group commit
// shares the write and fsync among clients. If the log cannot take them,
// the replies are not sent at all and the connection is closed: a write is
// never acknowledged unless the log has it.
func (c *client) flush() error {
	if len(c.out) == 0 {
		return nil
	}
	if c.mustSync {
		c.mustSync = false
		wait := c.s.eng.WaitWritten
		if c.s.eng.SyncPolicy() == wal.SyncAlways {
			wait = c.s.eng.WaitSynced
		}
		if err := wait(context.Background(), c.lastWriteLSN); err != nil {
			c.s.log.Warn("write not durable: closing the client without replying", "client", c.addr, "err", err)
			c.out = c.out[:0]
			return err
		}
	}
	if c.pq != nil {
		lim := BufferLimit{} // the normal class: no limit
		if c.subscribed() {
			lim = c.s.pubsubLimit()
		}
		err := c.pq.flushOwner(c.out, lim)
		c.out = c.out[:0]
		return err
	}
	n, err := c.sock.Write(c.out)
	c.s.stats.netOutput.Add(int64(n))
	if cap(c.out) > maxPendingOutput*4 {
		c.out = nil
	} else {
		c.out = c.out[:0]
	}
	return err
}

func (c *client) finish() {
	if c.sio != nil {
		c.sio.done()
	}
	c.discardTx()
	c.resetPubsub()
	if c.pq != nil {
		c.pq.shutdown(c.closeAfterReply)
	}
	c.nc.Close()
	c.s.mu.Lock()
	delete(c.s.clients, c.id)
	c.s.mu.Unlock()
}

// Reply writers: RESP2 encoding via redcon's appenders.

func (c *client) writeOK()                 { c.out = append(c.out, "+OK\r\n"...) }
func (c *client) writeSimple(s string)     { c.out = redcon.AppendString(c.out, s) }
func (c *client) writeError(msg string)    { c.out = redcon.AppendError(c.out, msg) }
func (c *client) writeInt(n int64)         { c.out = redcon.AppendInt(c.out, n) }
func (c *client) writeBulk(b []byte)       { c.out = redcon.AppendBulk(c.out, b) }
func (c *client) writeBulkString(s string) { c.out = redcon.AppendBulkString(c.out, s) }
func (c *client) writeNull()               { c.out = append(c.out, "$-1\r\n"...) }
func (c *client) writeNullArray()          { c.out = append(c.out, "*-1\r\n"...) }
func (c *client) writeArray(n int)         { c.out = redcon.AppendArray(c.out, n) }

func (c *client) writeBool(b bool) {
	if b {
		c.out = append(c.out, ":1\r\n"...)
	} else {
		c.out = append(c.out, ":0\r\n"...)
	}
}

// writeEngineError writes the Redis text for an engine error.
func (c *client) writeEngineError(err error) { c.writeError(engineErrorText(err)) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func newRunID() string {
	var b [20]byte
	if _, err := io.ReadFull(rand.Reader, b[:]); err != nil {
		return "0000000000000000000000000000000000000000"
	}
	return hex.EncodeToString(b[:])
}
