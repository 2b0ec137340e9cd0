package server

import "testing"

// TestCommandSyntax: every command has argument docs, and they render as
// redis-cli 7.0 renders Redis's own for the same commands.
func TestCommandSyntax(t *testing.T) {
	for name, cmd := range commandTable {
		if _, ok := commandSyntax[name]; !ok {
			t.Errorf("command %s has no argument syntax", name)
		}
		for sub := range cmd.subs {
			if _, ok := commandSyntax[name+"|"+sub]; !ok {
				t.Errorf("subcommand %s|%s has no argument syntax", name, sub)
			}
		}
	}
	for name := range commandSyntax {
		if findCommand([]byte(name)) == nil {
			t.Errorf("syntax for unknown command %s", name)
		}
	}
	// Hints as redis-cli prints them against redis-server 7.0.
	for name, want := range map[string]string{
		"set":         "key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]",
		"mset":        "key value [key value ...]",
		"del":         "key [key ...]",
		"scan":        "cursor [MATCH pattern] [COUNT count] [TYPE type]",
		"expire":      "key seconds [NX|XX|GT|LT]",
		"copy":        "source destination [DB destination-db] [REPLACE]",
		"client|list": "[TYPE NORMAL|MASTER|REPLICA|PUBSUB] [ID client-id [client-id ...]]",
		"hello":       "[protover [AUTH username password] [SETNAME clientname]]",
		"flushall":    "[ASYNC|SYNC]",
		"randomkey":   "",
	} {
		if got := renderArgs(commandArgs[name], " "); got != want {
			t.Errorf("%s renders as\n  %q, want\n  %q", name, got, want)
		}
	}
}
