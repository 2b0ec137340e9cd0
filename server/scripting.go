package server

import (
	"errors"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"

	"github.com/cairn-db/cairn/engine"
)

// Lua scripting: EVAL, EVALSHA, their _RO forms and SCRIPT.
//
// Atomicity. A script runs inside ONE engine transaction: every
// redis.call it makes runs in it, so its writes reach the log as one
// record of effects (the writes it made, never the script), and no other
// client sees a state between two of its calls. The transaction begins
// over the shards of the script's declared KEYS, which keeps scripts on
// different keys running in parallel. Redis lets a script touch keys it
// did not declare. The first time a script does, it is marked to run over
// every shard (UpdateAll) from then on; if it has not written yet, the run
// is stopped and started again that way, which always succeeds. If it
// has written (a script that writes a declared key, then touches an
// undeclared one, on its first run), the transaction grows instead
// (engine Tx.LockKey): a shard above those held is waited for, one below
// is taken only if it is free (the rule that keeps lock waits
// deadlock-free; see engine/txgrow.go), retried for a bounded time; if it
// stays busy the call fails with an error, and the writes so far stand,
// as after any error in a Redis script. That is the one case where Cairn
// answers differently from Redis: declare every key.
//
// Busy scripts. A script past busy-reply-threshold marks the server busy:
// other clients then get -BUSY (before they would wait for any lock), and
// SCRIPT KILL stops a busy script that has not written.

// scriptRerunWait bounds how long a call that needs a busy shard below
// those it holds retries, once the script has written.
const scriptRerunWait = 20 * time.Millisecond

// luaScript is a compiled script.
type luaScript struct {
	sha   string
	proto *lua.FunctionProto
	// shebang: the script starts with "#!lua" (Redis 7's flags mode);
	// noWrites: its flags include no-writes.
	shebang, noWrites bool
	// global: the script touched keys it did not declare, at a moment
	// their shards could not be taken; it runs over every shard.
	global atomic.Bool
}

// luaState is the server's scripting state.
type luaState struct {
	mu      sync.RWMutex
	scripts map[string]*luaScript
	vms     sync.Pool
	rand    rand48 // math.random's state

	// busy are the runs past busy-reply-threshold; nbusy is their count,
	// which every command checks.
	busyMu sync.Mutex
	busy   []*scriptRun
	nbusy  atomic.Int32
	// all are the VMs ever made (as many as scripts ever ran at once):
	// shutdown stops the scripts running on them.
	all []*luaVM
}

// scriptRun is one execution of a script.
type scriptRun struct {
	s      *Server
	vm     *luaVM
	caller *client
	// sc is the client redis.call runs commands as: the caller's database
	// (a SELECT in the script stays in the script) and its own output.
	sc       client
	script   *luaScript
	tx       *engine.Tx
	readOnly bool
	// wrote: a write command ran (SCRIPT KILL refuses then, and the run
	// can no longer start again). SCRIPT KILL reads it from another client.
	wrote atomic.Bool
	// stopped is why the VM's context was closed (stopKilled,
	// stopRerun); SCRIPT KILL sets it from another client.
	stopped atomic.Int32
	// startMs is when the run began (its transaction's clock, Unix ms),
	// for busy-reply-threshold; busy says it is among luaState.busy.
	startMs int64
	busy    bool
	// arena holds the arguments of redis.call's: they must stay valid
	// until the transaction commits (effects refer to them).
	arena   [][]byte
	argsBuf [][]byte
	keyBuf  [][]byte
}

// Why a run was stopped.
const (
	stopKilled = 1 + iota
	stopRerun
)

const msgScriptKilled = "Script killed by user with SCRIPT KILL..."

var (
	//lint:ignore ST1005 redis-server's own words
	errScriptKilled = errors.New(msgScriptKilled)
	errScriptRerun  = errors.New("script touched an undeclared key: running it again over every shard")
)

