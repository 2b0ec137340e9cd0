package server

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/cairn-db/cairn/internal/glob"
)

// Config is the server's configuration, with Redis's directive names. The
// zero value is not useful; start from DefaultConfig.
type Config struct {
	Bind        []string // addresses to listen on; default 127.0.0.1
	Port        int      // TCP port; default 6379
	Dir         string   // data directory; default ./data
	Databases   int      // number of databases; default 16
	RequirePass string   // password for AUTH; empty: none
	LogLevel    string   // debug, verbose, notice, warning; default notice
	Save        string   // snapshot rule (used from the snapshot issue on); default "3600 1 300 100 60 10000"
	AppendOnly  bool     // write-ahead log on; default yes
	AppendFsync string   // always, everysec, no; default everysec
	Hz          int      // background task frequency; default 10
	MaxClients  int      // connection limit; default 10000
	Timeout     int      // idle client timeout in seconds; 0: never

	// StopWritesOnBgsaveError (stop-writes-on-bgsave-error): while the
	// latest snapshot failed and save rules are set, writes (and PING) are
	// refused with -MISCONF, as Redis does; default yes.
	StopWritesOnBgsaveError bool
	// ProtoMaxBulkLen bounds a bulk argument; default 512mb.
	ProtoMaxBulkLen int64
	// AutoAOFRewritePercentage and AutoAOFRewriteMinSize: a snapshot is
	// taken (and the log it covers deleted) once the log has grown by this
	// percentage of the last snapshot's size and by at least this many
	// bytes; default 100 and 64mb; percentage 0 disables it.
	AutoAOFRewritePercentage int
	AutoAOFRewriteMinSize    int64
	// MemoryConfig holds maxmemory and its policy (memory.go).
	MemoryConfig
	// BusyReplyThreshold (alias lua-time-limit) is how long, in ms, a
	// script runs before other clients get -BUSY; 0: never. Default 5000.
	BusyReplyThreshold int
	// OutputBufferLimits is client-output-buffer-limit (outlimits.go).
	OutputBufferLimits OutputBufferLimits
	// ServerThreads (server-threads, Cairn's own) is how many threads run
	// Go code once the data is loaded (GOMAXPROCS); 0, "auto", the
	// default: as many as the load needs, from one up to the cores
	// (tools/cairn-server's tuner).
	ServerThreads int
	// BusyPollMicros (busy-poll-us, Cairn's own) is how long, in µs, the
	// last busy client goroutine polls the client sockets before the
	// server's thread may sleep, on one thread (busypoll_linux.go); 0:
	// never. Default 50.
	BusyPollMicros int
}

// DefaultConfig returns the defaults, as redis-server has them (but for the
// data directory, and for bind: loopback only).
func DefaultConfig() *Config {
	return &Config{
		Bind:            []string{"127.0.0.1"},
		Port:            6379,
		Dir:             "./data",
		Databases:       16,
		LogLevel:        "notice",
		Save:            "3600 1 300 100 60 10000",
		AppendOnly:      true,
		AppendFsync:     "everysec",
		Hz:              10,
		MaxClients:      10000,
		ProtoMaxBulkLen: 512 << 20,

		AutoAOFRewritePercentage: 100,
		AutoAOFRewriteMinSize:    64 << 20,
		StopWritesOnBgsaveError:  true,
		MemoryConfig:             defaultMemoryConfig(),
		BusyReplyThreshold:       5000,
		OutputBufferLimits:       DefaultOutputBufferLimits,
		BusyPollMicros:           50,
	}
}

// directive is one configuration option.
type directive struct {
	name    string
	help    string
	mutable bool // CONFIG SET may change it at run time
	get     func(c *Config) string
	set     func(c *Config, args []string) error
	multi   bool // takes several arguments (bind, save)
}

