package server

import (
	"bytes"
	"errors"
	"io"
)

// Protocol limits, as Redis has them.
const (
	// maxInline bounds an inline command line and a multibulk or bulk
	// header line (PROTO_INLINE_MAX_SIZE).
	maxInline = 64 << 10
	// maxMultibulk bounds the argument count of one command.
	maxMultibulk = 1<<31 - 1
	// Before AUTH, Redis allows only small commands, so that an
	// unauthenticated client cannot make the server allocate much.
	maxUnauthMultibulk = 10
	maxUnauthBulk      = 16384
	readBufSize        = 16 << 10
	// maxQuery bounds one command's size, as Redis's client-query-buffer-limit
	// (1gb) does; it also keeps one write's log record within the log's
	// record limit.
	maxQuery       = 1<<30 - 64<<20
	maxIdleReadBuf = 1 << 20
)

// protocolError is a malformed request: the reply is sent and the
// connection closed, as Redis does.
type protocolError struct{ msg string }

func (e *protocolError) Error() string { return "Protocol error: " + e.msg }

// errQueryLimit: a command larger than maxQuery; the client is closed
// without a reply, as Redis closes it.
var errQueryLimit = errors.New("command exceeds the query buffer limit")

// errEmptyCommand is an empty inline line or a "*0" header: skipped.
var errEmptyCommand = errors.New("empty command")

// respReader reads commands, in RESP multibulk or inline form, from a
// connection. Arguments point into its buffer and are valid until the next
// call to next.
type respReader struct {
	rd io.Reader
	// buf[r:w] is read but not yet consumed.
	buf  []byte
	r, w int
	// maxBulk bounds one argument (proto-max-bulk-len).
	maxBulk int64
	// maxQuery bounds one command (default the constant maxQuery).
	maxQuery int64
	// authed lifts the unauthenticated limits.
	authed bool
	// beforeBlock runs before a read that may block: the caller flushes its
	// replies there, once per pipeline.
	beforeBlock func() error

	// filled: a read added input since the caller last cleared it.
	filled bool

	// Parse state of the command starting at buf[r], so that a command
	// arriving in many reads is not rescanned from its start each time.
	// Offsets are relative to r, so compacting the buffer keeps them valid.
	want int   // arguments still to read; -1: header not read yet
	scan int   // where parsing resumes
	offs []int // start, end pairs of the arguments read so far
	args [][]byte
}

func newRESPReader(rd io.Reader, maxBulk int64) *respReader {
	return &respReader{rd: rd, buf: make([]byte, readBufSize), want: -1, maxBulk: maxBulk, maxQuery: maxQuery}
}

// next returns the next command's arguments, reading as needed.
func (p *respReader) next() ([][]byte, error) {
	for {
		ok, err := p.parse()
		if err == errEmptyCommand {
			continue
		}
		if err != nil {
			return nil, err
		}
		if ok {
			return p.args, nil
		}
		if err := p.fill(); err != nil {
			return nil, err
		}
	}
}

