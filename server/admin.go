package server

import (
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cairn-db/cairn/internal/glob"
	"github.com/cairn-db/cairn/wal"
)

const grpSrv = "server"

func serverCommands() []*command {
	cmdCmd := &command{name: "command", arity: -1, flags: flagLoading | flagStale, group: grpSrv, since: "2.8.13",
		summary: "Get array of Redis command details", run: cmdCommand, subs: map[string]*command{}}
	for _, sub := range []*command{
		plainCmd("command|count", 2, flagLoading|flagStale, grpSrv, "2.8.13", "Get total number of Redis commands", cmdCommandCount),
		plainCmd("command|info", -2, flagLoading|flagStale, grpSrv, "2.8.13", "Get array of specific Redis command details, or all when no argument is given.", cmdCommandInfo),
		plainCmd("command|docs", -2, flagLoading|flagStale, grpSrv, "7.0.0", "Get array of specific Redis command documentation", cmdCommandDocs),
		plainCmd("command|list", -2, flagLoading|flagStale, grpSrv, "7.0.0", "Get an array of Redis command names", cmdCommandList),
		plainCmd("command|getkeys", -4, flagLoading|flagStale, grpSrv, "2.8.13", "Extract keys given a full Redis command", cmdCommandGetKeys),
		plainCmd("command|help", 2, flagLoading|flagStale, grpSrv, "5.0.0", "Show helpful text about the different subcommands", cmdCommandHelp),
	} {
		cmdCmd.subs[strings.TrimPrefix(sub.name, "command|")] = sub
	}
	cfgCmd := &command{name: "config", arity: -2, group: grpSrv, since: "2.0.0",
		summary: "A container for server configuration commands", subs: map[string]*command{}}
	for _, sub := range []*command{
		plainCmd("config|get", -3, flagAdmin|flagNoScript|flagLoading|flagStale, grpSrv, "2.0.0", "Get the values of configuration parameters", cmdConfigGet),
		plainCmd("config|set", -4, flagAdmin|flagNoScript|flagLoading|flagStale, grpSrv, "2.0.0", "Set configuration parameters to the given values", cmdConfigSet),
		plainCmd("config|resetstat", 2, flagAdmin|flagNoScript|flagLoading|flagStale, grpSrv, "2.0.0", "Reset the stats returned by INFO", cmdConfigResetStat),
		plainCmd("config|help", 2, flagLoading|flagStale, grpSrv, "5.0.0", "Show helpful text about the different subcommands", cmdConfigHelp),
	} {
		cfgCmd.subs[strings.TrimPrefix(sub.name, "config|")] = sub
	}
	return []*command{
		cmdCmd, cfgCmd,
		plainCmd("info", -1, flagLoading|flagStale|flagAllKeys, grpSrv, "1.0.0", "Get information and statistics about the server", cmdInfo),
		plainCmd("time", 1, flagLoading|flagStale|flagFast, grpSrv, "2.6.0", "Return the current server time", cmdTime),
		plainCmd("shutdown", -1, flagAdmin|flagNoScript|flagLoading|flagStale|flagNoMulti, grpSrv, "1.0.0", "Synchronously save the dataset to disk and then shut down the server", cmdShutdown),
	}
}

// ---- COMMAND ----

