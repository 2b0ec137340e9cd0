package server

import (
	"math"

	"github.com/cairn-db/cairn/engine"
)

const (
	wr   = flagWrite | flagDenyOOM
	wrF  = flagWrite | flagDenyOOM | flagFast
	roF  = flagReadOnly | flagFast
	grpS = "string"
)

func stringCommands() []*command {
	return []*command{
		keyCmd("get", 2, roF, 1, 1, 1, grpS, "1.0.0", "Get the value of a key", cmdGet),
		keyCmd("set", -3, wr, 1, 1, 1, grpS, "1.0.0", "Set the string value of a key", cmdSet),
		keyCmd("setnx", 3, wrF, 1, 1, 1, grpS, "1.0.0", "Set the value of a key, only if the key does not exist", cmdSetNX),
		keyCmd("setex", 4, wr, 1, 1, 1, grpS, "2.0.0", "Set the value and expiration of a key", cmdSetEX),
		keyCmd("psetex", 4, wr, 1, 1, 1, grpS, "2.6.0", "Set the value and expiration in milliseconds of a key", cmdPSetEX),
		keyCmd("mget", -2, roF, 1, -1, 1, grpS, "1.0.0", "Get the values of all the given keys", cmdMGet),
		keyCmd("mset", -3, wr, 1, -1, 2, grpS, "1.0.1", "Set multiple keys to multiple values", cmdMSet),
		keyCmd("msetnx", -3, wr, 1, -1, 2, grpS, "1.0.1", "Set multiple keys to multiple values, only if none of the keys exist", cmdMSetNX),
		keyCmd("getset", 3, wrF, 1, 1, 1, grpS, "1.0.0", "Set the string value of a key and return its old value", cmdGetSet),
		keyCmd("getdel", 2, flagWrite|flagFast, 1, 1, 1, grpS, "6.2.0", "Get the value of a key and delete the key", cmdGetDel),
		keyCmd("getex", -2, flagWrite|flagFast, 1, 1, 1, grpS, "6.2.0", "Get the value of a key and optionally set its expiration", cmdGetEx),
		keyCmd("append", 3, wrF, 1, 1, 1, grpS, "2.0.0", "Append a value to a key", cmdAppend),
		keyCmd("strlen", 2, roF, 1, 1, 1, grpS, "2.2.0", "Get the length of the value stored in a key", cmdStrlen),
		keyCmd("incr", 2, wrF, 1, 1, 1, grpS, "1.0.0", "Increment the integer value of a key by one", cmdIncr),
		keyCmd("decr", 2, wrF, 1, 1, 1, grpS, "1.0.0", "Decrement the integer value of a key by one", cmdDecr),
		keyCmd("incrby", 3, wrF, 1, 1, 1, grpS, "1.0.0", "Increment the integer value of a key by the given amount", cmdIncrBy),
		keyCmd("decrby", 3, wrF, 1, 1, 1, grpS, "1.0.0", "Decrement the integer value of a key by the given number", cmdDecrBy),
		keyCmd("incrbyfloat", 3, wrF, 1, 1, 1, grpS, "2.6.0", "Increment the float value of a key by the given amount", cmdIncrByFloat),
		keyCmd("getrange", 4, flagReadOnly, 1, 1, 1, grpS, "2.4.0", "Get a substring of the string stored at a key", cmdGetRange),
		keyCmd("setrange", 4, wr, 1, 1, 1, grpS, "2.2.0", "Overwrite part of a string at key starting at the specified offset", cmdSetRange),
	}
}

func cmdGet(c *client, tx *engine.Tx, args [][]byte) {
	v, found, err := tx.Get(c.db, args[1])
	if err != nil {
		c.writeEngineError(err)
		return
	}
	if !found {
		c.writeNull()
		return
	}
	c.writeBulk(v)
}

// expireOption parses the value of EX/PX/EXAT/PXAT into an absolute Unix ms
// time. unit is 1000 for seconds, 1 for ms; abs says whether it is already
// absolute. cmd names the command in the error.
func (c *client) expireOption(tx *engine.Tx, arg []byte, unit int64, abs bool, cmd string) (int64, bool) {
	n, ok := parseInt(arg)
	if !ok {
		c.writeError(msgNotInteger)
		return 0, false
	}
	if n <= 0 || n > math.MaxInt64/unit {
		c.writeError(errInvalidExpire(cmd))
		return 0, false
	}
	n *= unit
	if !abs {
		if n > math.MaxInt64-tx.Now() {
			c.writeError(errInvalidExpire(cmd))
			return 0, false
		}
		n += tx.Now()
	}
	return n, true
}

