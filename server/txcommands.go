package server

import (
	"math"
	"strconv"

	"github.com/cairn-db/cairn/engine"
)

// Commands inside a caller's transaction. A script's redis.call (and a
// MULTI block) runs each command inside one engine transaction that the
// caller holds. Keyed commands (command.tx) run there as they are. A
// command with a run handler manages its own engine access, which would
// wait for the caller's locks; it runs inside a caller's transaction only
// through one of these:
//
//   - txHandlers: a handler that takes the caller's transaction, which must
//     then hold every shard (the caller takes them first: Tx.LockAll).
//   - noEngineCommands: commands that never touch the engine, which run as
//     they are.
//
// Any other run command is refused there.

// txHandlers run whole-keyspace commands inside a transaction holding every
// shard.
var txHandlers = map[string]func(c *client, tx *engine.Tx, args [][]byte){
	"keys":      txKeys,
	"scan":      txScan,
	"randomkey": txRandomKey,
	"dbsize":    txDBSize,
	"flushdb":   txFlushDB,
	"flushall":  txFlushAll,
}

// noEngineCommands touch no data: they run as they are in a transaction.
var noEngineCommands = map[string]bool{
	"ping": true, "echo": true, "time": true, "select": true, "lastsave": true,
	"command": true, "command|count": true, "command|info": true, "command|docs": true,
	"command|list": true, "command|getkeys": true, "command|help": true,
	"config|help": true, "client|help": true, "script|help": true,
}

func txKeys(c *client, tx *engine.Tx, args [][]byte) {
	keys, err := tx.Keys(c.db, engine.ScanFilter{Pattern: args[1]})
	if err != nil {
		c.writeEngineError(err)
		return
	}
	c.writeArray(len(keys))
	for _, k := range keys {
		c.writeBulk(k)
	}
}

func txScan(c *client, tx *engine.Tx, args [][]byte) {
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
				f.Kind = 255
			}
		default:
			c.writeError(msgSyntax)
			return
		}
	}
	keys, next, err := tx.Scan(c.db, cursor, count, f)
	if err != nil {
		c.writeEngineError(err)
		return
	}
	c.writeArray(2)
	c.writeBulkString(strconv.FormatUint(next, 10))
	c.writeArray(len(keys))
	for _, k := range keys {
		c.writeBulk(k)
	}
}

func txRandomKey(c *client, tx *engine.Tx, args [][]byte) {
	k, err := tx.RandomKey(c.db)
	switch {
	case err != nil:
		c.writeEngineError(err)
	case k == nil:
		c.writeNull()
	default:
		c.writeBulk(k)
	}
}

func txDBSize(c *client, tx *engine.Tx, args [][]byte) {
	n, err := tx.DBSize(c.db)
	if err != nil {
		c.writeEngineError(err)
		return
	}
	c.writeInt(int64(n))
}

func txFlushDB(c *client, tx *engine.Tx, args [][]byte) {
	if !c.flushMode(args) {
		return
	}
	if err := tx.FlushDB(c.db); err != nil {
		c.writeEngineError(err)
		return
	}
	c.writeOK()
}

func txFlushAll(c *client, tx *engine.Tx, args [][]byte) {
	if !c.flushMode(args) {
		return
	}
	if err := tx.FlushAll(); err != nil {
		c.writeEngineError(err)
		return
	}
	c.writeOK()
}
