package server

import (
	"errors"
	"math"
	"strconv"

	"github.com/cairn-db/cairn/engine"
	"github.com/cairn-db/cairn/internal/glob"
)

const grpH = "hash"

// hashCommands returns the hashes command family.
func hashCommands() []*command {
	return withFieldFlag([]*command{
		keyCmd("hset", -4, wrF, 1, 1, 1, grpH, "2.0.0", "Set the string value of a hash field", cmdHSet),
		keyCmd("hsetnx", 4, wrF, 1, 1, 1, grpH, "2.0.0", "Set the value of a hash field, only if the field does not exist", cmdHSetNX),
		keyCmd("hget", 3, roF, 1, 1, 1, grpH, "2.0.0", "Get the value of a hash field", cmdHGet),
		keyCmd("hmset", -4, wrF, 1, 1, 1, grpH, "2.0.0", "Set multiple hash fields to multiple values", cmdHMSet),
		keyCmd("hmget", -3, roF, 1, 1, 1, grpH, "2.0.0", "Get the values of all the given hash fields", cmdHMGet),
		keyCmd("hgetall", 2, flagReadOnly, 1, 1, 1, grpH, "2.0.0", "Get all the fields and values in a hash", cmdHGetAll),
		keyCmd("hdel", -3, flagWrite|flagFast, 1, 1, 1, grpH, "2.0.0", "Delete one or more hash fields", cmdHDel),
		keyCmd("hexists", 3, roF, 1, 1, 1, grpH, "2.0.0", "Determine if a hash field exists", cmdHExists),
		keyCmd("hlen", 2, roF, 1, 1, 1, grpH, "2.0.0", "Get the number of fields in a hash", cmdHLen),
		keyCmd("hkeys", 2, flagReadOnly, 1, 1, 1, grpH, "2.0.0", "Get all the fields in a hash", cmdHKeys),
		keyCmd("hvals", 2, flagReadOnly, 1, 1, 1, grpH, "2.0.0", "Get all the values in a hash", cmdHVals),
		keyCmd("hincrby", 4, wrF, 1, 1, 1, grpH, "2.0.0", "Increment the integer value of a hash field by the given number", cmdHIncrBy),
		keyCmd("hincrbyfloat", 4, wrF, 1, 1, 1, grpH, "2.6.0", "Increment the float value of a hash field by the given amount", cmdHIncrByFloat),
		keyCmd("hstrlen", 3, roF, 1, 1, 1, grpH, "3.2.0", "Get the length of the value of a hash field", cmdHStrlen),
		keyCmd("hrandfield", -2, flagReadOnly, 1, 1, 1, grpH, "6.2.0", "Get one or multiple random fields from a hash", cmdHRandField),
		keyCmd("hscan", -3, flagReadOnly, 1, 1, 1, grpH, "2.8.0", "Incrementally iterate hash fields and associated values", cmdHScan),
	}, "hset", "hsetnx", "hget", "hmset", "hmget", "hdel", "hexists", "hincrby", "hincrbyfloat", "hstrlen")
}

// hashSyntax documents the family's arguments for COMMAND DOCS (see docs.go).
var hashSyntax = map[string]string{
	"hset":         "key (field value)...",
	"hsetnx":       "key field value",
	"hget":         "key field",
	"hmset":        "key (field value)...",
	"hmget":        "key field...",
	"hgetall":      "key",
	"hdel":         "key field...",
	"hexists":      "key field",
	"hlen":         "key",
	"hkeys":        "key",
	"hvals":        "key",
	"hincrby":      "key field increment",
	"hincrbyfloat": "key field increment",
	"hstrlen":      "key field",
	"hrandfield":   "key [count [WITHVALUES]]",
	"hscan":        "key cursor [MATCH pattern] [COUNT count]",
}

// writeCollError writes the Redis text of an error of the hash or set
// commands.
func (c *client) writeCollError(err error) {
	switch {
	case errors.Is(err, engine.ErrHashNotInteger):
		c.writeError("ERR hash value is not an integer")
	case errors.Is(err, engine.ErrHashNotFloat):
		c.writeError("ERR hash value is not a float")
	case errors.Is(err, engine.ErrIncrNaNOrInf):
		c.writeError("ERR value is NaN or Infinity")
	default:
		c.writeEngineError(err)
	}
}

func hsetCommon(c *client, tx *engine.Tx, args [][]byte, name string) bool {
	if len(args)%2 != 0 {
		c.writeError(errWrongArity(name))
		return false
	}
	n, err := tx.HSet(c.db, args[1], args[2:])
	if err != nil {
		c.writeCollError(err)
		return false
	}
	if name == "hset" {
		c.writeInt(int64(n))
	}
	return true
}

