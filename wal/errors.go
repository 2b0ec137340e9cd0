package wal

import (
	"errors"
	"fmt"
	"path/filepath"
)

var (
	// ErrCorrupt is what every *CorruptionError matches with errors.Is: the
	// log is damaged in a way that replaying past would be wrong.
	ErrCorrupt = errors.New("wal: corrupt log")
	// ErrClosed is returned by calls on a closed log.
	ErrClosed = errors.New("wal: log is closed")
)

// CorruptionError locates damage that Replay refuses to truncate by itself:
// a bad frame with frames after it that prove it had been fsynced, an LSN
// gap, or records the caller needs that the log does not hold.
type CorruptionError struct {
	// File is the path of the segment holding the damage.
	File string
	// Offset is the byte offset of the damaged frame (0: the header).
	Offset int64
	// Reason says what is wrong.
	Reason string
	// noRepair is set when repairing cannot help (records are missing
	// from the start of the log, or were skipped): the message then does
	// not advise it.
	noRepair bool
}

func (e *CorruptionError) Error() string {
	msg := fmt.Sprintf("wal: corrupt log: %s at offset %d: %s", e.File, e.Offset, e.Reason)
	if e.noRepair {
		return msg + " (repair cannot restore missing records: replay from an older snapshot, or move the log away)"
	}
	return msg + fmt.Sprintf("; to drop everything from this point on, run `cairn-inspect wal repair %s`", filepath.Dir(e.File))
}

// Is makes errors.Is(err, ErrCorrupt) true for a *CorruptionError.
func (e *CorruptionError) Is(target error) bool { return target == ErrCorrupt }
