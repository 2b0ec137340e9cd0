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
