package server

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cairn-db/cairn/engine"
	lua "github.com/yuin/gopher-lua"
)

// A luaVM is one Lua interpreter with Redis's sandbox, reused from a pool:
// a script runs on one VM at a time, and nothing it does survives into the
// next script (globals and library tables are read-only, as in Redis 7).
type luaVM struct {
	L *lua.LState
	// globals is the real globals table; scripts see it through a
	// read-only proxy (L.Env, _G).
	globals *lua.LTable
	// keysTable and argvTable are KEYS and ARGV of the last call (see
	// setArgs).
	keysTable, argvTable *lua.LTable
	// readonly holds the proxies scripts see in place of the globals and
	// library tables: rawset refuses them.
	readonly map[*lua.LTable]bool
	// fns caches a function per compiled script, for this VM.
	fns map[*lua.FunctionProto]*lua.LFunction
	// errHandler turns an error into Redis's error table (err, source,
	// line), as Redis 7's __redis__err__handler does.
	errHandler *lua.LFunction
	ctx        vmCtx
	// run is the script running on this VM; nil between scripts. last is
	// the previous run's state, whose buffers the next run reuses.
	run, last *scriptRun
}

// vmCtx is the context the VM checks before every instruction: closing done
// stops the script (SCRIPT KILL, or a rerun over every shard). Every 65536
// checks it also looks at the clock, for busy-reply-threshold, as Redis's
// Lua hook does every 100000 instructions.
//
// Only the VM's goroutine calls Done. A coroutine's context derives from
// this one through AfterFunc (so context.WithCancel starts no goroutine).
type vmCtx struct {
	mu    sync.Mutex // guards done's closing and replacing, cause, after
	done  chan struct{}
	n     uint32
	vm    *luaVM
	cause error
	after map[*func()]struct{}
}

// AfterFunc runs f when the context is stopped (context's afterFuncer).
func (x *vmCtx) AfterFunc(f func()) func() bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	select {
	case <-x.done:
		go f()
		return func() bool { return false }
	default:
	}
	if x.after == nil {
		x.after = make(map[*func()]struct{})
	}
	key := &f
	x.after[key] = struct{}{}
	return func() bool {
		x.mu.Lock()
		defer x.mu.Unlock()
		_, ok := x.after[key]
		delete(x.after, key)
		return ok
	}
}

func (x *vmCtx) Deadline() (time.Time, bool) { return time.Time{}, false }
func (x *vmCtx) Value(any) any               { return nil }
func (x *vmCtx) Err() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	select {
	case <-x.done:
		return x.cause
	default:
		return nil
	}
}
func (x *vmCtx) Done() <-chan struct{} {
	x.n++
	if x.n&0xffff == 0 && x.vm.run != nil {
		x.vm.run.checkBusy()
	}
	return x.done
}

var _ context.Context = (*vmCtx)(nil)

// stop closes the VM's context with cause (once per run).
func (x *vmCtx) stop(cause error) {
	x.mu.Lock()
	var after []func()
	select {
	case <-x.done:
	default:
		x.cause = cause
		close(x.done)
		for f := range x.after {
			after = append(after, *f)
		}
		x.after = nil
	}
	x.mu.Unlock()
	for _, f := range after {
		f()
	}
}

// rearm gives the context a fresh channel after a run that was stopped.
func (x *vmCtx) rearm() {
	x.mu.Lock()
	defer x.mu.Unlock()
	select {
	case <-x.done:
		x.done = make(chan struct{})
		x.cause = nil
	default:
	}
	x.after = nil
}

// The Lua libraries Redis 7.0 opens, less what its sandbox removes.
var luaLibs = []struct {
	name string
	open lua.LGFunction
}{
	{lua.BaseLibName, lua.OpenBase},
	{lua.TabLibName, lua.OpenTable},
	{lua.StringLibName, lua.OpenString},
	{lua.MathLibName, lua.OpenMath},
	{lua.CoroutineLibName, lua.OpenCoroutine},
}