func sortedCommands(table map[string]*command) []*command {
	out := make([]*command, 0, len(table))
	for _, c := range table {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func (c *client) writeCommandInfo(cmd *command) {
	c.writeArray(10)
	c.writeBulkString(cmd.name)
	c.writeInt(int64(cmd.arity))
	var flags []string
	for _, f := range flagNames {
		if cmd.flags&f.f != 0 {
			flags = append(flags, f.name)
		}
	}
	c.writeArray(len(flags))
	for _, f := range flags {
		c.writeSimple(f)
	}
	c.writeInt(int64(cmd.firstKey))
	c.writeInt(int64(cmd.lastKey))
	c.writeInt(int64(cmd.step))
	// ACL categories, in the order Redis lists them.
	var cats []string
	add := func(ok bool, cat string) {
		if ok {
			cats = append(cats, cat)
		}
	}
	add(cmd.group == grpK, "@keyspace")
	add(cmd.flags&flagReadOnly != 0, "@read")
	add(cmd.flags&flagWrite != 0, "@write")
	add(cmd.group == grpS, "@string")
	add(cmd.group == grpP && cmd.flags&flagPubSub != 0, "@pubsub")
	add(cmd.flags&flagAdmin != 0, "@admin")
	add(cmd.flags&flagFast != 0, "@fast")
	add(cmd.flags&flagFast == 0, "@slow")
	add(cmd.flags&flagAdmin != 0, "@dangerous")
	add(cmd.group == grpC, "@connection")
	add(cmd.group == grpT, "@transaction")
	c.writeArray(len(cats))
	for _, cat := range cats {
		c.writeSimple(cat)
	}
	c.writeArray(0) // tips
	c.writeArray(0) // key specs
	if cmd.subs == nil {
		c.writeArray(0)
		return
	}
	subs := sortedCommands(cmd.subs)
	c.writeArray(len(subs))
	for _, s := range subs {
		c.writeCommandInfo(s)
	}
}

func cmdCommand(c *client, args [][]byte) {
	all := sortedCommands(commandTable)
	c.writeArray(len(all))
	for _, cmd := range all {
		c.writeCommandInfo(cmd)
	}
}

func cmdCommandCount(c *client, args [][]byte) { c.writeInt(int64(len(commandTable))) }

// findCommand finds a command by its name or "container|sub" name.
func findCommand(name []byte) *command {
	if i := strings.IndexByte(string(name), '|'); i >= 0 {
		parent := lookupCommand(commandTable, name[:i])
		if parent == nil || parent.subs == nil {
			return nil
		}
		return lookupCommand(parent.subs, name[i+1:])
	}
	return lookupCommand(commandTable, name)
}

func cmdCommandInfo(c *client, args [][]byte) {
	if len(args) == 2 {
		cmdCommand(c, args)
		return
	}
	c.writeArray(len(args) - 2)
	for _, name := range args[2:] {
		if cmd := findCommand(name); cmd != nil {
			c.writeCommandInfo(cmd)
		} else {
			c.writeNullArray()
		}
	}
}

func (c *client) writeCommandDoc(cmd *command) {
	n := 6
	if cmd.subs != nil {
		n += 2
	}
	args := commandArgs[cmd.name]
	if len(args) > 0 {
		n += 2
	}
	c.writeArray(n)
	c.writeBulkString("summary")
	c.writeBulkString(cmd.summary)
	c.writeBulkString("since")
	c.writeBulkString(cmd.since)
	c.writeBulkString("group")
	c.writeBulkString(cmd.group)
	if len(args) > 0 {
		c.writeBulkString("arguments")
		c.writeArray(len(args))
		for _, a := range args {
			c.writeArgDoc(a)
		}
	}
	if cmd.subs != nil {
		c.writeBulkString("subcommands")
		subs := sortedCommands(cmd.subs)
		c.writeArray(2 * len(subs))
		for _, s := range subs {
			c.writeBulkString(s.name)
			c.writeCommandDoc(s)
		}
	}
}

func cmdCommandDocs(c *client, args [][]byte) {
	var list []*command
	if len(args) == 2 {
		list = sortedCommands(commandTable)
	} else {
		for _, name := range args[2:] {
			if cmd := findCommand(name); cmd != nil {
				list = append(list, cmd)
			}
		}
	}
	c.writeArray(2 * len(list))
	for _, cmd := range list {
		c.writeBulkString(cmd.name)
		c.writeCommandDoc(cmd)
	}
}

func cmdCommandList(c *client, args [][]byte) {
	var match func(cmd *command) bool
	if len(args) > 2 {
		if len(args) != 5 || !equalFold(args[2], "filterby") {
			c.writeError(msgSyntax)
			return
		}
		val := args[4]
		switch {
		case equalFold(args[3], "pattern"):
			match = func(cmd *command) bool { return glob.MatchFold(val, []byte(cmd.name)) }
		case equalFold(args[3], "aclcat"):
			match = func(cmd *command) bool {
				cat := strings.ToLower(string(val))
				return cat == cmd.group || (cat == "write" && cmd.flags&flagWrite != 0) ||
					(cat == "read" && cmd.flags&flagReadOnly != 0) || (cat == "fast" && cmd.flags&flagFast != 0)
			}
		case equalFold(args[3], "module"):
			match = func(*command) bool { return false }
		default:
			c.writeError(msgSyntax)
			return
		}
	}
	var names []string
	for _, cmd := range sortedCommands(commandTable) {
		if match == nil || match(cmd) {
			names = append(names, cmd.name)
		}
		for _, s := range sortedCommands(cmd.subs) {
			if match == nil || match(s) {
				names = append(names, s.name)
			}
		}
	}
	c.writeArray(len(names))
	for _, n := range names {
		c.writeBulkString(n)
	}
}

func cmdCommandGetKeys(c *client, args [][]byte) {
	sub := args[2:]
	cmd := lookupCommand(commandTable, sub[0])
	if cmd == nil {
		c.writeError("ERR Invalid command specified")
		return
	}
	if cmd.subs != nil && len(sub) >= 2 {
		if s := lookupCommand(cmd.subs, sub[1]); s != nil {
			cmd = s
		}
	}
	if !arityOK(cmd.arity, len(sub)) {
		c.writeError("ERR Invalid number of arguments specified for command")
		return
	}
	keys := cmd.keys(sub, nil)
	if len(keys) == 0 {
		c.writeError("ERR The command has no key arguments")
		return
	}
	c.writeArray(len(keys))
	for _, k := range keys {
		c.writeBulk(k)
	}
}

func cmdCommandHelp(c *client, args [][]byte) {
	writeHelp(c, "COMMAND", []string{
		"(no subcommand)", "    Return details about all Redis commands.",
		"COUNT", "    Return the total number of commands in this Redis server.",
		"LIST", "    Return a list of all commands in this Redis server.",
		"INFO [<command-name> ...]", "    Return details about multiple Redis commands.",
		"DOCS [<command-name> ...]", "    Return documentation details about multiple Redis commands.",
		"GETKEYS <full-command>", "    Return the keys from a full Redis command.",
	})
}

// ---- CONFIG ----

func cmdConfigGet(c *client, args [][]byte) {
	seen := map[string]bool{}
	var pairs [][2]string
	for _, pat := range args[2:] {
		for _, p := range c.s.cfg.matching(string(pat)) {
			if !seen[p[0]] {
				seen[p[0]] = true
				pairs = append(pairs, p)
			}
		}
	}
	c.writeArray(2 * len(pairs))
	for _, p := range pairs {
		c.writeBulkString(p[0])
		c.writeBulkString(p[1])
	}
}

func cmdConfigSet(c *client, args [][]byte) {
	if len(args)%2 != 0 {
		c.writeError(errWrongArity("config|set"))
		return
	}
	c.s.cfg.mu.Lock()
	next := c.s.cfg.cfg
	seen := map[string]bool{}
	for i := 2; i < len(args); i += 2 {
		name := string(args[i])
		d := lookupDirective(name)
		if d != nil && seen[d.name] {
			c.s.cfg.mu.Unlock()
			c.writeError("ERR CONFIG SET failed (possibly related to argument '" + d.name + "') - duplicate parameter")
			return
		}
		if d != nil {
			seen[d.name] = true
		}
		if d == nil {
			c.s.cfg.mu.Unlock()
			c.writeError("ERR Unknown option or number of arguments for CONFIG SET - '" + sanitize(name) + "'")
			return
		}
		if !d.mutable {
			c.s.cfg.mu.Unlock()
			c.writeError("ERR CONFIG SET failed (possibly related to argument '" + d.name + "') - can't set immutable config")
			return
		}
		vals := []string{string(args[i+1])}
		if d.multi {
			vals = strings.Fields(string(args[i+1]))
		}
		if err := next.Set(d.name, vals); err != nil {
			c.s.cfg.mu.Unlock()
			c.writeError("ERR CONFIG SET failed (possibly related to argument '" + d.name + "') - " + err.Error())
			return
		}
	}
	c.s.cfg.cfg = next
	c.s.cfg.mu.Unlock()
	c.s.applyConfig(next)
	c.writeOK()
}

// applyConfig makes run-time changes take effect.
func (s *Server) applyConfig(cfg Config) {
	if s.levelVar != nil {
		s.levelVar.Set(LogLevel(cfg.LogLevel))
	}
	if p, err := wal.ParseSyncPolicy(cfg.AppendFsync); err == nil {
		s.eng.SetSyncPolicy(p)
	}
	if rules, err := ParseSaveRules(cfg.Save); err == nil {
		s.eng.SetSaveRules(rules)
	}
	s.eng.SetLogGrowth(cfg.AutoAOFRewritePercentage, cfg.AutoAOFRewriteMinSize)
	s.eng.SetActiveExpireHz(cfg.Hz)
	s.applyMemoryConfig(cfg)
	s.applyOutputLimits(&cfg)
	s.applyBusyPoll(&cfg)
	s.stopWritesOnSaveErr.Store(cfg.StopWritesOnBgsaveError)
}

func cmdConfigResetStat(c *client, args [][]byte) {
	st := &c.s.stats
	for _, v := range []interface{ Store(int64) }{&st.commandsProcessed, &st.connectionsReceived, &st.rejectedConns,
		&st.netInput, &st.netOutput} {
		v.Store(0)
	}
	c.s.eng.ResetStats()
	c.writeOK()
}

func cmdConfigHelp(c *client, args [][]byte) {
	writeHelp(c, "CONFIG", []string{
		"GET <pattern>", "    Return parameters matching the glob-like <pattern> and their values.",
		"SET <directive> <value>", "    Set the configuration <directive> to <value>.",
		"RESETSTAT", "    Reset statistics reported by the INFO command.",
	})
}

// ---- TIME, SHUTDOWN ----

func cmdTime(c *client, args [][]byte) {
	now := time.Now()
	c.writeArray(2)
	c.writeBulkString(strconv.FormatInt(now.Unix(), 10))
	c.writeBulkString(strconv.FormatInt(int64(now.Nanosecond()/1000), 10))
}

func cmdShutdown(c *client, args [][]byte) {
	save := int32(0)
	for _, a := range args[1:] {
		switch {
		case equalFold(a, "nosave"):
			save = 2
		case equalFold(a, "save"):
			save = 1
		case equalFold(a, "now"), equalFold(a, "force"):
		case equalFold(a, "abort"):
			c.writeError("ERR No shutdown in progress.")
			return
		default:
			c.writeError(msgSyntax)
			return
		}
	}
	if save != 0 {
		c.s.shutdownSave.Store(save)
	}
	c.s.log.Info("user requested shutdown", "client", c.addr)
	c.closeAfterReply = true
	c.s.requestShutdown()
}

// ---- INFO ----

var defaultInfoSections = []string{"server", "clients", "memory", "persistence", "stats", "replication", "cpu", "keyspace"}

func cmdInfo(c *client, args [][]byte) {
	want := map[string]bool{}
	if len(args) == 1 {
		for _, s := range defaultInfoSections {
			want[s] = true
		}
	}
	for _, a := range args[1:] {
		s := strings.ToLower(string(a))
		switch s {
		case "all", "everything", "default":
			for _, d := range defaultInfoSections {
				want[d] = true
			}
		default:
			want[s] = true
		}
	}
	var b strings.Builder
	for _, sec := range defaultInfoSections {
		if !want[sec] {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\r\n")
		}
		c.s.writeInfoSection(&b, sec, c)
	}
	c.writeBulkString(b.String())
}

func infoLine(b *strings.Builder, name string, value any) {
	fmt.Fprintf(b, "%s:%v\r\n", name, value)
}

// writeInfoSection writes one section; c is the asking client (inside
// EXEC, the keyspace is read through its transaction).
func (s *Server) writeInfoSection(b *strings.Builder, sec string, c *client) {
	cfg := s.cfg.get()
	now := time.Now()
	switch sec {
	case "server":
		b.WriteString("# Server\r\n")
		exe, _ := os.Executable()
		up := int64(now.Sub(s.started) / time.Second)
		infoLine(b, "redis_version", Version)
		infoLine(b, "redis_git_sha1", "00000000")
		infoLine(b, "redis_git_dirty", 0)
		infoLine(b, "redis_build_id", "0")
		infoLine(b, "redis_mode", "standalone")
		infoLine(b, "os", runtime.GOOS+" "+runtime.GOARCH)
		infoLine(b, "arch_bits", 64)
		infoLine(b, "multiplexing_api", "go")
		infoLine(b, "go_version", runtime.Version())
		infoLine(b, "process_id", os.Getpid())
		infoLine(b, "process_supervised", "no")
		infoLine(b, "run_id", s.runID)
		infoLine(b, "tcp_port", cfg.Port)
		infoLine(b, "server_time_usec", now.UnixMicro())
		infoLine(b, "uptime_in_seconds", up)
		infoLine(b, "uptime_in_days", up/86400)
		infoLine(b, "hz", cfg.Hz)
		infoLine(b, "configured_hz", cfg.Hz)
		infoLine(b, "executable", exe)
		infoLine(b, "config_file", "")
		infoLine(b, "io_threads_active", 0)
		infoLine(b, "cairn_version", CairnVersion)
		// Threads running Go code now (server-threads; the tuner's choice).
		infoLine(b, "cairn_server_threads", runtime.GOMAXPROCS(0))
		if s.bp != nil {
			// Spins before sleeping that found input, and that did not.
			infoLine(b, "cairn_busy_poll_hits", s.bp.hits.Load())
			infoLine(b, "cairn_busy_poll_misses", s.bp.misses.Load())
		}
	case "clients":
		s.mu.Lock()
		n := len(s.clients)
		s.mu.Unlock()
		b.WriteString("# Clients\r\n")
		infoLine(b, "connected_clients", n)
		infoLine(b, "cluster_connections", 0)
		infoLine(b, "maxclients", cfg.MaxClients)
		infoLine(b, "client_recent_max_input_buffer", 0)
		infoLine(b, "client_recent_max_output_buffer", 0)
		infoLine(b, "blocked_clients", s.blk.count.Load())
		infoLine(b, "tracking_clients", 0)
		infoLine(b, "clients_in_timeout_table", 0)
	case "memory":
		s.writeMemoryInfo(b)
	case "persistence":
		s.writePersistenceInfo(b)
	case "stats":
		st := &s.stats
		b.WriteString("# Stats\r\n")
		infoLine(b, "total_connections_received", st.connectionsReceived.Load())
		infoLine(b, "total_commands_processed", st.commandsProcessed.Load())
		infoLine(b, "instantaneous_ops_per_sec", 0)
		infoLine(b, "total_net_input_bytes", st.netInput.Load())
		infoLine(b, "total_net_output_bytes", st.netOutput.Load())
		infoLine(b, "rejected_connections", st.rejectedConns.Load())
		infoLine(b, "expired_keys", s.eng.Stats().ExpiredKeys.Load())
		infoLine(b, "evicted_keys", s.eng.Stats().EvictedKeys.Load())
		hits, misses := s.eng.KeyspaceHits()
		infoLine(b, "keyspace_hits", hits)
		infoLine(b, "keyspace_misses", misses)
		infoLine(b, "pubsub_channels", s.pubsub.nChannels.Load())
		infoLine(b, "pubsub_patterns", s.pubsub.nPatterns.Load())
		infoLine(b, "total_error_replies", 0)
	case "replication":
		b.WriteString("# Replication\r\n")
		infoLine(b, "role", "master")
		infoLine(b, "connected_slaves", 0)
		infoLine(b, "master_replid", s.runID)
		infoLine(b, "master_repl_offset", 0)
	case "cpu":
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		b.WriteString("# CPU\r\n")
		infoLine(b, "used_cpu_sys", fmt.Sprintf("%.6f", tvSeconds(ru.Stime)))
		infoLine(b, "used_cpu_user", fmt.Sprintf("%.6f", tvSeconds(ru.Utime)))
	case "keyspace":
		b.WriteString("# Keyspace\r\n")
		for db, ks := range c.engKeyspace() {
			if ks.Keys > 0 {
				fmt.Fprintf(b, "db%d:keys=%d,expires=%d,avg_ttl=0\r\n", db, ks.Keys, ks.Expires)
			}
		}
	}
}

func tvSeconds(tv syscall.Timeval) float64 {
	return float64(tv.Sec) + float64(tv.Usec)/1e6
}

// goMemory returns the Go heap in use by objects and all memory the runtime
// holds from the OS, without stopping the world.
func goMemory() (heap, total uint64) {
	samples := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/total:bytes"},
	}
	metrics.Read(samples)
	if samples[0].Value.Kind() == metrics.KindUint64 {
		heap = samples[0].Value.Uint64()
	}
	if samples[1].Value.Kind() == metrics.KindUint64 {
		total = samples[1].Value.Uint64()
	}
	return heap, total
}

// residentBytes reads the process's resident set size.
func residentBytes() uint64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

// humanBytes formats n as Redis's bytesToHuman does.
func humanBytes(n uint64) string {
	f := float64(n)
	switch {
	case n < 1024:
		return strconv.FormatUint(n, 10) + "B"
	case n < 1<<20:
		return fmt.Sprintf("%.2fK", f/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.2fM", f/(1<<20))
	case n < 1<<40:
		return fmt.Sprintf("%.2fG", f/(1<<30))
	}
	return fmt.Sprintf("%.2fT", f/(1<<40))
}
