package server

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

const grpC = "connection"

func connectionCommands() []*command {
	clientCmd := &command{name: "client", arity: -2, flags: flagNoScript | flagLoading | flagStale, group: grpC, since: "2.4.0",
		summary: "A container for client connection commands", subs: map[string]*command{}}
	for _, sub := range []*command{
		plainCmd("client|id", 2, flagNoScript|flagLoading|flagStale, grpC, "5.0.0", "Returns the client ID for the current connection", cmdClientID),
		plainCmd("client|setname", 3, flagNoScript|flagLoading|flagStale, grpC, "2.6.9", "Set the current connection name", cmdClientSetName),
		plainCmd("client|getname", 2, flagNoScript|flagLoading|flagStale, grpC, "2.6.9", "Get the current connection name", cmdClientGetName),
		plainCmd("client|list", -2, flagAdmin|flagNoScript|flagLoading|flagStale, grpC, "2.4.0", "Get the list of client connections", cmdClientList),
		plainCmd("client|info", 2, flagNoScript|flagLoading|flagStale, grpC, "6.2.0", "Returns information about the current client connection.", cmdClientInfo),
		plainCmd("client|kill", -3, flagAdmin|flagNoScript|flagLoading|flagStale, grpC, "2.4.0", "Kill the connection of a client", cmdClientKill),
		plainCmd("client|setinfo", 4, flagNoScript|flagLoading|flagStale, grpC, "7.2.0", "Set client or connection specific info", cmdClientSetInfo),
		plainCmd("client|help", 2, flagLoading|flagStale, grpC, "5.0.0", "Show helpful text about the different subcommands", cmdClientHelp),
	} {
		clientCmd.subs[strings.TrimPrefix(sub.name, "client|")] = sub
	}
	return []*command{
		plainCmd("ping", -1, flagFast|flagLoading|flagSubCtx|flagDiskCheck, grpC, "1.0.0", "Ping the server", cmdPing),
		plainCmd("echo", 2, flagFast, grpC, "1.0.0", "Echo the given string", cmdEcho),
		plainCmd("quit", -1, flagNoAuth|flagNoScript|flagLoading|flagStale|flagFast|flagSubCtx|flagNoQueue, grpC, "1.0.0", "Close the connection", cmdQuit),
		plainCmd("reset", 1, flagNoAuth|flagNoScript|flagLoading|flagStale|flagFast|flagSubCtx|flagNoQueue, grpC, "6.2.0", "Reset the connection", cmdReset),
		plainCmd("select", 2, flagLoading|flagStale|flagFast, grpC, "1.0.0", "Change the selected database for the current connection", cmdSelect),
		plainCmd("auth", -2, flagNoAuth|flagNoScript|flagLoading|flagStale|flagFast, grpC, "1.0.0", "Authenticate to the server", cmdAuth),
		plainCmd("hello", -1, flagNoAuth|flagNoScript|flagLoading|flagStale|flagFast, grpC, "6.0.0", "Handshake with Redis", cmdHello),
		clientCmd,
	}
}

func cmdPing(c *client, args [][]byte) {
	if c.subscribed() && len(args) <= 2 {
		// RESP2's subscribed mode: a push-shaped reply.
		c.writeArray(2)
		c.writeBulkString("pong")
		if len(args) == 2 {
			c.writeBulk(args[1])
		} else {
			c.writeBulkString("")
		}
		return
	}
	switch len(args) {
	case 1:
		c.writeSimple("PONG")
	case 2:
		c.writeBulk(args[1])
	default:
		c.writeError(errWrongArity("ping"))
	}
}

func cmdEcho(c *client, args [][]byte) { c.writeBulk(args[1]) }

func cmdQuit(c *client, args [][]byte) {
	c.writeOK()
	c.closeAfterReply = true
}

func cmdReset(c *client, args [][]byte) {
	c.discardTx()
	c.resetPubsub()
	c.selectDB(0)
	c.mu.Lock()
	c.name = ""
	c.mu.Unlock()
	c.setAuthed(c.s.cfg.get().RequirePass == "")
	c.writeSimple("RESET")
}

func (c *client) selectDB(db int) {
	c.db = db
	c.dbShown.Store(int32(db))
}

func (c *client) setAuthed(ok bool) {
	c.authed = ok
	c.rd.authed = ok
}

func cmdSelect(c *client, args [][]byte) {
	if db, ok := c.parseDB(args[1]); ok {
		c.selectDB(db)
		c.writeOK()
	}
}

// checkPassword authenticates the client as user with pass; it reports
// whether that succeeded, having written nothing.
func (c *client) checkPassword(user, pass []byte) bool {
	req := c.s.cfg.get().RequirePass
	if string(user) != "default" {
		return false
	}
	if req == "" {
		// The default user has no password: any password is accepted with
		// a username (Redis's "nopass").
		return true
	}
	return string(pass) == req
}

