package server

import (
	"math"

	"github.com/cairn-db/cairn/engine"
)

const grpL = "list"

// listCommands returns the lists command family.
func listCommands() []*command {
	wrNS := flagWrite | flagNoScript
	return []*command{
		keyCmd("lpush", -3, wrF, 1, 1, 1, grpL, "1.0.0", "Prepend one or multiple elements to a list", cmdLPush),
		keyCmd("rpush", -3, wrF, 1, 1, 1, grpL, "1.0.0", "Append one or multiple elements to a list", cmdRPush),
		keyCmd("lpushx", -3, wrF, 1, 1, 1, grpL, "2.2.0", "Prepend an element to a list, only if the list exists", cmdLPushX),
		keyCmd("rpushx", -3, wrF, 1, 1, 1, grpL, "2.2.0", "Append an element to a list, only if the list exists", cmdRPushX),
		keyCmd("lpop", -2, flagWrite|flagFast, 1, 1, 1, grpL, "1.0.0", "Remove and get the first elements in a list", cmdLPop),
		keyCmd("rpop", -2, flagWrite|flagFast, 1, 1, 1, grpL, "1.0.0", "Remove and get the last elements in a list", cmdRPop),
		keyCmd("llen", 2, roF, 1, 1, 1, grpL, "1.0.0", "Get the length of a list", cmdLLen),
		keyCmd("lrange", 4, flagReadOnly, 1, 1, 1, grpL, "1.0.0", "Get a range of elements from a list", cmdLRange),
		keyCmd("lindex", 3, flagReadOnly, 1, 1, 1, grpL, "1.0.0", "Get an element from a list by its index", cmdLIndex),
		keyCmd("lset", 4, wr, 1, 1, 1, grpL, "1.0.0", "Set the value of an element in a list by its index", cmdLSet),
		keyCmd("lrem", 4, flagWrite, 1, 1, 1, grpL, "1.0.0", "Remove elements from a list", cmdLRem),
		keyCmd("ltrim", 4, flagWrite, 1, 1, 1, grpL, "1.0.0", "Trim a list to the specified range", cmdLTrim),
		keyCmd("linsert", 5, wr, 1, 1, 1, grpL, "2.2.0", "Insert an element before or after another element in a list", cmdLInsert),
		keyCmd("lpos", -3, flagReadOnly, 1, 1, 1, grpL, "6.0.6", "Return the index of matching elements on a list", cmdLPos),
		keyCmd("rpoplpush", 3, wr, 1, 2, 1, grpL, "1.2.0", "Remove the last element in a list, prepend it to another list and return it", cmdRPopLPush),
		keyCmd("lmove", 5, wr, 1, 2, 1, grpL, "6.2.0", "Pop an element from a list, push it to another list and return it", cmdLMove),
		plainCmd("lmpop", -4, flagWrite|flagAllKeys, grpL, "7.0.0", "Pop elements from a list", cmdLMPop),
		blockCmd("blpop", -3, wrNS, 1, -2, grpL, "2.0.0", "Remove and get the first element in a list, or block until one is available", cmdBLPop),
		blockCmd("brpop", -3, wrNS, 1, -2, grpL, "2.0.0", "Remove and get the last element in a list, or block until one is available", cmdBRPop),
		blockCmd("brpoplpush", 4, wrNS|flagDenyOOM, 1, 2, grpL, "2.2.0", "Pop an element from a list, push it to another list and return it; or block until one is available", cmdBRPopLPush),
		blockCmd("blmove", 6, wrNS|flagDenyOOM, 1, 2, grpL, "6.2.0", "Pop an element from a list, push it to another list and return it; or block until one is available", cmdBLMove),
		plainCmd("blmpop", -5, wrNS|flagAllKeys, grpL, "7.0.0", "Pop elements from a list, or block until one is available", cmdBLMPop),
	}
}

