package server

import (
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tidwall/redcon"

	"github.com/cairn-db/cairn/internal/glob"
)

// Pub/sub: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH and
// PUBSUB, with RESP2's subscribed mode. Messages are not persisted.
//
// A publisher never waits for a subscriber: it encodes a message once and
// appends the same bytes to each subscriber's push queue (pushqueue.go),
// whose own writer goroutine sends them. A subscriber that does not read
// has its queue grow up to client-output-buffer-limit's pubsub class, and is
// then disconnected (the hard limit at once, the soft limit after its
// seconds), as Redis does.

const grpP = "pubsub"

const msgSubCtx = "only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"

func pubsubCommands() []*command {
	sub := flagPubSub | flagNoScript | flagLoading | flagStale | flagSubCtx
	ps := &command{name: "pubsub", arity: -2, group: grpP, since: "2.8.0",
		summary: "A container for Pub/Sub commands", subs: map[string]*command{}}
	for _, c := range []*command{
		plainCmd("pubsub|channels", -2, flagPubSub|flagLoading|flagStale, grpP, "2.8.0", "List active channels", cmdPubsubChannels),
		plainCmd("pubsub|numsub", -2, flagPubSub|flagLoading|flagStale, grpP, "2.8.0", "Get the count of subscribers for channels", cmdPubsubNumsub),
		plainCmd("pubsub|numpat", 2, flagPubSub|flagLoading|flagStale, grpP, "2.8.0", "Get the count of unique patterns pattern subscriptions", cmdPubsubNumpat),
		plainCmd("pubsub|help", 2, flagLoading|flagStale, grpP, "6.2.0", "Show helpful text about the different subcommands", cmdPubsubHelp),
	} {
		ps.subs[strings.TrimPrefix(c.name, "pubsub|")] = c
	}
	return []*command{
		plainCmd("subscribe", -2, sub, grpP, "2.0.0", "Listen for messages published to the given channels", cmdSubscribe),
		plainCmd("unsubscribe", -1, sub, grpP, "2.0.0", "Stop listening for messages posted to the given channels", cmdUnsubscribe),
		plainCmd("psubscribe", -2, sub, grpP, "2.0.0", "Listen for messages published to channels matching the given patterns", cmdPSubscribe),
		plainCmd("punsubscribe", -1, sub, grpP, "2.0.0", "Stop listening for messages posted to channels matching the given patterns", cmdPUnsubscribe),
		plainCmd("publish", 3, flagPubSub|flagLoading|flagStale|flagFast, grpP, "2.0.0", "Post a message to a channel", cmdPublish),
		ps,
	}
}

// pubsubSyntax documents the family's arguments for COMMAND DOCS (docs.go).
var pubsubSyntax = map[string]string{
	"subscribe":       "channel...",
	"unsubscribe":     "[channel...]",
	"psubscribe":      "pattern...",
	"punsubscribe":    "[pattern...]",
	"publish":         "channel message",
	"pubsub":          "",
	"pubsub|channels": "[pattern]",
	"pubsub|numsub":   "[channel...]",
	"pubsub|numpat":   "",
	"pubsub|help":     "",
}

// pubsubRegistry is the server's channels and patterns.
type pubsubRegistry struct {
	mu       sync.RWMutex
	channels map[string]*subscribers
	patterns map[string]*subscribers
	// patList holds the patterns in subscription order (PUBLISH walks it).
	patList []*subscribers
	// nChannels and nPatterns are the sizes of the maps, for INFO.
	nChannels, nPatterns atomic.Int64
}

// subscribers are the clients of one channel or pattern.
type subscribers struct {
	name    []byte
	clients []*client
}

func (s *subscribers) remove(c *client) {
	for i, x := range s.clients {
		if x == c {
			last := len(s.clients) - 1
			s.clients[i] = s.clients[last]
			s.clients[last] = nil
			s.clients = s.clients[:last]
			return
		}
	}
}

// pubsubState is a client's subscriptions; only its goroutine changes
// them, under the registry's lock.
type pubsubState struct {
	channels map[string]struct{}
	patterns map[string]struct{}
	// nSub and nPSub mirror the maps' sizes for CLIENT LIST.
	nSub, nPSub atomic.Int32
}

// subscribed reports whether the client is in subscribed mode.
func (c *client) subscribed() bool {
	return c.ps != nil && len(c.ps.channels)+len(c.ps.patterns) > 0
}

func (c *client) subCount() int {
	if c.ps == nil {
		return 0
	}
	return len(c.ps.channels) + len(c.ps.patterns)
}

