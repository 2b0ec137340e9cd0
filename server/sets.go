package server

import (
	"math"

	"github.com/cairn-db/cairn/engine"
)

const grpSet = "set"

// setCommands returns the sets command family.
func setCommands() []*command {
	return withFieldFlag([]*command{
		keyCmd("sadd", -3, wrF, 1, 1, 1, grpSet, "1.0.0", "Add one or more members to a set", cmdSAdd),
		keyCmd("srem", -3, flagWrite|flagFast, 1, 1, 1, grpSet, "1.0.0", "Remove one or more members from a set", cmdSRem),
		keyCmd("smembers", 2, flagReadOnly, 1, 1, 1, grpSet, "1.0.0", "Get all the members in a set", cmdSMembers),
		keyCmd("sismember", 3, roF, 1, 1, 1, grpSet, "1.0.0", "Determine if a given value is a member of a set", cmdSIsMember),
		keyCmd("smismember", -3, roF, 1, 1, 1, grpSet, "6.2.0", "Returns the membership associated with the given elements for a set", cmdSMIsMember),
		keyCmd("scard", 2, roF, 1, 1, 1, grpSet, "1.0.0", "Get the number of members in a set", cmdSCard),
		keyCmd("spop", -2, flagWrite|flagFast, 1, 1, 1, grpSet, "1.0.0", "Remove and return one or multiple random members from a set", cmdSPop),
		keyCmd("srandmember", -2, flagReadOnly, 1, 1, 1, grpSet, "1.0.0", "Get one or multiple random members from a set", cmdSRandMember),
		keyCmd("smove", 4, flagWrite|flagFast, 1, 2, 1, grpSet, "1.0.0", "Move a member from one set to another", cmdSMove),
		keyCmd("sinter", -2, flagReadOnly, 1, -1, 1, grpSet, "1.0.0", "Intersect multiple sets", setOpCmd(engine.SetInter)),
		keyCmd("sunion", -2, flagReadOnly, 1, -1, 1, grpSet, "1.0.0", "Add multiple sets", setOpCmd(engine.SetUnion)),
		keyCmd("sdiff", -2, flagReadOnly, 1, -1, 1, grpSet, "1.0.0", "Subtract multiple sets", setOpCmd(engine.SetDiff)),
		keyCmd("sinterstore", -3, wr, 1, -1, 1, grpSet, "1.0.0", "Intersect multiple sets and store the resulting set in a key", setOpStoreCmd(engine.SetInter)),
		keyCmd("sunionstore", -3, wr, 1, -1, 1, grpSet, "1.0.0", "Add multiple sets and store the resulting set in a key", setOpStoreCmd(engine.SetUnion)),
		keyCmd("sdiffstore", -3, wr, 1, -1, 1, grpSet, "1.0.0", "Subtract multiple sets and store the resulting set in a key", setOpStoreCmd(engine.SetDiff)),
		plainCmd("sintercard", -3, flagReadOnly|flagAllKeys, grpSet, "7.0.0", "Intersect multiple sets and return the cardinality of the result", cmdSInterCard),
		keyCmd("sscan", -3, flagReadOnly, 1, 1, 1, grpSet, "2.8.0", "Incrementally iterate Set elements", cmdSScan),
	}, "sadd", "srem", "sismember", "smismember")
}

// setSyntax documents the family's arguments for COMMAND DOCS (see docs.go).
var setSyntax = map[string]string{
	"sadd":        "key member...",
	"srem":        "key member...",
	"smembers":    "key",
	"sismember":   "key member",
	"smismember":  "key member...",
	"scard":       "key",
	"spop":        "key [count]",
	"srandmember": "key [count]",
	"smove":       "source destination member",
	"sinter":      "key...",
	"sunion":      "key...",
	"sdiff":       "key...",
	"sinterstore": "destination key...",
	"sunionstore": "destination key...",
	"sdiffstore":  "destination key...",
	"sintercard":  "numkeys key... [LIMIT limit]",
	"sscan":       "key cursor [MATCH pattern] [COUNT count]",
}

func cmdSAdd(c *client, tx *engine.Tx, args [][]byte) {
	n, err := tx.SAdd(c.db, args[1], args[2:])
	if err != nil {
		c.writeCollError(err)
		return
	}
	c.writeInt(int64(n))
}

func cmdSRem(c *client, tx *engine.Tx, args [][]byte) {
	n, err := tx.SRem(c.db, args[1], args[2:])
	if err != nil {
		c.writeCollError(err)
		return
	}
	c.writeInt(int64(n))
}

func (c *client) readSet(tx *engine.Tx, key []byte) (r engine.SetReader, found, ok bool) {
	r, found, err := tx.ReadSet(c.db, key)
	if err != nil {
		c.writeCollError(err)
		return r, false, false
	}
	return r, found, true
}

// writeSet writes every member of r.
func (c *client) writeSet(r engine.SetReader) {
	c.writeArray(r.Len())
	r.Each(func(m []byte) bool { c.writeBulk(m); return true })
}

func cmdSMembers(c *client, tx *engine.Tx, args [][]byte) {
	r, _, ok := c.readSet(tx, args[1])
	if ok {
		c.writeSet(r)
	}
}

func cmdSIsMember(c *client, tx *engine.Tx, args [][]byte) {
	r, _, ok := c.readSet(tx, args[1])
	if ok {
		c.writeBool(r.Has(args[2]))
	}
}

