package server

import (
	"fmt"
	"strings"
)

// Argument documentation for COMMAND DOCS, which redis-cli turns into the
// hints it shows while a command is typed. Each command's arguments are
// written in the notation of Redis's documentation and parsed once:
//
//	word           an argument named word ("key" and the like are keys)
//	TOKEN word     an argument introduced by a literal token
//	TOKEN          a token on its own (pure token)
//	[ ... ]        optional;  ( ... ) a group;  a | b  one of
//	item...        the item repeated: "key..." is key [key ...]
//
// Each command family's file holds its own map (hashSyntax, …).
var commandSyntax = mergeSyntax(coreSyntax, hashSyntax, setSyntax, listSyntax, zsetSyntax, memorySyntax, scriptSyntax,
	multiSyntax, pubsubSyntax)

func mergeSyntax(maps ...map[string]string) map[string]string {
	out := make(map[string]string)
	for _, m := range maps {
		for name, s := range m {
			if _, dup := out[name]; dup {
				panic("command syntax given twice: " + name)
			}
			out[name] = s
		}
	}
	return out
}

// coreSyntax documents the spine's families: strings, keys, connection,
// server and persistence.
var coreSyntax = map[string]string{
	"save":        "",
	"bgsave":      "[SCHEDULE]",
	"lastsave":    "",
	"get":         "key",
	"set":         "key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL]",
	"setnx":       "key value",
	"setex":       "key seconds value",
	"psetex":      "key milliseconds value",
	"mget":        "key...",
	"mset":        "(key value)...",
	"msetnx":      "(key value)...",
	"getset":      "key value",
	"getdel":      "key",
	"getex":       "key [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | PERSIST]",
	"append":      "key value",
	"strlen":      "key",
	"incr":        "key",
	"decr":        "key",
	"incrby":      "key increment",
	"decrby":      "key decrement",
	"incrbyfloat": "key increment",
	"getrange":    "key start end",
	"setrange":    "key offset value",

	"del":         "key...",
	"unlink":      "key...",
	"exists":      "key...",
	"touch":       "key...",
	"expire":      "key seconds [NX | XX | GT | LT]",
	"pexpire":     "key milliseconds [NX | XX | GT | LT]",
	"expireat":    "key unix-time-seconds [NX | XX | GT | LT]",
	"pexpireat":   "key unix-time-milliseconds [NX | XX | GT | LT]",
	"ttl":         "key",
	"pttl":        "key",
	"expiretime":  "key",
	"pexpiretime": "key",
	"persist":     "key",
	"type":        "key",
	"rename":      "key newkey",
	"renamenx":    "key newkey",
	"move":        "key db",
	"copy":        "source destination [DB destination-db] [REPLACE]",
	"keys":        "pattern",
	"scan":        "cursor [MATCH pattern] [COUNT count] [TYPE type]",
	"randomkey":   "",
	"dbsize":      "",
	"flushdb":     "[ASYNC | SYNC]",
	"flushall":    "[ASYNC | SYNC]",

	"ping":           "[message]",
	"echo":           "message",
	"quit":           "",
	"reset":          "",
	"select":         "index",
	"auth":           "[username] password",
	"hello":          "[protover [AUTH username password] [SETNAME clientname]]",
	"client":         "",
	"client|id":      "",
	"client|setname": "connection-name",
	"client|getname": "",
	"client|list":    "[TYPE (NORMAL | MASTER | REPLICA | PUBSUB)] [ID client-id...]",
	"client|info":    "",
	"client|kill": "(ip:port | (ID client-id | TYPE (NORMAL | MASTER | SLAVE | REPLICA | PUBSUB) | USER username | " +
		"ADDR ip:port | LADDR ip:port | SKIPME (YES | NO))...)",
	"client|setinfo": "(LIB-NAME libname | LIB-VER libver)",
	"client|help":    "",

	"command":          "",
	"command|count":    "",
	"command|info":     "[command-name...]",
	"command|docs":     "[command-name...]",
	"command|list":     "[FILTERBY (MODULE module-name | ACLCAT category | PATTERN pattern)]",
	"command|getkeys":  "command [arg...]",
	"command|help":     "",
	"config":           "",
	"config|get":       "parameter...",
	"config|set":       "(parameter value)...",
	"config|resetstat": "",
	"config|help":      "",
	"info":             "[section...]",
	"time":             "",
	"waitaof":          "numlocal numreplicas timeout",
	"shutdown":         "[NOSAVE | SAVE] [NOW] [FORCE] [ABORT]",
}

// argDoc is one argument as COMMAND DOCS describes it.
type argDoc struct {
	name, typ, token   string
	optional, multiple bool
	args               []*argDoc // of a oneof or block
}

// parseSyntax parses the notation above.
func parseSyntax(s string) ([]*argDoc, error) {
	p := &syntaxParser{toks: tokenizeSyntax(s)}
	args, err := p.seq()
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, fmt.Errorf("syntax %q: unexpected %q", s, p.toks[p.pos])
	}
	return args, nil
}

func tokenizeSyntax(s string) []string {
	var toks []string
	for _, f := range strings.Fields(s) {
		for len(f) > 0 {
			switch {
			case strings.HasPrefix(f, "..."):
				toks, f = append(toks, "..."), f[3:]
			case strings.ContainsRune("[]()|", rune(f[0])):
				toks, f = append(toks, f[:1]), f[1:]
			default:
				end := strings.IndexAny(f, "[]()|")
				if dots := strings.Index(f, "..."); dots >= 0 && (end < 0 || dots < end) {
					end = dots
				}
				if end < 0 {
					end = len(f)
				}
				toks, f = append(toks, f[:end]), f[end:]
			}
		}
	}
	return toks
}

