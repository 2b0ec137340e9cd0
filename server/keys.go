package server

import (
	"math"
	"strconv"

	"github.com/cairn-db/cairn/engine"
)

const grpK = "generic"

func keyCommands() []*command {
	return []*command{
		keyCmd("del", -2, flagWrite, 1, -1, 1, grpK, "1.0.0", "Delete a key", cmdDel),
		keyCmd("unlink", -2, flagWrite|flagFast, 1, -1, 1, grpK, "4.0.0", "Delete a key asynchronously in another thread", cmdDel),
		keyCmd("exists", -2, roF, 1, -1, 1, grpK, "1.0.0", "Determine if a key exists", cmdExists),
		keyCmd("touch", -2, roF, 1, -1, 1, grpK, "3.2.1", "Alters the last access time of a key(s). Returns the number of existing keys specified.", cmdTouch),
		keyCmd("expire", -3, flagWrite|flagFast, 1, 1, 1, grpK, "1.0.0", "Set a key's time to live in seconds", expireCmd(1000, false, "expire")),
		keyCmd("pexpire", -3, flagWrite|flagFast, 1, 1, 1, grpK, "2.6.0", "Set a key's time to live in milliseconds", expireCmd(1, false, "pexpire")),
		keyCmd("expireat", -3, flagWrite|flagFast, 1, 1, 1, grpK, "1.2.0", "Set the expiration for a key as a UNIX timestamp", expireCmd(1000, true, "expireat")),
		keyCmd("pexpireat", -3, flagWrite|flagFast, 1, 1, 1, grpK, "2.6.0", "Set the expiration for a key as a UNIX timestamp specified in milliseconds", expireCmd(1, true, "pexpireat")),
		keyCmd("ttl", 2, roF, 1, 1, 1, grpK, "1.0.0", "Get the time to live for a key in seconds", ttlCmd(false, false)),
		keyCmd("pttl", 2, roF, 1, 1, 1, grpK, "2.6.0", "Get the time to live for a key in milliseconds", ttlCmd(true, false)),
		keyCmd("expiretime", 2, roF, 1, 1, 1, grpK, "7.0.0", "Get the expiration Unix timestamp for a key", ttlCmd(false, true)),
		keyCmd("pexpiretime", 2, roF, 1, 1, 1, grpK, "7.0.0", "Get the expiration Unix timestamp for a key in milliseconds", ttlCmd(true, true)),
		keyCmd("persist", 2, flagWrite|flagFast, 1, 1, 1, grpK, "2.2.0", "Remove the expiration from a key", cmdPersist),
		keyCmd("type", 2, roF, 1, 1, 1, grpK, "1.0.0", "Determine the type stored at key", cmdType),
		keyCmd("rename", 3, flagWrite, 1, 2, 1, grpK, "1.0.0", "Rename a key", cmdRename),
		keyCmd("renamenx", 3, flagWrite|flagFast, 1, 2, 1, grpK, "1.0.0", "Rename a key, only if the new key does not exist", cmdRenameNX),
		keyCmd("move", 3, flagWrite|flagFast, 1, 1, 1, grpK, "1.0.0", "Move a key to another database", cmdMove),
		keyCmd("copy", -3, flagWrite|flagDenyOOM, 1, 2, 1, grpK, "6.2.0", "Copy a key", cmdCopy),
		plainCmd("keys", 2, flagReadOnly|flagAllKeys, grpK, "1.0.0", "Find all keys matching the given pattern", cmdKeys),
		plainCmd("scan", -2, flagReadOnly|flagAllKeys, grpK, "2.8.0", "Incrementally iterate the keys space", cmdScan),
		plainCmd("randomkey", 1, flagReadOnly|flagAllKeys, grpK, "1.0.0", "Return a random key from the keyspace", cmdRandomKey),
		plainCmd("dbsize", 1, roF|flagAllKeys, "server", "1.0.0", "Return the number of keys in the selected database", cmdDBSize),
		plainCmd("flushdb", -1, flagWrite|flagAllKeys, "server", "1.0.0", "Remove all keys from the current database", cmdFlushDB),
		plainCmd("flushall", -1, flagWrite|flagAllKeys, "server", "1.0.0", "Remove all keys from all databases", cmdFlushAll),
	}
}

