package server_test

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"strings"
)

// The differential test's corpus of Lua scripts: conversions both ways,
// errors, pcall, status and error replies, KEYS/ARGV, the SCRIPT
// subcommands, EVALSHA, EVAL_RO, the sandbox, the libraries, and the exact
// scripts django-redis and redis-py's Lock send.

// Scripts clients send, verbatim.
const (
	// django-redis (client/default.py, _incr): the incr script.
	djangoIncrScript = `
                    local exists = redis.call('EXISTS', KEYS[1])
                    if (exists == 1) then
                        return redis.call('INCRBY', KEYS[1], ARGV[1])
                    else return false end
                    `
	// redis-py (redis/lock.py): Lock.LUA_RELEASE_SCRIPT and friends.
	redisPyLockRelease = `
        local token = redis.call('get', KEYS[1])
        if not token or token ~= ARGV[1] then
            return 0
        end
        redis.call('del', KEYS[1])
        return 1
    `
	redisPyLockExtend = `
        local token = redis.call('get', KEYS[1])
        if not token or token ~= ARGV[1] then
            return 0
        end
        local expiration = redis.call('pttl', KEYS[1])
        if not expiration then
            expiration = 0
        end
        if expiration < 0 then
            return 0
        end

        local newttl = ARGV[2]
        if ARGV[3] == "0" then
            newttl = ARGV[2] + expiration
        end
        redis.call('pexpire', KEYS[1], newttl)
        return 1
    `
	redisPyLockReacquire = `
        local token = redis.call('get', KEYS[1])
        if not token or token ~= ARGV[1] then
            return 0
        end
        redis.call('pexpire', KEYS[1], ARGV[2])
        return 1
    `
)

// diffQuote quotes s as one argument of a diff case line.
func diffQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func diffSHA(script string) string { return sha1Hex(script) }