// blockCmd is a blocking command with fixed key positions: it manages its
// own transactions (it may wait between them).
func blockCmd(name string, arity int, flags cmdFlag, first, last int, group, since, summary string,
	h func(c *client, args [][]byte)) *command {
	cmd := plainCmd(name, arity, flags, group, since, summary, h)
	cmd.firstKey, cmd.lastKey, cmd.step = first, last, 1
	return cmd
}

// listSyntax documents the family's arguments for COMMAND DOCS (see docs.go).
var listSyntax = map[string]string{
	"lpush":      "key element...",
	"rpush":      "key element...",
	"lpushx":     "key element...",
	"rpushx":     "key element...",
	"lpop":       "key [count]",
	"rpop":       "key [count]",
	"llen":       "key",
	"lrange":     "key start stop",
	"lindex":     "key index",
	"lset":       "key index element",
	"lrem":       "key count element",
	"ltrim":      "key start stop",
	"linsert":    "key (BEFORE | AFTER) pivot element",
	"lpos":       "key element [RANK rank] [COUNT num-matches] [MAXLEN len]",
	"rpoplpush":  "source destination",
	"lmove":      "source destination (LEFT | RIGHT) (LEFT | RIGHT)",
	"lmpop":      "numkeys key... (LEFT | RIGHT) [COUNT count]",
	"blpop":      "key... timeout",
	"brpop":      "key... timeout",
	"brpoplpush": "source destination timeout",
	"blmove":     "source destination (LEFT | RIGHT) (LEFT | RIGHT) timeout",
	"blmpop":     "timeout numkeys key... (LEFT | RIGHT) [COUNT count]",
}

func push(c *client, tx *engine.Tx, args [][]byte, head, onlyExisting bool) {
	n, err := tx.Push(c.db, args[1], args[2:], head, onlyExisting)
	if err != nil {
		c.writeEngineError(err)
		return
	}
	c.writeInt(n)
}

func cmdLPush(c *client, tx *engine.Tx, args [][]byte)  { push(c, tx, args, true, false) }
func cmdRPush(c *client, tx *engine.Tx, args [][]byte)  { push(c, tx, args, false, false) }
func cmdLPushX(c *client, tx *engine.Tx, args [][]byte) { push(c, tx, args, true, true) }
func cmdRPushX(c *client, tx *engine.Tx, args [][]byte) { push(c, tx, args, false, true) }

func pop(c *client, tx *engine.Tx, args [][]byte, head bool) {
	if len(args) > 3 {
		name := "rpop"
		if head {
			name = "lpop"
		}
		c.writeError(errWrongArity(name))
		return
	}
	if len(args) == 2 {
		v, err := tx.Pop1(c.db, args[1], head)
		switch {
		case err != nil:
			c.writeEngineError(err)
		case v == nil:
			c.writeNull()
		default:
			c.writeBulk(v)
		}
		return
	}
	n, ok := parseInt(args[2])
	if !ok || n < 0 {
		c.writeError("ERR value is out of range, must be positive")
		return
	}
	vals, err := tx.Pop(c.db, args[1], head, int(min(n, math.MaxInt32)))
	switch {
	case err != nil:
		c.writeEngineError(err)
	case vals == nil:
		c.writeNullArray()
	default:
		c.writeArray(len(vals))
		for _, v := range vals {
			c.writeBulk(v)
		}
	}
}

func cmdLPop(c *client, tx *engine.Tx, args [][]byte) { pop(c, tx, args, true) }
func cmdRPop(c *client, tx *engine.Tx, args [][]byte) { pop(c, tx, args, false) }

func cmdLLen(c *client, tx *engine.Tx, args [][]byte) {
	n, err := tx.LLen(c.db, args[1])
	if err != nil {
		c.writeEngineError(err)
		return
	}
	c.writeInt(n)
}

func cmdLRange(c *client, tx *engine.Tx, args [][]byte) {
	start, ok1 := parseInt(args[2])
	stop, ok2 := parseInt(args[3])
	if !ok1 || !ok2 {
		c.writeError(msgNotInteger)
		return
	}
	err := tx.LRange(c.db, args[1], start, stop, c.writeArray, c.writeBulk)
	if err != nil {
		c.writeEngineError(err)
	}
}

