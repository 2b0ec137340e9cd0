package server

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/cairn-db/cairn/engine"
	"github.com/cairn-db/cairn/internal/glob"
)

const grpZ = "sorted-set"

// zsetCommands returns the sorted-set command family.
func zsetCommands() []*command {
	ro := flagReadOnly
	return []*command{
		keyCmd("zadd", -4, wrF, 1, 1, 1, grpZ, "1.2.0", "Add one or more members to a sorted set, or update its score if it already exists", cmdZAdd),
		keyCmd("zincrby", 4, wrF, 1, 1, 1, grpZ, "1.2.0", "Increment the score of a member in a sorted set", cmdZIncrBy),
		keyCmd("zrem", -3, flagWrite|flagFast, 1, 1, 1, grpZ, "1.2.0", "Remove one or more members from a sorted set", cmdZRem),
		keyCmd("zscore", 3, roF, 1, 1, 1, grpZ, "1.2.0", "Get the score associated with the given member in a sorted set", cmdZScore),
		keyCmd("zmscore", -3, roF, 1, 1, 1, grpZ, "6.2.0", "Get the score associated with the given members in a sorted set", cmdZMScore),
		keyCmd("zcard", 2, roF, 1, 1, 1, grpZ, "1.2.0", "Get the number of members in a sorted set", cmdZCard),
		keyCmd("zcount", 4, roF, 1, 1, 1, grpZ, "2.0.0", "Count the members in a sorted set with scores within the given values", cmdZCount),
		keyCmd("zlexcount", 4, roF, 1, 1, 1, grpZ, "2.8.9", "Count the number of members in a sorted set between a given lexicographical range", cmdZLexCount),
		keyCmd("zrank", 3, roF, 1, 1, 1, grpZ, "2.0.0", "Determine the index of a member in a sorted set", cmdZRank),
		keyCmd("zrevrank", 3, roF, 1, 1, 1, grpZ, "2.0.0", "Determine the index of a member in a sorted set, with scores ordered from high to low", cmdZRevRank),
		keyCmd("zrange", -4, ro, 1, 1, 1, grpZ, "1.2.0", "Return a range of members in a sorted set", cmdZRange),
		keyCmd("zrangestore", -5, wr, 1, 2, 1, grpZ, "6.2.0", "Store a range of members from sorted set into another key", cmdZRangeStore),
		keyCmd("zrevrange", -4, ro, 1, 1, 1, grpZ, "1.2.0", "Return a range of members in a sorted set, by index, with scores ordered from high to low", cmdZRevRange),
		keyCmd("zrangebyscore", -4, ro, 1, 1, 1, grpZ, "1.0.5", "Return a range of members in a sorted set, by score", cmdZRangeByScore),
		keyCmd("zrevrangebyscore", -4, ro, 1, 1, 1, grpZ, "2.2.0", "Return a range of members in a sorted set, by score, with scores ordered from high to low", cmdZRevRangeByScore),
		keyCmd("zrangebylex", -4, ro, 1, 1, 1, grpZ, "2.8.9", "Return a range of members in a sorted set, by lexicographical range", cmdZRangeByLex),
		keyCmd("zrevrangebylex", -4, ro, 1, 1, 1, grpZ, "2.8.9", "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.", cmdZRevRangeByLex),
		keyCmd("zremrangebyrank", 4, flagWrite, 1, 1, 1, grpZ, "2.0.0", "Remove all members in a sorted set within the given indexes", cmdZRemRangeByRank),
		keyCmd("zremrangebyscore", 4, flagWrite, 1, 1, 1, grpZ, "1.2.0", "Remove all members in a sorted set within the given scores", cmdZRemRangeByScore),
		keyCmd("zremrangebylex", 4, flagWrite, 1, 1, 1, grpZ, "2.8.9", "Remove all members in a sorted set between the given lexicographical range", cmdZRemRangeByLex),
		keyCmd("zpopmin", -2, flagWrite|flagFast, 1, 1, 1, grpZ, "5.0.0", "Remove and return members with the lowest scores in a sorted set", cmdZPopMin),
		keyCmd("zpopmax", -2, flagWrite|flagFast, 1, 1, 1, grpZ, "5.0.0", "Remove and return members with the highest scores in a sorted set", cmdZPopMax),
		plainCmd("zmpop", -4, flagWrite|flagAllKeys, grpZ, "7.0.0", "Remove and return members with scores in a sorted set", cmdZMPop),
		keyCmd("zrandmember", -2, ro, 1, 1, 1, grpZ, "6.2.0", "Get one or multiple random elements from a sorted set", cmdZRandMember),
		plainCmd("zunion", -3, ro|flagAllKeys, grpZ, "6.2.0", "Add multiple sorted sets", cmdZUnion),
		plainCmd("zinter", -3, ro|flagAllKeys, grpZ, "6.2.0", "Intersect multiple sorted sets", cmdZInter),
		plainCmd("zdiff", -3, ro|flagAllKeys, grpZ, "6.2.0", "Subtract multiple sorted sets", cmdZDiff),
		plainCmd("zunionstore", -4, wr|flagAllKeys, grpZ, "2.0.0", "Add multiple sorted sets and store the resulting sorted set in a new key", cmdZUnionStore),
		plainCmd("zinterstore", -4, wr|flagAllKeys, grpZ, "2.0.0", "Intersect multiple sorted sets and store the resulting sorted set in a new key", cmdZInterStore),
		plainCmd("zdiffstore", -4, wr|flagAllKeys, grpZ, "6.2.0", "Subtract multiple sorted sets and store the resulting sorted set in a new key", cmdZDiffStore),
		keyCmd("zscan", -3, ro, 1, 1, 1, grpZ, "2.8.0", "Incrementally iterate sorted sets elements and associated scores", cmdZScan),
		blockCmd("bzpopmin", -3, flagWrite|flagNoScript|flagFast, 1, -2, grpZ, "5.0.0", "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available", cmdBZPopMin),
		blockCmd("bzpopmax", -3, flagWrite|flagNoScript|flagFast, 1, -2, grpZ, "5.0.0", "Remove and return the member with the highest score from one or more sorted sets, or block until one is available", cmdBZPopMax),
		plainCmd("bzmpop", -5, flagWrite|flagNoScript|flagAllKeys, grpZ, "7.0.0", "Remove and return members with scores in a sorted set or block until one is available", cmdBZMPop),
	}
}