func cmdDel(c *client, tx *engine.Tx, args [][]byte) {
	var n int64
	for _, k := range args[1:] {
		ok, err := tx.Del(c.db, k)
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

func cmdExists(c *client, tx *engine.Tx, args [][]byte) {
	var n int64
	for _, k := range args[1:] {
		ok, err := tx.Exists(c.db, k)
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

// expireCmd builds EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT.
func expireCmd(unit int64, abs bool, name string) func(c *client, tx *engine.Tx, args [][]byte) {
	return func(c *client, tx *engine.Tx, args [][]byte) {
		// Options are checked before the time, as Redis does.
		var cond engine.ExpireCond
		for _, opt := range args[3:] {
			switch {
			case equalFold(opt, "nx"):
				cond |= engine.ExpireNX
			case equalFold(opt, "xx"):
				cond |= engine.ExpireXX
			case equalFold(opt, "gt"):
				cond |= engine.ExpireGT
			case equalFold(opt, "lt"):
				cond |= engine.ExpireLT
			default:
				c.writeError(formatted("ERR Unsupported option " + cString(opt)))
				return
			}
		}
		if cond&engine.ExpireNX != 0 && cond != engine.ExpireNX {
			c.writeError("ERR NX and XX, GT or LT options at the same time are not compatible")
			return
		}
		if cond&engine.ExpireGT != 0 && cond&engine.ExpireLT != 0 {
			c.writeError("ERR GT and LT options at the same time are not compatible")
			return
		}
		n, ok := parseInt(args[2])
		if !ok {
			c.writeError(msgNotInteger)
			return
		}
		if n > math.MaxInt64/unit || n < math.MinInt64/unit {
			c.writeError(errInvalidExpire(name))
			return
		}
		n *= unit
		if !abs {
			// Like Redis, only overflow is an error; a very negative
			// relative time wraps as it does there.
			if n > math.MaxInt64-tx.Now() {
				c.writeError(errInvalidExpire(name))
				return
			}
			n += tx.Now()
		}
		ok, err := tx.Expire(c.db, args[1], n, cond)
		if err != nil {
			c.writeEngineError(err)
			return
		}
		c.writeBool(ok)
	}
}

// ttlCmd builds TTL, PTTL, EXPIRETIME and PEXPIRETIME.
func ttlCmd(ms, abs bool) func(c *client, tx *engine.Tx, args [][]byte) {
	return func(c *client, tx *engine.Tx, args [][]byte) {
		at, err := tx.ExpireTime(c.db, args[1])
		if err != nil {
			c.writeEngineError(err)
			return
		}
		if at < 0 {
			c.writeInt(at)
			return
		}
		v := at
		if !abs {
			v = at - tx.Now()
			if v < 0 {
				v = 0
			}
		}
		if !ms {
			if abs {
				v /= 1000
			} else {
				v = (v + 500) / 1000
			}
		}
		c.writeInt(v)
	}
}

func cmdPersist(c *client, tx *engine.Tx, args [][]byte) {
	ok, err := tx.Persist(c.db, args[1])
	if err != nil {
		c.writeEngineError(err)
		return
	}
	c.writeBool(ok)
}

func cmdType(c *client, tx *engine.Tx, args [][]byte) {
	k, err := tx.Type(c.db, args[1])
	if err != nil {
		c.writeEngineError(err)
		return
	}
	c.writeSimple(k.String())
}

func cmdRename(c *client, tx *engine.Tx, args [][]byte) {
	if _, err := tx.Rename(c.db, args[1], args[2], false); err != nil {
		c.writeEngineError(err)
		return
	}
	c.writeOK()
}

func cmdRenameNX(c *client, tx *engine.Tx, args [][]byte) {
	ok, err := tx.Rename(c.db, args[1], args[2], true)
	if err != nil {
		c.writeEngineError(err)
		return
	}
	c.writeBool(ok)
}

// parseDB parses a database index argument, writing the error if it is bad.
func (c *client) parseDB(arg []byte) (int, bool) {
	n, ok := parseInt(arg)
	if !ok {
		c.writeError(msgNotInteger)
		return 0, false
	}
	if n < math.MinInt32 || n > math.MaxInt32 {
		c.writeError("ERR value is out of range, value must between -2147483648 and 2147483647")
		return 0, false
	}
	if n < 0 || n >= int64(c.s.eng.Databases()) {
		c.writeError(msgDBIndex)
		return 0, false
	}
	return int(n), true
}

func cmdMove(c *client, tx *engine.Tx, args [][]byte) {
	db, ok := c.parseDB(args[2])
	if !ok {
		return
	}
	moved, err := tx.Move(c.db, args[1], db)
	if err != nil {
		c.writeEngineError(err)
		return
	}
	c.writeBool(moved)
}

func cmdCopy(c *client, tx *engine.Tx, args [][]byte) {
	dstDB := c.db
	replace := false
	for i := 3; i < len(args); i++ {
		switch {
		case equalFold(args[i], "replace"):
			replace = true
		case equalFold(args[i], "db") && i+1 < len(args):
			i++
			db, ok := c.parseDB(args[i])
			if !ok {
				return
			}
			dstDB = db
		default:
			c.writeError(msgSyntax)
			return
		}
	}
	ok, err := tx.Copy(c.db, args[1], dstDB, args[2], replace)
	if err != nil {
		c.writeEngineError(err)
		return
	}
	c.writeBool(ok)
}

func cmdKeys(c *client, args [][]byte) {
	keys := c.engKeys(c.db, engine.ScanFilter{Pattern: args[1]})
	c.writeArray(len(keys))
	for _, k := range keys {
		c.writeBulk(k)
	}
}

func cmdScan(c *client, args [][]byte) {
	cursor, ok := parseCursor(args[1])
	if !ok {
		c.writeError(msgInvalidCursor)
		return
	}
	f := engine.ScanFilter{}
	count := 10
	for i := 2; i < len(args); i += 2 {
		if i+1 >= len(args) {
			c.writeError(msgSyntax)
			return
		}
		switch {
		case equalFold(args[i], "count"):
			n, ok := parseInt(args[i+1])
			if !ok {
				c.writeError(msgNotInteger)
				return
			}
			if n < 1 {
				c.writeError(msgSyntax)
				return
			}
			count = int(min(n, math.MaxInt32))
		case equalFold(args[i], "match"):
			f.Pattern = args[i+1]
		case equalFold(args[i], "type"):
			f.Kind = kindByName(args[i+1])
			if f.Kind == 0 {
				// Redis scans, but no key can match an unknown type.
				f.Kind = 255
			}
		default:
			c.writeError(msgSyntax)
			return
		}
	}
	keys, next := c.engScan(c.db, cursor, count, f)
	c.writeArray(2)
	c.writeBulkString(strconv.FormatUint(next, 10))
	c.writeArray(len(keys))
	for _, k := range keys {
		c.writeBulk(k)
	}
}

func kindByName(b []byte) engine.Kind {
	for k := engine.KindString; k <= engine.KindHash; k++ {
		if equalFold(b, k.String()) {
			return k
		}
	}
	return 0
}

func cmdRandomKey(c *client, args [][]byte) {
	k := c.engRandomKey(c.db)
	if k == nil {
		c.writeNull()
		return
	}
	c.writeBulk(k)
}

func cmdDBSize(c *client, args [][]byte) { c.writeInt(int64(c.engDBSize(c.db))) }

// flushMode checks FLUSHDB/FLUSHALL's optional ASYNC|SYNC.
func (c *client) flushMode(args [][]byte) bool {
	if len(args) > 2 || (len(args) == 2 && !equalFold(args[1], "async") && !equalFold(args[1], "sync")) {
		c.writeError(msgSyntax)
		return false
	}
	return true
}

func cmdFlushDB(c *client, args [][]byte) {
	if !c.flushMode(args) {
		return
	}
	if err := c.updateAll(func(tx *engine.Tx) error { return tx.FlushDB(c.db) }); err != nil {
		c.writeEngineError(err)
		return
	}
	c.writeOK()
}

func cmdFlushAll(c *client, args [][]byte) {
	if !c.flushMode(args) {
		return
	}
	if err := c.updateAll(func(tx *engine.Tx) error { return tx.FlushAll() }); err != nil {
		c.writeEngineError(err)
		return
	}
	c.writeOK()
}

// parseCursor parses a SCAN cursor as Redis does with strtoul: an optional
// sign, digits (none is 0), nothing else; a negative value wraps; overflow
// is an error.
func parseCursor(b []byte) (uint64, bool) {
	if len(b) > 0 && isSpaceByte(b[0]) {
		return 0, false
	}
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, true
	}
	n, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}
