package server

import (
	"io"
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