func cmdLIndex(c *client, tx *engine.Tx, args [][]byte) {
	// As Redis: the key is looked up before the index is parsed.
	if n, err := tx.LLen(c.db, args[1]); err != nil || n == 0 {
		if err != nil {
			c.writeEngineError(err)
		} else {
			c.writeNull()
		}
		return
	}
	i, ok := parseInt(args[2])
	if !ok {
		c.writeError(msgNotInteger)
		return
	}
	v, found, err := tx.LIndex(c.db, args[1], i)
	switch {
	case err != nil:
		c.writeEngineError(err)
	case !found:
		c.writeNull()
	default:
		c.writeBulk(v)
	}
}

func cmdLSet(c *client, tx *engine.Tx, args [][]byte) {
	if n, err := tx.LLen(c.db, args[1]); err != nil || n == 0 {
		if err != nil {
			c.writeEngineError(err)
		} else {
			c.writeError(msgNoSuchKey)
		}
		return
	}
	i, ok := parseInt(args[2])
	if !ok {
		c.writeError(msgNotInteger)
		return
	}
	if err := tx.LSet(c.db, args[1], i, args[3]); err != nil {
		if err == engine.ErrIndexRange {
			c.writeError("ERR index out of range")
		} else {
			c.writeEngineError(err)
		}
		return
	}
	c.writeOK()
}

func cmdLRem(c *client, tx *engine.Tx, args [][]byte) {
	n, ok := parseInt(args[2])
	if !ok {
		c.writeError(msgNotInteger)
		return
	}
	r, err := tx.LRem(c.db, args[1], n, args[3])
	if err != nil {
		c.writeEngineError(err)
		return
	}
	c.writeInt(r)
}

func cmdLTrim(c *client, tx *engine.Tx, args [][]byte) {
	start, ok1 := parseInt(args[2])
	stop, ok2 := parseInt(args[3])
	if !ok1 || !ok2 {
		c.writeError(msgNotInteger)
		return
	}
	if err := tx.LTrim(c.db, args[1], start, stop); err != nil {
		c.writeEngineError(err)
		return
	}
	c.writeOK()
}

func cmdLInsert(c *client, tx *engine.Tx, args [][]byte) {
	var before bool
	switch {
	case equalFold(args[2], "before"):
		before = true
	case equalFold(args[2], "after"):
	default:
		c.writeError(msgSyntax)
		return
	}
	n, err := tx.LInsert(c.db, args[1], before, args[3], args[4])
	if err != nil {
		c.writeEngineError(err)
		return
	}
	c.writeInt(n)
}

func cmdLPos(c *client, tx *engine.Tx, args [][]byte) {
	rank, count, maxlen := int64(1), int64(-1), int64(0)
	for i := 3; i < len(args); i++ {
		more := i+1 < len(args)
		switch {
		case equalFold(args[i], "rank") && more:
			i++
			r, ok := parseInt(args[i])
			if !ok {
				c.writeError(msgNotInteger)
				return
			}
			if r == 0 {
				c.writeError("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")
				return
			}
			rank = r
		case equalFold(args[i], "count") && more:
			i++
			n, ok := parseInt(args[i])
			if !ok || n < 0 {
				c.writeError("ERR COUNT can't be negative")
				return
			}
			count = n
		case equalFold(args[i], "maxlen") && more:
			i++
			n, ok := parseInt(args[i])
			if !ok || n < 0 {
				c.writeError("ERR MAXLEN can't be negative")
				return
			}
			maxlen = n
		default:
			c.writeError(msgSyntax)
			return
		}
	}
	want := count
	if want < 0 {
		want = 1
	}
	pos, err := tx.LPos(c.db, args[1], args[2], rank, want, maxlen)
	if err != nil {
		c.writeEngineError(err)
		return
	}
	if count < 0 {
		if len(pos) == 0 {
			c.writeNull()
		} else {
			c.writeInt(pos[0])
		}
		return
	}
	c.writeArray(len(pos))
	for _, p := range pos {
		c.writeInt(p)
	}
}