var directives = []directive{
	{name: "bind", help: "addresses to listen on", multi: true,
		get: func(c *Config) string { return strings.Join(c.Bind, " ") },
		set: func(c *Config, a []string) error {
			if len(a) == 0 {
				return errBadArgs
			}
			c.Bind = append([]string(nil), a...)
			return nil
		}},
	{name: "port", help: "TCP port", get: func(c *Config) string { return strconv.Itoa(c.Port) },
		set: func(c *Config, a []string) error { return setInt(&c.Port, a[0], 0, 65535) }},
	{name: "dir", help: "data directory", get: func(c *Config) string { return c.Dir },
		set: func(c *Config, a []string) error { c.Dir = a[0]; return nil }},
	{name: "databases", help: "number of databases", get: func(c *Config) string { return strconv.Itoa(c.Databases) },
		set: func(c *Config, a []string) error { return setInt(&c.Databases, a[0], 1, 1<<20) }},
	{name: "requirepass", help: "password clients must AUTH with", mutable: true,
		get: func(c *Config) string { return c.RequirePass },
		set: func(c *Config, a []string) error { c.RequirePass = a[0]; return nil }},
	{name: "loglevel", help: "debug, verbose, notice or warning", mutable: true,
		get: func(c *Config) string { return c.LogLevel },
		set: func(c *Config, a []string) error {
			return setEnum(&c.LogLevel, a[0], "debug", "verbose", "notice", "warning")
		}},
	{name: "save", help: `snapshot rule "<seconds> <changes> ..." ("" for none)`, mutable: true, multi: true,
		get: func(c *Config) string { return c.Save },
		set: func(c *Config, a []string) error {
			rule := strings.Join(a, " ")
			f := strings.Fields(rule)
			if len(f)%2 != 0 {
				return errBadArgs
			}
			for _, x := range f {
				if n, err := strconv.ParseInt(x, 10, 64); err != nil || n < 0 {
					return errBadArgs
				}
			}
			c.Save = strings.Join(f, " ")
			return nil
		}},
	{name: "stop-writes-on-bgsave-error", help: "yes: refuse writes while the last snapshot failed and save rules are set", mutable: true,
		get: func(c *Config) string { return yesNo(c.StopWritesOnBgsaveError) },
		set: func(c *Config, a []string) error { return setBool(&c.StopWritesOnBgsaveError, a[0]) }},
	// appendonly is fixed at start: turning the log on at run time needs a
	// snapshot of the whole data set first (the snapshot issue).
	{name: "appendonly", help: "yes: log every write; no: a pure cache",
		get: func(c *Config) string { return yesNo(c.AppendOnly) },
		set: func(c *Config, a []string) error { return setBool(&c.AppendOnly, a[0]) }},
	{name: "appendfsync", help: "always, everysec or no", mutable: true,
		get: func(c *Config) string { return c.AppendFsync },
		set: func(c *Config, a []string) error { return setEnum(&c.AppendFsync, a[0], "always", "everysec", "no") }},
	{name: "server-threads", help: "threads running Go code once loaded: auto (as the load needs) or a number",
		get: func(c *Config) string {
			if c.ServerThreads == 0 {
				return "auto"
			}
			return strconv.Itoa(c.ServerThreads)
		},
		set: func(c *Config, a []string) error {
			if strings.EqualFold(a[0], "auto") {
				c.ServerThreads = 0
				return nil
			}
			return setInt(&c.ServerThreads, a[0], 1, 1024)
		}},
	{name: "busy-poll-us", help: "µs the server polls client sockets before it sleeps, on one thread (0: never)", mutable: true,
		get: func(c *Config) string { return strconv.Itoa(c.BusyPollMicros) },
		set: func(c *Config, a []string) error { return setInt(&c.BusyPollMicros, a[0], 0, 10000) }},
	{name: "hz", help: "background task frequency", mutable: true,
		get: func(c *Config) string { return strconv.Itoa(c.Hz) },
		set: func(c *Config, a []string) error { return setInt(&c.Hz, a[0], 1, 500) }},
	{name: "maxclients", help: "maximum connected clients", mutable: true,
		get: func(c *Config) string { return strconv.Itoa(c.MaxClients) },
		set: func(c *Config, a []string) error { return setInt(&c.MaxClients, a[0], 1, 1<<30) }},
	{name: "timeout", help: "close idle clients after this many seconds (0: never)", mutable: true,
		get: func(c *Config) string { return strconv.Itoa(c.Timeout) },
		set: func(c *Config, a []string) error { return setInt(&c.Timeout, a[0], 0, 1<<30) }},
	{name: "auto-aof-rewrite-percentage", help: "snapshot once the log grew by this % of the last snapshot (0: never)", mutable: true,
		get: func(c *Config) string { return strconv.Itoa(c.AutoAOFRewritePercentage) },
		set: func(c *Config, a []string) error { return setInt(&c.AutoAOFRewritePercentage, a[0], 0, 1<<30) }},
	{name: "auto-aof-rewrite-min-size", help: "...and by at least this many bytes (units: kb mb gb)", mutable: true,
		get: func(c *Config) string { return strconv.FormatInt(c.AutoAOFRewriteMinSize, 10) },
		set: func(c *Config, a []string) error {
			n, err := ParseMemory(a[0])
			if err != nil || n < 0 {
				return errBadArgs
			}
			c.AutoAOFRewriteMinSize = n
			return nil
		}},
	{name: "proto-max-bulk-len", help: "largest bulk argument, in bytes (units: kb mb gb)", mutable: true,
		get: func(c *Config) string { return strconv.FormatInt(c.ProtoMaxBulkLen, 10) },
		set: func(c *Config, a []string) error {
			n, err := ParseMemory(a[0])
			if err != nil || n < 1<<20 {
				return errBadArgs
			}
			c.ProtoMaxBulkLen = n
			return nil
		}},
	{name: "busy-reply-threshold", help: "ms a script runs before other clients get -BUSY (0: never)", mutable: true,
		get: func(c *Config) string { return strconv.Itoa(c.BusyReplyThreshold) },
		set: func(c *Config, a []string) error { return setInt(&c.BusyReplyThreshold, a[0], 0, math.MaxInt32) }},
	{name: "lua-time-limit", help: "alias of busy-reply-threshold", mutable: true,
		get: func(c *Config) string { return strconv.Itoa(c.BusyReplyThreshold) },
		set: func(c *Config, a []string) error { return setInt(&c.BusyReplyThreshold, a[0], 0, math.MaxInt32) }},
}

