// Command cairn-server runs a Cairn server: a Redis-compatible data store
// that existing Redis clients talk to unchanged.
//
// Usage:
//
//	cairn-server [/path/to/redis.conf] [--directive value ...]
//
// Directives have Redis's names (--port, --bind, --dir, --requirepass, …);
// --help lists them. With no arguments the server listens on
// 127.0.0.1:6379 and keeps its data in ./data.
//
// SIGINT or SIGTERM, or SHUTDOWN from a client, stops the server cleanly
// (exit status 0). A bad argument or configuration file is reported on
// stderr with exit status 1.
package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/cairn-db/cairn/engine"
	"github.com/cairn-db/cairn/server"
	"github.com/cairn-db/cairn/wal"
)

func main() {
	// CAIRN_CPUPROFILE=FILE writes a CPU profile of the whole run, for
	// `go tool pprof` (a developer's knob, not a redis.conf directive).
	if path := os.Getenv("CAIRN_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			status := run(os.Args[1:], os.Stdout, os.Stderr)
			pprof.StopCPUProfile()
			f.Close()
			os.Exit(status)
		}
		fmt.Fprintf(os.Stderr, "cairn-server: CAIRN_CPUPROFILE: cannot profile to %s\n", path)
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole program but for the exit: it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	for _, a := range args {
		if a == "--help" || a == "-h" {
			server.Usage(stdout)
			return 0
		}
	}
	cfg, err := server.ParseArgs(args, func(name string) (io.ReadCloser, error) { return os.Open(name) })
	if err != nil {
		fmt.Fprintf(stderr, "cairn-server: %v\n", err)
		fmt.Fprintf(stderr, "cairn-server: run with --help for the options\n")
		return 1
	}

	level := new(slog.LevelVar)
	level.Set(server.LogLevel(cfg.LogLevel))
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level, ReplaceAttr: errorText}))

	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		logger.Error("cannot create data directory", "dir", cfg.Dir, "err", err)
		return 1
	}
	lock, err := lockDir(cfg.Dir)
	if err != nil {
		logger.Error("cannot lock the data directory", "err", err)
		return 1
	}
	defer lock.Close()

	engOpts := engine.Options{Databases: cfg.Databases, ActiveExpireHz: cfg.Hz, Logger: logger,
		Memory: cfg.EngineMemory()}
	if cfg.AppendOnly {
		policy, err := wal.ParseSyncPolicy(cfg.AppendFsync)
		if err != nil {
			logger.Error("bad appendfsync", "err", err)
			return 1
		}
		engOpts.WAL = &wal.Options{Dir: filepath.Join(cfg.Dir, "wal"), Sync: policy, Logger: logger, Preallocate: true}
	}
	rules, err := server.ParseSaveRules(cfg.Save)
	if err != nil {
		logger.Error("bad save rule", "save", cfg.Save, "err", err)
		return 1
	}
	engOpts.Snapshots = &engine.SnapshotOptions{
		Dir:              filepath.Join(cfg.Dir, "snapshots"),
		Rules:            rules,
		LogGrowthPercent: cfg.AutoAOFRewritePercentage,
		LogGrowthMin:     cfg.AutoAOFRewriteMinSize,
	}
	eng, err := engine.Open(engOpts)
	if err != nil {
		logger.Error("cannot open the data directory", "dir", cfg.Dir, "err", err)
		return 1
	}

	// shutdown carries the reason the server stops: a signal's name, or
	// "SHUTDOWN command". Buffered so neither sender ever blocks.
	shutdown := make(chan string, 1)
	srv := server.New(server.Options{
		Engine:   eng,
		Config:   cfg,
		Logger:   logger,
		LevelVar: level, // CONFIG SET loglevel changes it
		// GOMEMLIMIT from maxmemory (see server.goMemoryLimit).
		SetMemoryLimit: true,
		OnShutdown: func() {
			select {
			case shutdown <- "SHUTDOWN command":
			default:
			}
		},
	})

	// Catch signals before listening, so that a signal that arrives right
	// after the ready line still ends in a clean shutdown.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)

	logger.Info("starting cairn-server", "version", server.CairnVersion,
		"redis_version", server.Version, "pid", os.Getpid(), "dir", cfg.Dir)
	if err := srv.ListenAndServe(); err != nil {
		logger.Error("cannot listen", "bind", strings.Join(cfg.Bind, " "), "port", cfg.Port, "err", err)
		srv.Close()
		return 1
	}
	logger.Info("ready to accept connections", "addr", listenAddrs(srv))

	// The log is replayed while the server already answers (-LOADING to
	// all but INFO, PING and the like), as Redis does.
	loadErr := make(chan error, 1)
	stopTuner := make(chan struct{})
	go func() {
		info, err := eng.Load()
		if err != nil {
			loadErr <- err
			return
		}
		p := eng.Progress()
		logger.Info("data loaded", "snapshot_keys", p.SnapshotKeys, "records", p.Records, "segments", info.Segments,
			"last_lsn", eng.LastLSN(), "elapsed", p.Duration.Round(time.Millisecond))
		if cfg.AppendOnly {
			go watchDataDir(stopTuner, cfg.Dir, eng, logger)
		}
		if os.Getenv("GOGC") == "" {
			c := &idleCollector{releaseAfter: idleReleaseAfter}
			go c.run(stopTuner, srv.CommandsProcessed, logger)
		}
		// Loading decodes on every core; serving then takes what it needs.
		switch {
		case os.Getenv("GOMAXPROCS") != "":
		case cfg.ServerThreads > 0:
			runtime.GOMAXPROCS(cfg.ServerThreads)
		default:
			floor := backgroundFloor(func() bool { return eng.SaveStatus().InProgress },
				func() bool { return eng.SyncPolicy() == wal.SyncAlways },
				func() (int64, int64) { st := eng.LogStats(); return st.Records, st.Fsyncs })
			go tuneProcs(stopTuner, runtime.GOMAXPROCS(0), srv.CommandsProcessed, srv.BusyPollTime, floor, logger)
		}
	}()

	var reason string
	select {
	case sig := <-sigs:
		reason = "signal " + sig.String()
	case reason = <-shutdown:
	case err := <-loadErr:
		logger.Error("cannot load the data; not starting", "err", err)
		srv.Close()
		return 1
	}
	logger.Info("shutting down", "reason", reason)
	close(stopTuner)
	if err := srv.Close(); err != nil {
		logger.Error("error while closing the server", "err", err)
		return 1
	}
	if eng.Loading() {
		// Nothing was written yet; the replay goroutine still owns the log.
		logger.Info("server stopped while loading, bye")
		return 0
	}
	status := 0
	if srv.ShutdownSnapshot() {
		logger.Info("saving a snapshot before exiting")
		if err := eng.SaveWaiting(); err != nil {
			logger.Error("the snapshot at shutdown failed", "err", err)
			status = 1
		}
	}
	if err := eng.Close(); err != nil {
		logger.Error("error while closing the write-ahead log", "err", err)
		return 1
	}
	if status != 0 {
		return status
	}
	logger.Info("server stopped, bye")
	return 0
}