// Globals of gopher-lua's base library that Redis's Lua does not have or
// removes (loading files and modules, printing, environments).
var luaRemovedGlobals = []string{
	"dofile", "loadfile", "require", "module", "print", "_printregs",
	"getfenv", "setfenv", "newproxy",
}

func init() {
	// gopher-lua builds Lua 5.0's implicit "arg" table (a map) on every call
	// of a vararg function, which a script's chunk is: 2.5 kB per EVAL.
	// Scripts use "...", never "arg".
	lua.CompatVarArg = false
}

func newLuaVM(s *Server) *luaVM {
	L := lua.NewState(lua.Options{SkipOpenLibs: true, CallStackSize: 200, RegistrySize: 1024, RegistryMaxSize: 1024 * 1024})
	vm := &luaVM{L: L, readonly: map[*lua.LTable]bool{}, fns: map[*lua.FunctionProto]*lua.LFunction{}}
	for _, lib := range luaLibs {
		L.Push(L.NewFunction(lib.open))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	g := L.G.Global
	vm.globals = g
	for _, name := range luaRemovedGlobals {
		g.RawSetString(name, lua.LNil)
	}
	g.RawSetString("gcinfo", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LNumber(0))
		return 1
	}))
	g.RawSetString("rawset", L.NewFunction(vm.rawset))
	g.RawSetString("error", L.NewFunction(luaErrorFn))
	g.RawSetString("pcall", L.NewFunction(luaPCall))
	g.RawSetString("tostring", L.NewFunction(luaToString))
	baseToNumber := g.RawGetString("tonumber").(*lua.LFunction)
	g.RawSetString("tonumber", L.NewFunction(func(L *lua.LState) int { return luaToNumber(L, baseToNumber) }))
	math := g.RawGetString("math").(*lua.LTable)
	math.RawSetString("random", L.NewFunction(s.lua.mathRandom))
	math.RawSetString("randomseed", L.NewFunction(s.lua.mathRandomSeed))
	g.RawSetString("redis", vm.redisLib(s))
	g.RawSetString("cjson", newCJSONLib(L))
	g.RawSetString("bit", newBitLib(L))
	g.RawSetString("struct", newStructLib(L))
	g.RawSetString("cmsgpack", newMsgpackLib(L))

	// Library tables become read-only proxies; then the globals table.
	g.ForEach(func(k, v lua.LValue) {
		if t, ok := v.(*lua.LTable); ok && k != lua.LString("_G") {
			g.RawSet(k, vm.protect(t, nil))
		}
	})
	// The string metatable's __index is the string library itself.
	if mt, ok := L.GetMetatable(lua.LString("")).(*lua.LTable); ok {
		mt.RawSetString("__metatable", lua.LFalse)
	}
	strictMT := L.NewTable()
	strictMT.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("Script attempted to access nonexistent global variable '%s'", L.ToString(2))
		return 0
	}))
	L.SetMetatable(g, strictMT)
	proxy := vm.protect(g, L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("Attempt to modify a readonly table")
		return 0
	}))
	g.RawSetString("_G", proxy)
	L.Env = proxy

	vm.errHandler = L.NewFunction(vm.handleError)
	vm.ctx = vmCtx{done: make(chan struct{}), vm: vm}
	L.SetContext(&vm.ctx)
	return vm
}

// protect returns a read-only proxy of t: reads go through to t, writes
// raise "Attempt to modify a readonly table", and the metatable is hidden.
func (vm *luaVM) protect(t *lua.LTable, onWrite *lua.LFunction) *lua.LTable {
	L := vm.L
	if onWrite == nil {
		onWrite = L.NewFunction(func(L *lua.LState) int {
			L.RaiseError("Attempt to modify a readonly table")
			return 0
		})
	}
	proxy := L.NewTable()
	mt := L.NewTable()
	mt.RawSetString("__index", t)
	mt.RawSetString("__newindex", onWrite)
	mt.RawSetString("__metatable", lua.LFalse)
	L.SetMetatable(proxy, mt)
	vm.readonly[proxy] = true
	return proxy
}

