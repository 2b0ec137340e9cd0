package server

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/cairn-db/cairn/engine"
)

func persistenceCommands() []*command {
	return []*command{
		plainCmd("save", 1, flagAdmin|flagNoScript|flagNoMulti, grpSrv, "1.0.0", "Synchronously save the dataset to disk", cmdSave),
		plainCmd("bgsave", -1, flagAdmin|flagNoScript, grpSrv, "1.0.0", "Asynchronously save the dataset to disk", cmdBGSave),
		plainCmd("lastsave", 1, flagLoading|flagStale|flagFast, grpSrv, "1.0.0", "Get the UNIX time stamp of the last successful save to disk", cmdLastSave),
		plainCmd("waitaof", 4, flagNoScript, grpK, "7.2.0",
			"Block the client until all the previous write commands are fsynced to the AOF of the local Redis and/or at least the specified number of replicas", cmdWaitAOF),
	}
}

// cmdWaitAOF: WAITAOF numlocal numreplicas timeout. It blocks until this
// client's earlier writes are fsynced to the local log, and answers
// [local, replicas]: local is 1 once fsynced; there are no replicas, so a
// request for any waits out the timeout and counts 0.
func cmdWaitAOF(c *client, args [][]byte) {
	numLocal, ok1 := parseInt(args[1])
	numReplicas, ok2 := parseInt(args[2])
	if !ok1 || !ok2 {
		c.writeError(msgNotInteger)
		return
	}
	timeout, ok := parseInt(args[3])
	if !ok {
		c.writeError("ERR timeout is not an integer or out of range")
		return
	}
	if timeout < 0 {
		c.writeError(msgTimeoutNegative)
		return
	}
	if numLocal > 0 && !c.s.eng.Durable() {
		c.writeError("ERR WAITAOF cannot be used when numlocal is set but appendonly is disabled.")
		return
	}
	ctx := context.Background()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(timeout)*time.Millisecond)
		defer cancel()
	}
	local := int64(0)
	if c.s.eng.Durable() {
		if err := c.s.eng.WaitSynced(ctx, c.lastWriteLSN); err == nil {
			local = 1
		}
	}
	if numReplicas > 0 {
		<-ctx.Done() // no replica will ever acknowledge
	}
	c.writeArray(2)
	c.writeInt(local)
	c.writeInt(0)
}

// ParseSaveRules parses the save directive: "<seconds> <changes> ...".
func ParseSaveRules(s string) ([]engine.SaveRule, error) {
	f := strings.Fields(s)
	if len(f)%2 != 0 {
		return nil, errBadArgs
	}
	var rules []engine.SaveRule
	for i := 0; i < len(f); i += 2 {
		secs, err1 := strconv.ParseInt(f[i], 10, 64)
		changes, err2 := strconv.ParseInt(f[i+1], 10, 64)
		if err1 != nil || err2 != nil || secs < 0 || changes < 0 {
			return nil, errBadArgs
		}
		rules = append(rules, engine.SaveRule{Seconds: secs, Changes: changes})
	}
	return rules, nil
}

// cmdSave takes a snapshot and answers when it is durable. Unlike Redis's
// SAVE it blocks only its own client: the others keep being served. And
// where Redis refuses SAVE during a background save, Cairn waits for it and
// then takes its own: the background save may have been started by a rule
// a moment ago, and the client asked for everything written before SAVE.
func cmdSave(c *client, args [][]byte) {
	if !c.s.eng.Snapshotting() {
		c.writeError("ERR snapshots are not configured")
		return
	}
	err := c.s.eng.SaveWaiting()
	switch {
	case err != nil:
		c.s.log.Error("SAVE failed", "err", err)
		c.writeError("ERR")
	default:
		c.writeOK()
	}
}

// cmdBGSave: BGSAVE [SCHEDULE].
func cmdBGSave(c *client, args [][]byte) {
	schedule := false
	if len(args) > 1 {
		if len(args) > 2 || !equalFold(args[1], "schedule") {
			c.writeError(msgSyntax)
			return
		}
		schedule = true
	}
	if !c.s.eng.Snapshotting() {
		c.writeError("ERR snapshots are not configured")
		return
	}
	err := c.s.eng.BGSave()
	switch {
	case errors.Is(err, engine.ErrSaveInProgress) && schedule:
		c.s.eng.ScheduleSave()
		c.writeSimple("Background saving scheduled")
	case errors.Is(err, engine.ErrSaveInProgress):
		c.writeError("ERR Background save already in progress")
	case err != nil:
		c.writeError("ERR " + sanitize(err.Error()))
	default:
		c.writeSimple("Background saving started")
	}
}

func cmdLastSave(c *client, args [][]byte) {
	c.writeInt(c.s.eng.SaveStatus().LastSave.Unix())
}

