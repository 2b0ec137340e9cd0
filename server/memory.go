package server

import (
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/cairn-db/cairn/engine"
)

// Memory: maxmemory and its policy (directives, the check before each
// command), MEMORY, OBJECT, TOUCH, and INFO memory.

const msgOOM = "OOM command not allowed when used memory > 'maxmemory'."

// MemoryConfig are the maxmemory directives (part of Config).
type MemoryConfig struct {
	MaxMemory        int64  // bytes; 0: no limit
	MaxMemoryPolicy  string // a Redis policy name; default noeviction
	MaxMemorySamples int    // keys sampled per eviction; default 5
	LFULogFactor     int    // default 10
	LFUDecayTime     int    // minutes; default 1
}

func defaultMemoryConfig() MemoryConfig {
	return MemoryConfig{MaxMemoryPolicy: "noeviction", MaxMemorySamples: 5, LFULogFactor: 10, LFUDecayTime: 1}
}

// EngineMemory returns the engine's options for this configuration.
func (c *Config) EngineMemory() engine.MemoryOptions {
	p, _ := engine.ParsePolicy(c.MaxMemoryPolicy)
	decay := c.LFUDecayTime
	if decay == 0 {
		decay = -1 // the engine's "no decay"
	}
	return engine.MemoryOptions{MaxMemory: c.MaxMemory, Policy: p, Samples: c.MaxMemorySamples,
		LFULogFactor: c.LFULogFactor, LFUDecayTime: decay}
}

func init() {
	directives = append(directives,
		directive{name: "maxmemory", help: "bound on the data's memory (units: kb mb gb; 0: none)", mutable: true,
			get: func(c *Config) string { return strconv.FormatInt(c.MaxMemory, 10) },
			set: func(c *Config, a []string) error {
				n, err := ParseMemory(a[0])
				if err != nil || n < 0 {
					return errBadArgs
				}
				c.MaxMemory = n
				return nil
			}},
		directive{name: "maxmemory-policy", help: "what to evict at maxmemory: noeviction, allkeys-lru, …", mutable: true,
			get: func(c *Config) string { return c.MaxMemoryPolicy },
			set: func(c *Config, a []string) error {
				return setEnum(&c.MaxMemoryPolicy, a[0], engine.PolicyNames()...)
			}},
		directive{name: "maxmemory-samples", help: "keys sampled per eviction", mutable: true,
			get: func(c *Config) string { return strconv.Itoa(c.MaxMemorySamples) },
			set: func(c *Config, a []string) error { return setInt(&c.MaxMemorySamples, a[0], 1, 64) }},
		directive{name: "lfu-log-factor", help: "LFU counter's logarithm factor", mutable: true,
			get: func(c *Config) string { return strconv.Itoa(c.LFULogFactor) },
			set: func(c *Config, a []string) error { return setInt(&c.LFULogFactor, a[0], 0, math.MaxInt32) }},
		directive{name: "lfu-decay-time", help: "minutes for the LFU counter to decay by one (0: never)", mutable: true,
			get: func(c *Config) string { return strconv.Itoa(c.LFUDecayTime) },
			set: func(c *Config, a []string) error { return setInt(&c.LFUDecayTime, a[0], 0, math.MaxInt32) }},
	)
}

// applyMemoryConfig makes the maxmemory directives take effect.
func (s *Server) applyMemoryConfig(cfg Config) {
	o := cfg.EngineMemory()
	s.eng.SetMaxMemory(o.MaxMemory)
	if s.eng.EvictionPolicy() != o.Policy {
		s.eng.SetEvictionPolicy(o.Policy)
	}
	s.eng.SetEvictionSamples(o.Samples)
	s.eng.SetLFU(o.LFULogFactor, max(o.LFUDecayTime, 0))
	if s.setMemLimit {
		setGoMemoryLimit(cfg.MaxMemory)
	}
}

// goMemoryLimit is the GOMEMLIMIT derived from maxmemory: the data, plus
// a tenth for garbage between collections, plus 24 MB for what the
// runtime and connections need besides the data. Near the limit the
// collector runs more often instead of letting the heap double (GOGC).
// RSS stays within maxmemory × 1.1 + 32 MB (TestMemoryBoundRSS).
func goMemoryLimit(maxmemory int64) int64 {
	if maxmemory <= 0 {
		return math.MaxInt64
	}
	return maxmemory + maxmemory/10 + 24<<20
}

// setGoMemoryLimit sets the runtime's soft memory limit from maxmemory,
// unless the user set GOMEMLIMIT.
func setGoMemoryLimit(maxmemory int64) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetMemoryLimit(goMemoryLimit(maxmemory))
}

// checkMemory runs before a command when maxmemory is set: it evicts what
// the policy allows and reports false (after writing -OOM) when a command
// that may use memory must be refused.
func (c *client) checkMemory(cmd *command) bool {
	if !c.s.eng.OverMaxMemory() {
		return true
	}
	if c.s.eng.FreeMemory() || cmd.flags&flagDenyOOM == 0 {
		return true
	}
	c.writeError(msgOOM)
	return false
}

const grpSrvMem = "server"