func (c *client) pubsubState() *pubsubState {
	if c.ps == nil {
		c.ps = &pubsubState{channels: map[string]struct{}{}, patterns: map[string]struct{}{}}
		c.psShared.Store(c.ps)
	}
	return c.ps
}

// writeSubReply writes a (un)subscribe confirmation.
func (c *client) writeSubReply(kind string, name []byte, nilName bool) {
	c.out = append(c.out, "*3\r\n"...)
	c.writeBulkString(kind)
	if nilName {
		c.writeNull()
	} else {
		c.writeBulk(name)
	}
	c.writeInt(int64(c.subCount()))
}

func cmdSubscribe(c *client, args [][]byte)  { c.subscribe(args[1:], false) }
func cmdPSubscribe(c *client, args [][]byte) { c.subscribe(args[1:], true) }

// subscribe adds channels (or patterns). The client's output goes through
// its push queue from now on, held until its pending replies (these
// confirmations among them) are flushed ahead of any message (see
// pushQueue.hold).
func (c *client) subscribe(names [][]byte, pattern bool) {
	st := c.pubsubState()
	q := c.pushQueue()
	r := &c.s.pubsub
	kind := "subscribe"
	mine, all := st.channels, &r.channels
	if pattern {
		kind = "psubscribe"
		mine, all = st.patterns, &r.patterns
	}
	r.mu.Lock()
	q.hold()
	for _, name := range names {
		if _, ok := mine[string(name)]; !ok {
			key := string(name)
			mine[key] = struct{}{}
			if *all == nil {
				*all = make(map[string]*subscribers)
			}
			subs := (*all)[key]
			if subs == nil {
				subs = &subscribers{name: []byte(key)}
				(*all)[key] = subs
				if pattern {
					r.patList = append(r.patList, subs)
					r.nPatterns.Add(1)
				} else {
					r.nChannels.Add(1)
				}
			}
			subs.clients = append(subs.clients, c)
		}
		c.writeSubReply(kind, name, false)
	}
	r.mu.Unlock()
	st.nSub.Store(int32(len(st.channels)))
	st.nPSub.Store(int32(len(st.patterns)))
}

func cmdUnsubscribe(c *client, args [][]byte)  { c.unsubscribe(args[1:], false, true) }
func cmdPUnsubscribe(c *client, args [][]byte) { c.unsubscribe(args[1:], true, true) }

// unsubscribe removes the named channels (patterns), or all of them when
// names is empty, replying for each if reply.
func (c *client) unsubscribe(names [][]byte, pattern, reply bool) {
	kind := "unsubscribe"
	if pattern {
		kind = "punsubscribe"
	}
	if c.ps == nil {
		if reply {
			// Nothing to leave: one reply with a nil name, as Redis.
			c.writeSubReply(kind, nil, len(names) == 0)
			for _, n := range names[min(1, len(names)):] {
				c.writeSubReply(kind, n, false)
			}
		}
		return
	}
	st := c.ps
	mine := st.channels
	if pattern {
		mine = st.patterns
	}
	if len(names) == 0 {
		if len(mine) == 0 {
			if reply {
				c.writeSubReply(kind, nil, true)
			}
			return
		}
		names = make([][]byte, 0, len(mine))
		for n := range mine {
			names = append(names, []byte(n))
		}
	}
	r := &c.s.pubsub
	r.mu.Lock()
	for _, name := range names {
		if _, ok := mine[string(name)]; ok {
			delete(mine, string(name))
			r.leaveLocked(c, name, pattern)
		}
		if reply {
			c.writeSubReply(kind, name, false)
		}
	}
	r.mu.Unlock()
	st.nSub.Store(int32(len(st.channels)))
	st.nPSub.Store(int32(len(st.patterns)))
}

// leaveLocked removes c from one channel's (pattern's) subscribers.
func (r *pubsubRegistry) leaveLocked(c *client, name []byte, pattern bool) {
	all := r.channels
	if pattern {
		all = r.patterns
	}
	subs := all[string(name)]
	if subs == nil {
		return
	}
	subs.remove(c)
	if len(subs.clients) > 0 {
		return
	}
	delete(all, string(name))
	if !pattern {
		r.nChannels.Add(-1)
		return
	}
	r.nPatterns.Add(-1)
	for i, p := range r.patList {
		if p == subs {
			r.patList = append(r.patList[:i], r.patList[i+1:]...)
			break
		}
	}
}