func cmdAuth(c *client, args [][]byte) {
	if len(args) > 3 {
		c.writeError(msgSyntax)
		return
	}
	if len(args) == 2 {
		if c.s.cfg.get().RequirePass == "" {
			c.writeError(msgNoPassword)
			return
		}
		if !c.checkPassword([]byte("default"), args[1]) {
			c.writeError(msgWrongPass)
			return
		}
	} else if !c.checkPassword(args[1], args[2]) {
		c.writeError(msgWrongPass)
		return
	}
	c.setAuthed(true)
	c.writeOK()
}

// cmdHello answers HELLO [protover [AUTH user pass] [SETNAME name]]. Cairn
// speaks RESP2 only: HELLO 3 gets NOPROTO, as from a server without RESP3,
// and clients fall back to RESP2.
func cmdHello(c *client, args [][]byte) {
	if len(args) >= 2 {
		v, ok := parseInt(args[1])
		if !ok {
			c.writeError(msgProtoNotInteger)
			return
		}
		if v != 2 {
			c.writeError(msgNoProto)
			return
		}
	}
	var user, pass, name []byte
	haveAuth, haveName := false, false
	for i := 2; i < len(args); i++ {
		more := len(args) - i - 1
		switch {
		case equalFold(args[i], "auth") && more >= 2:
			user, pass, haveAuth = args[i+1], args[i+2], true
			i += 2
		case equalFold(args[i], "setname") && more >= 1:
			name, haveName = args[i+1], true
			i++
		default:
			c.writeError("ERR Syntax error in HELLO option '" + sanitize(cString(args[i])) + "'")
			return
		}
	}
	if haveAuth {
		if !c.checkPassword(user, pass) {
			c.writeError(msgWrongPass)
			return
		}
		c.setAuthed(true)
	}
	if !c.authed {
		c.writeError(msgHelloNoAuth)
		return
	}
	if haveName {
		if !validClientName(name) {
			c.writeError(msgBadClientName)
			return
		}
		c.mu.Lock()
		c.name = string(name)
		c.mu.Unlock()
	}
	c.writeArray(14)
	c.writeBulkString("server")
	c.writeBulkString("redis")
	c.writeBulkString("version")
	c.writeBulkString(Version)
	c.writeBulkString("proto")
	c.writeInt(2)
	c.writeBulkString("id")
	c.writeInt(c.id)
	c.writeBulkString("mode")
	c.writeBulkString("standalone")
	c.writeBulkString("role")
	c.writeBulkString("master")
	c.writeBulkString("modules")
	c.writeArray(0)
}

const msgBadClientName = "ERR Client names cannot contain spaces, newlines or special characters."

func validClientName(name []byte) bool {
	for _, ch := range name {
		if ch < '!' || ch > '~' {
			return false
		}
	}
	return true
}

func cmdClientID(c *client, args [][]byte) { c.writeInt(c.id) }

func cmdClientSetName(c *client, args [][]byte) {
	if !validClientName(args[2]) {
		c.writeError(msgBadClientName)
		return
	}
	c.mu.Lock()
	c.name = string(args[2])
	c.mu.Unlock()
	c.writeOK()
}

func cmdClientGetName(c *client, args [][]byte) {
	c.mu.Lock()
	name := c.name
	c.mu.Unlock()
	if name == "" {
		c.writeNull()
		return
	}
	c.writeBulkString(name)
}