const (
	msgNoScript     = "NOSCRIPT No matching script. Please use EVAL."
	msgBusy         = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
	msgNotBusy      = "NOTBUSY No scripts in execution right now."
	msgUnkillable   = "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command."
	msgKeysTooMany  = "ERR Number of keys can't be greater than number of args"
	msgKeysNegative = "ERR Number of keys can't be negative"
)

const grpScript = "scripting"

func scriptCommands() []*command {
	const fl = flagNoScript | flagStale
	script := &command{name: "script", arity: -2, group: grpScript, since: "2.6.0",
		summary: "A container for Lua scripts management commands", subs: map[string]*command{}}
	for _, sub := range []*command{
		plainCmd("script|load", 3, flagNoScript|flagStale, grpScript, "2.6.0", "Load the specified Lua script into the script cache.", cmdScriptLoad),
		plainCmd("script|exists", -3, flagNoScript, grpScript, "2.6.0", "Check existence of scripts in the script cache.", cmdScriptExists),
		plainCmd("script|flush", -2, flagNoScript, grpScript, "2.6.0", "Remove all the scripts from the script cache.", cmdScriptFlush),
		plainCmd("script|kill", 2, flagNoScript, grpScript, "2.6.0", "Kill the script currently in execution.", cmdScriptKill),
		plainCmd("script|help", 2, flagLoading|flagStale, grpScript, "5.0.0", "Show helpful text about the different subcommands", cmdScriptHelp),
	} {
		script.subs[strings.TrimPrefix(sub.name, "script|")] = sub
	}
	return []*command{
		// flagAllKeys: inside EXEC a script runs in EXEC's transaction,
		// which must then hold every shard (a script may touch any key).
		plainCmd("eval", -3, fl|flagAllKeys|flagMayWrite, grpScript, "2.6.0", "Execute a Lua script server side", cmdEval),
		plainCmd("evalsha", -3, fl|flagAllKeys|flagMayWrite, grpScript, "2.6.0", "Execute a Lua script server side", cmdEvalSHA),
		plainCmd("eval_ro", -3, fl|flagAllKeys|flagReadOnly, grpScript, "7.0.0", "Execute a read-only Lua script server side", cmdEvalRO),
		plainCmd("evalsha_ro", -3, fl|flagAllKeys|flagReadOnly, grpScript, "7.0.0", "Execute a read-only Lua script server side", cmdEvalSHARO),
		script,
	}
}

// scriptSyntax documents the family's arguments for COMMAND DOCS.
var scriptSyntax = map[string]string{
	"eval":          "script numkeys [key...] [arg...]",
	"evalsha":       "sha1 numkeys [key...] [arg...]",
	"eval_ro":       "script numkeys [key...] [arg...]",
	"evalsha_ro":    "sha1 numkeys [key...] [arg...]",
	"script":        "",
	"script|load":   "script",
	"script|exists": "sha1...",
	"script|flush":  "[ASYNC | SYNC]",
	"script|kill":   "",
	"script|help":   "",
}

// Inside EXEC (execTx not nil) a script runs in EXEC's transaction.
func cmdEval(c *client, args [][]byte)      { c.eval(args, false, false, c.txs.execTx) }
func cmdEvalSHA(c *client, args [][]byte)   { c.eval(args, true, false, c.txs.execTx) }
func cmdEvalRO(c *client, args [][]byte)    { c.eval(args, false, true, c.txs.execTx) }
func cmdEvalSHARO(c *client, args [][]byte) { c.eval(args, true, true, c.txs.execTx) }