func cmdSMIsMember(c *client, tx *engine.Tx, args [][]byte) {
	r, _, ok := c.readSet(tx, args[1])
	if !ok {
		return
	}
	c.writeArray(len(args) - 2)
	for _, m := range args[2:] {
		c.writeBool(r.Has(m))
	}
}

func cmdSCard(c *client, tx *engine.Tx, args [][]byte) {
	r, _, ok := c.readSet(tx, args[1])
	if ok {
		c.writeInt(int64(r.Len()))
	}
}

func cmdSPop(c *client, tx *engine.Tx, args [][]byte) {
	count := -1
	if len(args) == 3 {
		n, ok := parseInt(args[2])
		if !ok || n < 0 {
			c.writeError("ERR value is out of range, must be positive")
			return
		}
		count = int(min(n, math.MaxInt))
	} else if len(args) > 3 {
		c.writeError(msgSyntax)
		return
	}
	out, err := tx.SPop(c.db, args[1], count)
	if err != nil {
		c.writeCollError(err)
		return
	}
	if count < 0 {
		if len(out) == 0 {
			c.writeNull()
		} else {
			c.writeBulk(out[0])
		}
		return
	}
	c.writeArray(len(out))
	for _, m := range out {
		c.writeBulk(m)
	}
}

func cmdSRandMember(c *client, tx *engine.Tx, args [][]byte) {
	var buf [20]byte
	if len(args) == 2 {
		r, found, ok := c.readSet(tx, args[1])
		if !ok {
			return
		}
		if !found {
			c.writeNull()
			return
		}
		c.writeBulk(r.Random(buf[:]))
		return
	}
	if len(args) > 3 {
		c.writeError(msgSyntax)
		return
	}
	n, ok := c.parseRandCount(args[2])
	if !ok {
		return
	}
	r, found, ok := c.readSet(tx, args[1])
	if !ok {
		return
	}
	if !found || n == 0 {
		c.writeArray(0)
		return
	}
	size := int64(r.Len())
	if n < 0 || n == 1 {
		if n < 0 {
			n = -n
		}
		c.writeArray(int(n))
		for i := int64(0); i < n; i++ {
			c.writeBulk(r.Random(buf[:]))
		}
		return
	}
	if n >= size {
		c.writeSet(r)
		return
	}
	picked := make(map[string]bool, n)
	c.writeArray(int(n))
	if n*3 > size {
		for drop := size - n; int64(len(picked)) < drop; {
			picked[string(r.Random(buf[:]))] = true
		}
		r.Each(func(m []byte) bool {
			if !picked[string(m)] {
				c.writeBulk(m)
			}
			return true
		})
		return
	}
	for int64(len(picked)) < n {
		m := r.Random(buf[:])
		if !picked[string(m)] {
			picked[string(m)] = true
			c.writeBulk(m)
		}
	}
}

func cmdSMove(c *client, tx *engine.Tx, args [][]byte) {
	ok, err := tx.SMove(c.db, args[1], args[2], args[3])
	if err != nil {
		c.writeCollError(err)
		return
	}
	c.writeBool(ok)
}

func setOpCmd(op engine.SetOp) func(c *client, tx *engine.Tx, args [][]byte) {
	return func(c *client, tx *engine.Tx, args [][]byte) {
		r, err := tx.SetCombine(c.db, op, args[1:])
		if err != nil {
			c.writeCollError(err)
			return
		}
		c.writeSet(r)
	}
}

func setOpStoreCmd(op engine.SetOp) func(c *client, tx *engine.Tx, args [][]byte) {
	return func(c *client, tx *engine.Tx, args [][]byte) {
		n, err := tx.SetCombineStore(c.db, op, args[1], args[2:])
		if err != nil {
			c.writeCollError(err)
			return
		}
		c.writeInt(int64(n))
	}
}

func cmdSInterCard(c *client, args [][]byte) {
	numkeys, ok := parseInt(args[1])
	if !ok || numkeys < 1 {
		c.writeError("ERR numkeys should be greater than 0")
		return
	}
	if numkeys > int64(len(args)-2) {
		c.writeError("ERR Number of keys can't be greater than number of args")
		return
	}
	keys := args[2 : 2+numkeys]
	limit := int64(0)
	for j := 2 + int(numkeys); j < len(args); j++ {
		if equalFold(args[j], "limit") && j+1 < len(args) {
			j++
			n, ok := parseInt(args[j])
			if !ok || n < 0 {
				c.writeError("ERR LIMIT can't be negative")
				return
			}
			limit = n
		} else {
			c.writeError(msgSyntax)
			return
		}
	}
	var n int
	err := c.view(keys, func(tx *engine.Tx) error {
		var err error
		n, err = tx.SInterCard(c.db, keys, int(min(limit, math.MaxInt32)))
		return err
	})
	if err != nil {
		c.writeCollError(err)
		return
	}
	c.writeInt(int64(n))
}

func cmdSScan(c *client, tx *engine.Tx, args [][]byte) {
	cursor, ok := parseCursor(args[2])
	if !ok {
		c.writeError(msgInvalidCursor)
		return
	}
	r, found, ok := c.readSet(tx, args[1])
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
	next := r.Scan(cursor, o.count, func(m []byte) {
		if o.match(m) {
			items = append(items, append([]byte(nil), m...))
		}
	})
	c.writeScanReply(next, items)
}