// expiryArgs are the parsed SET/GETEX expiry options.
type expiryArgs struct {
	kind    string // "", "ex", "px", "exat", "pxat"
	value   []byte
	keepTTL bool
	persist bool
}

// parseExtended parses SET's (set=true) or GETEX's options from args[from:]
// as Redis's parseExtendedStringArgumentsOrReply does: conflicting options
// are a syntax error, a repeated one is allowed (the last value wins).
func parseExtended(args [][]byte, from int, set bool, a *engine.SetArgs, e *expiryArgs) bool {
	for i := from; i < len(args); i++ {
		opt := args[i]
		next := i+1 < len(args)
		timeOK := !e.keepTTL && !e.persist
		switch {
		case set && equalFold(opt, "nx") && !a.XX:
			a.NX = true
		case set && equalFold(opt, "xx") && !a.NX:
			a.XX = true
		case set && equalFold(opt, "get"):
			a.Get = true
		case set && equalFold(opt, "keepttl") && e.kind == "":
			e.keepTTL = true
		case !set && equalFold(opt, "persist") && e.kind == "":
			e.persist = true
		default:
			kind := ""
			for _, k := range [...]string{"ex", "px", "exat", "pxat"} {
				if equalFold(opt, k) {
					kind = k
				}
			}
			if kind == "" || !timeOK || !next || (e.kind != "" && e.kind != kind) {
				return false
			}
			e.kind = kind
			i++
			e.value = args[i]
		}
	}
	return true
}

// expireAt turns parsed expiry options into an absolute time (0: none).
func (c *client) expireAt(tx *engine.Tx, e *expiryArgs, cmd string) (int64, bool) {
	switch e.kind {
	case "ex":
		return c.expireOption(tx, e.value, 1000, false, cmd)
	case "px":
		return c.expireOption(tx, e.value, 1, false, cmd)
	case "exat":
		return c.expireOption(tx, e.value, 1000, true, cmd)
	case "pxat":
		return c.expireOption(tx, e.value, 1, true, cmd)
	}
	return 0, true
}

func cmdSet(c *client, tx *engine.Tx, args [][]byte) {
	var a engine.SetArgs
	var e expiryArgs
	if !parseExtended(args, 3, true, &a, &e) {
		c.writeError(msgSyntax)
		return
	}
	a.KeepTTL = e.keepTTL
	at, ok := c.expireAt(tx, &e, "set")
	if !ok {
		return
	}
	a.ExpireAt = at
	res, err := tx.Set(c.db, args[1], args[2], a)
	if err != nil {
		c.writeEngineError(err)
		return
	}
	switch {
	case a.Get && res.HadOld:
		c.writeBulk(res.Old)
	case a.Get:
		c.writeNull()
	case res.Done:
		c.writeOK()
	default:
		c.writeNull()
	}
}

func cmdSetNX(c *client, tx *engine.Tx, args [][]byte) {
	res, err := tx.Set(c.db, args[1], args[2], engine.SetArgs{NX: true})
	if err != nil {
		c.writeEngineError(err)
		return
	}
	c.writeBool(res.Done)
}

func setWithTTL(c *client, tx *engine.Tx, args [][]byte, unit int64, cmd string) {
	at, ok := c.expireOption(tx, args[2], unit, false, cmd)
	if !ok {
		return
	}
	if _, err := tx.Set(c.db, args[1], args[3], engine.SetArgs{ExpireAt: at}); err != nil {
		c.writeEngineError(err)
		return
	}
	c.writeOK()
}

func cmdSetEX(c *client, tx *engine.Tx, args [][]byte)  { setWithTTL(c, tx, args, 1000, "setex") }
func cmdPSetEX(c *client, tx *engine.Tx, args [][]byte) { setWithTTL(c, tx, args, 1, "psetex") }

func cmdMGet(c *client, tx *engine.Tx, args [][]byte) {
	c.writeArray(len(args) - 1)
	for _, k := range args[1:] {
		v, found, err := tx.Get(c.db, k)
		if err != nil || !found {
			c.writeNull()
			continue
		}
		c.writeBulk(v)
	}
}

func cmdMSet(c *client, tx *engine.Tx, args [][]byte) {
	if len(args)%2 == 0 {
		c.writeError(errWrongArity("mset"))
		return
	}
	if _, err := tx.MSet(c.db, args[1:], false); err != nil {
		c.writeEngineError(err)
		return
	}
	c.writeOK()
}

