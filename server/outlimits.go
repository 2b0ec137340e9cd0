//lint:file-ignore ST1005 the errors are redis-server's own words, which users search for

package server

import (
	"errors"
	"strconv"
	"strings"
)

// client-output-buffer-limit, with Redis's syntax:
//
//	client-output-buffer-limit <class> <hard> <soft> <soft seconds> [<class> ...]
//
// for the classes normal, replica (alias slave) and pubsub. Sizes take
// Redis's units (32mb). Cairn enforces the pubsub class (a subscriber that
// does not read is disconnected, see pushqueue.go); the others are kept for
// CONFIG GET and for later use (replicas do not exist; a normal client's
// replies are written by its own goroutine, so it cannot outgrow what it
// asked for).

// BufferLimit is one class's output buffer limit; zero values disable.
type BufferLimit struct {
	Hard, Soft  int64 // bytes
	SoftSeconds int
}

// OutputBufferLimits are the limits of the three client classes.
type OutputBufferLimits struct {
	Normal, Replica, PubSub BufferLimit
}

// DefaultOutputBufferLimits are Redis's defaults.
var DefaultOutputBufferLimits = OutputBufferLimits{
	Replica: BufferLimit{Hard: 256 << 20, Soft: 64 << 20, SoftSeconds: 60},
	PubSub:  BufferLimit{Hard: 32 << 20, Soft: 8 << 20, SoftSeconds: 60},
}

// errClientClosed: the client was disconnected (its output limit).
var errClientClosed = errors.New("client closed for overcoming of output buffer limits")

func (l OutputBufferLimits) String() string {
	var b strings.Builder
	for i, c := range []struct {
		name string
		l    BufferLimit
	}{{"normal", l.Normal}, {"slave", l.Replica}, {"pubsub", l.PubSub}} {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(c.name + " " + strconv.FormatInt(c.l.Hard, 10) + " " + strconv.FormatInt(c.l.Soft, 10) +
			" " + strconv.Itoa(c.l.SoftSeconds))
	}
	return b.String()
}

// set applies "<class> <hard> <soft> <seconds> ..." over l: all or nothing.
func (l *OutputBufferLimits) set(args []string) error {
	if len(args)%4 != 0 {
		return errors.New("Wrong number of arguments in buffer limit configuration.")
	}
	next := *l
	for i := 0; i < len(args); i += 4 {
		var dst *BufferLimit
		switch strings.ToLower(args[i]) {
		case "normal":
			dst = &next.Normal
		case "replica", "slave":
			dst = &next.Replica
		case "pubsub":
			dst = &next.PubSub
		default:
			return errors.New("Invalid client class specified in buffer limit configuration.")
		}
		hard, err1 := ParseMemory(args[i+1])
		soft, err2 := ParseMemory(args[i+2])
		secs, err3 := strconv.ParseInt(args[i+3], 10, 32)
		if err1 != nil || err2 != nil || err3 != nil || hard < 0 || soft < 0 || secs < 0 {
			return errors.New("Error in hard, soft or soft_seconds setting in buffer limit configuration.")
		}
		*dst = BufferLimit{Hard: hard, Soft: soft, SoftSeconds: int(secs)}
	}
	*l = next
	return nil
}

func init() {
	directives = append(directives, directive{
		name: "client-output-buffer-limit", multi: true, mutable: true,
		help: `"<class> <hard> <soft> <seconds>" per class (normal, replica, pubsub); 0 disables`,
		get:  func(c *Config) string { return c.OutputBufferLimits.String() },
		set:  func(c *Config, a []string) error { return c.OutputBufferLimits.set(a) },
	})
}

// pubsubLimit is the pubsub class's limit now in force.
func (s *Server) pubsubLimit() BufferLimit {
	if l := s.psLimit.Load(); l != nil {
		return *l
	}
	return DefaultOutputBufferLimits.PubSub
}

// applyOutputLimits makes a configuration's limits take effect.
func (s *Server) applyOutputLimits(cfg *Config) {
	l := cfg.OutputBufferLimits.PubSub
	s.psLimit.Store(&l)
}
