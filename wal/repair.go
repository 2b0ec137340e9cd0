package wal

import (
	"path/filepath"

	"github.com/cairn-db/cairn/vfs"
)

// RepairInfo reports what Repair did.
type RepairInfo struct {
	// Damage is the damage found (nil: the log was sound and nothing was
	// changed).
	Damage *Damage
	// Cuts lists every file changed, in order: the damaged segment cut at
	// the damage (or removed, if its header was bad), then every later
	// segment removed.
	Cuts []Cut
	// Bytes is the total number of bytes removed.
	Bytes int64
	// RecordsLost counts the records in checksum-valid frames that were
	// removed; the bad frame's own records cannot be counted, so this is a
	// lower bound.
	RecordsLost int
	// LastLSN is the last LSN the repaired log covers, its records and
	// skip frames (0 if none).
	LastLSN uint64
}

// Cut is one file Repair (or Replay, for a torn tail) changed.
type Cut struct {
	// File is the segment's path.
	File string
	// Offset is where it was cut; 0 with Removed.
	Offset int64
	// Bytes is how many bytes were removed from it.
	Bytes int64
	// Removed reports that the whole file was deleted.
	Removed bool
}

// Repair cuts the log in dir at its first damage, whatever kind: the
// damaged segment is truncated there (removed, if the damage is in its
// header) and every later segment is removed. The result is durable (files
// and directory fsynced) before it returns. The records from the damage on
// are lost; RepairInfo says exactly what was removed. The log must not be
// open meanwhile.
func Repair(fs vfs.FS, dir string) (RepairInfo, error) {
	if fs == nil {
		fs = vfs.Default
	}
	s := &scanner{fs: fs, dir: dir}
	r, err := s.run()
	if err != nil {
		return RepairInfo{}, err
	}
	info := RepairInfo{Damage: r.info.Damage, LastLSN: r.next - min(r.next, 1)}
	if r.info.Damage == nil {
		return info, nil
	}
	info.RecordsLost = r.info.Damage.Records
	info.Cuts, err = cutLog(fs, dir, r)
	for _, c := range info.Cuts {
		info.Bytes += c.Bytes
	}
	return info, err
}

// cutLog removes everything from the end of the scan's valid prefix on:
// it truncates (or removes) the segment where the prefix ends and removes
// every later one, newest first, then fsyncs the directory. A crash part-way
// leaves a log whose remaining tail is still found damaged, so the cut can
// simply be done again.
func cutLog(fs vfs.FS, dir string, r *scanResult) ([]Cut, error) {
	var cuts []Cut
	i := r.endSeg
	segs := r.info.Segments
	if i >= 0 {
		path := segs[i].File
		if r.endOff < segmentHeaderSize {
			if err := fs.Remove(path); err != nil {
				return cuts, err
			}
			cuts = append(cuts, Cut{File: path, Bytes: segs[i].Bytes, Removed: true})
		} else if r.endOff < segs[i].Bytes {
			f, err := fs.OpenReadWrite(path)
			if err != nil {
				return cuts, err
			}
			// Fsync the truncation: a cut undone by a crash would bring the
			// damage back under frames appended after it.
			err = f.Truncate(r.endOff)
			if err == nil {
				err = f.Sync()
			}
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return cuts, err
			}
			cuts = append(cuts, Cut{File: path, Offset: r.endOff, Bytes: segs[i].Bytes - r.endOff})
		}
	}
	// Remove the later segments newest first: a crash part-way leaves
	// segments that still follow on, never a hole in the middle.
	for j := len(segs) - 1; j > i; j-- {
		if err := fs.Remove(segs[j].File); err != nil {
			return cuts, err
		}
		cuts = append(cuts, Cut{File: segs[j].File, Bytes: segs[j].Bytes, Removed: true})
	}
	if len(cuts) > 0 {
		// The removals are durable only once the directory is.
		if err := fs.SyncDir(filepath.Clean(dir)); err != nil {
			return cuts, err
		}
	}
	return cuts, nil
}