func init() {
	ev := func(script string, rest ...string) string {
		return "EVAL " + diffQuote(script) + " " + strings.Join(rest, " ")
	}
	lockCases := []string{
		"SCRIPT LOAD " + diffQuote(redisPyLockRelease),
		"SCRIPT LOAD " + diffQuote(redisPyLockExtend),
		"SCRIPT LOAD " + diffQuote(redisPyLockReacquire),
		"SET lock tok1 NX PX 100000",
		"EVALSHA " + diffSHA(redisPyLockRelease) + " 1 lock other",
		"GET lock",
		"EVALSHA " + diffSHA(redisPyLockExtend) + " 1 lock tok1 50000 0",
		"PTTL lock",
		"EVALSHA " + diffSHA(redisPyLockExtend) + " 1 lock tok1 70000 1",
		"PTTL lock",
		"EVALSHA " + diffSHA(redisPyLockExtend) + " 1 lock other 70000 1",
		"EVALSHA " + diffSHA(redisPyLockReacquire) + " 1 lock tok1 90000",
		"PTTL lock",
		"EVALSHA " + diffSHA(redisPyLockReacquire) + " 1 lock other 90000",
		"SET nottl tok2",
		"EVALSHA " + diffSHA(redisPyLockExtend) + " 1 nottl tok2 1000 0",
		"EVALSHA " + diffSHA(redisPyLockRelease) + " 1 lock tok1",
		"EXISTS lock",
		"EVALSHA " + diffSHA(redisPyLockRelease) + " 1 lock tok1",
		"EVALSHA " + diffSHA(redisPyLockExtend) + " 1 missing tok1 1000 0",
	}
	diffCases = append(diffCases,
		struct {
			name string
			cmds []string
		}{"scripts: django-redis incr", []string{
			"SCRIPT LOAD " + diffQuote(djangoIncrScript),
			"EVALSHA " + diffSHA(djangoIncrScript) + " 1 counter 1",
			"SET counter 10",
			"EVALSHA " + diffSHA(djangoIncrScript) + " 1 counter 5",
			"EVALSHA " + strings.ToUpper(diffSHA(djangoIncrScript)) + " 1 counter -20",
			ev(djangoIncrScript, "1", "counter", "1"),
			"SET counter 9223372036854775807",
			"EVALSHA " + diffSHA(djangoIncrScript) + " 1 counter 1",
			"SET counter abc",
			"EVALSHA " + diffSHA(djangoIncrScript) + " 1 counter 1",
			"EVALSHA " + diffSHA(djangoIncrScript) + " 1 counter notanumber",
			"EVALSHA " + diffSHA(djangoIncrScript) + " 2 counter",
			"EVALSHA " + diffSHA(djangoIncrScript) + " -1 counter",
			"EVALSHA " + diffSHA(djangoIncrScript) + " x counter",
			ev("return redis.call('INCRBY', KEYS[1], ARGV[1])", "1", "fresh", "7"),
		}},
		struct {
			name string
			cmds []string
		}{"scripts: redis-py Lock", lockCases},
		struct {
			name string
			cmds []string
		}{"scripts: Lua to RESP", []string{
			ev("return 1", "0"), ev("return 3.99", "0"), ev("return -3.99", "0"), ev("return 0.5", "0"),
			ev("return 1e20", "0"), ev("return -1e20", "0"), ev("return 0/0", "0"), ev("return 1/0", "0"),
			ev("return 9007199254740993", "0"), ev("return 'str'", "0"), ev("return ''", "0"),
			ev("return true", "0"), ev("return false", "0"), ev("return nil", "0"), ev("return", "0"),
			ev("return {1,2,3,nil,5}", "0"), ev("return {1, {2, {3, 'x'}}, 'y', false, 7}", "0"),
			ev("return {1, 2, x=3}", "0"), ev("return {x=3}", "0"), ev("return {}", "0"),
			ev("return {ok='fine'}", "0"), ev("return {err='My Error'}", "0"), ev("return {err='-FOO bar'}", "0"),
			ev("return {err=''}", "0"), ev("return {err=3}", "0"), ev("return {ok=3}", "0"),
			ev("return {ok='a\\r\\nb'}", "0"), ev("return {err='a\\r\\nb'}", "0"), ev("return {ok='a', err='b'}", "0"),
			ev("return redis.error_reply('x y')", "0"), ev("return redis.error_reply('FOO y')", "0"),
			ev("return redis.status_reply('xx')", "0"), ev("return {redis.status_reply('a'), redis.error_reply('b')}", "0"),
			ev("return redis.error_reply()", "0"), ev("return redis.status_reply(1)", "0"),
			ev("return function() end", "0"), ev("return {function() end, 1}", "0"), ev("return {true, false, 1.5}", "0"),
			ev("return 'a\\0b'", "0"), ev("return {1, 'two', {ok='three'}, {err='four'}}", "0"),
		}},
		struct {
			name string
			cmds []string
		}{"scripts: RESP to Lua", []string{
			"SET s hello",
			ev("return redis.call('get','s')", "0"), ev("return redis.call('get','nokey')", "0"),
			ev("return type(redis.call('get','nokey'))", "0"), ev("return {redis.call('get','nokey'), 1}", "0"),
			ev("return redis.call('set','x','y')", "0"), ev("local t = redis.call('set','x','y'); return {type(t), t.ok}", "0"),
			ev("return redis.call('incr','n')", "0"), ev("return type(redis.call('incr','n'))", "0"),
			ev("return redis.call('mget','s','nokey','x')", "0"), ev("return #redis.call('mget','s','nokey','x')", "0"),
			ev("local r = redis.call('mget','s','nokey'); return type(r[2])", "0"),
			ev("return redis.call('keys','nomatch*')", "0"), ev("return type(redis.call('keys','nomatch*'))", "0"),
			ev("return redis.call('ping')", "0"), ev("return redis.call('ping','hi')", "0"), ev("return redis.call('echo','hi')", "0"),
			ev("return redis.call('set','n', 3.7)", "0"), ev("return redis.call('get','n')", "0"),
			ev("return redis.call('set','n', 0.1)", "0"), ev("return redis.call('get','n')", "0"),
			ev("return redis.call('set','n', 123456789012345678)", "0"), ev("return redis.call('get','n')", "0"),
			ev("return redis.call('set','n', -0.0)", "0"), ev("return redis.call('get','n')", "0"),
			ev("return redis.call('set','n', 1e300)", "0"), ev("return redis.call('get','n')", "0"),
			ev("return redis.call('set','n', true)", "0"), ev("return redis.call('set','n', nil)", "0"),
			ev("return redis.call('set','n', {})", "0"), ev("return redis.call()", "0"), ev("return redis.call(1)", "0"),
			ev("return redis.call('SET', 'K', 'V')", "0"), ev("return redis.call('GeT', 'K')", "0"),
			ev("redis.call('select', 1); redis.call('set', 'indb1', 'v'); return redis.call('dbsize')", "0"),
			"EXISTS indb1", "SELECT 1", "GET indb1", "SELECT 0",
			ev("return redis.call('exists', 's', 'nokey', 's')", "0"),
			ev("return redis.call('type', 's')", "0"), ev("return redis.call('ttl', 's')", "0"),
		}},
		struct {
			name string
			cmds []string
		}{"scripts: errors", []string{
			"SET s hello",
			ev("return redis.call('incr','s')", "0"), ev("return redis.pcall('incr','s')", "0"),
			ev("local t = redis.pcall('incr','s'); return t.err", "0"),
			ev("local t = redis.pcall('nosuch'); return t", "0"),
			ev("local ok, e = pcall(redis.call, 'incr', 's'); return {tostring(ok), type(e), e}", "0"),
			ev("local ok, e = pcall(redis.call, 'nosuch'); return e", "0"),
			ev("local ok, e = pcall(error, 'x'); return e", "0"),
			ev("local ok, e = pcall(error, {err='x'}); return e", "0"),
			ev("local ok, e = pcall(function() error('in') end); return e", "0"),
			ev("return redis.call('nosuch')", "0"), ev("return redis.call('get')", "0"),
			ev("return redis.call('get','a','b')", "0"), ev("return redis.call('eval','return 1','0')", "0"),
			ev("return redis.call('script','load','return 1')", "0"), ev("return redis.call('config','get','maxmemory')", "0"),
			ev("return redis.call('client','id')", "0"), ev("return redis.call('auth','x')", "0"),
			ev("error('boom')", "0"), ev("error({err='XYZ boom'})", "0"), ev("error(12)", "0"), ev("error()", "0"),
			ev("error('lvl0', 0)", "0"), ev("error('lvl2', 2)", "0"),
			ev("\nlocal x = 1\nreturn redis.call('incr','s')", "0"),
			ev("local function f()\n error('deep')\nend\nf()", "0"),
			ev("local function f()\n return redis.call('incr', 's')\nend\nreturn f()", "0"),
			ev("return redis.sha1hex()", "0"), ev("return redis.sha1hex('')", "0"), ev("return redis.sha1hex('abc')", "0"),
			ev("redis.log(99, 'x'); return 1", "0"), ev("redis.log(redis.LOG_WARNING); return 1", "0"),
			ev("redis.log(redis.LOG_DEBUG, 'from a test', 1, 2); return 1", "0"),
			ev("redis.setresp(4); return 1", "0"), ev("redis.setresp(2); return 1", "0"),
			ev("return redis.set_repl(redis.REPL_ALL)", "0"), ev("return redis.replicate_commands()", "0"),
			ev("return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING, redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL}", "0"),
			"~EVAL " + diffQuote("syntax error here") + " 0", "~EVAL " + diffQuote("return (") + " 0",
			ev("return 1", "-1"), ev("return 1", "2", "a"), ev("return 1", "abc"), ev("return 1", "1.5"),
			ev("return 1", "9223372036854775808"), "EVAL", "EVAL x", "EVALSHA x",
			"EVALSHA abcdef 0", "EVALSHA 0123456789012345678901234567890123456789 0",
			"EVALSHA 0123456789012345678901234567890123456789 -1",
			"EVALSHA 0123456789012345678901234567890123456789 x",
		}},
		struct {
			name string
			cmds []string
		}{"scripts: KEYS and ARGV", []string{
			ev("return {KEYS[1], KEYS[2], ARGV[1], ARGV[2], #KEYS, #ARGV}", "2", "k1", "k2", "a1", "a2"),
			ev("return {#KEYS, #ARGV}", "0"), ev("return KEYS", "3", "a", "b", "c"), ev("return ARGV", "0", "x", `""`, "z"),
			ev("return {type(KEYS[1]), type(ARGV[1])}", "1", "10", "20"),
			ev("return ARGV[1] + ARGV[2]", "0", "10", "32"), ev("return ARGV[1] .. KEYS[1]", "1", "k", "v"),
			ev("KEYS[1] = 'changed'; return KEYS[1]", "1", "k"), ev("return KEYS[1]", "1", "k"),
			ev("return redis.call('set', KEYS[1], ARGV[1])", "1", `"\x00bin\r\n"`, `"\xff\x00"`),
			"GET \"\\x00bin\\r\\n\"",
		}},
		struct {
			name string
			cmds []string
		}{"scripts: SCRIPT", []string{
			"SCRIPT LOAD " + diffQuote("return 'loaded'"),
			"SCRIPT EXISTS " + diffSHA("return 'loaded'") + " 0123456789012345678901234567890123456789 " + strings.ToUpper(diffSHA("return 'loaded'")),
			"EVALSHA " + diffSHA("return 'loaded'") + " 0",
			"EVALSHA_RO " + diffSHA("return 'loaded'") + " 0",
			"~SCRIPT LOAD " + diffQuote("syntax error"), "SCRIPT LOAD", "SCRIPT LOAD a b",
			"SCRIPT EXISTS", "SCRIPT FLUSH FOO", "SCRIPT FLUSH ASYNC SYNC",
			"SCRIPT FLUSH", "SCRIPT EXISTS " + diffSHA("return 'loaded'"),
			"EVALSHA " + diffSHA("return 'loaded'") + " 0",
			ev("return 'loaded'", "0"), "SCRIPT EXISTS " + diffSHA("return 'loaded'"),
			"SCRIPT FLUSH SYNC", "SCRIPT FLUSH async", "SCRIPT EXISTS " + diffSHA("return 'loaded'"),
			"SCRIPT KILL", "SCRIPT KILL x", "SCRIPT NOSUCH", "SCRIPT", "SCRIPT HELP x",
		}},
		struct {
			name string
			cmds []string
		}{"scripts: EVAL_RO and no-writes", []string{
			"SET k v",
			"EVAL_RO " + diffQuote("return redis.call('get', KEYS[1])") + " 1 k",
			"EVAL_RO " + diffQuote("return redis.call('set', KEYS[1], 'x')") + " 1 k",
			"EVAL_RO " + diffQuote("return redis.pcall('set', KEYS[1], 'x')") + " 1 k",
			"EVAL_RO " + diffQuote("return redis.call('del', KEYS[1])") + " 1 k",
			"GET k",
			"SCRIPT LOAD " + diffQuote("return redis.call('incr', KEYS[1])"),
			"EVALSHA_RO " + diffSHA("return redis.call('incr', KEYS[1])") + " 1 n",
			"EVALSHA " + diffSHA("return redis.call('incr', KEYS[1])") + " 1 n",
			ev("#!lua flags=no-writes\nreturn redis.call('set', 'k', 'y')", "0"),
			ev("#!lua flags=no-writes\nreturn redis.call('get', 'k')", "0"),
			ev("#!lua\nreturn redis.call('get', 'k')", "0"),
			ev("#!lua flags=no-writes,allow-oom\nreturn 1", "0"),
			ev("#!lua flags=bogus\nreturn 1", "0"), ev("#!foo\nreturn 1", "0"), ev("#!lua\nreturn 1", "0"),
			ev("#!lua foo=bar\nreturn 1", "0"), ev("#!lua", "0"), ev("#!\nreturn 1", "0"),
			"EVAL_RO " + diffQuote("#!lua\nreturn 1") + " 0", "EVAL_RO " + diffQuote("#!lua flags=no-writes\nreturn 1") + " 0",
			"GET k",
		}},
		struct {
			name string
			cmds []string
		}{"scripts: sandbox", []string{
			ev("foo = 1", "0"), ev("return foo", "0"), ev("return os", "0"), ev("return io", "0"),
			ev("return _G.x", "0"), ev("return _VERSION", "0"), ev("return rawget(_G, 'zzz')", "0"),
			ev("rawset(_G, 'zzz', 1); return 1", "0"), ev("local function f() x = 1 end f() return 1", "0"),
			ev("redis.foo = 1 return 1", "0"), ev("redis = 1 return 1", "0"), ev("string.foo = 1 return 1", "0"),
			ev("cjson.foo = 1 return 1", "0"), ev("redis.call = nil return 1", "0"), ev("return type(redis.call)", "0"),
			ev("return {type(loadfile)}", "0"), ev("return {type(dofile)}", "0"), ev("return {type(require)}", "0"),
			ev("return {type(print)}", "0"), ev("return {type(setfenv)}", "0"), ev("return {type(debug)}", "0"),
			ev("return {type(load), type(loadstring), type(coroutine), type(gcinfo), type(collectgarbage)}", "0"),
			ev("return {type(unpack), type(select), type(rawget), type(rawset), type(pcall), type(xpcall), type(tonumber), type(tostring), type(next), type(ipairs), type(pairs), type(setmetatable), type(getmetatable), type(assert), type(error), type(type), type(rawequal)}", "0"),
			ev("return {type(cjson), type(bit), type(struct), type(cmsgpack), type(table), type(string), type(math)}", "0"),
			ev("local t = {} setmetatable(t, {__index = function() return 'meta' end}) return t.x", "0"),
			ev("return loadstring('return 1 + 1')()", "0"), ev("local x = 5 return x", "0"),
			ev("math.randomseed(5); return {math.random(100), math.random(100), math.random(1, 10), tostring(math.random())}", "0"),
			ev("math.randomseed(7); return math.random(5, 5)", "0"),
			ev("return tostring(0.1)", "0"), ev("return tostring(1e100)", "0"), ev("return tostring(3)", "0"),
			ev("return tostring(1/3)", "0"), ev("return tostring(-0.5)", "0"),
			ev("return string.format('%s %d %5.2f', 'a', 3, 2.345)", "0"), ev("return string.rep('x', 3)", "0"),
			ev("return table.concat({1, 2, 'a'}, ',')", "0"), ev("return string.upper('abc')", "0"),
			ev("return ('abc'):len()", "0"), ev("return math.floor(3.7)", "0"), ev("return math.max(1, 5, 3)", "0"),
			ev("return tonumber('0x10')", "0"), ev("return tonumber('  12  ')", "0"), ev("return tonumber('z', 36)", "0"),
			ev("local t = {3, 1, 2} table.sort(t) return t", "0"), ev("return select('#', 1, 2, 3)", "0"),
			ev("return {unpack({1, 2, 3})}", "0"), ev("local co = coroutine.wrap(function() coroutine.yield(1) end) return co()", "0"),
		}},
		struct {
			name string
			cmds []string
		}{"scripts: cjson bit struct cmsgpack", []string{
			ev("return cjson.encode({1,2,3})", "0"), ev("return cjson.encode({a=1})", "0"),
			ev("return cjson.encode({a={b='c'}})", "0"), ev("return cjson.encode({d=true})", "0"),
			ev("return cjson.encode({e=1.5})", "0"), ev("return cjson.encode({f='x\"y'})", "0"),
			ev("return cjson.decode('[1,2,{\"a\":3}]')[3].a", "0"), ev("return cjson.encode(cjson.decode('{\"a\":null}'))", "0"),
			ev("return tostring(cjson.decode('null'))", "0"), ev("return cjson.encode({})", "0"),
			ev("return cjson.decode('bad')", "0"), ev("return cjson.decode('[1,')", "0"), ev("return cjson.decode('')", "0"),
			ev("return cjson.decode('{\"a\" 1}')", "0"), ev("return cjson.decode('[1 2]')", "0"),
			ev("return cjson.encode(0.1)", "0"), ev("return cjson.encode(1e20)", "0"), ev("return cjson.encode(3)", "0"),
			ev("return cjson.encode(-2.5)", "0"), ev("return cjson.encode(1/3)", "0"), ev("return cjson.encode(123456789012345)", "0"),
			ev("return cjson.encode('a/b\\n\\1\\127')", "0"), ev("return cjson.encode(nil)", "0"), ev("return cjson.encode(true)", "0"),
			ev("return cjson.encode({1, nil, 3})", "0"), ev("return cjson.encode({[1]=1, [20]=2})", "0"),
			ev("return cjson.encode({[1]=1, [3]=2})", "0"), ev("return cjson.encode(function() end)", "0"),
			ev("return cjson.encode({[true]=1})", "0"), ev("return cjson.encode(0/0)", "0"),
			ev("return cjson.decode('\"\\\\u00e9\\\\n\"')", "0"), ev("return cjson.decode('[true, false, -1.5e2]')", "0"),
			ev("return cjson.decode('{\"k\": [1, {\"x\": \"y\"}]}').k[2].x", "0"), ev("return cjson.decode(' 42 ')", "0"),
			ev("local t = cjson.decode('[[[[1]]]]') return t[1][1][1][1]", "0"),
			ev("return cjson.encode(cjson.decode('[1,\"a\",true,null,{\"b\":[]}]'))", "0"),
			ev("return bit.band(7, 3)", "0"),
			ev("return {bit.bor(1,2), bit.bxor(3,1), bit.bnot(0), bit.lshift(1,4), bit.rshift(256,4), bit.arshift(-256,4), bit.tobit(4294967296+5), bit.tohex(255), bit.tohex(-1, 4), bit.rol(1,1), bit.ror(1,1), bit.bswap(1)}", "0"),
			ev("return {bit.tohex(255, -4), bit.tobit(2147483648), bit.lshift(1, 31), bit.rshift(-1, 28), bit.band(0xff, 0xf0f, 0xf)}", "0"),
			ev("return {bit.tobit(1.5), bit.tobit(2.5), bit.tobit(-1.5)}", "0"),
			ev("return struct.pack('>I2', 258)", "0"), ev("return {struct.unpack('>I2', 'AB')}", "0"),
			ev("return struct.pack('<i4', -2)", "0"), ev("return {struct.unpack('<i4', struct.pack('<i4', -2))}", "0"),
			ev("return struct.pack('bBhH', -1, 255, -2, 65535)", "0"), ev("return struct.size('>I2bhd')", "0"),
			ev("return {struct.unpack('s', 'abc\\0def')}", "0"), ev("return struct.pack('c3', 'abcdef')", "0"),
			ev("return cmsgpack.pack({1,2})", "0"), ev("return cmsgpack.pack('a', 300, -5, true, 1.5)", "0"),
			ev("return cmsgpack.pack(70000, -70000, 5000000000, -129)", "0"),
			ev("return {cmsgpack.unpack(cmsgpack.pack(1, 'two', {3, 4}, false))}", "0"),
			ev("return cmsgpack.unpack(cmsgpack.pack({a=1})).a", "0"), ev("return cmsgpack.pack(string.rep('x', 40))", "0"),
		}},
		struct {
			name string
			cmds []string
		}{"scripts: undeclared keys and whole keyspace", []string{
			"MSET a 1 b 2 c 3",
			ev("return redis.call('get', 'b')", "1", "a"),
			ev("redis.call('set', 'x1', 'v'); redis.call('set', 'x2', 'v'); return redis.call('mget', 'x1', 'x2', 'a')", "0"),
			ev("local t = redis.call('keys', '*') table.sort(t) return t", "0"), ev("return redis.call('dbsize')", "0"),
			ev("return type(redis.call('randomkey'))", "0"),
			ev("for _, k in ipairs(redis.call('keys', 'x*')) do redis.call('del', k) end return redis.call('dbsize')", "0"),
			ev("redis.call('flushdb') return redis.call('dbsize')", "0"),
			ev("return redis.call('randomkey')", "0"),
		}},
	)
	diffRunners["~EVAL"] = diffRunCompileError
	diffRunners["~SCRIPT"] = diffRunCompileError
	diffFamilies = append(diffFamilies, diffScriptCommand)
}

