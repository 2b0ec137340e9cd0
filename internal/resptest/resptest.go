// Package resptest is a minimal raw RESP2 client for tests: it sends one
// command as a multibulk and returns the reply exactly as the server wrote
// it, so two servers can be compared byte for byte. Every read is bounded (in
// length, element count, nesting depth and time): a server that writes
// garbage or hangs fails the test instead of exhausting memory or blocking it.
package resptest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// Bounds on what ReadReply accepts. They are far above anything the tests
// send or expect and far below what would hurt the test process.
const (
	// MaxLine bounds a simple string, error or integer line, CRLF included.
	MaxLine = 64 << 10
	// MaxBulk bounds a bulk string's payload.
	MaxBulk = 64 << 20
	// MaxElems bounds an array's element count.
	MaxElems = 1 << 20
	// MaxDepth bounds array nesting.
	MaxDepth = 32
)

// DefaultTimeout is the deadline of one Do call (write and whole reply).
const DefaultTimeout = 10 * time.Second

// ErrProtocol is returned (wrapped) when a reply is not valid RESP2 or
// exceeds the bounds above.
var ErrProtocol = errors.New("resptest: protocol error")

// Client is one connection to a RESP server. It is not safe for concurrent
// use.
type Client struct {
	// Timeout is the deadline of each Do call; zero means DefaultTimeout.
	Timeout time.Duration

	conn net.Conn
	r    *bufio.Reader
	wbuf []byte // reused encoding buffer of the outgoing command
}

// Dial connects to addr over TCP, within DefaultTimeout.
func Dial(addr string) (*Client, error) {
	conn, err := net.DialTimeout("tcp", addr, DefaultTimeout)
	if err != nil {
		return nil, err
	}
	return NewClient(conn), nil
}