func (vm *luaVM) rawset(L *lua.LState) int {
	t := L.CheckTable(1)
	if vm.readonly[t] {
		L.Error(lua.LString("Attempt to modify a readonly table"), 0)
	}
	t.RawSet(L.CheckAny(2), L.CheckAny(3))
	L.SetTop(1)
	return 1
}

// rand48 is the 48-bit linear congruential generator of drand48, which
// Redis's math.random uses (redisLrand48): one per server, from drand48's
// initial state, never reseeded but by math.randomseed (as Redis 7.0).
type rand48 struct {
	mu sync.Mutex
	x  uint64
}

const rand48Init = 0x1234abcd330e

func (r *rand48) seed(s int64) { r.x = (uint64(uint32(s))<<16 | 0x330e) & (1<<48 - 1) }
func (r *rand48) next() int32 {
	r.x = (r.x*0x5deece66d + 0xb) & (1<<48 - 1)
	return int32(r.x >> 17)
}

func (st *luaState) mathRandom(L *lua.LState) int {
	const max = math.MaxInt32
	st.rand.mu.Lock()
	if st.rand.x == 0 {
		st.rand.x = rand48Init
	}
	r := float64(st.rand.next()%max) / max
	st.rand.mu.Unlock()
	switch L.GetTop() {
	case 0:
		L.Push(lua.LNumber(r))
	case 1:
		u := L.CheckInt(1)
		if u < 1 {
			L.ArgError(1, "interval is empty")
		}
		L.Push(lua.LNumber(math.Floor(r*float64(u)) + 1))
	case 2:
		l, u := L.CheckInt(1), L.CheckInt(2)
		if l > u {
			L.ArgError(2, "interval is empty")
		}
		L.Push(lua.LNumber(math.Floor(r*float64(u-l+1)) + float64(l)))
	default:
		L.RaiseError("wrong number of arguments")
	}
	return 1
}

func (st *luaState) mathRandomSeed(L *lua.LState) int {
	n := L.CheckInt(1)
	st.rand.mu.Lock()
	st.rand.seed(int64(n))
	st.rand.mu.Unlock()
	return 0
}

// luaFail raises msg as an error without a position, as the functions of
// Redis's redis table do.
func luaFail(L *lua.LState, msg string) {
	L.Error(lua.LString(msg), 0)
}

// luaErrorFn is Lua 5.1's error: a string or number message gets the
// position of the function at level (1: the caller), none if that is not
// a Lua function; error() raises nil.
func luaErrorFn(L *lua.LState) int {
	v := L.Get(1)
	level := L.OptInt(2, 1)
	switch v.(type) {
	case lua.LString, lua.LNumber:
		msg := lua.LVAsString(v)
		if level > 0 {
			if dbg, ok := L.GetStack(level); ok {
				if _, err := L.GetInfo("Sl", dbg, lua.LNil); err == nil && dbg.What != "G" && dbg.CurrentLine > 0 {
					msg = strings.TrimPrefix(dbg.Source, "@") + ":" + strconv.Itoa(dbg.CurrentLine) + ": " + msg
				}
			}
		}
		L.Error(lua.LString(msg), 0)
	}
	L.Error(v, 0)
	return 0
}

// luaPCall is Redis 7.0's pcall: an error that is a table with an err
// field (as redis.call raises) is returned as that string.
func luaPCall(L *lua.LState) int {
	L.CheckAny(1)
	if err := L.PCall(L.GetTop()-1, lua.MultRet, nil); err != nil {
		var obj lua.LValue = lua.LNil
		if ae, ok := err.(*lua.ApiError); ok {
			obj = ae.Object
		}
		if t, ok := obj.(*lua.LTable); ok {
			if e, ok := t.RawGetString("err").(lua.LString); ok {
				obj = e
			}
		}
		L.Push(lua.LFalse)
		L.Push(obj)
		return 2
	}
	L.Insert(lua.LTrue, 1)
	return L.GetTop()
}