// zsetSyntax documents the family's arguments for COMMAND DOCS (see docs.go).
var zsetSyntax = map[string]string{
	"zadd":             "key [NX | XX] [GT | LT] [CH] [INCR] (score member)...",
	"zincrby":          "key increment member",
	"zrem":             "key member...",
	"zscore":           "key member",
	"zmscore":          "key member...",
	"zcard":            "key",
	"zcount":           "key min max",
	"zlexcount":        "key min max",
	"zrank":            "key member",
	"zrevrank":         "key member",
	"zrange":           "key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count] [WITHSCORES]",
	"zrangestore":      "dst src min max [BYSCORE | BYLEX] [REV] [LIMIT offset count]",
	"zrevrange":        "key start stop [WITHSCORES]",
	"zrangebyscore":    "key min max [WITHSCORES] [LIMIT offset count]",
	"zrevrangebyscore": "key max min [WITHSCORES] [LIMIT offset count]",
	"zrangebylex":      "key min max [LIMIT offset count]",
	"zrevrangebylex":   "key max min [LIMIT offset count]",
	"zremrangebyrank":  "key start stop",
	"zremrangebyscore": "key min max",
	"zremrangebylex":   "key min max",
	"zpopmin":          "key [count]",
	"zpopmax":          "key [count]",
	"zmpop":            "numkeys key... (MIN | MAX) [COUNT count]",
	"zrandmember":      "key [count [WITHSCORES]]",
	"zunion":           "numkeys key... [WEIGHTS weight...] [AGGREGATE (SUM | MIN | MAX)] [WITHSCORES]",
	"zinter":           "numkeys key... [WEIGHTS weight...] [AGGREGATE (SUM | MIN | MAX)] [WITHSCORES]",
	"zdiff":            "numkeys key... [WITHSCORES]",
	"zunionstore":      "destination numkeys key... [WEIGHTS weight...] [AGGREGATE (SUM | MIN | MAX)]",
	"zinterstore":      "destination numkeys key... [WEIGHTS weight...] [AGGREGATE (SUM | MIN | MAX)]",
	"zdiffstore":       "destination numkeys key...",
	"zscan":            "key cursor [MATCH pattern] [COUNT count]",
	"bzpopmin":         "key... timeout",
	"bzpopmax":         "key... timeout",
	"bzmpop":           "timeout numkeys key... (MIN | MAX) [COUNT count]",
}

const (
	msgNotValidFloat = "ERR value is not a valid float"
	msgZNaN          = "ERR resulting score is not a number (NaN)"
	msgMinMaxFloat   = "ERR min or max is not a float"
	msgMinMaxLex     = "ERR min or max not valid string range item"
)

