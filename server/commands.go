package server

import (
	"bytes"
	"slices"
	"sort"
	"strings"

	"github.com/cairn-db/cairn/engine"
)

// cmdFlag describes a command, as COMMAND INFO lists flags.
type cmdFlag uint32

const (
	flagWrite    cmdFlag = 1 << iota // modifies data
	flagReadOnly                     // reads data only
	flagAdmin
	flagNoAuth   // allowed before AUTH
	flagFast     // O(1) or O(log N)
	flagLoading  // allowed while loading
	flagStale    // allowed on a stale replica
	flagDenyOOM  // may use more memory
	flagNoScript // not from Lua
	flagAllKeys  // touches the whole keyspace (locks every shard)
	flagNoMulti  // refused inside MULTI ("Command not allowed inside a transaction")
	flagPubSub   // a pub/sub command (COMMAND INFO's "pubsub")
	// flagSubCtx: allowed while the client is subscribed (RESP2's
	// subscribed mode: (P)SUBSCRIBE, (P)UNSUBSCRIBE, PING, QUIT, RESET).
	flagSubCtx
	// flagNoQueue: runs at once inside MULTI instead of being queued
	// (MULTI, EXEC, DISCARD, WATCH, QUIT, RESET).
	flagNoQueue
	// flagMayWrite: may write without being a write command (EVAL,
	// EVALSHA): EXEC runs a block holding one in a write transaction.
	flagMayWrite
	// flagField: the command looks its third argument up in the hash or
	// set at its key (HSET, HGET, SADD...), which client.prefetchFields
	// reads ahead for a pipeline of them.
	flagField
	// flagDiskCheck: refused as writes are while the disk fails (see
	// Server.diskError), not being one: PING, as in Redis, so that a
	// health check learns of it.
	flagDiskCheck
)

// flagNames are in the order COMMAND INFO lists flags.
var flagNames = []struct {
	f    cmdFlag
	name string
}{
	{flagWrite, "write"}, {flagReadOnly, "readonly"}, {flagDenyOOM, "denyoom"},
	{flagAdmin, "admin"}, {flagPubSub, "pubsub"}, {flagNoScript, "noscript"}, {flagLoading, "loading"},
	{flagStale, "stale"}, {flagFast, "fast"}, {flagNoAuth, "no_auth"}, {flagNoMulti, "no_multi"},
}

// command is one entry of the command table.
type command struct {
	name  string // lower-case; "container|sub" for subcommands
	arity int    // Redis's convention: -N means at least N
	flags cmdFlag
	// Key positions, as COMMAND INFO gives them (lastKey < 0 counts from
	// the end).
	firstKey, lastKey, step int
	group, summary, since   string

	// Exactly one of run, tx and subs is set.
	// run handles a command that manages its own engine access, if any.
	run func(c *client, args [][]byte)
	// tx handles a command whose keys are at the positions above, inside
	// a transaction over those keys: Update for write commands, View for
	// the others.
	tx func(c *client, tx *engine.Tx, args [][]byte)
	// subs are a container command's subcommands, by lower-case name.
	subs map[string]*command
}

// commandTable is built once, at init; it is read-only afterwards. (Built
// in init because COMMAND's handlers read it.)
var commandTable map[string]*command

func init() { commandTable = buildCommandTable() }

func buildCommandTable() map[string]*command {
	m := make(map[string]*command)
	for _, list := range [][]*command{
		stringCommands(), keyCommands(), connectionCommands(), serverCommands(), persistenceCommands(),
		hashCommands(), setCommands(), listCommands(), zsetCommands(), memoryCommands(), scriptCommands(),
		multiCommands(), pubsubCommands(),
	} {
		for _, c := range list {
			m[c.name] = c
		}
	}
	return m
}

// withFieldFlag sets flagField on the commands of cmds named in names.
func withFieldFlag(cmds []*command, names ...string) []*command {
	for _, c := range cmds {
		if slices.Contains(names, c.name) {
			c.flags |= flagField
		}
	}
	return cmds
}