// resetPubsub leaves every channel and pattern without replies (RESET, a
// closed connection).
func (c *client) resetPubsub() {
	if c.ps == nil {
		return
	}
	c.unsubscribe(nil, false, false)
	c.unsubscribe(nil, true, false)
}

func cmdPublish(c *client, args [][]byte) {
	c.writeInt(c.s.pubsub.publish(c, args[1], args[2], c.s.pubsubLimit()))
}

// publish delivers msg to the subscribers of channel and of the patterns
// matching it, and returns how many deliveries it made. Each message shape
// is encoded once, in the publisher's scratch, and the same bytes are
// appended to every subscriber's queue. A publisher subscribed itself (it
// can publish only inside EXEC) gets the message among its replies, where
// Redis puts it.
func (r *pubsubRegistry) publish(pub *client, channel, msg []byte, lim BufferLimit) int64 {
	buf := &pub.pubBuf
	var n int64
	r.mu.RLock()
	if subs := r.channels[string(channel)]; subs != nil {
		b := append((*buf)[:0], "*3\r\n$7\r\nmessage\r\n"...)
		b = redcon.AppendBulk(b, channel)
		b = redcon.AppendBulk(b, msg)
		for _, c := range subs.clients {
			c.deliver(pub, b, lim)
		}
		n += int64(len(subs.clients))
		*buf = b
	}
	for _, p := range r.patList {
		if !glob.Match(p.name, channel) {
			continue
		}
		b := append((*buf)[:0], "*4\r\n$8\r\npmessage\r\n"...)
		b = redcon.AppendBulk(b, p.name)
		b = redcon.AppendBulk(b, channel)
		b = redcon.AppendBulk(b, msg)
		for _, c := range p.clients {
			c.deliver(pub, b, lim)
		}
		n += int64(len(p.clients))
		*buf = b
	}
	r.mu.RUnlock()
	if cap(*buf) > 64<<10 {
		*buf = nil
	}
	return n
}

// deliver hands one encoded message to a subscriber.
func (c *client) deliver(pub *client, msg []byte, lim BufferLimit) {
	if c == pub {
		c.out = append(c.out, msg...)
		return
	}
	c.pq.push(msg, lim)
}

func cmdPubsubChannels(c *client, args [][]byte) {
	if len(args) > 3 {
		c.writeError("ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP.")
		return
	}
	r := &c.s.pubsub
	var names []string
	r.mu.RLock()
	for name := range r.channels {
		if len(args) == 2 || glob.Match(args[2], []byte(name)) {
			names = append(names, name)
		}
	}
	r.mu.RUnlock()
	sort.Strings(names)
	c.writeArray(len(names))
	for _, n := range names {
		c.writeBulkString(n)
	}
}

func cmdPubsubNumsub(c *client, args [][]byte) {
	r := &c.s.pubsub
	c.writeArray(2 * (len(args) - 2))
	r.mu.RLock()
	for _, ch := range args[2:] {
		n := 0
		if subs := r.channels[string(ch)]; subs != nil {
			n = len(subs.clients)
		}
		c.writeBulk(ch)
		c.writeInt(int64(n))
	}
	r.mu.RUnlock()
}

func cmdPubsubNumpat(c *client, args [][]byte) { c.writeInt(c.s.pubsub.nPatterns.Load()) }

func cmdPubsubHelp(c *client, args [][]byte) {
	writeHelp(c, "PUBSUB", []string{
		"CHANNELS [<pattern>]",
		"    Return the currently active channels matching a <pattern> (default: '*').",
		"NUMPAT",
		"    Return number of subscriptions to patterns.",
		"NUMSUB [<channel> ...]",
		"    Return the number of subscribers for the specified channels, excluding",
		"    pattern subscriptions(default: no channels).",
		"SHARDCHANNELS [<pattern>]",
		"    Return the currently active shard level channels matching a <pattern> (default: '*').",
		"SHARDNUMSUB [<shardchannel> ...]",
		"    Return the number of subscribers for the specified shard level channel(s)",
	})
}

// subCounts returns the client's channel and pattern counts; safe from
// other goroutines (CLIENT LIST).
func (c *client) subCounts() (sub, psub int) {
	if ps := c.psShared.Load(); ps != nil {
		return int(ps.nSub.Load()), int(ps.nPSub.Load())
	}
	return 0, 0
}

// clientType is the client's class for CLIENT LIST/KILL TYPE.
func (c *client) clientType() string {
	if sub, psub := c.subCounts(); sub+psub > 0 {
		return "pubsub"
	}
	return "normal"
}
