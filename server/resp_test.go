package server

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
)

func TestRESPReaderQueryLimit(t *testing.T) {
	input := "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\n" + strings.Repeat("x", 100) + "\r\n"
	p := newRESPReader(strings.NewReader(input), 512<<20)
	p.authed = true
	p.maxQuery = 64
	if _, err := p.next(); err != errQueryLimit {
		t.Fatalf("command over the query limit: err = %v", err)
	}
	p = newRESPReader(strings.NewReader(input), 512<<20)
	p.authed = true
	args, err := p.next()
	if err != nil || len(args) != 3 || len(args[2]) != 100 {
		t.Fatalf("within the limit: %q, %v", args, err)
	}
}

// TestRESPReaderSplitReads: a command arriving a byte at a time parses the
// same as one arriving whole.
func TestRESPReaderSplitReads(t *testing.T) {
	input := "*2\r\n$4\r\nECHO\r\n$5\r\nhe\x00lo\r\nPING\r\n"
	p := newRESPReader(&oneByteReader{s: input}, 512<<20)
	p.authed = true
	args, err := p.next()
	if err != nil || len(args) != 2 || string(args[1]) != "he\x00lo" {
		t.Fatalf("first: %q, %v", args, err)
	}
	args, err = p.next()
	if err != nil || len(args) != 1 || string(args[0]) != "PING" {
		t.Fatalf("second: %q, %v", args, err)
	}
}

type oneByteReader struct{ s string }

func (r *oneByteReader) Read(b []byte) (int, error) {
	if len(r.s) == 0 {
		return 0, io.EOF
	}
	b[0] = r.s[0]
	r.s = r.s[1:]
	return 1, nil
}

// TestRESPReaderPeekKeys: the keys of the whole commands buffered after
// the current one, for the engine to prefetch; nothing of a command not
// wholly buffered, or not a well-formed multibulk.
func TestRESPReaderPeekKeys(t *testing.T) {
	for _, tc := range []struct {
		name, input string
		max         int
		want        []string
	}{
		{"pipeline", "*2\r\n$4\r\nINCR\r\n$1\r\na\r\n*3\r\n$3\r\nSET\r\n$2\r\nbb\r\n$1\r\nv\r\n*2\r\n$3\r\nGET\r\n$3\r\nccc\r\n", 16, []string{"bb", "ccc"}},
		{"max", "*2\r\n$4\r\nINCR\r\n$1\r\na\r\n*2\r\n$3\r\nGET\r\n$1\r\nb\r\n*2\r\n$3\r\nGET\r\n$1\r\nc\r\n", 1, []string{"b"}},
		{"no key", "*2\r\n$4\r\nINCR\r\n$1\r\na\r\n*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nb\r\n", 16, []string{"b"}},
		{"partial command", "*2\r\n$4\r\nINCR\r\n$1\r\na\r\n*2\r\n$3\r\nGET\r\n$1\r\nb\r\n*2\r\n$3\r\nGET\r\n$5\r\nab", 16, []string{"b"}},
		{"partial header", "*2\r\n$4\r\nINCR\r\n$1\r\na\r\n*2\r\n$3\r\nGET\r\n$1", 16, nil},
		{"inline after", "*2\r\n$4\r\nINCR\r\n$1\r\na\r\nGET b\r\n", 16, nil},
		{"malformed length", "*2\r\n$4\r\nINCR\r\n$1\r\na\r\n*2\r\n$3\r\nGET\r\n$x\r\nb\r\n", 16, nil},
		{"empty multibulk", "*2\r\n$4\r\nINCR\r\n$1\r\na\r\n*0\r\n*2\r\n$3\r\nGET\r\n$1\r\nb\r\n", 16, nil},
		{"huge length", "*2\r\n$4\r\nINCR\r\n$1\r\na\r\n*2\r\n$3\r\nGET\r\n$99999999999999999999\r\nb\r\n", 16, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newRESPReader(strings.NewReader(tc.input), 512<<20)
			args, err := p.next()
			if err != nil || string(args[0]) != "INCR" {
				t.Fatalf("first command %q, %v", args, err)
			}
			var got []string
			for _, k := range p.peekKeys(nil, tc.max) {
				got = append(got, string(k))
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("peekKeys = %q, want %q", got, tc.want)
			}
			// Peeking consumed nothing: next still returns every command.
			n := 1
			for {
				if _, err := p.next(); err != nil {
					break
				}
				n++
			}
			if want := strings.Count(tc.input, "*") - strings.Count(tc.input, "*0"); tc.name == "pipeline" && n != want {
				t.Fatalf("next returned %d commands after peeking, want %d", n, want)
			}
		})
	}
}