type syntaxParser struct {
	toks []string
	pos  int
}

func (p *syntaxParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func isTokenWord(w string) bool {
	return w != "" && !strings.ContainsRune("[]()|.", rune(w[0])) && strings.ToUpper(w) == w && strings.ToLower(w) != w
}

// seq parses items up to a closing bracket, a bar or the end.
func (p *syntaxParser) seq() ([]*argDoc, error) {
	var out []*argDoc
	for {
		switch p.peek() {
		case "", "]", ")", "|":
			return out, nil
		}
		it, err := p.item()
		if err != nil {
			return nil, err
		}
		// A token followed by an argument introduces it: "EX seconds".
		if it.typ == "pure-token" && !it.multiple && !it.optional {
			if next := p.peek(); next != "" && !strings.Contains("])|", next) && !isTokenWord(next) {
				arg, err := p.item()
				if err != nil {
					return nil, err
				}
				arg.token = it.token
				it = arg
			}
		}
		out = append(out, it)
	}
}

func (p *syntaxParser) item() (*argDoc, error) {
	tok := p.peek()
	p.pos++
	var it *argDoc
	switch tok {
	case "[", "(":
		closing := map[string]string{"[": "]", "(": ")"}[tok]
		alts, err := p.alternatives()
		if err != nil {
			return nil, err
		}
		if p.peek() != closing {
			return nil, fmt.Errorf("expected %q", closing)
		}
		p.pos++
		it = alts
		if tok == "[" {
			it.optional = true
		}
	default:
		if isTokenWord(tok) {
			it = &argDoc{name: strings.ToLower(tok), typ: "pure-token", token: tok}
		} else {
			it = &argDoc{name: tok, typ: argType(tok)}
		}
	}
	if p.peek() == "..." {
		p.pos++
		it.multiple = true
	}
	return it, nil
}

// alternatives parses "seq | seq | ..." into one argument.
func (p *syntaxParser) alternatives() (*argDoc, error) {
	var alts []*argDoc
	for {
		seq, err := p.seq()
		if err != nil {
			return nil, err
		}
		if len(seq) == 0 {
			return nil, fmt.Errorf("empty group")
		}
		if len(seq) == 1 {
			alts = append(alts, seq[0])
		} else {
			alts = append(alts, &argDoc{name: "block", typ: "block", args: seq})
		}
		if p.peek() != "|" {
			break
		}
		p.pos++
	}
	if len(alts) == 1 {
		return alts[0], nil
	}
	return &argDoc{name: "choice", typ: "oneof", args: alts}, nil
}

// argType guesses an argument's type from its name, as the docs would give it.
func argType(name string) string {
	switch {
	case name == "key" || name == "newkey" || name == "source" || name == "destination":
		return "key"
	case name == "pattern":
		return "pattern"
	case strings.HasPrefix(name, "unix-time"):
		return "unix-time"
	}
	switch name {
	case "seconds", "milliseconds", "increment", "decrement", "start", "end", "offset", "db",
		"destination-db", "cursor", "count", "index", "protover", "client-id":
		return "integer"
	}
	return "string"
}

// commandArgs holds each command's parsed arguments, by full name.
var commandArgs = func() map[string][]*argDoc {
	m := make(map[string][]*argDoc, len(commandSyntax))
	for name, s := range commandSyntax {
		args, err := parseSyntax(s)
		if err != nil {
			panic(fmt.Sprintf("command %s: %v", name, err))
		}
		m[name] = args
	}
	return m
}()

func (c *client) writeArgDoc(a *argDoc) {
	n := 4
	if a.token != "" {
		n += 2
	}
	if a.optional || a.multiple {
		n += 2
	}
	if a.args != nil {
		n += 2
	}
	c.writeArray(n)
	c.writeBulkString("name")
	c.writeBulkString(a.name)
	c.writeBulkString("type")
	c.writeBulkString(a.typ)
	if a.token != "" {
		c.writeBulkString("token")
		c.writeBulkString(a.token)
	}
	if a.optional || a.multiple {
		c.writeBulkString("flags")
		var flags []string
		if a.optional {
			flags = append(flags, "optional")
		}
		if a.multiple {
			flags = append(flags, "multiple")
		}
		c.writeArray(len(flags))
		for _, f := range flags {
			c.writeSimple(f)
		}
	}
	if a.args != nil {
		c.writeBulkString("arguments")
		c.writeArray(len(a.args))
		for _, sub := range a.args {
			c.writeArgDoc(sub)
		}
	}
}

// renderArgs renders arguments as redis-cli shows them in its hints.
func renderArgs(args []*argDoc, sep string) string {
	parts := make([]string, len(args))
	for i, a := range args {
		var rep string
		switch a.typ {
		case "oneof":
			rep = renderArgs(a.args, "|")
		case "block":
			rep = renderArgs(a.args, " ")
		case "pure-token":
		default:
			rep = a.name
		}
		tok := a.token
		if tok != "" && a.typ != "pure-token" {
			tok += " "
		}
		s := tok + rep
		if a.multiple {
			s += " [" + rep + " ...]"
		}
		if a.optional {
			s = "[" + s + "]"
		}
		parts[i] = s
	}
	return strings.Join(parts, sep)
}