// eval runs EVAL and its kin. With tx not nil the script runs inside that
// transaction, which holds every shard (a MULTI block's).
func (c *client) eval(args [][]byte, bySHA, readOnly bool, tx *engine.Tx) {
	n, ok := parseInt(args[2])
	if !ok {
		c.writeError(msgNotInteger)
		return
	}
	if n > int64(len(args)-3) {
		c.writeError(msgKeysTooMany)
		return
	}
	if n < 0 {
		c.writeError(msgKeysNegative)
		return
	}
	var sc *luaScript
	if bySHA {
		if sc = c.s.lua.lookup(args[1]); sc == nil {
			c.writeError(msgNoScript)
			return
		}
	} else {
		var msg string
		if sc, msg = c.s.lua.load(args[1]); sc == nil {
			c.writeError(msg)
			return
		}
	}
	if readOnly && sc.shebang && !sc.noWrites {
		c.writeError("ERR Can not execute a script with write flag using *_ro command.")
		return
	}
	keys, argv := args[3:3+n], args[3+n:]
	c.runScript(sc, keys, argv, readOnly || sc.noWrites, tx)
}

// lookup finds a cached script by its SHA1 (any case).
func (st *luaState) lookup(sha []byte) *luaScript {
	if len(sha) != 40 {
		return nil
	}
	var buf [40]byte
	for i, ch := range sha {
		if ch >= 'A' && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		buf[i] = ch
	}
	st.mu.RLock()
	sc := st.scripts[string(buf[:])]
	st.mu.RUnlock()
	return sc
}

// load compiles body and caches it, or returns the cached script with the
// same SHA1. On failure it returns nil and the error reply.
func (st *luaState) load(body []byte) (*luaScript, string) {
	sha := sha1Hex(body)
	st.mu.RLock()
	sc := st.scripts[sha]
	st.mu.RUnlock()
	if sc != nil {
		return sc, ""
	}
	sc, msg := compileScript(sha, body)
	if sc == nil {
		return nil, msg
	}
	st.mu.Lock()
	if old := st.scripts[sha]; old != nil {
		sc = old
	} else {
		if st.scripts == nil {
			st.scripts = make(map[string]*luaScript)
		}
		st.scripts[sha] = sc
	}
	st.mu.Unlock()
	return sc, ""
}

// compileScript parses a script body, with its optional "#!lua" shebang.
func compileScript(sha string, body []byte) (*luaScript, string) {
	src := string(body)
	sc := &luaScript{sha: sha}
	if strings.HasPrefix(src, "#!") {
		nl := strings.IndexByte(src, '\n')
		if nl < 0 {
			return nil, "ERR Invalid script shebang"
		}
		parts := strings.Fields(src[:nl])
		if len(parts) == 0 {
			return nil, "ERR Invalid engine in script shebang"
		}
		if parts[0] != "#!lua" {
			return nil, "ERR Unexpected engine in script shebang: " + parts[0]
		}
		for _, p := range parts[1:] {
			flags, ok := strings.CutPrefix(p, "flags=")
			if !ok {
				return nil, "ERR Unknown lua shebang option: " + p
			}
			for _, f := range strings.Split(flags, ",") {
				switch f {
				case "no-writes":
					sc.noWrites = true
				case "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys", "":
				default:
					return nil, "ERR Unexpected flag in script shebang: " + f
				}
			}
		}
		sc.shebang = true
		// The shebang line stays a (blank) line, so line numbers hold.
		src = src[nl:]
	}
	chunk, err := parse.Parse(strings.NewReader(src), "user_script")
	if err != nil {
		return nil, "ERR Error compiling script (new function): " + compileErrorText(err)
	}
	proto, err := lua.Compile(chunk, "user_script")
	if err != nil {
		return nil, "ERR Error compiling script (new function): " + compileErrorText(err)
	}
	sc.proto = proto
	return sc, ""
}

// compileErrorText formats gopher-lua's parse error as Lua's
// "user_script:LINE: MESSAGE near 'TOKEN'" as closely as it can.
func compileErrorText(err error) string {
	var pe *parse.Error
	if errors.As(err, &pe) {
		msg := strings.TrimSpace(pe.Message)
		if pe.Token != "" {
			msg += " near '" + pe.Token + "'"
		}
		return "user_script:" + strconv.Itoa(pe.Pos.Line) + ": " + msg
	}
	return sanitize(err.Error())
}