// TestRESPReaderPeekFields: the third arguments of the whole commands
// buffered after the current one, as long as they have its name and key.
func TestRESPReaderPeekFields(t *testing.T) {
	hset := func(key, field string) string {
		return fmt.Sprintf("*4\r\n$4\r\nHSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$1\r\nv\r\n", len(key), key, len(field), field)
	}
	first := hset("h", "f0")
	for _, tc := range []struct {
		name, input string
		max         int
		want        []string
	}{
		{"pipeline", first + hset("h", "f1") + hset("h", "f22"), 16, []string{"f1", "f22"}},
		{"max", first + hset("h", "f1") + hset("h", "f2"), 1, []string{"f1"}},
		{"other key", first + hset("h", "f1") + hset("g", "f2") + hset("h", "f3"), 16, []string{"f1"}},
		{"other command", first + "*3\r\n$4\r\nHGET\r\n$1\r\nh\r\n$1\r\nf\r\n" + hset("h", "f2"), 16, nil},
		{"other case", first + strings.Replace(hset("h", "f1"), "HSET", "hset", 1), 16, nil},
		{"too few arguments", first + "*2\r\n$4\r\nHSET\r\n$1\r\nh\r\n" + hset("h", "f2"), 16, nil},
		{"partial command", first + hset("h", "f1") + hset("h", "f2")[:20], 16, []string{"f1"}},
		{"inline after", first + "HSET h f1 v\r\n", 16, nil},
		{"malformed length", first + strings.Replace(hset("h", "f1"), "$2", "$x", 1), 16, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newRESPReader(strings.NewReader(tc.input), 512<<20)
			args, err := p.next()
			if err != nil || string(args[2]) != "f0" {
				t.Fatalf("first command %q, %v", args, err)
			}
			var got []string
			for _, f := range p.peekFields(nil, args[0], args[1], tc.max) {
				got = append(got, string(f))
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("peekFields = %q, want %q", got, tc.want)
			}
			if tc.name == "pipeline" {
				for i := 1; i <= 2; i++ {
					if args, err := p.next(); err != nil || string(args[2]) != tc.want[i-1] {
						t.Fatalf("next after peeking: %q, %v", args, err)
					}
				}
			}
		})
	}
}

// BenchmarkPeekKeys: the lookahead over a pipeline of 16 LPUSHes of 64-byte
// values, as redis-benchmark -P 16 sends: all of it, and the next command
// only (what a pipeline to one key costs, see client.prefetch).
func BenchmarkPeekKeys(b *testing.B) {
	var input strings.Builder
	for range 16 {
		input.WriteString("*3\r\n$5\r\nLPUSH\r\n$6\r\nmylist\r\n$64\r\n" + strings.Repeat("x", 64) + "\r\n")
	}
	p := newRESPReader(strings.NewReader(input.String()), 512<<20)
	if _, err := p.next(); err != nil {
		b.Fatal(err)
	}
	var keys [16][]byte
	for _, max := range []int{16, 2} {
		b.Run(fmt.Sprintf("max=%d", max), func(b *testing.B) {
			for b.Loop() {
				if len(p.peekKeys(keys[:0], max)) != min(max, 15) {
					b.Fatal("short")
				}
			}
		})
	}
}