// luaToString is tostring with Lua 5.1's "%.14g" for numbers.
func luaToString(L *lua.LState) int {
	v := L.CheckAny(1)
	if n, ok := v.(lua.LNumber); ok {
		L.Push(lua.LString(formatLuaNumber(float64(n))))
		return 1
	}
	if v == cjsonNull {
		L.Push(lua.LString("userdata: (nil)"))
		return 1
	}
	if mt, ok := L.GetMetaField(v, "__tostring").(*lua.LFunction); ok {
		L.Push(mt)
		L.Push(v)
		L.Call(1, 1)
		return 1
	}
	L.Push(lua.LString(v.String()))
	return 1
}

// luaToNumber is tonumber with base 10 parsed as Lua 5.1 does (strtod:
// any magnitude, hexadecimal, surrounding spaces); other bases as before.
func luaToNumber(L *lua.LState, base *lua.LFunction) int {
	s, ok := L.Get(1).(lua.LString)
	if !ok || L.OptInt(2, 10) != 10 {
		L.Push(base)
		L.Insert(base, 1)
		L.Pop(1)
		L.Call(L.GetTop()-1, 1)
		return 1
	}
	t := strings.TrimSpace(string(s))
	var f float64
	var err error
	if u, found := strings.CutPrefix(strings.ToLower(t), "0x"); found && !strings.ContainsAny(u, ".p") {
		var n uint64
		n, err = strconv.ParseUint(u, 16, 64)
		f = float64(n)
	} else if t != "" && strings.IndexByte("+-.0123456789", t[0]) >= 0 || strings.EqualFold(t, "inf") || strings.EqualFold(t, "nan") {
		f, err = strconv.ParseFloat(t, 64)
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			err = nil
		}
		if strings.Contains(t, "_") {
			err = strconv.ErrSyntax
		}
	} else {
		err = strconv.ErrSyntax
	}
	if err != nil {
		L.Push(lua.LNil)
		return 1
	}
	L.Push(lua.LNumber(f))
	return 1
}

// formatLuaNumber formats as C's "%.14g", Lua 5.1's number format.
func formatLuaNumber(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	return strconv.FormatFloat(f, 'g', 14, 64)
}

// Log levels of redis.log, with Redis's numbers.
const (
	luaLogDebug = iota
	luaLogVerbose
	luaLogNotice
	luaLogWarning
)