func (c *client) writeScore(f float64) {
	var buf [32]byte
	c.writeBulk(engine.AppendScore(buf[:0], f))
}

// writeZScore writes a score as read from a set: a small set's as its
// listpack stores it (ZSCAN, ZRANDMEMBER), a big one's as a double.
func (c *client) writeZScore(f float64, small bool) {
	if !small {
		c.writeScore(f)
		return
	}
	var buf [32]byte
	c.writeBulk(engine.AppendStoredScore(buf[:0], f))
}

func (c *client) writeZError(err error) {
	if err == engine.ErrNaNScore {
		c.writeError(msgZNaN)
		return
	}
	c.writeEngineError(err)
}

func zadd(c *client, tx *engine.Tx, args [][]byte, incr bool) {
	var f engine.ZAddFlags
	f.Incr = incr
	i := 2
	for ; i < len(args); i++ {
		switch {
		case equalFold(args[i], "nx"):
			f.NX = true
		case equalFold(args[i], "xx"):
			f.XX = true
		case equalFold(args[i], "ch"):
			f.CH = true
		case equalFold(args[i], "incr"):
			f.Incr = true
		case equalFold(args[i], "gt"):
			f.GT = true
		case equalFold(args[i], "lt"):
			f.LT = true
		default:
			goto done
		}
	}
done:
	n := len(args) - i
	if n == 0 || n%2 != 0 {
		c.writeError(msgSyntax)
		return
	}
	n /= 2
	switch {
	case f.NX && f.XX:
		c.writeError("ERR XX and NX options at the same time are not compatible")
		return
	case (f.GT && f.NX) || (f.LT && f.NX) || (f.GT && f.LT):
		c.writeError("ERR GT, LT, and/or NX options at the same time are not compatible")
		return
	case f.Incr && n > 1:
		c.writeError("ERR INCR option supports a single increment-element pair")
		return
	}
	var sbuf [4]float64
	var mbuf [4][]byte
	scores, members := sbuf[:0], mbuf[:0]
	for j := 0; j < n; j++ {
		s, ok := engine.ParseScore(args[i+2*j])
		if !ok {
			c.writeError(msgNotValidFloat)
			return
		}
		scores = append(scores, s)
		members = append(members, args[i+2*j+1])
	}
	res, err := tx.ZAdd(c.db, args[1], scores, members, f)
	if err != nil {
		c.writeZError(err)
		return
	}
	switch {
	case f.Incr && res.Done:
		c.writeScore(res.Score)
	case f.Incr:
		c.writeNull()
	case f.CH:
		c.writeInt(int64(res.Added + res.Updated))
	default:
		c.writeInt(int64(res.Added))
	}
}

func cmdZAdd(c *client, tx *engine.Tx, args [][]byte)    { zadd(c, tx, args, false) }
func cmdZIncrBy(c *client, tx *engine.Tx, args [][]byte) { zadd(c, tx, args, true) }

func cmdZRem(c *client, tx *engine.Tx, args [][]byte) {
	n, err := tx.ZRem(c.db, args[1], args[2:])
	if err != nil {
		c.writeEngineError(err)
		return
	}
	c.writeInt(int64(n))
}

func cmdZScore(c *client, tx *engine.Tx, args [][]byte) {
	s, ok, err := tx.ZScore(c.db, args[1], args[2])
	switch {
	case err != nil:
		c.writeEngineError(err)
	case !ok:
		c.writeNull()
	default:
		c.writeScore(s)
	}
}

func cmdZMScore(c *client, tx *engine.Tx, args [][]byte) {
	if _, err := tx.ZCard(c.db, args[1]); err != nil {
		c.writeEngineError(err)
		return
	}
	c.writeArray(len(args) - 2)
	for _, m := range args[2:] {
		s, ok, _ := tx.ZScore(c.db, args[1], m)
		if ok {
			c.writeScore(s)
		} else {
			c.writeNull()
		}
	}
}

func cmdZCard(c *client, tx *engine.Tx, args [][]byte) {
	n, err := tx.ZCard(c.db, args[1])
	if err != nil {
		c.writeEngineError(err)
		return
	}
	c.writeInt(int64(n))
}

// parseScoreBound parses a ZRANGEBYSCORE bound: "(x" exclusive, else x.
func parseScoreBound(arg []byte) (engine.ZBound, bool) {
	var b engine.ZBound
	if len(arg) > 0 && arg[0] == '(' {
		b.Excl = true
		arg = arg[1:]
	}
	v, ok := engine.ParseRangeScore(arg)
	b.Score = v
	return b, ok
}