// getVM takes a VM from the pool, or makes one.
func (st *luaState) getVM(s *Server) *luaVM {
	if vm, ok := st.vms.Get().(*luaVM); ok {
		return vm
	}
	vm := newLuaVM(s)
	st.busyMu.Lock()
	st.all = append(st.all, vm)
	st.busyMu.Unlock()
	return vm
}

// stopAll stops every running script, at shutdown.
func (st *luaState) stopAll() {
	st.busyMu.Lock()
	defer st.busyMu.Unlock()
	for _, vm := range st.all {
		vm.ctx.stop(errScriptKilled)
	}
}

// runScript runs sc with its keys and arguments and writes its reply.
func (c *client) runScript(sc *luaScript, keys, argv [][]byte, readOnly bool, outer *engine.Tx) {
	st := &c.s.lua
	vm := st.getVM(c.s)
	r := vm.last
	if r == nil {
		r = &scriptRun{vm: vm}
		vm.last = r
	}
	r.s, r.caller, r.script, r.readOnly = c.s, c, sc, readOnly
	r.wrote.Store(false)
	r.stopped.Store(0)
	r.sc.s, r.sc.id, r.sc.db, r.sc.authed = c.s, c.id, c.db, true
	vm.run = r
	vm.setArgs(keys, argv)

	run := func(tx *engine.Tx) error {
		r.tx = tx
		r.startMs = tx.Now()
		return r.exec()
	}
	var err error
	for {
		switch {
		case outer != nil:
			err = run(outer)
		case sc.global.Load() && readOnly:
			err = c.s.eng.ViewAll(run)
		case sc.global.Load():
			err = c.s.eng.UpdateAll(run)
		case readOnly:
			err = c.s.eng.View(keys, run)
		default:
			err = c.s.eng.Update(keys, run)
		}
		if err != errScriptRerun {
			break
		}
		sc.global.Store(true)
		vm.ctx.rearm()
		r.stopped.Store(0)
		r.sc.db = c.db
	}
	r.endBusy()
	vm.ctx.rearm()
	vm.L.SetTop(0)
	if err != nil && err != errScriptRerun {
		c.s.log.Error("script commit failed", "err", err)
	}
	if r.wrote.Load() && outer == nil {
		c.noteWrite()
	}
	// Drop what the run referenced, keep its buffers.
	if cap(r.sc.out) > maxPendingOutput {
		r.sc.out = nil
	}
	if len(r.arena) > 0 && cap(r.arena[0]) <= 64<<10 {
		r.arena[0] = r.arena[0][:0]
		clear(r.arena[1:])
		r.arena = r.arena[:1]
	} else {
		clear(r.arena)
		r.arena = r.arena[:0]
	}
	clear(r.argsBuf[:cap(r.argsBuf)])
	clear(r.keyBuf[:cap(r.keyBuf)])
	r.caller, r.tx, r.script = nil, nil, nil
	vm.run = nil
	st.vms.Put(vm)
}

// setArgs sets the KEYS and ARGV globals. It refills the tables of the
// previous call when the script left them as it found them (an array, no
// fields), which is nearly always: making two tables is four allocations,
// a tenth of a small script's cost. A script that changed one gets a new
// one, so nothing a script did to them reaches the next.
func (vm *luaVM) setArgs(keys, argv [][]byte) {
	vm.keysTable = vm.argTable(vm.keysTable, "KEYS", keys)
	vm.argvTable = vm.argTable(vm.argvTable, "ARGV", argv)
}

func (vm *luaVM) argTable(t *lua.LTable, name string, vals [][]byte) *lua.LTable {
	if t == nil || vm.globals.RawGetString(name) != t || t.Metatable != lua.LNil || !plainArray(t) {
		t = vm.L.CreateTable(len(vals), 0)
		vm.globals.RawSetString(name, t)
	}
	for i, v := range vals {
		t.RawSetInt(i+1, lua.LString(v))
	}
	for i := t.Len(); i > len(vals); i-- {
		t.RawSetInt(i, lua.LNil)
	}
	return t
}