// redisLib builds the redis table.
func (vm *luaVM) redisLib(s *Server) *lua.LTable {
	L := vm.L
	t := L.NewTable()
	fn := func(name string, f lua.LGFunction) { t.RawSetString(name, L.NewFunction(f)) }
	fn("call", func(L *lua.LState) int { return vm.call(L, true) })
	fn("pcall", func(L *lua.LState) int { return vm.call(L, false) })
	fn("error_reply", func(L *lua.LState) int { return replyTable(L, "err") })
	fn("status_reply", func(L *lua.LState) int { return replyTable(L, "ok") })
	fn("sha1hex", func(L *lua.LState) int {
		if L.GetTop() != 1 {
			luaFail(L, "wrong number of arguments")
		}
		L.Push(lua.LString(sha1Hex([]byte(L.ToString(1)))))
		return 1
	})
	fn("log", func(L *lua.LState) int {
		if L.GetTop() < 2 {
			luaFail(L, "redis.log() requires two arguments or more.")
		}
		lv, ok := L.Get(1).(lua.LNumber)
		if !ok {
			luaFail(L, "First argument must be a number (log level).")
		}
		level := int(lv)
		if level < luaLogDebug || level > luaLogWarning {
			luaFail(L, "Invalid debug level.")
		}
		var b strings.Builder
		for i := 2; i <= L.GetTop(); i++ {
			if i > 2 {
				b.WriteByte(' ')
			}
			b.WriteString(L.ToString(i))
		}
		switch level {
		case luaLogWarning:
			s.log.Warn(b.String(), "source", "lua")
		case luaLogNotice:
			s.log.Info(b.String(), "source", "lua")
		default:
			s.log.Debug(b.String(), "source", "lua")
		}
		return 0
	})
	fn("setresp", func(L *lua.LState) int {
		if L.GetTop() != 1 {
			luaFail(L, "redis.setresp() requires one argument.")
		}
		switch L.CheckInt(1) {
		case 2:
		case 3:
			// Cairn speaks RESP2 only: a script asking for RESP3 replies
			// would get RESP2 shapes (no maps, doubles, …) where it expects
			// RESP3 ones, so it is told rather than silently misled.
			luaFail(L, "RESP3 is not supported by this server: redis.setresp(3) is refused.")
		default:
			luaFail(L, "RESP version must be 2 or 3.")
		}
		return 0
	})
	fn("set_repl", func(L *lua.LState) int {
		// Effects, not scripts, are logged: there is nothing to choose.
		if L.GetTop() != 1 {
			luaFail(L, "redis.set_repl() requires one argument.")
		}
		if n := L.CheckInt(1); n&^3 != 0 {
			luaFail(L, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.")
		}
		return 0
	})
	fn("replicate_commands", func(L *lua.LState) int {
		L.Push(lua.LTrue)
		return 1
	})
	for name, v := range map[string]int{
		"LOG_DEBUG": luaLogDebug, "LOG_VERBOSE": luaLogVerbose, "LOG_NOTICE": luaLogNotice, "LOG_WARNING": luaLogWarning,
		"REPL_NONE": 0, "REPL_AOF": 1, "REPL_SLAVE": 2, "REPL_REPLICA": 2, "REPL_ALL": 3,
	} {
		t.RawSetString(name, lua.LNumber(v))
	}
	return t
}

// replyTable is redis.error_reply / redis.status_reply: {field=arg}. An
// error is given a code as Redis's luaPushErrorBuff does: "-CODE msg"
// keeps its code, a message of one word gets ERR. Bad arguments are not
// raised: the error table is returned.
func replyTable(L *lua.LState, field string) int {
	t := L.CreateTable(0, 1)
	s, ok := L.Get(1).(lua.LString)
	if L.GetTop() != 1 || !ok {
		t.RawSetString("err", lua.LString("ERR wrong number or type of arguments"))
		L.Push(t)
		return 1
	}
	if field == "err" {
		e := strings.TrimPrefix(string(s), "-")
		if code, msg, found := strings.Cut(e, " "); found {
			e = code + " " + strings.Trim(msg, "\r\n")
		} else {
			e = "ERR " + strings.Trim(e, "\r\n")
		}
		s = lua.LString(e)
	}
	t.RawSetString(field, s)
	L.Push(t)
	return 1
}

func sha1Hex(b []byte) string {
	sum := sha1.Sum(b)
	return hex.EncodeToString(sum[:])
}

// handleError is the message handler of every script call: like Redis 7's
// __redis__err__handler it makes the error a table {err=…} ("ERR " before
// a string) and adds where it happened, for "script: <sha>, on
// @user_script:<line>.".
func (vm *luaVM) handleError(L *lua.LState) int {
	v := L.Get(1)
	var t *lua.LTable
	if tt, ok := v.(*lua.LTable); ok && tt.RawGetString("err") != lua.LNil {
		t = tt
	} else {
		t = L.CreateTable(0, 3)
		msg := "nil"
		if v != lua.LNil {
			msg = lua.LVAsString(v)
			if msg == "" {
				msg = v.String()
			}
		}
		if r := vm.run; r != nil && r.stopped.Load() == stopKilled {
			msg = msgScriptKilled
		}
		t.RawSetString("err", lua.LString("ERR "+msg))
	}
	for level := 1; ; level++ {
		dbg, ok := L.GetStack(level)
		if !ok {
			break
		}
		if _, err := L.GetInfo("Sl", dbg, lua.LNil); err != nil {
			break
		}
		if dbg.What == "G" || dbg.CurrentLine <= 0 {
			continue
		}
		t.RawSetString("source", lua.LString("@"+strings.TrimPrefix(dbg.Source, "@")))
		t.RawSetString("line", lua.LNumber(dbg.CurrentLine))
		break
	}
	L.Push(t)
	return 1
}

// appendLuaReply converts a script's return value to RESP, as Redis does:
// a number is an integer (truncated), a string a bulk string, true is 1,
// false and nil are a null bulk string, a table with an err field an
// error and with an ok field a status, any other table an array of its
// elements up to the first nil.
func appendLuaReply(out []byte, v lua.LValue, depth int) []byte {
	switch v := v.(type) {
	case lua.LString:
		return appendBulkString(out, string(v))
	case lua.LNumber:
		return appendInt(out, luaToInt(float64(v)))
	case lua.LBool:
		if v {
			return append(out, ":1\r\n"...)
		}
		return append(out, "$-1\r\n"...)
	case *lua.LTable:
		if e, ok := v.RawGetString("err").(lua.LString); ok {
			return append(append(append(out, '-'), replyLine(string(e))...), "\r\n"...)
		}
		if s, ok := v.RawGetString("ok").(lua.LString); ok {
			return append(append(append(out, '+'), replyLine(string(s))...), "\r\n"...)
		}
		if depth > luaMaxReplyDepth {
			return append(out, "-ERR reached lua stack limit\r\n"...)
		}
		n := 0
		for v.RawGetInt(n+1) != lua.LNil {
			n++
		}
		out = appendArrayHeader(out, n)
		for i := 1; i <= n; i++ {
			out = appendLuaReply(out, v.RawGetInt(i), depth+1)
		}
		return out
	}
	return append(out, "$-1\r\n"...)
}

const luaMaxReplyDepth = 1000

// replyLine makes s fit in a status or error line: Redis turns each CR
// and LF into a space.
func replyLine(s string) string {
	if strings.ContainsAny(s, "\r\n") {
		return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
	}
	return s
}

// luaToInt converts a Lua number to an integer as C's cast does on the
// machines Redis runs on: truncation, and the minimum for what does not fit.
func luaToInt(f float64) int64 {
	if math.IsNaN(f) || f >= 1<<63 || f < -(1<<63) {
		return math.MinInt64
	}
	return int64(f)
}

func appendInt(out []byte, n int64) []byte {
	out = append(out, ':')
	out = strconv.AppendInt(out, n, 10)
	return append(out, '\r', '\n')
}

func appendBulkString(out []byte, s string) []byte {
	out = append(out, '$')
	out = strconv.AppendInt(out, int64(len(s)), 10)
	out = append(out, '\r', '\n')
	out = append(out, s...)
	return append(out, '\r', '\n')
}

func appendArrayHeader(out []byte, n int) []byte {
	out = append(out, '*')
	out = strconv.AppendInt(out, int64(n), 10)
	return append(out, '\r', '\n')
}

// parseReply converts one RESP2 reply, as a command wrote it, to a Lua
// value: an integer a number, a bulk string a string, a null bulk string
// or array false, a status a table {ok=…}, an error a table {err=…}, an
// array a table. It returns the value and the rest of b.
func parseReply(L *lua.LState, b []byte) (lua.LValue, []byte) {
	if len(b) < 3 {
		return lua.LFalse, nil
	}
	end := 1
	for end < len(b) && b[end] != '\r' {
		end++
	}
	line := b[1:end]
	rest := b[min(end+2, len(b)):]
	switch b[0] {
	case '+', '-':
		t := L.CreateTable(0, 1)
		field := "ok"
		if b[0] == '-' {
			field = "err"
		}
		t.RawSetString(field, lua.LString(line))
		return t, rest
	case ':':
		n, _ := engine.ParseInt(line)
		return lua.LNumber(n), rest
	case '$':
		n64, _ := engine.ParseInt(line)
		n := int(n64)
		if n < 0 {
			return lua.LFalse, rest
		}
		if n > len(rest) {
			n = len(rest)
		}
		return lua.LString(rest[:n]), rest[min(n+2, len(rest)):]
	case '*':
		n64, _ := engine.ParseInt(line)
		n := int(n64)
		if n < 0 {
			return lua.LFalse, rest
		}
		t := L.CreateTable(n, 0)
		for i := 1; i <= n; i++ {
			var v lua.LValue
			v, rest = parseReply(L, rest)
			t.RawSetInt(i, v)
		}
		return t, rest
	}
	return lua.LFalse, nil
}