// parseLexBound parses a lex bound: "-", "+", "(x" or "[x".
func parseLexBound(arg []byte) (engine.ZBound, bool) {
	var b engine.ZBound
	switch {
	case len(arg) == 1 && arg[0] == '-':
		b.Inf = -1
	case len(arg) == 1 && arg[0] == '+':
		b.Inf = 1
	case len(arg) > 0 && arg[0] == '(':
		b.Excl, b.Lex = true, arg[1:]
	case len(arg) > 0 && arg[0] == '[':
		b.Lex = arg[1:]
	default:
		return b, false
	}
	return b, true
}

func zcount(c *client, tx *engine.Tx, args [][]byte, lex bool) {
	sp := engine.ZRangeSpec{Kind: engine.ZByScore}
	var ok1, ok2 bool
	if lex {
		sp.Kind = engine.ZByLex
		sp.Min, ok1 = parseLexBound(args[2])
		sp.Max, ok2 = parseLexBound(args[3])
		if !ok1 || !ok2 {
			c.writeError(msgMinMaxLex)
			return
		}
	} else {
		sp.Min, ok1 = parseScoreBound(args[2])
		sp.Max, ok2 = parseScoreBound(args[3])
		if !ok1 || !ok2 {
			c.writeError(msgMinMaxFloat)
			return
		}
	}
	n, err := tx.ZCount(c.db, args[1], &sp)
	if err != nil {
		c.writeEngineError(err)
		return
	}
	c.writeInt(int64(n))
}

func cmdZCount(c *client, tx *engine.Tx, args [][]byte)    { zcount(c, tx, args, false) }
func cmdZLexCount(c *client, tx *engine.Tx, args [][]byte) { zcount(c, tx, args, true) }

func zrank(c *client, tx *engine.Tx, args [][]byte, rev bool) {
	r, ok, err := tx.ZRank(c.db, args[1], args[2], rev)
	switch {
	case err != nil:
		c.writeEngineError(err)
	case !ok:
		c.writeNull()
	default:
		c.writeInt(int64(r))
	}
}

func cmdZRank(c *client, tx *engine.Tx, args [][]byte)    { zrank(c, tx, args, false) }
func cmdZRevRank(c *client, tx *engine.Tx, args [][]byte) { zrank(c, tx, args, true) }

// zrangeForm is how a ZRANGE-family command reads its arguments.
type zrangeForm struct {
	kind     engine.ZRangeKind
	auto     bool // ZRANGE/ZRANGESTORE: BYSCORE, BYLEX and REV are options
	rev      bool
	store    bool
	argStart int // index of the source key
}