// listenAddrs returns the addresses the server listens on, space-separated.
func listenAddrs(srv *server.Server) string {
	var out []string
	for _, a := range srv.Addrs() {
		out = append(out, a.String())
	}
	return strings.Join(out, " ")
}

// errorText logs an error by its text. The text handler formats other
// values with %+v, which for an error wrapped by github.com/pkg/errors
// appends the stack of every wrap: a failed snapshot's line carried 12
// lines of frames.
func errorText(_ []string, a slog.Attr) slog.Attr {
	if err, ok := a.Value.Any().(error); ok && a.Value.Kind() == slog.KindAny {
		return slog.String(a.Key, err.Error())
	}
	return a
}

// watchDataDir fails the log while the data directory is gone, or is
// another directory than the one the server started in (removed and
// created again): the log's open segment then lives on unlinked, and
// writes would go on being acknowledged that a restart never finds (see
// wal.Log.Fail). Checked here, on the real filesystem once a second, not
// by the log through its own filesystem, whose every operation the
// failure tests fail in turn.
func watchDataDir(stop <-chan struct{}, dir string, eng *engine.Engine, logger *slog.Logger) {
	first, err := os.Stat(dir)
	if err != nil {
		logger.Error("cannot watch the data directory", "dir", dir, "err", err)
		return
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	gone := false
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		fi, err := os.Stat(dir)
		switch {
		case err == nil && os.SameFile(first, fi):
			gone = false
			continue
		case err == nil:
			err = fmt.Errorf("another directory took its place: %w", syscall.ENOENT)
		case !errors.Is(err, fs.ErrNotExist):
			continue // not known to be gone
		}
		if !gone {
			logger.Error("the data directory was removed: writes are refused until its files are back or the server restarts",
				"dir", dir, "err", err)
			gone = true
		}
		if eng.LogErr() == nil {
			// Once failing, the log stays so (its heal cannot open the
			// segment by its name) unless the files come back.
			eng.FailLog(fmt.Errorf("data directory %s: %w", dir, err))
		}
	}
}