// plainArray reports whether t holds only its array part 1..Len().
func plainArray(t *lua.LTable) bool {
	n := t.Len()
	var after lua.LValue = lua.LNil
	if n > 0 {
		after = lua.LNumber(n)
	}
	k, _ := t.Next(after)
	return k == lua.LNil
}

// exec runs the script inside r.tx and writes its reply to the caller. It
// returns errScriptRerun when the script must run again over every shard
// (nothing is written to the caller then).
func (r *scriptRun) exec() error {
	vm := r.vm
	L := vm.L
	fn := vm.fns[r.script.proto]
	if fn == nil {
		fn = L.NewFunctionFromProto(r.script.proto)
		vm.fns[r.script.proto] = fn
	}
	L.SetTop(0)
	L.Push(fn)
	err := L.PCall(0, 1, vm.errHandler)
	if r.stopped.Load() == stopRerun {
		return errScriptRerun
	}
	c := r.caller
	if err != nil {
		c.out = appendScriptError(c.out, err, r.script.sha)
		return nil
	}
	c.out = appendLuaReply(c.out, L.Get(-1), 0)
	return nil
}

// appendScriptError writes the error reply of a script that raised an
// error: "<err> script: <sha>, on <source>:<line>.".
func appendScriptError(out []byte, err error, sha string) []byte {
	msg := "ERR " + err.Error()
	var where string
	var ae *lua.ApiError
	if errors.As(err, &ae) {
		if t, ok := ae.Object.(*lua.LTable); ok {
			if e, ok := t.RawGetString("err").(lua.LString); ok {
				msg = string(e)
			}
			src, _ := t.RawGetString("source").(lua.LString)
			line, ok := t.RawGetString("line").(lua.LNumber)
			if src != "" && ok {
				where = ", on " + string(src) + ":" + strconv.Itoa(int(line))
			}
		} else if ae.Object != nil && ae.Object != lua.LNil {
			msg = "ERR " + ae.Object.String()
		}
	}
	out = append(out, '-')
	out = append(out, replyLine(msg)...)
	out = append(out, " script: "...)
	out = append(out, sha...)
	out = append(out, where...)
	return append(out, ".\r\n"...)
}

// call is redis.call (raise true) and redis.pcall.
func (vm *luaVM) call(L *lua.LState, raise bool) int {
	r := vm.run
	n := L.GetTop()
	if n == 0 {
		return r.fail(L, raise, "ERR Please specify at least one argument for this redis lib call")
	}
	args := r.argsBuf[:0]
	size := 0
	for i := 1; i <= n; i++ {
		switch v := L.Get(i).(type) {
		case lua.LString:
			size += len(v)
		case lua.LNumber:
			size += 24
		default:
			return r.fail(L, raise, "ERR Lua redis lib command arguments must be strings or integers")
		}
	}
	buf := r.alloc(size)
	for i := 1; i <= n; i++ {
		start := len(buf)
		switch v := L.Get(i).(type) {
		case lua.LString:
			buf = append(buf, v...)
		case lua.LNumber:
			buf = strconv.AppendFloat(buf, float64(v), 'g', 17, 64)
		}
		args = append(args, buf[start:len(buf):len(buf)])
	}
	r.argsBuf = args[:0]

	cmd := lookupCommand(commandTable, args[0])
	if cmd != nil && cmd.subs != nil && len(args) >= 2 {
		cmd = lookupCommand(cmd.subs, args[1])
	}
	switch {
	case cmd == nil:
		return r.fail(L, raise, "ERR Unknown Redis command called from script")
	case !arityOK(cmd.arity, len(args)):
		return r.fail(L, raise, "ERR Wrong number of args calling Redis command from script")
	case cmd.flags&flagNoScript != 0:
		return r.fail(L, raise, "ERR This Redis command is not allowed from script")
	}
	write := cmd.flags&flagWrite != 0
	if write {
		if r.readOnly {
			return r.fail(L, raise, "ERR Write commands are not allowed from read-only scripts.")
		}
		if msg := r.s.diskError(); msg != "" {
			return r.fail(L, raise, msg)
		}
	}
	sc := &r.sc
	sc.out = sc.out[:0]
	switch {
	case cmd.tx != nil:
		r.keyBuf = cmd.keys(args, r.keyBuf[:0])
		for _, k := range r.keyBuf {
			if !r.lock(k) {
				return r.fail(L, raise, msgScriptLockBusy)
			}
		}
		if write {
			r.wrote.Store(true)
		}
		cmd.tx(sc, r.tx, args)
	case noEngineCommands[cmd.name]:
		cmd.run(sc, args)
	case cmd.run != nil:
		// A run handler reaches the engine through the client's helpers
		// (c.update, c.engKeys, …), which use the transaction in execTx as
		// inside EXEC: here the script's, made to hold every shard.
		if !r.lock(nil) {
			return r.fail(L, raise, msgScriptLockBusy)
		}
		if write {
			r.wrote.Store(true)
		}
		sc.txs.execTx = r.tx
		cmd.run(sc, args)
		sc.txs.execTx = nil
	default:
		return r.fail(L, raise, "ERR This Redis command is not allowed from script")
	}
	r.s.stats.commandsProcessed.Add(1)
	v, _ := parseReply(L, sc.out)
	if t, ok := v.(*lua.LTable); ok && raise {
		if e := t.RawGetString("err"); e != lua.LNil {
			L.Error(t, 0)
		}
	}
	L.Push(v)
	return 1
}