// zrange runs ZRANGE and its older forms (Redis's zrangeGenericCommand).
func zrange(c *client, tx *engine.Tx, args [][]byte, form zrangeForm) {
	sp := engine.ZRangeSpec{Kind: form.kind, Rev: form.rev, Count: -1}
	withScores := false
	limit := false
	kindSet, revSet := !form.auto, !form.auto
	for j := form.argStart + 3; j < len(args); j++ {
		left := len(args) - j - 1
		switch {
		case !form.store && equalFold(args[j], "withscores"):
			withScores = true
		case equalFold(args[j], "limit") && left >= 2:
			off, ok1 := parseInt(args[j+1])
			if !ok1 {
				c.writeError(msgNotInteger)
				return
			}
			cnt, ok2 := parseInt(args[j+2])
			if !ok2 {
				c.writeError(msgNotInteger)
				return
			}
			sp.Offset, sp.Count, limit = off, cnt, true
			j += 2
		case !revSet && equalFold(args[j], "rev"):
			sp.Rev, revSet = true, true
		case !kindSet && equalFold(args[j], "bylex"):
			sp.Kind, kindSet = engine.ZByLex, true
		case !kindSet && equalFold(args[j], "byscore"):
			sp.Kind, kindSet = engine.ZByScore, true
		default:
			c.writeError(msgSyntax)
			return
		}
	}
	if limit && sp.Count != -1 && sp.Kind == engine.ZByRank {
		c.writeError("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
		return
	}
	if withScores && sp.Kind == engine.ZByLex {
		c.writeError("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
		return
	}
	minArg, maxArg := args[form.argStart+1], args[form.argStart+2]
	if sp.Rev && sp.Kind != engine.ZByRank {
		minArg, maxArg = maxArg, minArg
	}
	switch sp.Kind {
	case engine.ZByRank:
		s, ok1 := parseInt(minArg)
		e, ok2 := parseInt(maxArg)
		if !ok1 || !ok2 {
			c.writeError(msgNotInteger)
			return
		}
		sp.Start, sp.Stop = s, e
	case engine.ZByScore:
		var ok1, ok2 bool
		sp.Min, ok1 = parseScoreBound(minArg)
		sp.Max, ok2 = parseScoreBound(maxArg)
		if !ok1 || !ok2 {
			c.writeError(msgMinMaxFloat)
			return
		}
	case engine.ZByLex:
		var ok1, ok2 bool
		sp.Min, ok1 = parseLexBound(minArg)
		sp.Max, ok2 = parseLexBound(maxArg)
		if !ok1 || !ok2 {
			c.writeError(msgMinMaxLex)
			return
		}
	}
	src := args[form.argStart]
	if form.store {
		var items []engine.ZItem
		err := tx.ZRange(c.db, src, &sp, func(n int) { items = make([]engine.ZItem, 0, n) },
			func(it engine.ZItem) { items = append(items, it) })
		if err != nil {
			c.writeEngineError(err)
			return
		}
		n, err := tx.ZStore(c.db, args[1], items)
		if err != nil {
			c.writeEngineError(err)
			return
		}
		c.writeInt(int64(n))
		return
	}
	err := tx.ZRange(c.db, src, &sp, func(n int) {
		if withScores {
			n *= 2
		}
		c.writeArray(n)
	}, func(it engine.ZItem) {
		c.writeBulk(it.Member)
		if withScores {
			c.writeScore(it.Score)
		}
	})
	if err != nil {
		c.writeEngineError(err)
	}
}

func cmdZRange(c *client, tx *engine.Tx, args [][]byte) {
	zrange(c, tx, args, zrangeForm{auto: true, argStart: 1})
}

func cmdZRangeStore(c *client, tx *engine.Tx, args [][]byte) {
	zrange(c, tx, args, zrangeForm{auto: true, store: true, argStart: 2})
}

func cmdZRevRange(c *client, tx *engine.Tx, args [][]byte) {
	zrange(c, tx, args, zrangeForm{kind: engine.ZByRank, rev: true, argStart: 1})
}

func cmdZRangeByScore(c *client, tx *engine.Tx, args [][]byte) {
	zrange(c, tx, args, zrangeForm{kind: engine.ZByScore, argStart: 1})
}

func cmdZRevRangeByScore(c *client, tx *engine.Tx, args [][]byte) {
	zrange(c, tx, args, zrangeForm{kind: engine.ZByScore, rev: true, argStart: 1})
}

func cmdZRangeByLex(c *client, tx *engine.Tx, args [][]byte) {
	zrange(c, tx, args, zrangeForm{kind: engine.ZByLex, argStart: 1})
}

func cmdZRevRangeByLex(c *client, tx *engine.Tx, args [][]byte) {
	zrange(c, tx, args, zrangeForm{kind: engine.ZByLex, rev: true, argStart: 1})
}

func zremrange(c *client, tx *engine.Tx, args [][]byte, kind engine.ZRangeKind) {
	sp := engine.ZRangeSpec{Kind: kind, Count: -1}
	switch kind {
	case engine.ZByRank:
		s, ok1 := parseInt(args[2])
		e, ok2 := parseInt(args[3])
		if !ok1 || !ok2 {
			c.writeError(msgNotInteger)
			return
		}
		sp.Start, sp.Stop = s, e
	case engine.ZByScore:
		var ok1, ok2 bool
		sp.Min, ok1 = parseScoreBound(args[2])
		sp.Max, ok2 = parseScoreBound(args[3])
		if !ok1 || !ok2 {
			c.writeError(msgMinMaxFloat)
			return
		}
	default:
		var ok1, ok2 bool
		sp.Min, ok1 = parseLexBound(args[2])
		sp.Max, ok2 = parseLexBound(args[3])
		if !ok1 || !ok2 {
			c.writeError(msgMinMaxLex)
			return
		}
	}
	n, err := tx.ZRemRange(c.db, args[1], &sp)
	if err != nil {
		c.writeEngineError(err)
		return
	}
	c.writeInt(int64(n))
}

func cmdZRemRangeByRank(c *client, tx *engine.Tx, args [][]byte) {
	zremrange(c, tx, args, engine.ZByRank)
}

func cmdZRemRangeByScore(c *client, tx *engine.Tx, args [][]byte) {
	zremrange(c, tx, args, engine.ZByScore)
}

func cmdZRemRangeByLex(c *client, tx *engine.Tx, args [][]byte) {
	zremrange(c, tx, args, engine.ZByLex)
}

func zpop(c *client, tx *engine.Tx, args [][]byte, max bool) {
	if len(args) > 3 {
		c.writeError(msgSyntax)
		return
	}
	count := 1
	if len(args) == 3 {
		n, ok := parseInt(args[2])
		if !ok || n < 0 {
			c.writeError("ERR value is out of range, must be positive")
			return
		}
		count = int(min(n, math.MaxInt32))
	}
	items, err := tx.ZPop(c.db, args[1], max, count)
	if err != nil {
		c.writeEngineError(err)
		return
	}
	c.writeArray(2 * len(items))
	for _, it := range items {
		c.writeBulk(it.Member)
		c.writeScore(it.Score)
	}
}

func cmdZPopMin(c *client, tx *engine.Tx, args [][]byte) { zpop(c, tx, args, false) }
func cmdZPopMax(c *client, tx *engine.Tx, args [][]byte) { zpop(c, tx, args, true) }

// zmpopKey pops from key for ZMPOP/BZMPOP and writes [key, [[m, s]...]];
// false when the key is missing.
func zmpopKey(c *client, tx *engine.Tx, key []byte, min bool, count int) (bool, error) {
	n, err := tx.ZSetLen(c.db, key)
	if err != nil || n == 0 {
		return false, err
	}
	items, err := tx.ZPop(c.db, key, !min, count)
	if err != nil {
		return false, err
	}
	c.writeArray(2)
	c.writeBulk(key)
	c.writeArray(len(items))
	for _, it := range items {
		c.writeArray(2)
		c.writeBulk(it.Member)
		c.writeScore(it.Score)
	}
	return true, nil
}

func cmdZMPop(c *client, args [][]byte) {
	keys, min, count, ok := c.mpopArgs(args, 1, true)
	if !ok {
		return
	}
	c.update(keys, func(tx *engine.Tx) error {
		if !popFirst(c, tx, keys, func(k []byte) (bool, error) { return zmpopKey(c, tx, k, min, count) }) {
			c.writeNullArray()
		}
		return nil
	})
}

func cmdBZMPop(c *client, args [][]byte) {
	keys, min, count, ok := c.mpopArgs(args, 2, true)
	if !ok {
		return
	}
	timeout, ok := c.parseTimeout(args[1])
	if !ok {
		return
	}
	keys = cloneArgs(keys)
	c.blockPop(keys, timeout, func(c *client, tx *engine.Tx, k []byte) (bool, error) {
		return zmpopKey(c, tx, k, min, count)
	})
}

// bzpop is BZPOPMIN/BZPOPMAX.
func bzpop(c *client, args [][]byte, max bool) {
	timeout, ok := c.parseTimeout(args[len(args)-1])
	if !ok {
		return
	}
	keys := cloneArgs(args[1 : len(args)-1])
	popOne := func(c *client, tx *engine.Tx, k []byte) (bool, error) {
		n, err := tx.ZSetLen(c.db, k)
		if err != nil || n == 0 {
			return false, err
		}
		items, err := tx.ZPop(c.db, k, max, 1)
		if err != nil {
			return false, err
		}
		c.writeArray(3)
		c.writeBulk(k)
		c.writeBulk(items[0].Member)
		c.writeScore(items[0].Score)
		return true, nil
	}
	c.blockPop(keys, timeout, popOne)
}

func cmdBZPopMin(c *client, args [][]byte) { bzpop(c, args, false) }
func cmdBZPopMax(c *client, args [][]byte) { bzpop(c, args, true) }

func cmdZRandMember(c *client, tx *engine.Tx, args [][]byte) {
	if len(args) == 2 {
		n, at, err := tx.ZRandom(c.db, args[1])
		switch {
		case err != nil:
			c.writeEngineError(err)
		case n == 0:
			c.writeNull()
		default:
			c.writeBulk(at(rand.IntN(n)).Member)
		}
		return
	}
	l, ok := parseInt(args[2])
	if !ok {
		c.writeError(msgNotInteger)
		return
	}
	if l == math.MinInt64 {
		c.writeError("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
		return
	}
	withScores := false
	if len(args) > 4 || (len(args) == 4 && !equalFold(args[3], "withscores")) {
		c.writeError(msgSyntax)
		return
	} else if len(args) == 4 {
		withScores = true
		if l < -math.MaxInt64/2 || l > math.MaxInt64/2 {
			c.writeError("ERR value is out of range")
			return
		}
	}
	n, at, err := tx.ZRandom(c.db, args[1])
	if err != nil {
		c.writeEngineError(err)
		return
	}
	if n == 0 || l == 0 {
		c.writeArray(0)
		return
	}
	small := tx.ZListpack(c.db, args[1])
	write := func(it engine.ZItem) {
		c.writeBulk(it.Member)
		if withScores {
			c.writeZScore(it.Score, small)
		}
	}
	per := 1
	if withScores {
		per = 2
	}
	if l < 0 {
		k := -l
		c.writeArray(int(k) * per)
		for ; k > 0; k-- {
			write(at(rand.IntN(n)))
		}
		return
	}
	if l >= int64(n) {
		c.writeArray(n * per)
		for i := 0; i < n; i++ {
			write(at(i))
		}
		return
	}
	// l distinct members: a partial Fisher-Yates over the ranks.
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	c.writeArray(int(l) * per)
	for i := 0; i < int(l); i++ {
		j := i + rand.IntN(n-i)
		idx[i], idx[j] = idx[j], idx[i]
		write(at(idx[i]))
	}
}

// ---- ZUNION, ZINTER, ZDIFF and their STORE forms ----

type zsetOp int

const (
	zUnion zsetOp = iota
	zInter
	zDiff
)

// zsetOpCommand runs one of the six commands; dst is nil for the reading
// forms; numAt is the index of numkeys.
func zsetOpCommand(c *client, args [][]byte, op zsetOp, store bool, name string) {
	numAt := 1
	if store {
		numAt = 2
	}
	n, ok := parseInt(args[numAt])
	if !ok {
		c.writeError(msgNotInteger)
		return
	}
	if n < 1 {
		c.writeError("ERR at least 1 input key is needed for '" + name + "' command")
		return
	}
	if n > int64(len(args)-numAt-1) {
		c.writeError(msgSyntax)
		return
	}
	srcKeys := args[numAt+1 : numAt+1+int(n)]
	lockKeys := srcKeys
	if store {
		lockKeys = append([][]byte{args[1]}, srcKeys...)
	}
	run := func(tx *engine.Tx) error {
		srcs := make([][]engine.ZItem, len(srcKeys))
		for i, k := range srcKeys {
			items, _, err := tx.ZItems(c.db, k)
			if err != nil {
				c.writeEngineError(err)
				return nil
			}
			srcs[i] = items
		}
		weights := make([]float64, len(srcKeys))
		for i := range weights {
			weights[i] = 1
		}
		agg := "sum"
		withScores := false
		for j := numAt + 1 + int(n); j < len(args); {
			rem := len(args) - j
			switch {
			case op != zDiff && rem >= int(n)+1 && equalFold(args[j], "weights"):
				j++
				for i := range weights {
					w, ok := engine.ParseScore(args[j])
					if !ok {
						c.writeError("ERR weight value is not a float")
						return nil
					}
					weights[i] = w
					j++
				}
			case op != zDiff && rem >= 2 && equalFold(args[j], "aggregate"):
				switch {
				case equalFold(args[j+1], "sum"):
					agg = "sum"
				case equalFold(args[j+1], "min"):
					agg = "min"
				case equalFold(args[j+1], "max"):
					agg = "max"
				default:
					c.writeError(msgSyntax)
					return nil
				}
				j += 2
			case !store && equalFold(args[j], "withscores"):
				withScores = true
				j++
			default:
				c.writeError(msgSyntax)
				return nil
			}
		}
		result := zsetCompute(op, srcs, weights, agg)
		if store {
			cnt, err := tx.ZStore(c.db, args[1], result)
			if err != nil {
				c.writeEngineError(err)
				return nil
			}
			c.writeInt(int64(cnt))
			return nil
		}
		sort.Slice(result, func(i, j int) bool {
			a, b := result[i], result[j]
			if a.Score != b.Score {
				return a.Score < b.Score
			}
			return bytes.Compare(a.Member, b.Member) < 0
		})
		per := 1
		if withScores {
			per = 2
		}
		c.writeArray(len(result) * per)
		for _, it := range result {
			c.writeBulk(it.Member)
			if withScores {
				c.writeScore(it.Score)
			}
		}
		return nil
	}
	if store {
		c.update(lockKeys, run)
	} else {
		c.view(lockKeys, run)
	}
}

func aggregate(target *float64, v float64, agg string) {
	switch agg {
	case "sum":
		*target += v
		if math.IsNaN(*target) {
			*target = 0
		}
	case "min":
		if v < *target {
			*target = v
		}
	case "max":
		if v > *target {
			*target = v
		}
	}
}

// zsetCompute computes a union, intersection or difference as Redis does
// (inputs ordered by size for union and intersection, NaN products and
// sums counted as 0).
func zsetCompute(op zsetOp, srcs [][]engine.ZItem, weights []float64, agg string) []engine.ZItem {
	type src struct {
		items  []engine.ZItem
		weight float64
		idx    map[string]float64
	}
	ss := make([]src, len(srcs))
	for i := range srcs {
		ss[i] = src{items: srcs[i], weight: weights[i]}
	}
	index := func(s *src) map[string]float64 {
		if s.idx == nil {
			s.idx = make(map[string]float64, len(s.items))
			for _, it := range s.items {
				s.idx[string(it.Member)] = it.Score
			}
		}
		return s.idx
	}
	switch op {
	case zDiff:
		var out []engine.ZItem
		for _, it := range ss[0].items {
			found := false
			for j := 1; j < len(ss) && !found; j++ {
				_, found = index(&ss[j])[string(it.Member)]
			}
			if !found {
				out = append(out, it)
			}
		}
		return out
	case zInter:
		slices.SortStableFunc(ss, func(a, b src) int { return len(a.items) - len(b.items) })
		var out []engine.ZItem
		for _, it := range ss[0].items {
			score := ss[0].weight * it.Score
			if math.IsNaN(score) {
				score = 0
			}
			j := 1
			for ; j < len(ss); j++ {
				v, ok := index(&ss[j])[string(it.Member)]
				if !ok {
					break
				}
				aggregate(&score, v*ss[j].weight, agg)
			}
			if j == len(ss) {
				out = append(out, engine.ZItem{Member: it.Member, Score: score})
			}
		}
		return out
	}
	slices.SortStableFunc(ss, func(a, b src) int { return len(a.items) - len(b.items) })
	acc := make(map[string]int)
	var out []engine.ZItem
	for _, s := range ss {
		for _, it := range s.items {
			score := s.weight * it.Score
			if math.IsNaN(score) {
				score = 0
			}
			if i, ok := acc[string(it.Member)]; ok {
				aggregate(&out[i].Score, score, agg)
				continue
			}
			acc[string(it.Member)] = len(out)
			out = append(out, engine.ZItem{Member: it.Member, Score: score})
		}
	}
	return out
}

func cmdZUnion(c *client, args [][]byte) { zsetOpCommand(c, args, zUnion, false, "zunion") }
func cmdZInter(c *client, args [][]byte) { zsetOpCommand(c, args, zInter, false, "zinter") }
func cmdZDiff(c *client, args [][]byte)  { zsetOpCommand(c, args, zDiff, false, "zdiff") }
func cmdZUnionStore(c *client, args [][]byte) {
	zsetOpCommand(c, args, zUnion, true, "zunionstore")
}
func cmdZInterStore(c *client, args [][]byte) {
	zsetOpCommand(c, args, zInter, true, "zinterstore")
}
func cmdZDiffStore(c *client, args [][]byte) { zsetOpCommand(c, args, zDiff, true, "zdiffstore") }

// cmdZScan answers ZSCAN. A sorted set is returned whole in one call (the
// cursor goes back to 0), as Redis does for small (listpack) sets: that
// keeps the SCAN guarantees trivially. (Big sets too, for now.)
func cmdZScan(c *client, tx *engine.Tx, args [][]byte) {
	if _, ok := parseCursor(args[2]); !ok {
		c.writeError(msgInvalidCursor)
		return
	}
	items, found, err := tx.ZItems(c.db, args[1])
	if err == nil && found {
		if _, err2 := tx.ZCard(c.db, args[1]); err2 != nil {
			err = err2
		}
	}
	if err != nil {
		c.writeEngineError(err)
		return
	}
	if !found {
		c.writeArray(2)
		c.writeBulkString("0")
		c.writeArray(0)
		return
	}
	var pattern []byte
	for i := 3; i < len(args); i += 2 {
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
		case equalFold(args[i], "match"):
			pattern = args[i+1]
		default:
			c.writeError(msgSyntax)
			return
		}
	}
	if pattern != nil && !(len(pattern) == 1 && pattern[0] == '*') {
		kept := items[:0]
		for _, it := range items {
			if glob.Match(pattern, it.Member) {
				kept = append(kept, it)
			}
		}
		items = kept
	}
	small := tx.ZListpack(c.db, args[1])
	c.writeArray(2)
	c.writeBulkString("0")
	c.writeArray(2 * len(items))
	for _, it := range items {
		c.writeBulk(it.Member)
		c.writeZScore(it.Score, small)
	}
}