func cmdClientSetInfo(c *client, args [][]byte) {
	val := string(args[3])
	for _, ch := range args[3] {
		if ch < '!' || ch > '~' {
			c.writeError("ERR " + string(args[2]) + " cannot contain spaces, newlines or special characters.")
			return
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case equalFold(args[2], "lib-name"):
		c.libName = val
	case equalFold(args[2], "lib-ver"):
		c.libVer = val
	default:
		c.writeError("ERR Unrecognized option '" + sanitize(cString(args[2])) + "'")
		return
	}
	c.writeOK()
}

// infoLine is the client's line in CLIENT LIST and CLIENT INFO, with
// Redis's field names and order.
func (c *client) infoLine(now time.Time) string {
	c.mu.Lock()
	name, lib, ver := c.name, c.libName, c.libVer
	c.mu.Unlock()
	age := int64(now.Sub(c.created) / time.Second)
	idle := (now.UnixMilli() - c.lastTouch.Load()) / 1000
	if idle < 0 {
		idle = 0
	}
	sub, psub := c.subCounts()
	flags := "N"
	switch {
	case c.blocked.Load():
		flags = "b"
	case c.txs.queued.Load() > 0:
		flags = "x"
	case sub+psub > 0:
		flags = "P"
	}
	return fmt.Sprintf("id=%d addr=%s laddr=%s fd=%d name=%s age=%d idle=%d flags=%s db=%d sub=%d psub=%d ssub=0 "+
		"multi=%d qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=%d rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r "+
		"cmd=%s user=default redir=-1 resp=2 lib-name=%s lib-ver=%s",
		c.id, c.addr, c.laddr, c.id+7, name, age, idle, flags, c.dbShown.Load(), sub, psub, c.txs.queued.Load()-1,
		readBufSize, *c.lastCmd.Load(), lib, ver)
}

func cmdClientInfo(c *client, args [][]byte) {
	c.writeBulkString(c.infoLine(time.Now()) + "\n")
}

// clientsSorted returns the connected clients by id.
func (s *Server) clientsSorted() []*client {
	s.mu.Lock()
	list := make([]*client, 0, len(s.clients))
	for _, cl := range s.clients {
		list = append(list, cl)
	}
	s.mu.Unlock()
	sort.Slice(list, func(i, j int) bool { return list[i].id < list[j].id })
	return list
}

func cmdClientList(c *client, args [][]byte) {
	var ids map[int64]bool
	typeFilter := ""
	for i := 2; i < len(args); i++ {
		switch {
		case equalFold(args[i], "type") && i+1 < len(args):
			i++
			t := strings.ToLower(string(args[i]))
			switch t {
			case "normal", "master", "replica", "slave", "pubsub":
				typeFilter = t
			default:
				c.writeError("ERR Unknown client type '" + sanitize(cString(args[i])) + "'")
				return
			}
		case equalFold(args[i], "id") && i+1 < len(args):
			ids = map[int64]bool{}
			for i++; i < len(args); i++ {
				id, ok := parseInt(args[i])
				if !ok || id <= 0 {
					c.writeError("ERR Invalid client ID")
					return
				}
				ids[id] = true
			}
		default:
			c.writeError(msgSyntax)
			return
		}
	}
	now := time.Now()
	var b strings.Builder
	for _, cl := range c.s.clientsSorted() {
		if ids != nil && !ids[cl.id] {
			continue
		}
		if typeFilter != "" && typeFilter != cl.clientType() {
			continue
		}
		b.WriteString(cl.infoLine(now))
		b.WriteByte('\n')
	}
	c.writeBulkString(b.String())
}

// cmdClientKill: CLIENT KILL addr:port (old form: +OK or an error), or
// CLIENT KILL <filter> <value> ... (new form: the number killed).
func cmdClientKill(c *client, args [][]byte) {
	if len(args) == 3 {
		addr := string(args[2])
		for _, cl := range c.s.clientsSorted() {
			if cl.addr == addr {
				c.kill(cl)
				c.writeOK()
				return
			}
		}
		c.writeError(msgNoSuchClient)
		return
	}
	var id int64
	var addr, laddr string
	skipMe := true
	typeFilter := ""
	if len(args)%2 != 0 {
		c.writeError(msgSyntax)
		return
	}
	for i := 2; i < len(args); i += 2 {
		v := args[i+1]
		switch {
		case equalFold(args[i], "id"):
			n, ok := parseInt(v)
			if !ok || n <= 0 {
				c.writeError("ERR client-id should be greater than 0")
				return
			}
			id = n
		case equalFold(args[i], "addr"):
			addr = string(v)
		case equalFold(args[i], "laddr"):
			laddr = string(v)
		case equalFold(args[i], "skipme"):
			switch {
			case equalFold(v, "yes"):
				skipMe = true
			case equalFold(v, "no"):
				skipMe = false
			default:
				c.writeError(msgSyntax)
				return
			}
		case equalFold(args[i], "type"):
			t := strings.ToLower(string(v))
			switch t {
			case "normal", "master", "replica", "slave", "pubsub":
				typeFilter = t
			default:
				c.writeError("ERR Unknown client type '" + sanitize(cString(v)) + "'")
				return
			}
		case equalFold(args[i], "user"):
			if string(v) != "default" {
				c.writeError("ERR No such user '" + sanitize(cString(v)) + "'")
				return
			}
		default:
			c.writeError(msgSyntax)
			return
		}
	}
	var n int64
	for _, cl := range c.s.clientsSorted() {
		if (id != 0 && cl.id != id) || (addr != "" && cl.addr != addr) || (laddr != "" && cl.laddr != laddr) ||
			(typeFilter != "" && typeFilter != cl.clientType()) || (skipMe && cl == c) {
			continue
		}
		c.kill(cl)
		n++
	}
	c.writeInt(n)
}

// kill disconnects cl: at once if it is another client, after this reply if
// it is c itself.
func (c *client) kill(cl *client) {
	if cl == c {
		c.closeAfterReply = true
		return
	}
	cl.nc.Close()
}

func cmdClientHelp(c *client, args [][]byte) {
	writeHelp(c, "CLIENT", []string{
		"ID", "    Return the ID of the current connection.",
		"INFO", "    Return information about the current client connection.",
		"GETNAME", "    Return the name of the current connection.",
		"KILL <ip:port>", "    Kill connection made from <ip:port>.",
		"KILL <option> <value> [<option> <value> [...]]", "    Kill connections. Options are: ID, ADDR, LADDR, SKIPME, TYPE, USER.",
		"LIST [options ...]", "    Return information about client connections. Options: TYPE, ID.",
		"SETNAME <name>", "    Assign the name <name> to the current connection.",
		"SETINFO <LIB-NAME|LIB-VER> <value>", "    Set client library name or version.",
	})
}

// writeHelp writes a HELP reply in Redis's shape.
func writeHelp(c *client, container string, lines []string) {
	c.writeArray(len(lines) + 3)
	c.writeSimple(container + " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
	for _, l := range lines {
		c.writeSimple(l)
	}
	c.writeSimple("HELP")
	c.writeSimple("    Prints this help.")
}