const msgScriptLockBusy = "ERR The script accessed a key it did not declare in KEYS after writing, " +
	"and a conflicting command held that key: declare every key a script uses"

// lock takes key's shard (every shard when key is nil) into the script's
// transaction. A script that touches a key it did not declare is marked to
// run over every shard from then on; if it has not written yet, this run
// is stopped and started again that way (the Lua error that stops it
// cannot be caught: the VM's context is closed). If it has, the shard is
// taken in the deadlock-free order, or retried for a bounded time when it
// is below one held and busy.
func (r *scriptRun) lock(key []byte) bool {
	if key == nil && r.tx.HoldsAll() || key != nil && r.tx.Holds(key) {
		return true
	}
	r.script.global.Store(true)
	take := func() bool {
		if key == nil {
			return r.tx.LockAll()
		}
		return r.tx.LockKey(key)
	}
	if !r.wrote.Load() {
		r.stopped.Store(stopRerun)
		r.vm.ctx.stop(errScriptRerun)
		r.vm.L.RaiseError("%s", errScriptRerun.Error())
		return false
	}
	if take() {
		return true
	}
	deadline := time.Now().Add(scriptRerunWait)
	for time.Now().Before(deadline) {
		runtime.Gosched()
		if take() {
			return true
		}
	}
	return false
}

// fail ends a redis.call with an error (raised), or returns the error
// table from redis.pcall.
func (r *scriptRun) fail(L *lua.LState, raise bool, msg string) int {
	t := L.CreateTable(0, 1)
	t.RawSetString("err", lua.LString(msg))
	if raise {
		L.Error(t, 0)
	}
	L.Push(t)
	return 1
}

// alloc returns an empty slice with room for n bytes that stays valid
// until the run ends.
func (r *scriptRun) alloc(n int) []byte {
	if k := len(r.arena); k > 0 {
		last := r.arena[k-1]
		if cap(last)-len(last) >= n {
			r.arena[k-1] = last[:len(last)+n]
			return last[len(last) : len(last) : len(last)+n]
		}
	}
	chunk := make([]byte, n, max(n, 4096))
	r.arena = append(r.arena, chunk)
	return chunk[:0:n]
}

// checkBusy runs every 65536 Lua instructions: past busy-reply-threshold
// the run joins the busy ones, and other clients get -BUSY.
func (r *scriptRun) checkBusy() {
	if r.busy {
		return
	}
	limit := r.s.cfg.get().BusyReplyThreshold
	ran := time.Now().UnixMilli() - r.startMs
	if limit <= 0 || ran < int64(limit) {
		return
	}
	st := &r.s.lua
	st.busyMu.Lock()
	st.busy = append(st.busy, r)
	r.busy = true
	st.nbusy.Add(1)
	st.busyMu.Unlock()
	r.s.log.Warn("slow script detected: still in execution after busy-reply-threshold", "ms", ran, "sha", r.script.sha)
}