// NewClient wraps an established connection.
func NewClient(conn net.Conn) *Client {
	return &Client{conn: conn, r: bufio.NewReader(conn)}
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Do sends one command (args[0] is its name; strings may hold any bytes) and
// returns the complete raw reply. An error means the connection is no longer
// usable (I/O error, timeout, malformed reply); a Redis error reply is not an
// error here, it is returned as raw bytes starting with '-'.
func (c *Client) Do(args ...string) ([]byte, error) {
	if len(args) == 0 {
		// Redis answers nothing to an empty multibulk: waiting would hang.
		return nil, errors.New("resptest: empty command")
	}
	c.wbuf = AppendCommand(c.wbuf[:0], args...)
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if err := c.conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	if _, err := c.conn.Write(c.wbuf); err != nil {
		return nil, err
	}
	return ReadReply(c.r)
}

// DoBytes is Do with byte-slice arguments.
func (c *Client) DoBytes(args ...[]byte) ([]byte, error) {
	s := make([]string, len(args))
	for i, a := range args {
		s[i] = string(a)
	}
	return c.Do(s...)
}

// AppendCommand appends args encoded as a RESP multibulk to dst.
func AppendCommand(dst []byte, args ...string) []byte {
	dst = append(dst, '*')
	dst = strconv.AppendInt(dst, int64(len(args)), 10)
	dst = append(dst, '\r', '\n')
	for _, a := range args {
		dst = append(dst, '$')
		dst = strconv.AppendInt(dst, int64(len(a)), 10)
		dst = append(dst, '\r', '\n')
		dst = append(dst, a...)
		dst = append(dst, '\r', '\n')
	}
	return dst
}

// ReadReply reads one complete RESP2 reply from r and returns its raw bytes.
func ReadReply(r *bufio.Reader) ([]byte, error) {
	return readReply(r, nil, 0)
}

func readReply(r *bufio.Reader, dst []byte, depth int) ([]byte, error) {
	if depth > MaxDepth {
		return nil, fmt.Errorf("%w: arrays nested deeper than %d", ErrProtocol, MaxDepth)
	}
	start := len(dst)
	dst, err := readLine(r, dst)
	if err != nil {
		return nil, err
	}
	line := dst[start+1 : len(dst)-2] // after the type byte, before CRLF
	switch dst[start] {
	case '+', '-':
		return dst, nil
	case ':':
		if _, err := strconv.ParseInt(string(line), 10, 64); err != nil {
			return nil, fmt.Errorf("%w: bad integer reply %q", ErrProtocol, line)
		}
		return dst, nil
	case '$':
		n, err := parseLen(line, MaxBulk)
		if err != nil {
			return nil, err
		}
		if n < 0 { // $-1: the null bulk string
			return dst, nil
		}
		body := make([]byte, n+2)
		if _, err := io.ReadFull(r, body); err != nil {
			return nil, err
		}
		if body[n] != '\r' || body[n+1] != '\n' {
			return nil, fmt.Errorf("%w: bulk string of %d bytes not followed by CRLF", ErrProtocol, n)
		}
		return append(dst, body...), nil
	case '*':
		n, err := parseLen(line, MaxElems)
		if err != nil {
			return nil, err
		}
		for i := 0; i < n; i++ {
			if dst, err = readReply(r, dst, depth+1); err != nil {
				return nil, err
			}
		}
		return dst, nil
	default:
		return nil, fmt.Errorf("%w: unknown reply type byte %q", ErrProtocol, dst[start])
	}
}

// readLine appends one CRLF-terminated line (CRLF included) to dst.
func readLine(r *bufio.Reader, dst []byte) ([]byte, error) {
	start := len(dst)
	for {
		frag, err := r.ReadSlice('\n')
		dst = append(dst, frag...)
		if len(dst)-start > MaxLine {
			return nil, fmt.Errorf("%w: line longer than %d bytes", ErrProtocol, MaxLine)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return nil, err
		}
		break
	}
	n := len(dst) - start
	if n < 3 || dst[len(dst)-2] != '\r' {
		return nil, fmt.Errorf("%w: line %q not terminated by CRLF or empty", ErrProtocol, dst[start:])
	}
	return dst, nil
}

// parseLen parses a bulk or array length: -1 (null) or 0..max.
func parseLen(b []byte, max int) (int, error) {
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || n < -1 || n > int64(max) {
		return 0, fmt.Errorf("%w: bad length %q", ErrProtocol, b)
	}
	return int(n), nil
}

// Kind is a RESP2 reply type.
type Kind byte

// The reply kinds, named by their type byte.
const (
	Simple  Kind = '+'
	Error   Kind = '-'
	Integer Kind = ':'
	Bulk    Kind = '$'
	Array   Kind = '*'
)

// Reply is a parsed reply.
type Reply struct {
	Kind  Kind
	Nil   bool    // a null bulk string ($-1) or null array (*-1)
	Str   []byte  // Simple, Error (without the '-'), Bulk
	Int   int64   // Integer
	Elems []Reply // Array
}

// Parse parses one complete raw reply, as Do returns it.
func Parse(raw []byte) (Reply, error) {
	r := bufio.NewReader(bytes.NewReader(raw))
	rep, err := parse(r, 0)
	if err != nil {
		return Reply{}, err
	}
	if r.Buffered() > 0 {
		return Reply{}, fmt.Errorf("%w: %d bytes after the reply", ErrProtocol, r.Buffered())
	}
	return rep, nil
}

func parse(r *bufio.Reader, depth int) (Reply, error) {
	raw, err := readReply(r, nil, depth)
	if err != nil {
		return Reply{}, err
	}
	// raw is one whole reply; decode its head, recursing on a fresh reader
	// for array elements.
	k := Kind(raw[0])
	i := bytes.IndexByte(raw, '\n')
	head := raw[1 : i-1]
	rep := Reply{Kind: k}
	switch k {
	case Simple, Error:
		rep.Str = head
	case Integer:
		rep.Int, _ = strconv.ParseInt(string(head), 10, 64)
	case Bulk:
		n, _ := strconv.Atoi(string(head))
		if n < 0 {
			rep.Nil = true
		} else {
			rep.Str = raw[i+1 : i+1+n]
		}
	case Array:
		n, _ := strconv.Atoi(string(head))
		if n < 0 {
			rep.Nil = true
			break
		}
		sub := bufio.NewReader(bytes.NewReader(raw[i+1:]))
		rep.Elems = make([]Reply, 0, n)
		for j := 0; j < n; j++ {
			e, err := parse(sub, depth+1)
			if err != nil {
				return Reply{}, err
			}
			rep.Elems = append(rep.Elems, e)
		}
	}
	return rep, nil
}

// Encode returns the raw RESP2 form of rep; Encode(Parse(raw)) == raw.
func (rep Reply) Encode() []byte { return rep.appendTo(nil) }

func (rep Reply) appendTo(dst []byte) []byte {
	dst = append(dst, byte(rep.Kind))
	switch {
	case rep.Kind == Integer:
		dst = strconv.AppendInt(dst, rep.Int, 10)
	case rep.Nil:
		dst = append(dst, '-', '1')
	case rep.Kind == Simple || rep.Kind == Error:
		dst = append(dst, rep.Str...)
	case rep.Kind == Bulk:
		dst = strconv.AppendInt(dst, int64(len(rep.Str)), 10)
		dst = append(dst, '\r', '\n')
		dst = append(dst, rep.Str...)
	case rep.Kind == Array:
		dst = strconv.AppendInt(dst, int64(len(rep.Elems)), 10)
		dst = append(dst, '\r', '\n')
		for _, e := range rep.Elems {
			dst = e.appendTo(dst)
		}
		return dst
	}
	return append(dst, '\r', '\n')
}

// Quote formats a command the way redis-cli shows one: arguments that are
// plain printable words stay bare, others are double-quoted with \n, \r, \t,
// \", \\ and \xNN escapes.
func Quote(args []string) string {
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(QuoteArg(a))
	}
	return b.String()
}

// QuoteArg quotes one argument as Quote does.
func QuoteArg(a string) string {
	plain := a != ""
	for i := 0; i < len(a) && plain; i++ {
		c := a[i]
		plain = c > ' ' && c < 0x7f && c != '"' && c != '\'' && c != '\\'
	}
	if plain {
		return a
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(a); i++ {
		switch c := a[i]; c {
		case '\\', '"':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if c < ' ' || c >= 0x7f {
				fmt.Fprintf(&b, `\x%02x`, c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
