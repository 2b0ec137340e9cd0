package server

// Commands inside a caller's transaction. A script's redis.call (and a
// MULTI block) runs each command inside one engine transaction that the
// caller holds. Keyed commands (command.tx) run there as they are. A
// command with a run handler reaches the engine through the client's
// helpers (multi.go), which use the caller's transaction when execTx is
// set; a script first makes its transaction hold every shard. The commands
// below never touch the engine, so a script runs them without that.

// noEngineCommands touch no data: they run as they are in a transaction.
var noEngineCommands = map[string]bool{
	"ping": true, "echo": true, "time": true, "select": true, "lastsave": true,
	"command": true, "command|count": true, "command|info": true, "command|docs": true,
	"command|list": true, "command|getkeys": true, "command|help": true,
	"config|help": true, "client|help": true, "script|help": true,
}