func cmdHSet(c *client, tx *engine.Tx, args [][]byte) { hsetCommon(c, tx, args, "hset") }

func cmdHMSet(c *client, tx *engine.Tx, args [][]byte) {
	if hsetCommon(c, tx, args, "hmset") {
		c.writeOK()
	}
}

func cmdHSetNX(c *client, tx *engine.Tx, args [][]byte) {
	ok, err := tx.HSetNX(c.db, args[1], args[2], args[3])
	if err != nil {
		c.writeCollError(err)
		return
	}
	c.writeBool(ok)
}

// readHash reads key's hash, writing the error if any; ok is false after
// an error.
func (c *client) readHash(tx *engine.Tx, key []byte) (r engine.HashReader, found, ok bool) {
	r, found, err := tx.ReadHash(c.db, key)
	if err != nil {
		c.writeCollError(err)
		return r, false, false
	}
	return r, found, true
}

func cmdHGet(c *client, tx *engine.Tx, args [][]byte) {
	r, found, ok := c.readHash(tx, args[1])
	if !ok {
		return
	}
	if found {
		if v, has := r.Get(args[2]); has {
			c.writeBulk(v)
			return
		}
	}
	c.writeNull()
}

func cmdHMGet(c *client, tx *engine.Tx, args [][]byte) {
	r, found, ok := c.readHash(tx, args[1])
	if !ok {
		return
	}
	c.writeArray(len(args) - 2)
	for _, f := range args[2:] {
		if found {
			if v, has := r.Get(f); has {
				c.writeBulk(v)
				continue
			}
		}
		c.writeNull()
	}
}

// hashDump writes HGETALL (fields and values), HKEYS or HVALS.
func hashDump(c *client, tx *engine.Tx, args [][]byte, fields, vals bool) {
	r, found, ok := c.readHash(tx, args[1])
	if !ok {
		return
	}
	if !found {
		c.writeArray(0)
		return
	}
	n := r.Len()
	if fields && vals {
		n *= 2
	}
	c.writeArray(n)
	r.Each(func(f, v []byte) bool {
		if fields {
			c.writeBulk(f)
		}
		if vals {
			c.writeBulk(v)
		}
		return true
	})
}

func cmdHGetAll(c *client, tx *engine.Tx, args [][]byte) { hashDump(c, tx, args, true, true) }
func cmdHKeys(c *client, tx *engine.Tx, args [][]byte)   { hashDump(c, tx, args, true, false) }
func cmdHVals(c *client, tx *engine.Tx, args [][]byte)   { hashDump(c, tx, args, false, true) }

func cmdHDel(c *client, tx *engine.Tx, args [][]byte) {
	n, err := tx.HDel(c.db, args[1], args[2:])
	if err != nil {
		c.writeCollError(err)
		return
	}
	c.writeInt(int64(n))
}

func cmdHExists(c *client, tx *engine.Tx, args [][]byte) {
	r, found, ok := c.readHash(tx, args[1])
	if !ok {
		return
	}
	has := false
	if found {
		_, has = r.Get(args[2])
	}
	c.writeBool(has)
}

func cmdHLen(c *client, tx *engine.Tx, args [][]byte) {
	r, found, ok := c.readHash(tx, args[1])
	if !ok {
		return
	}
	if !found {
		c.writeInt(0)
		return
	}
	c.writeInt(int64(r.Len()))
}

func cmdHStrlen(c *client, tx *engine.Tx, args [][]byte) {
	r, found, ok := c.readHash(tx, args[1])
	if !ok {
		return
	}
	var v []byte
	if found {
		v, _ = r.Get(args[2])
	}
	c.writeInt(int64(len(v)))
}

func cmdHIncrBy(c *client, tx *engine.Tx, args [][]byte) {
	d, ok := parseInt(args[3])
	if !ok {
		c.writeError(msgNotInteger)
		return
	}
	v, err := tx.HIncrBy(c.db, args[1], args[2], d)
	if err != nil {
		c.writeCollError(err)
		return
	}
	c.writeInt(v)
}

func cmdHIncrByFloat(c *client, tx *engine.Tx, args [][]byte) {
	v, err := tx.HIncrByFloat(c.db, args[1], args[2], args[3])
	if err != nil {
		c.writeCollError(err)
		return
	}
	c.writeBulk(v)
}