func cmdMSetNX(c *client, tx *engine.Tx, args [][]byte) {
	if len(args)%2 == 0 {
		c.writeError(errWrongArity("msetnx"))
		return
	}
	ok, err := tx.MSet(c.db, args[1:], true)
	if err != nil {
		c.writeEngineError(err)
		return
	}
	c.writeBool(ok)
}

func cmdGetSet(c *client, tx *engine.Tx, args [][]byte) {
	res, err := tx.Set(c.db, args[1], args[2], engine.SetArgs{Get: true})
	if err != nil {
		c.writeEngineError(err)
		return
	}
	if !res.HadOld {
		c.writeNull()
		return
	}
	c.writeBulk(res.Old)
}

func cmdGetDel(c *client, tx *engine.Tx, args [][]byte) {
	v, found, err := tx.GetDel(c.db, args[1])
	if err != nil {
		c.writeEngineError(err)
		return
	}
	if !found {
		c.writeNull()
		return
	}
	c.writeBulk(v)
}

func cmdGetEx(c *client, tx *engine.Tx, args [][]byte) {
	var e expiryArgs
	if !parseExtended(args, 2, false, nil, &e) {
		c.writeError(msgSyntax)
		return
	}
	// As in Redis, a missing key or a wrong type is answered before the
	// expiry is validated.
	if _, found, err := tx.Get(c.db, args[1]); err != nil || !found {
		if err != nil {
			c.writeEngineError(err)
		} else {
			c.writeNull()
		}
		return
	}
	at, ok := c.expireAt(tx, &e, "getex")
	if !ok {
		return
	}
	ch := engine.ExpireChange{Set: e.kind != "", At: at, Persist: e.persist}
	v, found, err := tx.GetEx(c.db, args[1], ch)
	if err != nil {
		c.writeEngineError(err)
		return
	}
	if !found {
		c.writeNull()
		return
	}
	c.writeBulk(v)
}

func cmdAppend(c *client, tx *engine.Tx, args [][]byte) {
	n, err := tx.Append(c.db, args[1], args[2])
	if err != nil {
		c.writeEngineError(err)
		return
	}
	c.writeInt(n)
}

func cmdStrlen(c *client, tx *engine.Tx, args [][]byte) {
	n, err := tx.Strlen(c.db, args[1])
	if err != nil {
		c.writeEngineError(err)
		return
	}
	c.writeInt(n)
}

func incrBy(c *client, tx *engine.Tx, key []byte, delta int64) {
	n, err := tx.IncrBy(c.db, key, delta)
	if err != nil {
		c.writeEngineError(err)
		return
	}
	c.writeInt(n)
}

func cmdIncr(c *client, tx *engine.Tx, args [][]byte) { incrBy(c, tx, args[1], 1) }
func cmdDecr(c *client, tx *engine.Tx, args [][]byte) { incrBy(c, tx, args[1], -1) }

func cmdIncrBy(c *client, tx *engine.Tx, args [][]byte) {
	d, ok := parseInt(args[2])
	if !ok {
		c.writeError(msgNotInteger)
		return
	}
	incrBy(c, tx, args[1], d)
}

func cmdDecrBy(c *client, tx *engine.Tx, args [][]byte) {
	d, ok := parseInt(args[2])
	if !ok {
		c.writeError(msgNotInteger)
		return
	}
	if d == math.MinInt64 {
		c.writeError("ERR decrement would overflow")
		return
	}
	incrBy(c, tx, args[1], -d)
}

func cmdIncrByFloat(c *client, tx *engine.Tx, args [][]byte) {
	v, err := tx.IncrByFloat(c.db, args[1], args[2])
	if err != nil {
		c.writeEngineError(err)
		return
	}
	c.writeBulk(v)
}

func cmdGetRange(c *client, tx *engine.Tx, args [][]byte) {
	start, ok1 := parseInt(args[2])
	end, ok2 := parseInt(args[3])
	if !ok1 || !ok2 {
		c.writeError(msgNotInteger)
		return
	}
	v, err := tx.GetRange(c.db, args[1], start, end)
	if err != nil {
		c.writeEngineError(err)
		return
	}
	c.writeBulk(v)
}

func cmdSetRange(c *client, tx *engine.Tx, args [][]byte) {
	off, ok := parseInt(args[2])
	if !ok {
		c.writeError(msgNotInteger)
		return
	}
	if off < 0 {
		c.writeError(msgOffsetRange)
		return
	}
	n, err := tx.SetRange(c.db, args[1], off, args[3])
	if err != nil {
		c.writeEngineError(err)
		return
	}
	c.writeInt(n)
}