// parseWhere reads LEFT or RIGHT: true for LEFT (the head).
func parseWhere(arg []byte) (head bool, ok bool) {
	switch {
	case equalFold(arg, "left"):
		return true, true
	case equalFold(arg, "right"):
		return false, true
	}
	return false, false
}

func lmove(c *client, tx *engine.Tx, src, dst []byte, fromHead, toHead bool) {
	v, found, err := tx.LMove(c.db, src, dst, fromHead, toHead)
	switch {
	case err != nil:
		c.writeEngineError(err)
	case !found:
		c.writeNull()
	default:
		c.writeBulk(v)
	}
}

func cmdRPopLPush(c *client, tx *engine.Tx, args [][]byte) {
	lmove(c, tx, args[1], args[2], false, true)
}

func cmdLMove(c *client, tx *engine.Tx, args [][]byte) {
	from, ok1 := parseWhere(args[3])
	to, ok2 := parseWhere(args[4])
	if !ok1 || !ok2 {
		c.writeError(msgSyntax)
		return
	}
	lmove(c, tx, args[1], args[2], from, to)
}

// mpopArgs parses "numkeys key... where [COUNT count]" from args[at:] for
// LMPOP/BLMPOP (zset: MIN|MAX for ZMPOP/BZMPOP). It writes errors itself.
func (c *client) mpopArgs(args [][]byte, at int, zset bool) (keys [][]byte, head bool, count int, ok bool) {
	n, isInt := parseInt(args[at])
	if !isInt || n <= 0 {
		c.writeError("ERR numkeys should be greater than 0")
		return nil, false, 0, false
	}
	whereAt := int64(at) + n + 1
	if whereAt >= int64(len(args)) {
		c.writeError(msgSyntax)
		return nil, false, 0, false
	}
	w := args[whereAt]
	if zset {
		switch {
		case equalFold(w, "min"):
			head = true
		case equalFold(w, "max"):
		default:
			c.writeError(msgSyntax)
			return nil, false, 0, false
		}
	} else {
		h, good := parseWhere(w)
		if !good {
			c.writeError(msgSyntax)
			return nil, false, 0, false
		}
		head = h
	}
	cnt := int64(-1)
	for i := int(whereAt) + 1; i < len(args); i++ {
		if cnt == -1 && equalFold(args[i], "count") && i+1 < len(args) {
			i++
			v, good := parseInt(args[i])
			if !good || v <= 0 {
				c.writeError("ERR count should be greater than 0")
				return nil, false, 0, false
			}
			cnt = v
			continue
		}
		c.writeError(msgSyntax)
		return nil, false, 0, false
	}
	if cnt == -1 {
		cnt = 1
	}
	return args[at+1 : whereAt], head, int(min(cnt, math.MaxInt32)), true
}

// listPopReply pops up to count from key and writes [key, [elements...]];
// false when the key is missing (or on error, written).
func listMPopKey(c *client, tx *engine.Tx, key []byte, head bool, count int) (bool, error) {
	n, err := tx.ListLen(c.db, key)
	if err != nil || n == 0 {
		return false, err
	}
	vals, err := tx.Pop(c.db, key, head, count)
	if err != nil {
		return false, err
	}
	c.writeArray(2)
	c.writeBulk(key)
	c.writeArray(len(vals))
	for _, v := range vals {
		c.writeBulk(v)
	}
	return true, nil
}

// popFirst runs pop on the first key that can serve it, in order; a key of
// the wrong type answers WRONGTYPE. It reports whether it answered.
func popFirst(c *client, tx *engine.Tx, keys [][]byte, pop func(key []byte) (bool, error)) bool {
	for _, k := range keys {
		done, err := pop(k)
		if err != nil {
			c.writeEngineError(err)
			return true
		}
		if done {
			return true
		}
	}
	return false
}

func cmdLMPop(c *client, args [][]byte) {
	keys, head, count, ok := c.mpopArgs(args, 1, false)
	if !ok {
		return
	}
	c.update(keys, func(tx *engine.Tx) error {
		if !popFirst(c, tx, keys, func(k []byte) (bool, error) { return listMPopKey(c, tx, k, head, count) }) {
			c.writeNullArray()
		}
		return nil
	})
}