// parseRandCount parses the count of HRANDFIELD and SRANDMEMBER: an
// integer within ±LONG_MAX.
func (c *client) parseRandCount(arg []byte) (int64, bool) {
	n, ok := parseInt(arg)
	if !ok {
		c.writeError(msgNotInteger)
		return 0, false
	}
	if n == math.MinInt64 {
		c.writeError("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
		return 0, false
	}
	return n, true
}

func cmdHRandField(c *client, tx *engine.Tx, args [][]byte) {
	if len(args) == 2 {
		r, found, ok := c.readHash(tx, args[1])
		if !ok {
			return
		}
		if !found {
			c.writeNull()
			return
		}
		f, _ := r.Random()
		c.writeBulk(f)
		return
	}
	n, ok := c.parseRandCount(args[2])
	if !ok {
		return
	}
	withValues := false
	if len(args) > 4 || (len(args) == 4 && !equalFold(args[3], "withvalues")) {
		c.writeError(msgSyntax)
		return
	} else if len(args) == 4 {
		withValues = true
		if n < -math.MaxInt64/2 || n > math.MaxInt64/2 {
			c.writeError("ERR value is out of range")
			return
		}
	}
	r, found, ok := c.readHash(tx, args[1])
	if !ok {
		return
	}
	if !found || n == 0 {
		c.writeArray(0)
		return
	}
	per := 1
	if withValues {
		per = 2
	}
	writePair := func(f, v []byte) {
		c.writeBulk(f)
		if withValues {
			c.writeBulk(v)
		}
	}
	size := int64(r.Len())
	if n < 0 || n == 1 {
		// Repeats allowed: n independent draws.
		if n < 0 {
			n = -n
		}
		c.writeArray(int(n) * per)
		for i := int64(0); i < n; i++ {
			writePair(r.Random())
		}
		return
	}
	if n >= size {
		c.writeArray(int(size) * per)
		r.Each(func(f, v []byte) bool { writePair(f, v); return true })
		return
	}
	// n distinct fields: draw until there are n, or, when n is most of the
	// hash, draw the ones to leave out.
	picked := make(map[string]bool, n)
	if n*3 > size {
		drop := size - n
		for int64(len(picked)) < drop {
			f, _ := r.Random()
			picked[string(f)] = true
		}
		c.writeArray(int(n) * per)
		r.Each(func(f, v []byte) bool {
			if !picked[string(f)] {
				writePair(f, v)
			}
			return true
		})
		return
	}
	c.writeArray(int(n) * per)
	for int64(len(picked)) < n {
		f, v := r.Random()
		if !picked[string(f)] {
			picked[string(f)] = true
			writePair(f, v)
		}
	}
}

// scanOptions are the MATCH and COUNT of HSCAN, SSCAN (and ZSCAN).
type scanOptions struct {
	pattern []byte
	count   int
}

// parseScanOptions parses args[from:] as Redis's scanGenericCommand does,
// writing the error if they are bad.
func (c *client) parseScanOptions(args [][]byte, from int) (scanOptions, bool) {
	o := scanOptions{count: 10}
	for i := from; i < len(args); i += 2 {
		if i+1 >= len(args) {
			c.writeError(msgSyntax)
			return o, false
		}
		switch {
		case equalFold(args[i], "count"):
			n, ok := parseInt(args[i+1])
			if !ok {
				c.writeError(msgNotInteger)
				return o, false
			}
			if n < 1 {
				c.writeError(msgSyntax)
				return o, false
			}
			o.count = int(min(n, math.MaxInt32))
		case equalFold(args[i], "match"):
			o.pattern = args[i+1]
		default:
			c.writeError(msgSyntax)
			return o, false
		}
	}
	return o, true
}

func (o *scanOptions) match(b []byte) bool {
	if o.pattern == nil || (len(o.pattern) == 1 && o.pattern[0] == '*') {
		return true
	}
	return glob.Match(o.pattern, b)
}

// writeScanReply writes [cursor, items].
func (c *client) writeScanReply(cursor uint64, items [][]byte) {
	c.writeArray(2)
	c.writeBulkString(strconv.FormatUint(cursor, 10))
	c.writeArray(len(items))
	for _, it := range items {
		c.writeBulk(it)
	}
}

func cmdHScan(c *client, tx *engine.Tx, args [][]byte) {
	cursor, ok := parseCursor(args[2])
	if !ok {
		c.writeError(msgInvalidCursor)
		return
	}
	r, found, ok := c.readHash(tx, args[1])
	if !ok {
		return
	}
	if !found {
		c.writeScanReply(0, nil)
		return
	}
	o, ok := c.parseScanOptions(args, 3)
	if !ok {
		return
	}
	var items [][]byte
	next := r.Scan(cursor, o.count, func(f, v []byte) {
		if o.match(f) {
			items = append(items, f, v)
		}
	})
	c.writeScanReply(next, items)
}