// CommandNames returns the lower-case names of all top-level commands.
func CommandNames() []string {
	out := make([]string, 0, len(commandTable))
	for name := range commandTable {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// lookupCommand finds a command by name, case-insensitively, without
// allocating for names of ordinary length.
func lookupCommand(table map[string]*command, name []byte) *command {
	var buf [32]byte
	if len(name) > len(buf) {
		return table[strings.ToLower(string(name))]
	}
	for i, ch := range name {
		if ch >= 'A' && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		buf[i] = ch
	}
	return table[string(buf[:len(name)])]
}

// isName reports whether arg is name (lower-case), case-insensitively.
func isName(arg []byte, name string) bool {
	if len(arg) != len(name) {
		return false
	}
	for i, ch := range arg {
		if ch >= 'A' && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		if ch != name[i] {
			return false
		}
	}
	return true
}

func arityOK(arity, n int) bool {
	if arity >= 0 {
		return n == arity
	}
	return n >= -arity
}

// command returns the top-level command called name, or nil, keeping the
// last one found: a client mostly sends the same command again.
func (c *client) command(name []byte) *command {
	if cmd := c.lookedUp; cmd != nil && isName(name, cmd.name) {
		return cmd
	}
	cmd := lookupCommand(commandTable, name)
	if cmd != nil {
		c.lookedUp = cmd
	}
	return cmd
}

// dispatch runs one command: lookup, arity, authentication and the other
// checks, in Redis's order, then the handler (or, inside MULTI, the queue).
// A command refused by a check flags the open transaction (see reject).
func (c *client) dispatch(args [][]byte) {
	cmd := c.command(args[0])
	if cmd == nil {
		c.reject(nil, unknownCommandText(args))
		return
	}
	if cmd.subs != nil && len(args) >= 2 {
		sub := lookupCommand(cmd.subs, args[1])
		if sub == nil {
			c.reject(nil, "ERR unknown subcommand '"+sanitize(truncate(cString(args[1]), 128))+
				"'. Try "+strings.ToUpper(cmd.name)+" HELP.")
			return
		}
		cmd = sub
	}
	if !arityOK(cmd.arity, len(args)) {
		c.reject(cmd, errWrongArity(cmd.name))
		return
	}
	if !c.authed && cmd.flags&flagNoAuth == 0 {
		c.reject(cmd, msgNoAuth)
		return
	}
	if cmd.flags&flagNoMulti != 0 && c.txs.inMulti {
		c.reject(cmd, msgNoMulti)
		return
	}
	if c.s.lua.nbusy.Load() > 0 && c.busyReject(cmd, args) {
		return
	}
	if !c.checkMemory(cmd) {
		return
	}
	if cmd.flags&(flagWrite|flagDiskCheck) != 0 {
		if msg := c.s.diskError(); msg != "" {
			c.reject(cmd, msg)
			return
		}
	}
	if cmd.flags&flagSubCtx == 0 && c.subscribed() {
		c.reject(cmd, "ERR Can't execute '"+cmd.name+"': "+msgSubCtx)
		return
	}
	if cmd.flags&flagLoading == 0 && c.s.eng.Loading() {
		c.reject(cmd, msgLoading)
		return
	}
	if c.txs.inMulti && cmd.flags&flagNoQueue == 0 {
		c.queue(cmd, args)
		return
	}
	c.s.stats.commandsProcessed.Add(1)
	c.lastCmd.Store(&cmd.name)
	switch {
	case cmd.run != nil:
		cmd.run(c, args)
		if cmd.flags&flagWrite != 0 {
			c.noteWrite()
		}
	case cmd.tx != nil:
		c.runTx(cmd, args)
		if cmd.flags&flagWrite != 0 {
			c.noteWrite()
		}
	default:
		c.writeError(errWrongArity(cmd.name))
	}
	// A write may have made keys ready for blocked clients (a push, ZADD,
	// RENAME or COPY onto one, a script's or EXEC's writes, in any
	// database): serve them, each in a tx of its own, before this
	// client's reply goes out.
	c.s.serveReady()
}

// runTx runs a keyed command inside a transaction over its keys.
func (c *client) runTx(cmd *command, args [][]byte) {
	var keyBuf [4][]byte
	keys := cmd.keys(args, keyBuf[:0])
	var err error
	if cmd.flags&flagWrite != 0 {
		err = c.s.eng.Update(keys, func(tx *engine.Tx) error {
			cmd.tx(c, tx, args)
			return nil
		})
	} else {
		err = c.s.eng.View(keys, func(tx *engine.Tx) error {
			cmd.tx(c, tx, args)
			return nil
		})
	}
	if err != nil {
		// The reply is already written; a failed commit is logged. (The
		// write-ahead log will refuse writes before running them instead.)
		c.s.log.Error("commit failed", "cmd", cmd.name, "err", err)
	}
}

// keys appends the key arguments of args to dst.
func (cmd *command) keys(args [][]byte, dst [][]byte) [][]byte {
	if cmd.firstKey <= 0 {
		return dst
	}
	last := cmd.lastKey
	if last < 0 {
		last += len(args)
	}
	step := cmd.step
	if step <= 0 {
		step = 1
	}
	for i := cmd.firstKey; i <= last && i < len(args); i += step {
		dst = append(dst, args[i])
	}
	return dst
}

// unknownCommandText is Redis's error for an unknown command, quoting up to
// 128 bytes of its arguments. Redis formats them as C strings, so each ends
// at its first NUL byte.
func unknownCommandText(args [][]byte) string {
	var b strings.Builder
	for i := 1; i < len(args) && b.Len() < 128; i++ {
		room := 128 - b.Len()
		b.WriteByte('\'')
		b.WriteString(truncate(cString(args[i]), room))
		b.WriteString("' ")
	}
	return sanitize("ERR unknown command '" + truncate(cString(args[0]), 128) +
		"', with args beginning with: " + b.String())
}

// cString is b up to its first NUL, as C's %s prints it.
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

func truncate(s string, n int) string {
	if n < 0 {
		n = 0
	}
	if len(s) > n {
		return s[:n]
	}
	return s
}

// formatted cleans an error message built from arguments as Redis's
// addReplyErrorFormat does: newlines at either end are trimmed, those inside
// become spaces.
func formatted(s string) string {
	return sanitize(strings.Trim(s, "\r\n"))
}

// sanitize replaces newlines, which an error reply cannot carry, by spaces.
func sanitize(s string) string {
	if strings.ContainsAny(s, "\r\n") {
		return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
	}
	return s
}

// equalFold compares an argument with a lower-case option name.
func equalFold(arg []byte, lower string) bool {
	if len(arg) != len(lower) {
		return false
	}
	for i := 0; i < len(arg); i++ {
		ch := arg[i]
		if ch >= 'A' && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		if ch != lower[i] {
			return false
		}
	}
	return true
}

// parseInt parses an integer argument as Redis's string2ll does.
func parseInt(arg []byte) (int64, bool) { return engine.ParseInt(arg) }

// keyCmd builds a keyed command table entry.
func keyCmd(name string, arity int, flags cmdFlag, first, last, step int, group, since, summary string,
	h func(c *client, tx *engine.Tx, args [][]byte)) *command {
	return &command{name: name, arity: arity, flags: flags, firstKey: first, lastKey: last, step: step,
		group: group, since: since, summary: summary, tx: h}
}

// plainCmd builds a table entry for a command that manages its own access.
func plainCmd(name string, arity int, flags cmdFlag, group, since, summary string,
	h func(c *client, args [][]byte)) *command {
	return &command{name: name, arity: arity, flags: flags, group: group, since: since, summary: summary, run: h}
}
