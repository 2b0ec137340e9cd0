package server

import (
	"strings"

	"github.com/cairn-db/cairn/engine"
)

// objectCommands returns OBJECT and its subcommands.
func objectCommands() []*command {
	obj := &command{name: "object", arity: -2, group: grpK, since: "2.2.3",
		summary: "A container for object introspection commands", subs: map[string]*command{}}
	for _, sub := range []*command{
		keyCmd("object|encoding", 3, flagReadOnly, 2, 2, 1, grpK, "2.2.3", "Inspect the internal encoding of a Redis object", cmdObjectEncoding),
		keyCmd("object|freq", 3, flagReadOnly, 2, 2, 1, grpK, "4.0.0", "Get the logarithmic access frequency counter of a Redis object", cmdObjectFreq),
		keyCmd("object|idletime", 3, flagReadOnly, 2, 2, 1, grpK, "2.2.3", "Get the time since a Redis object was last accessed", cmdObjectIdleTime),
		keyCmd("object|refcount", 3, flagReadOnly, 2, 2, 1, grpK, "2.2.3", "Get the number of references to the value of the key", cmdObjectRefCount),
		plainCmd("object|help", 2, flagLoading|flagStale, grpK, "6.2.0", "Show helpful text about the different subcommands", cmdObjectHelp),
	} {
		obj.subs[strings.TrimPrefix(sub.name, "object|")] = sub
	}
	return []*command{obj}
}

// objectSyntax documents OBJECT's arguments for COMMAND DOCS.
var objectSyntax = map[string]string{
	"object":          "",
	"object|encoding": "key",
	"object|freq":     "key",
	"object|idletime": "key",
	"object|refcount": "key",
	"object|help":     "",
}

// objectLookup returns key's OBJECT information, writing a null reply
// (missing key) or the error; ok is false then.
func objectLookup(c *client, tx *engine.Tx, key []byte) (engine.ObjectInfo, bool) {
	info, found, err := tx.Object(c.db, key)
	if err != nil {
		c.writeEngineError(err)
		return info, false
	}
	if !found {
		c.writeNull()
		return info, false
	}
	return info, true
}

func cmdObjectEncoding(c *client, tx *engine.Tx, args [][]byte) {
	if info, ok := objectLookup(c, tx, args[2]); ok {
		c.writeBulkString(info.Encoding)
	}
}

func cmdObjectRefCount(c *client, tx *engine.Tx, args [][]byte) {
	if info, ok := objectLookup(c, tx, args[2]); ok {
		if info.Shared {
			c.writeInt(2147483647) // Redis's OBJ_SHARED_REFCOUNT
		} else {
			c.writeInt(1)
		}
	}
}

// cmdObjectIdleTime answers 0: Cairn does not track access times (it has
// no LRU eviction), so every key reads as just used.
func cmdObjectIdleTime(c *client, tx *engine.Tx, args [][]byte) {
	if _, ok := objectLookup(c, tx, args[2]); ok {
		c.writeInt(0)
	}
}

// cmdObjectFreq answers as Redis does when the eviction policy is not an
// LFU one, which is always the case in Cairn.
func cmdObjectFreq(c *client, tx *engine.Tx, args [][]byte) {
	if _, ok := objectLookup(c, tx, args[2]); ok {
		c.writeError("ERR An LFU maxmemory policy is not selected, access frequency not tracked. " +
			"Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
	}
}

func cmdObjectHelp(c *client, args [][]byte) {
	lines := []string{
		"OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"ENCODING <key>",
		"    Return the kind of internal representation used in order to store the value",
		"    associated with a <key>.",
		"FREQ <key>",
		"    Return the access frequency index of the <key>. The returned integer is",
		"    proportional to the logarithm of the recent access frequency of the key.",
		"IDLETIME <key>",
		"    Return the idle time of the <key>, that is the approximated number of",
		"    seconds elapsed since the last access to the key.",
		"REFCOUNT <key>",
		"    Return the number of references of the value associated with the specified",
		"    <key>.",
		"HELP",
		"    Prints this help.",
	}
	c.writeArray(len(lines))
	for _, l := range lines {
		c.writeSimple(l)
	}
}
