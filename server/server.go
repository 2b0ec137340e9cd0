// Package server speaks RESP to Redis clients: it reads commands, checks
// arity and authentication, calls the engine, and writes replies and error
// strings byte for byte as Redis 7.0 does. It holds no data of its own.
package server

import (
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairn-db/cairn/engine"
)

// Version is the Redis version Cairn answers as (INFO redis_version, HELLO):
// clients pick features by it.
const Version = "7.0.15"

// CairnVersion is Cairn's own version.
const CairnVersion = "0.1.0"

// Options configure a Server.
type Options struct {
	// Config is the configuration; nil means DefaultConfig(). The server
	// keeps a copy that CONFIG SET changes.
	Config *Config
	// Engine serves the data; nil: the server opens one from Config
	// (Databases, Hz) and closes it on Close.
	Engine *engine.Engine
	// Logger receives the server's log lines; default slog.Default().
	Logger *slog.Logger
	// LevelVar, if set, is the level of Logger's handler: CONFIG SET
	// loglevel changes it.
	LevelVar *slog.LevelVar
	// OnShutdown is called (once, in its own goroutine) when a client sends
	// SHUTDOWN; the main program stops the server and exits. Nil: SHUTDOWN
	// closes the server itself.
	OnShutdown func()
	// SetMemoryLimit: the server sets the Go runtime's memory limit from
	// maxmemory (unless GOMEMLIMIT is set); for the server's own process,
	// not for one that embeds it.
	SetMemoryLimit bool
}

// Server is a RESP server over an engine.
type Server struct {
	eng      *engine.Engine
	ownsEng  bool
	cfg      liveConfig
	log      *slog.Logger
	started  time.Time
	runID    string
	onShut   func()
	levelVar *slog.LevelVar
	shutOnce sync.Once
	// shutdownSave is what SHUTDOWN asked of the snapshot: 0 the default
	// (save if there are save rules and changes), 1 SAVE, 2 NOSAVE.
	shutdownSave atomic.Int32

	mu        sync.Mutex
	listeners []net.Listener
	clients   map[int64]*client
	closed    bool
	wg        sync.WaitGroup

	nextClientID atomic.Int64
	stats        serverStats
	// memPeak is the peak of used_memory INFO has seen; setMemLimit is
	// Options.SetMemoryLimit.
	memPeak     atomic.Uint64
	setMemLimit bool
	lua         luaState // scripts (scripting.go)
	// blk holds the clients blocked in BLPOP and kin (blocking.go).
	blk blocker

	// watch and pubsub are WATCH's and pub/sub's registries (multi.go,
	// pubsub.go); psLimit the pubsub class's output limit in force.
	watch   watchRegistry
	pubsub  pubsubRegistry
	psLimit atomic.Pointer[BufferLimit]
	// bp lets the last busy client goroutine poll before the server
	// sleeps (busypoll_linux.go); nil where there is none.
	bp *busyPoller
	// stopWritesOnSaveErr is stop-writes-on-bgsave-error (see diskError).
	stopWritesOnSaveErr atomic.Bool
}

// serverStats are the counters of INFO stats.
type serverStats struct {
	connectionsReceived atomic.Int64
	commandsProcessed   atomic.Int64
	rejectedConns       atomic.Int64
	netInput            atomic.Int64
	netOutput           atomic.Int64
}