// fill reads more input, compacting or growing the buffer first if full.
func (p *respReader) fill() error {
	if p.r == p.w {
		p.r, p.w = 0, 0
		if len(p.buf) > maxIdleReadBuf {
			p.buf = make([]byte, readBufSize)
		}
	}
	if p.w == len(p.buf) {
		if p.r > 0 {
			n := copy(p.buf, p.buf[p.r:p.w])
			p.r, p.w = 0, n
		}
		if p.w == len(p.buf) {
			// Grow by doubling, never to what a bulk header claims:
			// memory follows what the client actually sent.
			nb := make([]byte, 2*len(p.buf))
			copy(nb, p.buf[:p.w])
			p.buf = nb
		}
	}
	if p.beforeBlock != nil {
		if err := p.beforeBlock(); err != nil {
			return err
		}
	}
	n, err := p.rd.Read(p.buf[p.w:])
	p.w += n
	if n > 0 {
		p.filled = true
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// parse tries to complete the command at buf[r:]. It reports true with
// p.args set when it has, false when it needs more input.
func (p *respReader) parse() (bool, error) {
	b := p.buf[p.r:p.w]
	if p.want < 0 {
		if len(b) == 0 {
			return false, nil
		}
		if b[0] != '*' {
			return p.parseInline(b)
		}
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			if len(b) > maxInline {
				return false, &protocolError{"too big mbulk count string"}
			}
			return false, nil
		}
		// Redis reads the count up to the \r and requires it be there.
		line := b[1:i]
		if len(line) == 0 || line[len(line)-1] != '\r' {
			return false, &protocolError{"invalid multibulk length"}
		}
		n, ok := parseInt(line[:len(line)-1])
		if !ok || n > maxMultibulk {
			return false, &protocolError{"invalid multibulk length"}
		}
		if !p.authed && n > maxUnauthMultibulk {
			return false, &protocolError{"unauthenticated multibulk length"}
		}
		if n <= 0 {
			p.r += i + 1
			return false, errEmptyCommand
		}
		p.want = int(n)
		p.scan = i + 1
		p.offs = p.offs[:0]
	}
	for p.want > 0 {
		if p.scan >= len(b) {
			return false, nil
		}
		if b[p.scan] != '$' {
			return false, &protocolError{"expected '$', got '" + string(b[p.scan]) + "'"}
		}
		i := bytes.IndexByte(b[p.scan:], '\n')
		if i < 0 {
			if len(b)-p.scan > maxInline {
				return false, &protocolError{"too big bulk count string"}
			}
			return false, nil
		}
		line := b[p.scan+1 : p.scan+i]
		if len(line) == 0 || line[len(line)-1] != '\r' {
			return false, &protocolError{"invalid bulk length"}
		}
		n, ok := parseInt(line[:len(line)-1])
		if !ok || n < 0 || n > p.maxBulk {
			return false, &protocolError{"invalid bulk length"}
		}
		if !p.authed && n > maxUnauthBulk {
			return false, &protocolError{"unauthenticated bulk length"}
		}
		start := p.scan + i + 1
		if int64(start)+n > p.maxQuery {
			return false, errQueryLimit
		}
		end := start + int(n)
		if end+2 > len(b) {
			return false, nil
		}
		// Like Redis, the two bytes after the data are skipped unchecked.
		p.offs = append(p.offs, start, end)
		p.scan = end + 2
		p.want--
	}
	p.args = p.args[:0]
	for i := 0; i < len(p.offs); i += 2 {
		p.args = append(p.args, b[p.offs[i]:p.offs[i+1]:p.offs[i+1]])
	}
	p.r += p.scan
	p.want, p.scan = -1, 0
	return true, nil
}

// peekKeys appends to dst the second argument (the key, for most
// commands) of each whole multibulk command buffered after the one next
// returned, up to max in all. It only reads, and stops at the first
// command not wholly buffered or not well formed, which next will parse
// or refuse.
func (p *respReader) peekKeys(dst [][]byte, max int) [][]byte {
	b := p.buf[p.r:p.w]
	for len(dst) < max && len(b) > 0 && b[0] == '*' {
		n, rest, ok := peekNumber(b[1:])
		if !ok || n < 1 {
			break
		}
		b = rest
		var key []byte
		for a := int64(0); a < n; a++ {
			arg, rest, ok := peekBulk(b)
			if !ok {
				return dst
			}
			if a == 1 {
				key = arg
			}
			b = rest
		}
		if key != nil {
			dst = append(dst, key)
		}
	}
	return dst
}

// peekFields appends to dst the third argument (a hash's field or a set's
// member, for the commands prefetch asks it of) of each whole multibulk
// command buffered after the one next returned whose name is name and
// whose key is key, byte for byte, up to max in all. It stops at the
// first command that is not such, not wholly buffered or not well formed.
func (p *respReader) peekFields(dst [][]byte, name, key []byte, max int) [][]byte {
	b := p.buf[p.r:p.w]
	for len(dst) < max && len(b) > 0 && b[0] == '*' {
		n, rest, ok := peekNumber(b[1:])
		if !ok || n < 3 {
			break
		}
		b = rest
		var field []byte
		for a := int64(0); a < n; a++ {
			arg, rest, ok := peekBulk(b)
			switch {
			case !ok, a == 0 && string(arg) != string(name), a == 1 && string(arg) != string(key):
				return dst
			case a == 2:
				field = arg
			}
			b = rest
		}
		dst = append(dst, field)
	}
	return dst
}

// peekBulk parses the bulk string at the start of b, returning its data
// and what follows it.
func peekBulk(b []byte) (data, rest []byte, ok bool) {
	if len(b) == 0 || b[0] != '$' {
		return nil, nil, false
	}
	l, rest, ok := peekNumber(b[1:])
	if !ok || int64(len(rest)) < l+2 {
		return nil, nil, false
	}
	return rest[:l:l], rest[l+2:], true
}

// peekNumber parses the digits of a multibulk or bulk header up to its
// CRLF, returning the number and what follows.
func peekNumber(b []byte) (int64, []byte, bool) {
	var n int64
	for i, c := range b {
		switch {
		case c >= '0' && c <= '9' && i < 18:
			n = n*10 + int64(c-'0')
		case c == '\r' && i > 0 && i+1 < len(b) && b[i+1] == '\n':
			return n, b[i+2:], true
		default:
			return 0, nil, false
		}
	}
	return 0, nil, false
}

// parseInline parses a telnet-style line: arguments split as Redis's
// sdssplitargs does.
func (p *respReader) parseInline(b []byte) (bool, error) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		if len(b) > maxInline {
			return false, &protocolError{"too big inline request"}
		}
		return false, nil
	}
	line := b[:i]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	p.r += i + 1
	parts, err := SplitArgs(string(line))
	if err != nil {
		return false, &protocolError{"unbalanced quotes in request"}
	}
	if len(parts) == 0 {
		return false, errEmptyCommand
	}
	p.args = p.args[:0]
	for _, s := range parts {
		p.args = append(p.args, []byte(s))
	}
	return true, nil
}