func (r *scriptRun) endBusy() {
	if !r.busy {
		return
	}
	st := &r.s.lua
	st.busyMu.Lock()
	for i, b := range st.busy {
		if b == r {
			st.busy = append(st.busy[:i], st.busy[i+1:]...)
			break
		}
	}
	r.busy = false
	st.nbusy.Add(-1)
	st.busyMu.Unlock()
}

// busyReject reports whether cmd must be refused with -BUSY because a
// script is past its time limit (it writes the error).
func (c *client) busyReject(cmd *command, args [][]byte) bool {
	if allowedWhenBusy[cmd.name] {
		return false
	}
	if cmd.name == "shutdown" {
		for _, a := range args[1:] {
			if equalFold(a, "nosave") {
				return false
			}
		}
	}
	c.writeError(msgBusy)
	return true
}

// allowedWhenBusy are the commands Redis 7.0 runs while a script is busy.
var allowedWhenBusy = map[string]bool{
	"script|kill": true, "auth": true, "hello": true, "quit": true, "reset": true,
	"multi": true, "exec": true, "discard": true, "watch": true, "unwatch": true,
}

// killScripts stops every busy script; with force it stops every running
// one too (at shutdown). It returns the SCRIPT KILL reply.
func (st *luaState) killScripts() string {
	st.busyMu.Lock()
	defer st.busyMu.Unlock()
	if len(st.busy) == 0 {
		return msgNotBusy
	}
	for _, r := range st.busy {
		if r.wrote.Load() {
			return msgUnkillable
		}
	}
	for _, r := range st.busy {
		r.stopped.Store(stopKilled)
		r.vm.ctx.stop(errScriptKilled)
	}
	return ""
}

func cmdScriptKill(c *client, args [][]byte) {
	if msg := c.s.lua.killScripts(); msg != "" {
		c.writeError(msg)
		return
	}
	c.writeOK()
}

func cmdScriptLoad(c *client, args [][]byte) {
	sc, msg := c.s.lua.load(args[2])
	if sc == nil {
		c.writeError(msg)
		return
	}
	c.writeBulkString(sc.sha)
}

func cmdScriptExists(c *client, args [][]byte) {
	c.writeArray(len(args) - 2)
	for _, a := range args[2:] {
		c.writeBool(c.s.lua.lookup(a) != nil)
	}
}

func cmdScriptFlush(c *client, args [][]byte) {
	if len(args) > 3 || (len(args) == 3 && !equalFold(args[2], "async") && !equalFold(args[2], "sync")) {
		c.writeError("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
		return
	}
	st := &c.s.lua
	st.mu.Lock()
	st.scripts = nil
	st.mu.Unlock()
	c.writeOK()
}

func cmdScriptHelp(c *client, args [][]byte) {
	lines := []string{
		"SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"DEBUG (YES|SYNC|NO)",
		"    Set the debug mode for subsequent scripts executed.",
		"EXISTS <sha1> [<sha1> ...]",
		"    Return information about the existence of the scripts in the script cache.",
		"FLUSH [ASYNC|SYNC]",
		"    Flush the Lua scripts cache. Very dangerous on replicas.",
		"    When called without the optional mode argument, the behavior is determined by the",
		"    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
		"    * ASYNC: Asynchronously flush the scripts cache.",
		"    * SYNC: Synchronously flush the scripts cache.",
		"KILL",
		"    Kill the currently executing Lua script.",
		"LOAD <script>",
		"    Load a script into the scripts cache without executing it.",
		"HELP",
		"    Prints this help.",
	}
	c.writeArray(len(lines))
	for _, l := range lines {
		c.writeSimple(l)
	}
}