// writePersistenceInfo writes INFO persistence, with Redis's field names.
func (s *Server) writePersistenceInfo(b *strings.Builder) {
	eng := s.eng
	b.WriteString("# Persistence\r\n")
	loading := eng.Loading()
	infoLine(b, "loading", boolInt(loading))
	infoLine(b, "async_loading", 0)
	infoLine(b, "current_cow_peak", 0)
	infoLine(b, "current_cow_size", 0)
	infoLine(b, "current_cow_size_age", 0)
	infoLine(b, "current_fork_perc", "0.00")
	infoLine(b, "current_save_keys_processed", 0)
	infoLine(b, "current_save_keys_total", 0)
	if loading {
		p := eng.Progress()
		elapsed := time.Since(p.Started)
		infoLine(b, "loading_start_time", p.Started.Unix())
		// The snapshot's share counts by keys loaded, the log's by bytes.
		total := eng.LogStats().TotalSize + p.SnapshotSize
		loaded := p.Bytes
		if p.SnapshotTotal > 0 {
			loaded += p.SnapshotSize * p.SnapshotKeys / p.SnapshotTotal
		}
		infoLine(b, "loading_total_bytes", total)
		infoLine(b, "loading_rdb_used_mem", 0)
		infoLine(b, "loading_loaded_bytes", loaded)
		perc := 0.0
		if total > 0 {
			perc = 100 * float64(loaded) / float64(total)
		}
		infoLine(b, "loading_loaded_perc", strconv.FormatFloat(perc, 'f', 2, 64))
		eta := 1
		if perc > 0 {
			eta = int(elapsed.Seconds() * (100 - perc) / perc)
		}
		infoLine(b, "loading_eta_seconds", eta)
		infoLine(b, "loading_records", p.Records)
	}
	ss := eng.SaveStatus()
	infoLine(b, "rdb_changes_since_last_save", ss.ChangesSinceSave)
	infoLine(b, "rdb_bgsave_in_progress", boolInt(ss.InProgress))
	infoLine(b, "rdb_last_save_time", ss.LastSave.Unix())
	infoLine(b, "rdb_last_bgsave_status", okErr(ss.LastOK))
	lastSecs, curSecs := int64(-1), int64(-1)
	if ss.Saves > 0 || !ss.LastOK {
		lastSecs = int64(ss.LastDuration.Round(time.Second) / time.Second)
	}
	if ss.InProgress {
		curSecs = int64(time.Since(ss.Started) / time.Second)
	}
	infoLine(b, "rdb_last_bgsave_time_sec", lastSecs)
	infoLine(b, "rdb_current_bgsave_time_sec", curSecs)
	infoLine(b, "rdb_saves", ss.Saves)
	infoLine(b, "rdb_last_cow_size", 0)
	infoLine(b, "rdb_last_load_keys_expired", 0)
	infoLine(b, "rdb_last_load_keys_loaded", eng.Progress().SnapshotKeys)
	// Cairn's own: the newest snapshot file.
	infoLine(b, "snapshot_last_file", ss.LastPath)
	infoLine(b, "snapshot_last_keys", ss.LastKeys)
	infoLine(b, "snapshot_last_size", ss.LastSize)
	infoLine(b, "aof_enabled", boolInt(eng.Durable()))
	infoLine(b, "aof_rewrite_in_progress", 0)
	infoLine(b, "aof_rewrite_scheduled", 0)
	infoLine(b, "aof_last_rewrite_time_sec", -1)
	infoLine(b, "aof_current_rewrite_time_sec", -1)
	infoLine(b, "aof_last_bgrewrite_status", "ok")
	infoLine(b, "aof_rewrites", 0)
	infoLine(b, "aof_rewrites_consecutive_failures", 0)
	status := "ok"
	if eng.LogErr() != nil {
		status = "err"
	}
	infoLine(b, "aof_last_write_status", status)
	infoLine(b, "aof_last_cow_size", 0)
	infoLine(b, "module_fork_in_progress", 0)
	infoLine(b, "module_fork_last_cow_size", 0)
	if eng.Durable() {
		st := eng.LogStats()
		infoLine(b, "aof_current_size", st.TotalSize)
		infoLine(b, "aof_base_size", 0)
		infoLine(b, "aof_pending_rewrite", 0)
		infoLine(b, "aof_buffer_length", 0)
		infoLine(b, "aof_pending_bio_fsync", boolInt(st.BackgroundFsync))
		infoLine(b, "aof_delayed_fsync", 0)
		infoLine(b, "aof_fsync_policy", eng.SyncPolicy().String())
		infoLine(b, "aof_last_lsn", eng.LastLSN())
		infoLine(b, "aof_fsyncs", st.Fsyncs)
		infoLine(b, "aof_inline_fsyncs", st.InlineFsyncs)
		infoLine(b, "aof_last_fsync_usec", st.LastFsync.Microseconds())
		infoLine(b, "aof_max_fsync_usec", st.MaxFsync.Microseconds())
	}
}

func okErr(ok bool) string {
	if ok {
		return "ok"
	}
	return "err"
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