var errBadArgs = fmt.Errorf("argument(s) must be one of the accepted values")

//lint:ignore ST1005 redis-server's own words, which users search for
var errBadDirective = errors.New("Bad directive or wrong number of arguments")

func lookupDirective(name string) *directive {
	name = strings.ToLower(name)
	for i := range directives {
		if directives[i].name == name {
			return &directives[i]
		}
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func setBool(dst *bool, s string) error {
	switch strings.ToLower(s) {
	case "yes":
		*dst = true
	case "no":
		*dst = false
	default:
		return fmt.Errorf("argument must be 'yes' or 'no'")
	}
	return nil
}

func setEnum(dst *string, s string, allowed ...string) error {
	s = strings.ToLower(s)
	for _, a := range allowed {
		if s == a {
			*dst = a
			return nil
		}
	}
	return fmt.Errorf("argument(s) must be one of the following: %s", strings.Join(allowed, ", "))
}

func setInt(dst *int, s string, lo, hi int64) error {
	n, err := ParseMemory(s)
	if err != nil {
		return fmt.Errorf("argument couldn't be parsed into an integer")
	}
	if n < lo || n > hi {
		return fmt.Errorf("argument must be between %d and %d inclusive", lo, hi)
	}
	*dst = int(n)
	return nil
}

// ParseMemory parses a size with Redis's units: b, k, kb, m, mb, g, gb
// (k=1000, kb=1024, …), case-insensitive.
func ParseMemory(s string) (int64, error) {
	ls := strings.ToLower(s)
	mul := int64(1)
	for _, u := range []struct {
		suffix string
		mul    int64
	}{{"gb", 1 << 30}, {"mb", 1 << 20}, {"kb", 1 << 10}, {"g", 1e9}, {"m", 1e6}, {"k", 1e3}, {"b", 1}} {
		if strings.HasSuffix(ls, u.suffix) {
			ls, mul = strings.TrimSuffix(ls, u.suffix), u.mul
			break
		}
	}
	n, err := strconv.ParseInt(ls, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	return n * mul, nil
}

// Set applies one directive (as a config-file line or CONFIG SET gives it).
func (c *Config) Set(name string, args []string) error {
	d := lookupDirective(name)
	if d == nil || (!d.multi && len(args) != 1) {
		return errBadDirective
	}
	return d.set(c, args)
}

// ParseFile applies a redis.conf-style file: one directive per line with
// its arguments, # comments, quoted arguments as Redis splits them. An
// unknown directive or a bad value is an error naming the line.
func (c *Config) ParseFile(r io.Reader, name string) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for lineNo := 1; sc.Scan(); lineNo++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		args, err := SplitArgs(line)
		if err != nil {
			return fmt.Errorf("%s:%d: %q: %v", name, lineNo, line, err)
		}
		if len(args) == 0 {
			continue
		}
		if err := c.Set(args[0], args[1:]); err != nil {
			return fmt.Errorf("%s:%d: %q: %v", name, lineNo, line, err)
		}
	}
	return sc.Err()
}

// ParseArgs applies redis-server-style command-line arguments: an optional
// config file first, then "--directive value ..." (or --directive=value).
// It returns the config file's name ("" if none) and the config.
func ParseArgs(args []string, open func(string) (io.ReadCloser, error)) (*Config, error) {
	c := DefaultConfig()
	if len(args) > 0 && !strings.HasPrefix(args[0], "--") {
		f, err := open(args[0])
		if err != nil {
			return nil, err
		}
		err = c.ParseFile(f, args[0])
		f.Close()
		if err != nil {
			return nil, err
		}
		args = args[1:]
	}
	for i := 0; i < len(args); {
		a := args[i]
		if !strings.HasPrefix(a, "--") || len(a) == 2 {
			return nil, fmt.Errorf("argument %q: expected --directive", a)
		}
		name := a[2:]
		var vals []string
		if eq := strings.IndexByte(name, '='); eq >= 0 {
			name, vals = name[:eq], []string{name[eq+1:]}
			i++
		} else {
			i++
			for i < len(args) && !strings.HasPrefix(args[i], "--") {
				vals = append(vals, args[i])
				i++
			}
		}
		d := lookupDirective(name)
		if d != nil && d.name == "save" && len(vals) == 1 && vals[0] == "" {
			vals = nil
		}
		if err := c.Set(name, vals); err != nil {
			return nil, fmt.Errorf("option --%s %s: %v", name, strings.Join(vals, " "), err)
		}
	}
	return c, nil
}

// Usage writes the options --help lists.
func Usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: cairn-server [/path/to/redis.conf] [--directive value ...]\n\nDirectives (also as redis.conf lines and with CONFIG GET/SET):\n")
	def := DefaultConfig()
	for _, d := range directives {
		fmt.Fprintf(w, "  --%-20s %s (default %q)\n", d.name, d.help, d.get(def))
	}
}

