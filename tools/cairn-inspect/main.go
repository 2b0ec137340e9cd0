// Command cairn-inspect examines a Cairn data directory offline: it reads
// the write-ahead log and the snapshots without a running server and
// without changing anything, except `wal repair`, which cuts a damaged log
// when asked to.
//
// Usage:
//
//	cairn-inspect COMMAND [ARGS]
//	cairn-inspect help [COMMAND [SUBCOMMAND]]
//
// Commands:
//
//	wal DIR            the log's segments, LSN range and damage
//	wal dump DIR       every record's LSN and decoded effects
//	wal repair DIR     cut a damaged log at its first damage
//	info FILE|DIR      a snapshot's header and index
//	verify FILE|DIR    every checksum, and the log's continuity after it
//	keys FILE|DIR      keys matching a glob, with type, TTL and size
//	get FILE|DIR KEY   one value
//	stats FILE|DIR     biggest keys, size and TTL histograms
//	export FILE|DIR    Redis commands for redis-cli --pipe
//
// DIR is a server's data directory (the log is DIR/wal/, the snapshots
// DIR/snapshots/) or the log or snapshots directory itself; FILE is a
// snapshot file.
//
// Exit status: 0 when what was inspected is sound (or was repaired), 1 when
// it is damaged, 2 on a usage error, 3 when it could not be read (missing
// directory, I/O error, a format version this build cannot read).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// Exit statuses. Scripts rely on them: never renumber.
const (
	// exitOK: sound (or repaired, or help was asked for).
	exitOK = 0
	// exitDamaged: the data inspected is damaged.
	exitDamaged = 1
	// exitUsage: bad command line.
	exitUsage = 2
	// exitError: the data could not be read at all.
	exitError = 3
)

// progName prefixes every message on stderr.
const progName = "cairn-inspect"

// command is a top-level subcommand.
type command struct {
	// name is the word on the command line.
	name string
	// summary is its one line in the tool's usage.
	summary string
	// run runs it with the arguments after its name; it returns the exit
	// status.
	run func(args []string, stdout, stderr io.Writer) int
	// help writes its usage, for `help NAME ARGS...` (args name a
	// subcommand, if the command has them).
	help func(w io.Writer, args []string) bool
}

// commands is the dispatch table, in the order usage lists them. Each
// command is in its own file.
var commands = []command{
	{name: "wal", summary: "inspect, dump or repair the write-ahead log", run: runWAL, help: walHelp},
	{name: "info", summary: "a snapshot's header and index: stamps, keys per db and type", run: runInfo, help: helpFor(infoUsage)},
	{name: "verify", summary: "every checksum of the snapshots, and that the log continues them", run: runVerify, help: helpFor(verifyUsage)},
	{name: "keys", summary: "a snapshot's keys matching a glob, with type, TTL and size", run: runKeys, help: helpFor(keysUsage)},
	{name: "get", summary: "one value of a snapshot, as redis-cli shows it", run: runGet, help: helpFor(getUsage)},
	{name: "stats", summary: "biggest keys, size and TTL histograms of a snapshot", run: runStats, help: helpFor(statsUsage)},
	{name: "export", summary: "a snapshot as Redis commands for redis-cli --pipe", run: runExport, help: helpFor(exportUsage)},
}

// helpFor is the help of a command without subcommands.
func helpFor(usage func(io.Writer)) func(io.Writer, []string) bool {
	return func(w io.Writer, args []string) bool {
		if len(args) > 0 {
			return false
		}
		usage(w)
		return true
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole program but for the exit: it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch name := args[0]; name {
	case "-h", "-help", "--help":
		usage(stdout)
		return exitOK
	case "help":
		return runHelp(args[1:], stdout, stderr)
	default:
		if c := lookup(name); c != nil {
			return c.run(args[1:], stdout, stderr)
		}
		if strings.HasPrefix(name, "-") {
			return usageError(stderr, "", "unknown flag %s", name)
		}
		return usageError(stderr, "", "unknown command %q", name)
	}
}

func lookup(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

// runHelp runs `help [COMMAND [SUBCOMMAND]]`.
func runHelp(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stdout)
		return exitOK
	}
	c := lookup(args[0])
	if c == nil || !c.help(stdout, args[1:]) {
		return usageError(stderr, "", "no help for %q", strings.Join(args, " "))
	}
	return exitOK
}

func usage(w io.Writer) {
	fmt.Fprintf(w, `Usage: %[1]s COMMAND [ARGS]

%[1]s reads a Cairn data directory offline: it never writes to it,
except "wal repair", which cuts a damaged log when asked to.

Commands:
`, progName)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, `
Run "%[1]s help COMMAND" or "%[1]s COMMAND --help" for a command's usage.

Exit status: 0 sound (or repaired), 1 damaged, 2 usage error,
3 could not read (missing directory, I/O error, unknown format version).
`, progName)
}

// usageError reports a bad command line on stderr and returns exitUsage.
// cmd names the (sub)command whose --help to point at ("" for the tool).
func usageError(stderr io.Writer, cmd string, format string, args ...any) int {
	fmt.Fprintf(stderr, "%s: %s\n", progName, fmt.Sprintf(format, args...))
	if cmd == "" {
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", progName)
	} else {
		fmt.Fprintf(stderr, "Run '%s %s --help' for usage.\n", progName, cmd)
	}
	return exitUsage
}

// failure reports an error that stopped the inspection and returns
// exitError.
func failure(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "%s: %v\n", progName, err)
	return exitError
}

// newFlags returns a flag set for the (sub)command cmd that prints
// nothing by itself: parse shows help, parseStatus reports errors.
func newFlags(cmd string) *flag.FlagSet {
	fs := flag.NewFlagSet(progName+" "+cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// errHelp is parse's way of saying that --help was asked for and shown.
var errHelp = errors.New("help shown")

// parse parses args with fs, flags and positional arguments in any order
// (`wal DIR --json` as well as `wal --json DIR`; "--" ends the flags). On
// --help it writes help to stdout and returns errHelp.
func parse(fs *flag.FlagSet, args []string, stdout io.Writer, help func(io.Writer)) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				help(stdout)
				return nil, errHelp
			}
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// parseStatus turns parse's error into an exit status: exitOK after help,
// exitUsage (reported on stderr) after a bad flag.
func parseStatus(err error, stderr io.Writer, cmd string) int {
	if errors.Is(err, errHelp) {
		return exitOK
	}
	return usageError(stderr, cmd, "%v", err)
}