// diffRunCompileError runs EVAL and keeps only the stable prefix of a
// compile error: the message after it is the parser's own wording.
func diffRunCompileError(s *diffSide, args []string) []byte {
	rep := s.do(append([]string{args[0][1:]}, args[1:]...))
	const prefix = "-ERR Error compiling script (new function): user_script:"
	if bytes.HasPrefix(rep, []byte(prefix)) {
		return []byte(prefix + "...")
	}
	return rep
}

// diffScripts are templates for random sequences: each takes one key and
// one value.
var diffScripts = []string{
	djangoIncrScript,
	redisPyLockRelease,
	redisPyLockReacquire,
	"return redis.call('GET', KEYS[1])",
	"return redis.call('SET', KEYS[1], ARGV[1])",
	"return redis.pcall('INCRBY', KEYS[1], ARGV[1])",
	"local v = redis.call('GET', KEYS[1]) if v then return {v, #v} end return {'none'}",
	"redis.call('SET', KEYS[1], ARGV[1]) return redis.call('APPEND', KEYS[1], ARGV[1])",
	"return redis.call('DEL', KEYS[1])",
	"return {redis.call('EXISTS', KEYS[1]), redis.call('TYPE', KEYS[1])}",
	"return redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])",
	"return tonumber(ARGV[1])",
}

func diffScriptCommand(g *diffGen) []string {
	script := g.pick(diffScripts)
	switch g.r.Intn(3) {
	case 0:
		return []string{"EVALSHA", sha1Hex(script), "1", g.key(), g.value()}
	case 1:
		return []string{"SCRIPT", "LOAD", script}
	}
	return []string{"EVAL", script, "1", g.key(), g.value()}
}

// sha1Hex is the SHA1 Redis names a script by.
func sha1Hex(s string) string {
	sum := sha1.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
