package server

import (
	"context"
	"strconv"
	"strings"
	"time"
)

func persistenceCommands() []*command {
	return []*command{
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
		infoLine(b, "loading_total_bytes", eng.LogStats().TotalSize)
		infoLine(b, "loading_rdb_used_mem", 0)
		infoLine(b, "loading_loaded_bytes", p.Bytes)
		perc := 0.0
		if total := eng.LogStats().TotalSize; total > 0 {
			perc = 100 * float64(p.Bytes) / float64(total)
		}
		infoLine(b, "loading_loaded_perc", strconv.FormatFloat(perc, 'f', 2, 64))
		eta := 1
		if perc > 0 {
			eta = int(elapsed.Seconds() * (100 - perc) / perc)
		}
		infoLine(b, "loading_eta_seconds", eta)
		infoLine(b, "loading_records", p.Records)
	}
	infoLine(b, "rdb_changes_since_last_save", 0)
	infoLine(b, "rdb_bgsave_in_progress", 0)
	infoLine(b, "rdb_last_save_time", s.started.Unix())
	infoLine(b, "rdb_last_bgsave_status", "ok")
	infoLine(b, "rdb_last_bgsave_time_sec", -1)
	infoLine(b, "rdb_current_bgsave_time_sec", -1)
	infoLine(b, "rdb_saves", 0)
	infoLine(b, "rdb_last_cow_size", 0)
	infoLine(b, "rdb_last_load_keys_expired", 0)
	infoLine(b, "rdb_last_load_keys_loaded", 0)
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
		infoLine(b, "aof_pending_bio_fsync", 0)
		infoLine(b, "aof_delayed_fsync", 0)
		infoLine(b, "aof_fsync_policy", eng.SyncPolicy().String())
		infoLine(b, "aof_last_lsn", eng.LastLSN())
		infoLine(b, "aof_fsyncs", st.Fsyncs)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
