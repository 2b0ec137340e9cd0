package server

import "testing"

const benchIncrScript = `
                    local exists = redis.call('EXISTS', KEYS[1])
                    if (exists == 1) then
                        return redis.call('INCRBY', KEYS[1], ARGV[1])
                    else return false end
                    `

// BenchmarkEvalSHADispatch is the CPU cost of one EVALSHA of django-redis's
// incr script, without the network: dispatch to reply bytes.
func BenchmarkEvalSHADispatch(b *testing.B) {
	for _, mode := range []string{"missing", "existing", "existing-every-shard"} {
		name, exists := mode, mode != "missing"
		b.Run(name, func(b *testing.B) {
			s := New(Options{})
			defer s.Close()
			c := &client{s: s, authed: true}
			c.dispatch([][]byte{[]byte("SCRIPT"), []byte("LOAD"), []byte(benchIncrScript)})
			sha := c.out[5 : 5+40]
			if exists {
				c.dispatch([][]byte{[]byte("SET"), []byte("k"), []byte("1")})
			}
			args := [][]byte{[]byte("EVALSHA"), append([]byte(nil), sha...), []byte("1"), []byte("k"), []byte("1")}
			// The cost of running over every shard (UpdateAll), as a script
			// that touched undeclared keys does.
			s.lua.lookup(sha).global.Store(mode == "existing-every-shard")
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				c.out = c.out[:0]
				c.dispatch(args)
			}
			if c.out[0] == '-' {
				b.Fatalf("%q", c.out)
			}
		})
	}
}

// TestScriptArgTablesFresh checks that what a script does to KEYS and ARGV
// never reaches the next script, now that setArgs refills the tables.
func TestScriptArgTablesFresh(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	c := &client{s: s, authed: true}
	eval := func(script string, args ...string) string {
		c.out = c.out[:0]
		cmd := [][]byte{[]byte("EVAL"), []byte(script)}
		for _, a := range args {
			cmd = append(cmd, []byte(a))
		}
		c.dispatch(cmd)
		return string(c.out)
	}
	const show = "return {#KEYS, #ARGV, KEYS[1] or 'none', ARGV[1] or 'none', tostring(KEYS.f), tostring(getmetatable(ARGV)), tostring(KEYS[5])}"
	fresh := func(keys, argv int, k1, a1 string) string {
		return "*7\r\n:" + string(rune('0'+keys)) + "\r\n:" + string(rune('0'+argv)) + "\r\n" +
			"$" + string(rune('0'+len(k1))) + "\r\n" + k1 + "\r\n$" + string(rune('0'+len(a1))) + "\r\n" + a1 + "\r\n" +
			"$3\r\nnil\r\n$3\r\nnil\r\n$3\r\nnil\r\n"
	}
	for _, tc := range []struct{ name, script string }{
		{"append", "table.insert(KEYS, 'x'); table.insert(ARGV, 'y'); table.insert(ARGV, 'z')"},
		{"field", "KEYS.f = 1; ARGV.g = 2"},
		{"sparse", "KEYS[5] = 'k5'; ARGV[9] = 'a9'"},
		{"metatable", "setmetatable(ARGV, {__index = function() return 'meta' end})"},
		{"remove", "KEYS[1] = nil; ARGV[1] = nil"},
	} {
		if got := eval(tc.script+"; return 1", "2", "k1", "k2", "a1"); got != ":1\r\n" {
			t.Fatalf("%s: %q", tc.name, got)
		}
		if got, want := eval(show, "1", "b", "c", "d"), fresh(1, 2, "b", "c"); got != want {
			t.Errorf("after %s: got %q, want %q", tc.name, got, want)
		}
		if got, want := eval(show, "0"), fresh(0, 0, "none", "none"); got != want {
			t.Errorf("after %s, no arguments: got %q, want %q", tc.name, got, want)
		}
	}
}