func memoryCommands() []*command {
	mem := &command{name: "memory", arity: -2, group: grpSrvMem, since: "4.0.0",
		summary: "A container for memory diagnostics commands", subs: map[string]*command{}}
	for _, sub := range []*command{
		keyCmd("memory|usage", -3, flagReadOnly, 2, 2, 1, grpSrvMem, "4.0.0", "Estimate the memory usage of a key", cmdMemoryUsage),
		plainCmd("memory|stats", 2, 0, grpSrvMem, "4.0.0", "Show memory usage details", cmdMemoryStats),
		plainCmd("memory|doctor", 2, 0, grpSrvMem, "4.0.0", "Outputs memory problems report", cmdMemoryDoctor),
		plainCmd("memory|purge", 2, 0, grpSrvMem, "4.0.0", "Ask the allocator to release memory", cmdMemoryPurge),
		plainCmd("memory|malloc-stats", 2, 0, grpSrvMem, "4.0.0", "Show allocator internal stats", cmdMemoryMallocStats),
		plainCmd("memory|help", 2, flagLoading|flagStale, grpSrvMem, "4.0.0", "Show helpful text about the different subcommands", cmdMemoryHelp),
	} {
		mem.subs[strings.TrimPrefix(sub.name, "memory|")] = sub
	}
	obj := &command{name: "object", arity: -2, group: grpK, since: "2.2.3",
		summary: "A container for object introspection commands", subs: map[string]*command{}}
	for _, sub := range []*command{
		keyCmd("object|encoding", 3, flagReadOnly, 2, 2, 1, grpK, "2.2.3", "Inspect the internal encoding of a Redis object", objectCmd("encoding")),
		keyCmd("object|freq", 3, flagReadOnly, 2, 2, 1, grpK, "4.0.0", "Get the logarithmic access frequency counter of a Redis object", objectCmd("freq")),
		keyCmd("object|idletime", 3, flagReadOnly, 2, 2, 1, grpK, "2.2.3", "Get the time since a Redis object was last accessed", objectCmd("idletime")),
		keyCmd("object|refcount", 3, flagReadOnly, 2, 2, 1, grpK, "2.2.3", "Get the number of references to the value of the key", objectCmd("refcount")),
		plainCmd("object|help", 2, flagLoading|flagStale, grpK, "6.2.0", "Show helpful text about the different subcommands", cmdObjectHelp),
	} {
		obj.subs[strings.TrimPrefix(sub.name, "object|")] = sub
	}
	return []*command{mem, obj}
}

// memorySyntax documents the family's arguments for COMMAND DOCS.
var memorySyntax = map[string]string{
	"memory":              "",
	"memory|usage":        "key [SAMPLES count]",
	"memory|stats":        "",
	"memory|doctor":       "",
	"memory|purge":        "",
	"memory|malloc-stats": "",
	"memory|help":         "",
	"object":              "",
	"object|encoding":     "key",
	"object|freq":         "key",
	"object|idletime":     "key",
	"object|refcount":     "key",
	"object|help":         "",
}

func cmdMemoryUsage(c *client, tx *engine.Tx, args [][]byte) {
	for i := 3; i < len(args); i++ {
		if equalFold(args[i], "samples") && i+1 < len(args) {
			if _, ok := parseInt(args[i+1]); !ok {
				c.writeError(msgNotInteger)
				return
			}
			i++
			continue
		}
		c.writeError(msgSyntax)
		return
	}
	n, found, err := tx.MemoryUsage(c.db, args[2])
	if err != nil {
		c.writeEngineError(err)
		return
	}
	if !found {
		c.writeNull()
		return
	}
	c.writeInt(n)
}

func cmdMemoryStats(c *client, args [][]byte) {
	used, total := goMemory()
	eng := c.s.eng
	fields := []struct {
		name string
		v    int64
	}{
		{"peak.allocated", int64(total)},
		{"total.allocated", eng.UsedMemory()},
		{"startup.allocated", eng.UsedMemory() - eng.DatasetMemory()},
		{"dataset.bytes", eng.DatasetMemory()},
		{"keys.count", int64(totalKeys(eng))},
		{"go.heap.objects", int64(used)},
		{"go.runtime.total", int64(total)},
		{"rss", int64(residentBytes())},
	}
	c.writeArray(2 * len(fields))
	for _, f := range fields {
		c.writeBulkString(f.name)
		c.writeInt(f.v)
	}
}

func totalKeys(eng *engine.Engine) int {
	n := 0
	for _, ks := range eng.Keyspace() {
		n += ks.Keys
	}
	return n
}

func cmdMemoryDoctor(c *client, args [][]byte) {
	used := c.s.eng.UsedMemory()
	rss := int64(residentBytes())
	msg := "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base."
	if used > 0 && float64(rss)/float64(used) > 1.4 && rss > 64<<20 {
		msg = fmt.Sprintf("Sam, the resident set (%s) is %.2f times the data (%s): the Go heap holds garbage "+
			"or freed pages the OS has not taken back yet; MEMORY PURGE returns them.",
			humanBytes(uint64(rss)), float64(rss)/float64(used), humanBytes(uint64(used)))
	}
	c.writeBulkString(msg)
}