// liveConfig guards a Config that CONFIG SET changes at run time.
type liveConfig struct {
	mu  sync.RWMutex
	cfg Config
}

func (l *liveConfig) get() Config {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.cfg
}

// matching returns name/value pairs of the directives matching pattern.
func (l *liveConfig) matching(pattern string) [][2]string {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var out [][2]string
	for _, d := range directives {
		if glob.MatchFold([]byte(pattern), []byte(d.name)) {
			out = append(out, [2]string{d.name, d.get(&l.cfg)})
		}
	}
	return out
}

// SplitArgs splits a line as Redis's sdssplitargs does: spaces separate,
// "double quotes" with \n \r \t \b \a \\ \" and \xHH escapes, 'single quotes'
// with \' only; a closing quote must be followed by a space or the end.
func SplitArgs(line string) ([]string, error) {
	var out []string
	i := 0
	for {
		for i < len(line) && isSpaceByte(line[i]) {
			i++
		}
		if i >= len(line) {
			return out, nil
		}
		var cur []byte
		inDQ, inSQ, done := false, false, false
		for !done {
			if inDQ {
				if i >= len(line) {
					return nil, fmt.Errorf("unbalanced quotes")
				}
				c := line[i]
				if c == '\\' && i+3 < len(line) && line[i+1] == 'x' && isHex(line[i+2]) && isHex(line[i+3]) {
					cur = append(cur, hexVal(line[i+2])<<4|hexVal(line[i+3]))
					i += 3
				} else if c == '\\' && i+1 < len(line) {
					i++
					switch line[i] {
					case 'n':
						cur = append(cur, '\n')
					case 'r':
						cur = append(cur, '\r')
					case 't':
						cur = append(cur, '\t')
					case 'b':
						cur = append(cur, '\b')
					case 'a':
						cur = append(cur, '\a')
					default:
						cur = append(cur, line[i])
					}
				} else if c == '"' {
					if i+1 < len(line) && !isSpaceByte(line[i+1]) {
						return nil, fmt.Errorf("unbalanced quotes")
					}
					done = true
				} else {
					cur = append(cur, c)
				}
			} else if inSQ {
				if i >= len(line) {
					return nil, fmt.Errorf("unbalanced quotes")
				}
				c := line[i]
				if c == '\\' && i+1 < len(line) && line[i+1] == '\'' {
					i++
					cur = append(cur, '\'')
				} else if c == '\'' {
					if i+1 < len(line) && !isSpaceByte(line[i+1]) {
						return nil, fmt.Errorf("unbalanced quotes")
					}
					done = true
				} else {
					cur = append(cur, c)
				}
			} else {
				if i >= len(line) {
					break
				}
				switch c := line[i]; {
				case isSpaceByte(c):
					done = true
				case c == '"':
					inDQ = true
				case c == '\'':
					inSQ = true
				default:
					cur = append(cur, c)
				}
			}
			if i < len(line) {
				i++
			}
		}
		out = append(out, string(cur))
	}
}

func isSpaceByte(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f'
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func hexVal(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
