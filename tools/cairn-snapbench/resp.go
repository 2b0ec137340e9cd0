package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// conn is a minimal RESP connection.
type conn struct {
	c net.Conn
	r *bufio.Reader
	w []byte
}

// respError is an error reply ("-ERR ...").
type respError string

func (e respError) Error() string { return string(e) }

func dial(addr string, timeout time.Duration) (*conn, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	return &conn{c: c, r: bufio.NewReaderSize(c, 64*1024)}, nil
}

func (c *conn) close() { c.c.Close() }

// appendCmd appends a command as a RESP array of bulk strings.
func appendCmd(b []byte, args ...string) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, "\r\n"...)
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, "\r\n"...)
		b = append(b, a...)
		b = append(b, "\r\n"...)
	}
	return b
}

// do sends one command and returns its reply: the text of a simple string,
// integer or bulk string (nil for a null), or a respError. Arrays are read
// and dropped.
func (c *conn) do(args ...string) ([]byte, error) {
	c.w = appendCmd(c.w[:0], args...)
	if _, err := c.c.Write(c.w); err != nil {
		return nil, err
	}
	return c.reply()
}

// reply reads one reply (see do). The slice is a copy.
func (c *conn) reply() ([]byte, error) {
	line, err := c.line()
	if err != nil {
		return nil, err
	}
	if len(line) == 0 {
		return nil, errors.New("empty reply line")
	}
	switch line[0] {
	case '+', ':':
		return append([]byte(nil), line[1:]...), nil
	case '-':
		return nil, respError(line[1:])
	case '$':
		n, err := strconv.Atoi(string(line[1:]))
		if err != nil {
			return nil, fmt.Errorf("bad bulk length %q", line)
		}
		if n < 0 {
			return nil, nil
		}
		b := make([]byte, n+2)
		if _, err := io.ReadFull(c.r, b); err != nil {
			return nil, err
		}
		return b[:n], nil
	case '*':
		n, err := strconv.Atoi(string(line[1:]))
		if err != nil {
			return nil, fmt.Errorf("bad array length %q", line)
		}
		for i := 0; i < n; i++ {
			if _, err := c.reply(); err != nil {
				if _, ok := err.(respError); !ok {
					return nil, err
				}
			}
		}
		return nil, nil
	}
	return nil, fmt.Errorf("unexpected reply %q", line)
}

// line reads one line without its CRLF; the slice is valid until the next
// read.
func (c *conn) line() ([]byte, error) {
	b, err := c.r.ReadSlice('\n')
	if err != nil {
		return nil, err
	}
	if len(b) < 2 || b[len(b)-2] != '\r' {
		return nil, fmt.Errorf("bad reply line %q", b)
	}
	return b[:len(b)-2], nil
}

// info returns the fields of INFO section.
func (c *conn) info(section string) (map[string]string, error) {
	b, err := c.do("INFO", section)
	if err != nil {
		return nil, err
	}
	return parseInfo(b), nil
}

// parseInfo splits an INFO reply into its "name:value" fields.
func parseInfo(b []byte) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimRight(l, "\r")
		if l == "" || l[0] == '#' {
			continue
		}
		if k, v, ok := strings.Cut(l, ":"); ok {
			m[k] = v
		}
	}
	return m
}

// saving reports whether INFO persistence shows a background save (or an
// AOF rewrite, which Redis runs in a fork as well) in progress.
func saving(m map[string]string) bool {
	return m["rdb_bgsave_in_progress"] == "1" || m["aof_rewrite_in_progress"] == "1"
}