// blockingPop is BLPOP/BRPOP.
func blockingPop(c *client, args [][]byte, head bool) {
	timeout, ok := c.parseTimeout(args[len(args)-1])
	if !ok {
		return
	}
	keys := cloneArgs(args[1 : len(args)-1])
	popOne := func(c *client, tx *engine.Tx, k []byte) (bool, error) {
		n, err := tx.ListLen(c.db, k)
		if err != nil || n == 0 {
			return false, err
		}
		v, err := tx.Pop1(c.db, k, head)
		if err != nil {
			return false, err
		}
		c.writeArray(2)
		c.writeBulk(k)
		c.writeBulk(v)
		return true, nil
	}
	c.blockPop(keys, timeout, popOne)
}

// serveOnce runs a served waiter's pop in a transaction of its own and
// reports whether it answered (an error reply counts as an answer).
func (c *client) serveOnce(lockKeys [][]byte, fn func(tx *engine.Tx) (bool, error)) bool {
	answered := false
	err := c.s.eng.Update(lockKeys, func(tx *engine.Tx) error {
		done, err := fn(tx)
		if err != nil {
			if err == engine.ErrWrongType && !done {
				return nil // the key changed type: not ready
			}
			c.writeEngineError(err)
			answered = true
			return nil
		}
		answered = done
		return nil
	})
	if err != nil {
		c.s.log.Error("commit failed", "err", err)
	}
	return answered
}

func cloneArgs(args [][]byte) [][]byte {
	out := make([][]byte, len(args))
	for i, a := range args {
		out[i] = append([]byte(nil), a...)
	}
	return out
}

func cmdBLPop(c *client, args [][]byte) { blockingPop(c, args, true) }
func cmdBRPop(c *client, args [][]byte) { blockingPop(c, args, false) }

// blockingMove is BLMOVE/BRPOPLPUSH.
func blockingMove(c *client, src, dst []byte, fromHead, toHead bool, timeoutArg []byte) {
	timeout, ok := c.parseTimeout(timeoutArg)
	if !ok {
		return
	}
	src, dst = append([]byte(nil), src...), append([]byte(nil), dst...)
	move := func(c *client, tx *engine.Tx) (bool, error) {
		n, err := tx.ListLen(c.db, src)
		if err != nil || n == 0 {
			return false, err
		}
		v, _, err := tx.LMove(c.db, src, dst, fromHead, toHead)
		if err != nil {
			return true, err
		}
		c.writeBulk(v)
		return true, nil
	}
	c.blockOn([][]byte{src, dst}, [][]byte{src}, timeout, true,
		func(tx *engine.Tx) bool {
			done, err := move(c, tx)
			if err != nil {
				c.writeEngineError(err)
				return true
			}
			return done
		},
		func(key []byte, out *client) bool {
			// What it pushes to dst is served by the loop in serveReady.
			return out.serveOnce([][]byte{src, dst}, func(tx *engine.Tx) (bool, error) { return move(out, tx) })
		})
}

func cmdBRPopLPush(c *client, args [][]byte) {
	blockingMove(c, args[1], args[2], false, true, args[3])
}

func cmdBLMove(c *client, args [][]byte) {
	from, ok1 := parseWhere(args[3])
	to, ok2 := parseWhere(args[4])
	if !ok1 || !ok2 {
		c.writeError(msgSyntax)
		return
	}
	blockingMove(c, args[1], args[2], from, to, args[5])
}

func cmdBLMPop(c *client, args [][]byte) {
	keys, head, count, ok := c.mpopArgs(args, 2, false)
	if !ok {
		return
	}
	timeout, ok := c.parseTimeout(args[1])
	if !ok {
		return
	}
	keys = cloneArgs(keys)
	c.blockPop(keys, timeout, func(c *client, tx *engine.Tx, k []byte) (bool, error) {
		return listMPopKey(c, tx, k, head, count)
	})
}
