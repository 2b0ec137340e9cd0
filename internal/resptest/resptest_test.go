package resptest

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// cannedServer listens on loopback and answers each command it reads with
// the next canned reply, written one byte at a time when split is set (so
// the reader sees every possible fragmentation). It records the raw
// commands it received.
type cannedServer struct {
	ln      net.Listener
	replies [][]byte
	split   bool
	got     chan []byte // raw bytes of each command received
	conns   chan net.Conn
	done    chan struct{}
}

func startCanned(t *testing.T, split bool, replies ...string) *cannedServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &cannedServer{ln: ln, split: split, got: make(chan []byte, len(replies)+1), conns: make(chan net.Conn, 1), done: make(chan struct{})}
	for _, r := range replies {
		s.replies = append(s.replies, []byte(r))
	}
	go s.serve()
	t.Cleanup(func() {
		ln.Close()
		select {
		case conn := <-s.conns:
			conn.Close()
		default:
		}
		<-s.done
	})
	return s
}

func (s *cannedServer) serve() {
	defer close(s.done)
	conn, err := s.ln.Accept()
	if err != nil {
		return
	}
	s.conns <- conn // closed by the cleanup
	r := bufio.NewReader(conn)
	for _, rep := range s.replies {
		// A command is a multibulk of bulk strings: ReadReply reads it too.
		cmd, err := ReadReply(r)
		if err != nil {
			return
		}
		s.got <- cmd
		if s.split {
			for i := range rep {
				if _, err := conn.Write(rep[i : i+1]); err != nil {
					return
				}
			}
		} else if _, err := conn.Write(rep); err != nil {
			return
		}
	}
	// Wait for the client to go away; writes nothing more.
	io.Copy(io.Discard, conn)
}

var validReplies = []string{
	"+OK\r\n",
	"+\r\n",
	"-ERR unknown command 'foo', with args beginning with: \r\n",
	":0\r\n",
	":-9223372036854775808\r\n",
	"$-1\r\n",
	"$0\r\n\r\n",
	"$4\r\na\r\nb\r\n",       // CRLF inside a bulk string
	"$3\r\n\x00\x01\x02\r\n", // NUL bytes
	"*-1\r\n",                // null array
	"*0\r\n",                 // empty array
	"*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$-1\r\n", // SCAN-like, nested
	"*3\r\n:1\r\n+x\r\n-ERR e\r\n",
	"$5000\r\n" + strings.Repeat("z", 5000) + "\r\n", // longer than bufio's buffer
	"+" + strings.Repeat("s", 5000) + "\r\n",         // long line
}

func TestDoReturnsRawReplies(t *testing.T) {
	for _, split := range []bool{false, true} {
		s := startCanned(t, split, validReplies...)
		c, err := Dial(s.ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		for i, want := range validReplies {
			arg := string(rune('a' + i))
			got, err := c.Do("ECHO", arg, "bin\x00\r\n")
			if err != nil {
				t.Fatalf("split=%v reply %d: %v", split, i, err)
			}
			if string(got) != want {
				t.Fatalf("split=%v reply %d: got %q, want %q", split, i, got, want)
			}
			wantCmd := "*3\r\n$4\r\nECHO\r\n$1\r\n" + arg + "\r\n$6\r\nbin\x00\r\n\r\n"
			if cmd := <-s.got; string(cmd) != wantCmd {
				t.Fatalf("server received %q, want %q", cmd, wantCmd)
			}
			// Parse and Encode round-trip every valid reply.
			rep, err := Parse(got)
			if err != nil {
				t.Fatalf("Parse(%q): %v", got, err)
			}
			if enc := rep.Encode(); !bytes.Equal(enc, got) {
				t.Fatalf("Encode(Parse(%q)) = %q", got, enc)
			}
		}
	}
}

func TestParse(t *testing.T) {
	rep, err := Parse([]byte("*3\r\n$1\r\n7\r\n*2\r\n$1\r\na\r\n$-1\r\n:42\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Kind != Array || len(rep.Elems) != 3 {
		t.Fatalf("got %+v", rep)
	}
	if e := rep.Elems[0]; e.Kind != Bulk || string(e.Str) != "7" {
		t.Fatalf("elem 0: %+v", e)
	}
	if e := rep.Elems[1]; e.Kind != Array || len(e.Elems) != 2 || string(e.Elems[0].Str) != "a" || !e.Elems[1].Nil {
		t.Fatalf("elem 1: %+v", e)
	}
	if e := rep.Elems[2]; e.Kind != Integer || e.Int != 42 {
		t.Fatalf("elem 2: %+v", e)
	}
	if _, err := Parse([]byte("+OK\r\n+OK\r\n")); !errors.Is(err, ErrProtocol) {
		t.Fatalf("trailing bytes: err = %v", err)
	}
}

func TestMalformedReplies(t *testing.T) {
	bad := []string{
		"?what\r\n",               // unknown type byte
		"+OK\n",                   // LF without CR
		"\r\n",                    // no type byte
		":12a\r\n",                // bad integer
		"$-2\r\n",                 // negative length other than -1
		"$3\r\nabcd\r\n",          // bulk longer than announced
		"$x\r\n",                  // non-numeric length
		"$99999999999\r\n",        // beyond MaxBulk: must not allocate
		"*99999999999\r\n",        // beyond MaxElems
		"*1\r\n*1\r\n*1\r\n?\r\n", // bad nested element
		strings.Repeat("*1\r\n", MaxDepth+2) + ":1\r\n",
		"+" + strings.Repeat("x", MaxLine) + "\r\n",
	}
	for _, b := range bad {
		_, err := ReadReply(bufio.NewReader(strings.NewReader(b)))
		if !errors.Is(err, ErrProtocol) {
			t.Errorf("ReadReply(%.40q): err = %v, want ErrProtocol", b, err)
		}
	}
	// A reply cut short is an I/O error, not a protocol error and not a hang.
	for _, b := range []string{"+OK", "$5\r\nab", "*2\r\n:1\r\n"} {
		_, err := ReadReply(bufio.NewReader(strings.NewReader(b)))
		if err == nil || errors.Is(err, ErrProtocol) {
			t.Errorf("ReadReply(%q): err = %v, want an EOF error", b, err)
		}
	}
}

func TestTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		conn, err := ln.Accept()
		if err == nil {
			accepted <- conn // hold it open, never reply
		}
	}()
	c, err := Dial(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Timeout = 100 * time.Millisecond
	start := time.Now()
	_, err = c.Do("PING")
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("err = %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Do took %v with a 100ms timeout", d)
	}
	(<-accepted).Close()
	if _, err := c.DoBytes([]byte("PING")); err == nil {
		t.Fatal("Do after a timeout on a closed connection: no error")
	}
	if _, err := c.Do(); err == nil {
		t.Fatal("Do() with no arguments: no error")
	}
}

func TestQuote(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{[]string{"SET", "k", "v"}, `SET k v`},
		{[]string{"SET", "", "a b"}, `SET "" "a b"`},
		{[]string{"ECHO", "\x00\r\n\t\"\\é"}, `ECHO "\x00\r\n\t\"\\\xc3\xa9"`},
		{[]string{"GET", "it's"}, `GET "it's"`},
	} {
		if got := Quote(tc.in); got != tc.want {
			t.Errorf("Quote(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