func cmdMemoryPurge(c *client, args [][]byte) {
	debug.FreeOSMemory()
	c.writeOK()
}

func cmdMemoryMallocStats(c *client, args [][]byte) {
	c.writeBulkString("Stats not supported for the current allocator")
}

func cmdMemoryHelp(c *client, args [][]byte) {
	writeHelp(c, "MEMORY", []string{
		"DOCTOR", "    Return memory problems reports.",
		"MALLOC-STATS", "    Return internal statistics report from the memory allocator.",
		"PURGE", "    Attempt to purge dirty pages for reclamation by the allocator.",
		"STATS", "    Return information about the memory usage of the server.",
		"USAGE <key> [SAMPLES <count>]", "    Return memory in bytes used by <key> and its value. Nested values are",
		"    sampled up to <count> times (default: 5, 0 means sample all).",
	})
}

const (
	msgNoLFU = "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when " +
		"switching between policies at runtime LRU and LFU data will take some time to adjust."
	msgLFU = "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when " +
		"switching between policies at runtime LRU and LFU data will take some time to adjust."
)

func objectCmd(what string) func(c *client, tx *engine.Tx, args [][]byte) {
	return func(c *client, tx *engine.Tx, args [][]byte) {
		oi, found, err := tx.Object(c.db, args[2])
		if err != nil {
			c.writeEngineError(err)
			return
		}
		if !found {
			c.writeNull()
			return
		}
		lfu := c.s.eng.EvictionPolicy().LFU()
		switch what {
		case "encoding":
			c.writeBulkString(oi.Encoding)
		case "refcount":
			if oi.SharedInt {
				c.writeInt(math.MaxInt32)
			} else {
				c.writeInt(1)
			}
		case "idletime":
			if lfu {
				c.writeError(msgLFU)
				return
			}
			c.writeInt(oi.IdleMs / 1000)
		case "freq":
			if !lfu {
				c.writeError(msgNoLFU)
				return
			}
			c.writeInt(int64(oi.Freq))
		}
	}
}

func cmdObjectHelp(c *client, args [][]byte) {
	writeHelp(c, "OBJECT", []string{
		"ENCODING <key>", "    Return the kind of internal representation used in order to store the value",
		"    associated with a <key>.",
		"FREQ <key>", "    Return the access frequency index of the <key>. The returned integer is",
		"    proportional to the logarithm of the recent access frequency of the key.",
		"IDLETIME <key>", "    Return the idle time of the <key>, that is the approximated number of",
		"    seconds elapsed since the last access to the key.",
		"REFCOUNT <key>", "    Return the number of references of the value associated with the specified",
		"    <key>.",
	})
}

// cmdTouch is TOUCH: EXISTS that records an access to each key.
func cmdTouch(c *client, tx *engine.Tx, args [][]byte) {
	var n int64
	for _, k := range args[1:] {
		ok, err := tx.Touch(c.db, k)
		if err != nil {
			c.writeEngineError(err)
			return
		}
		if ok {
			n++
		}
	}
	c.writeInt(n)
}

// writeMemoryInfo writes INFO's memory section.
func (s *Server) writeMemoryInfo(b *strings.Builder) {
	heap, total := goMemory()
	rss := residentBytes()
	used := uint64(s.eng.UsedMemory())
	maxmem := uint64(s.eng.MaxMemory())
	peak := s.notePeak(used)
	b.WriteString("# Memory\r\n")
	infoLine(b, "used_memory", used)
	infoLine(b, "used_memory_human", humanBytes(used))
	infoLine(b, "used_memory_rss", rss)
	infoLine(b, "used_memory_rss_human", humanBytes(rss))
	infoLine(b, "used_memory_peak", peak)
	infoLine(b, "used_memory_peak_human", humanBytes(peak))
	infoLine(b, "used_memory_dataset", s.eng.DatasetMemory())
	infoLine(b, "used_memory_startup", used-uint64(s.eng.DatasetMemory()))
	infoLine(b, "used_memory_runtime", total)
	infoLine(b, "used_memory_go_heap", heap)
	infoLine(b, "maxmemory", maxmem)
	infoLine(b, "maxmemory_human", humanBytes(maxmem))
	infoLine(b, "maxmemory_policy", s.eng.EvictionPolicy().String())
	limit := debug.SetMemoryLimit(-1)
	if limit == math.MaxInt64 {
		limit = 0
	}
	infoLine(b, "gomemlimit", limit)
	ratio := 0.0
	if used > 0 {
		ratio = float64(rss) / float64(used)
	}
	infoLine(b, "mem_fragmentation_ratio", strconv.FormatFloat(ratio, 'f', 2, 64))
	infoLine(b, "mem_fragmentation_bytes", int64(rss)-int64(used))
	infoLine(b, "mem_allocator", "go")
}

// notePeak raises the peak of used_memory to used and returns it.
func (s *Server) notePeak(used uint64) uint64 {
	for {
		p := s.memPeak.Load()
		if used <= p {
			return p
		}
		if s.memPeak.CompareAndSwap(p, used) {
			return used
		}
	}
}
