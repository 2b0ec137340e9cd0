package server_test

import (
	"testing"
	"time"

	"github.com/cairn-db/cairn/internal/resptest"
	"github.com/cairn-db/cairn/server"
)

// TestEveryCommandInExec queues every command of the table (with dummy
// arguments, and each subcommand) and runs EXEC: each must answer in time.
// A command that starts an engine transaction of its own instead of using
// EXEC's (see multi.go) would wait forever for the locks EXEC holds: that
// shows as a timeout error here, then a hang when the server closes (the
// stack dump of go test's timeout names the handler).
func TestEveryCommandInExec(t *testing.T) {
	addr := startTestServer(t, nil)
	try := func(args []string) {
		c, err := resptest.Dial(addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Timeout = 5 * time.Second
		// The SET makes EXEC hold a shard (write-locked) while args runs.
		for _, cmd := range [][]string{{"MULTI"}, {"SET", "x", "1"}, args, {"EXEC"}} {
			if _, err := c.Do(cmd...); err != nil {
				t.Errorf("%s inside MULTI/EXEC: %v (a deadlock?)", resptest.Quote(args), err)
				return
			}
		}
	}
	for _, name := range server.CommandNames() {
		switch name {
		case "quit", "shutdown", "multi", "exec", "discard", "reset":
			continue // not queued, or ends the connection or the server
		}
		try([]string{name, "x"})
		try([]string{name, "x", "1"})
		try([]string{name, "x", "1", "y", "2"})
		for _, sub := range []string{"help", "list", "info", "count", "numsub", "channels", "numpat", "get"} {
			try([]string{name, sub, "*"})
		}
	}
	// And the whole-keyspace ones with writes next to them.
	try([]string{"KEYS", "*"})
	try([]string{"FLUSHALL"})
	try([]string{"INFO", "keyspace"})
}