// New returns a server; it listens once Serve or ListenAndServe is called.
func New(opts Options) *Server {
	cfg := opts.Config
	if cfg == nil {
		cfg = DefaultConfig()
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	s := &Server{
		eng:      opts.Engine,
		log:      log,
		started:  time.Now(),
		runID:    newRunID(),
		onShut:   opts.OnShutdown,
		levelVar: opts.LevelVar,
		clients:  make(map[int64]*client),
	}
	s.cfg.cfg = *cfg
	if s.eng == nil {
		// Memory only: opening cannot fail without a log.
		s.eng, _ = engine.Open(engine.Options{Databases: cfg.Databases, ActiveExpireHz: cfg.Hz, Logger: log,
			Memory: cfg.EngineMemory()})
		s.ownsEng = true
	}
	s.setMemLimit = opts.SetMemoryLimit
	s.applyMemoryConfig(s.cfg.cfg)
	s.eng.SetOnCommit(s.onCommit)
	s.blk.observe = s.eng.ObserveCommits
	s.applyOutputLimits(cfg)
	s.bp = newBusyPoller()
	s.applyBusyPoll(cfg)
	s.stopWritesOnSaveErr.Store(cfg.StopWritesOnBgsaveError)
	return s
}

// diskError is the -MISCONF error with which writes (and PING) are refused
// while the data cannot be persisted, as Redis's
// writeCommandsDeniedByDiskError decides: first a failed snapshot with save
// rules in force (unless stop-writes-on-bgsave-error is off), then a
// failing log; "" while neither.
func (s *Server) diskError() string {
	if s.stopWritesOnSaveErr.Load() && s.eng.SaveFailing() {
		return msgBgsaveErr
	}
	if err := s.eng.LogErr(); err != nil {
		return msgMisconf + errnoText(err)
	}
	return ""
}

// applyBusyPoll sets the busy poller's window from busy-poll-us.
func (s *Server) applyBusyPoll(cfg *Config) {
	if s.bp != nil {
		s.bp.window.Store(int64(cfg.BusyPollMicros) * int64(time.Microsecond))
	}
}

// BusyPollTime is the time the server has spent polling client sockets
// before sleeping (busy-poll-us): CPU time that served no one, which a
// measure of how busy the server is should leave out.
func (s *Server) BusyPollTime() time.Duration {
	if s.bp == nil {
		return 0
	}
	return time.Duration(s.bp.spent.Load())
}

// Engine returns the engine the server serves.
func (s *Server) Engine() *engine.Engine { return s.eng }

// CommandsProcessed is the number of commands run so far (INFO stats'
// total_commands_processed).
func (s *Server) CommandsProcessed() int64 { return s.stats.commandsProcessed.Load() }

// ListenAndServe listens on every configured bind address at the configured
// port and serves until Close. It returns once all listeners are open,
// serving in the background; the error is from opening them.
func (s *Server) ListenAndServe() error {
	cfg := s.cfg.get()
	var lns []net.Listener
	for _, b := range cfg.Bind {
		ln, err := net.Listen("tcp", net.JoinHostPort(b, itoa(int64(cfg.Port))))
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return err
		}
		lns = append(lns, ln)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		for _, l := range lns {
			l.Close()
		}
		return net.ErrClosed
	}
	// Registered here, not in Serve, so Addrs answers as soon as this
	// returns.
	s.listeners = append(s.listeners, lns...)
	s.mu.Unlock()
	for _, ln := range lns {
		s.wg.Add(1)
		go func(ln net.Listener) {
			defer s.wg.Done()
			_ = s.serve(ln)
		}(ln)
	}
	return nil
}

// Serve accepts connections on ln until Close; it blocks.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return net.ErrClosed
	}
	s.listeners = append(s.listeners, ln)
	s.mu.Unlock()
	return s.serve(ln)
}

// serve accepts on a registered listener until Close.
func (s *Server) serve(ln net.Listener) error {
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return nil
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			return err
		}
		s.stats.connectionsReceived.Add(1)
		c := s.newClient(nc)
		if c == nil {
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			c.serve()
		}()
	}
}

// Addrs returns the addresses the server listens on.
func (s *Server) Addrs() []net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []net.Addr
	for _, ln := range s.listeners {
		out = append(out, ln.Addr())
	}
	return out
}

// Close stops listening, disconnects every client, waits for their
// goroutines, and closes the engine if the server opened it.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for _, ln := range s.listeners {
		ln.Close()
	}
	for _, c := range s.clients {
		c.nc.Close()
	}
	s.mu.Unlock()
	s.lua.stopAll()
	s.wg.Wait()
	if s.bp != nil {
		s.bp.close()
	}
	if s.ownsEng {
		return s.eng.Close()
	}
	return nil
}

// LogLevel maps a Redis loglevel name to a slog level.
func LogLevel(name string) slog.Level {
	switch name {
	case "debug", "verbose":
		return slog.LevelDebug
	case "warning":
		return slog.LevelWarn
	}
	return slog.LevelInfo
}

// ShutdownSnapshot says whether a snapshot should be taken before exiting:
// SHUTDOWN SAVE asks for one, SHUTDOWN NOSAVE forbids it, and otherwise
// there is one when save rules are configured and data changed, as
// redis-server does.
func (s *Server) ShutdownSnapshot() bool {
	switch s.shutdownSave.Load() {
	case 1:
		return s.eng.Snapshotting()
	case 2:
		return false
	}
	return s.eng.Snapshotting() && len(s.eng.SaveRules()) > 0 && s.eng.SaveStatus().ChangesSinceSave > 0
}

// requestShutdown runs the shutdown hook once.
func (s *Server) requestShutdown() {
	s.shutOnce.Do(func() {
		if s.onShut != nil {
			go s.onShut()
		} else {
			go s.Close()
		}
	})
}
