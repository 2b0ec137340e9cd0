// Package wal implements Cairn's write-ahead log: an append-only log of
// opaque records, numbered by dense log sequence numbers (LSNs 1, 2, 3, …
// across restarts), kept in numbered segment files, written by one
// committer goroutine with group commit and a tunable fsync policy. It
// knows nothing of commands: the engine hands it one record per write
// transaction and replays them at start.
//
// # Use
//
//	l, err := wal.Open(wal.Options{Dir: "data/wal", Sync: wal.SyncEverySec})
//	info, err := l.Replay(snapshotLSN, apply)   // once, before any Append
//	lsn := l.Append(rec)                        // under the engine's locks: no I/O
//	err = l.WaitSynced(ctx, lsn)                // under "always": before replying
//	err = l.Close()                             // writes and fsyncs what is pending
//
// # Files
//
// A log is a directory of segments named after the first LSN they hold,
// "%012d.log" (000000000001.log, 000000004711.log, …); other names are
// ignored. A new segment is started once the current one has reached
// Options.SegmentSize. Segments wholly covered by a snapshot are removed
// with RemoveSegmentsThrough.
//
// With Options.Preallocate, under SyncAlways, the next segment is prepared
// in the background as "next.log.tmp": filled with zeros to SegmentSize
// and fsynced, then renamed when the log moves on, so that frames are
// written over fsynced zeros and an fsync writes their data only, not the
// file's size (see preallocated). A plain segment is left for a prepared
// one as soon as one is ready. A segment is cut to its frames before the
// next one begins, and the last one at Close, so zeros can only be found
// at the end of the last segment, where a reader takes them for the end
// of the log. A "next.log.tmp" left by a crash is removed at Open.
//
// # Format
//
// All integers are little-endian; every checksum is CRC-32C (Castagnoli).
// The constants in format.go are part of the on-disk format.
//
//	segment:
//	+----------------+-------------+----------------+-------------+
//	| magic (8)      | version (4) | first LSN (8)  | CRC (4)     |  header, 24 bytes;
//	| "CAIRNWAL"     | 1           | = file name    | of bytes    |  checked in this order:
//	|                |             |                | 0..19       |  magic, version, CRC, LSN
//	+----------------+-------------+----------------+-------------+
//	| frame | frame | frame | …                                   |
//	+-------------------------------------------------------------+
//
//	frame (one per committer batch):
//	+---------+-------------+----------+-----------+---------------+---------------+--------------+
//	| CRC (4) | length (4)  | type (1) | count (4) | first LSN (8) | durable (8)   | payload      |
//	| of all  | of payload  | 1 raw    | records   | of its first  | bytes of this | (length      |
//	| that    | as stored   | 2 snappy | (LSNs, for| record        | segment known | bytes)       |
//	| follows |             | 3 mark   | a skip)   |               | fsynced when  |              |
//	|         |             | 4 skip   |           |               | it was written|              |
//	+---------+-------------+----------+-----------+---------------+---------------+--------------+
//	 29-byte header
//
//	raw payload:  | uvarint len | record bytes | uvarint len | record bytes | …   (count records)
//	snappy:       the raw payload, snappy block format, as a whole
//
// Type 0 is never written, so a header of zeros is unwritten space (a file
// the filesystem extended but never filled, or a prepared segment's
// zeros), not data: zeros from a frame boundary to the end of the last
// segment end the log; zeros anywhere else are damage. A frame holds count
// records with LSNs first, first+1, …; LSNs are dense across frames and
// segments. A mark (type 3: no records, no payload) is written after the
// final fsync at Close. A skip (type 4: no payload) declares its count LSNs
// absent on purpose: Replay writes one when the caller's snapshot is newer
// than the log (after > the last LSN), so that LSNs stay dense; a later
// Replay that needs those LSNs fails.
//
// The committer snappy-compresses a payload larger than
// Options.CompressAbove when that makes it smaller. A reader bounds every
// length before it allocates: a frame's payload is at most MaxFramePayload
// (1 GiB) and never more than the file still holds; a snappy payload may
// not claim more than 32× its size (the format cannot expand more than
// about 21×); a count may not exceed the bytes that would hold it. A
// reader never allocates more than the file's size (plus that bounded
// decoding buffer), and corrupt input is an error, never a panic.
//
// # Torn tail or corruption
//
// A crash can leave the end of the log half-written: a frame cut short, a
// tail of zeros, garbage where a sector was torn, and, since the disk may
// write back unsynced pages in any order, a damaged frame followed by good
// ones. None of that was ever fsynced, so dropping it is correct. Damage in
// bytes that were fsynced is corruption: dropping the records after it
// would silently lose acknowledged writes.
//
// The reader tells the two apart with the durable field. Every frame
// promises that bytes [0, durable) of its segment had been fsynced before
// it was written; and a segment is created only once the previous one is
// wholly fsynced (and its own header is fsynced before any frame goes
// after it). So damage at offset X of a segment is corruption if a
// checksum-valid frame after it in the same segment has durable > X, or if
// any later segment has a valid header or a valid frame. Otherwise it is a
// torn tail: Replay truncates it (and removes any later segment), logs a
// warning naming file and offset, and reports it in ReplayInfo.TornTail.
// An LSN that does not follow on (a gap, a missing segment) is damage too,
// judged the same way. The mark written at Close makes damage anywhere in
// a cleanly closed log corruption.
//
// This refines "a bad frame with valid frames after it is corruption": a
// valid frame that nothing proves was written after the bad one was
// fsynced may come from out-of-order writeback at a crash, and is dropped
// with the torn tail. The price is that damage to the last frames written
// before a crash, when they had been fsynced but nothing written later
// vouches for it, is taken for a torn tail (under "always" every frame is
// vouched for by the next one).
//
// On corruption Replay changes nothing and returns a *CorruptionError
// (errors.Is(err, ErrCorrupt)) naming the file and offset and the repair
// command, `cairn-inspect wal repair DIR`, which calls Repair: it cuts the
// log at the first damage of any kind and reports what it removed. Scan
// reads a log without writing, for the inspector.
//
// # Group commit and fsync policy
//
// Append assigns the next LSN and copies the record into the pending
// batch under a mutex: no I/O, so the engine may call it with its shard
// locks held. It waits only while the pending batch exceeds 32 MiB and the
// log is healthy (back-pressure). The committer takes the whole pending
// batch, writes it as one frame (split at record boundaries past 1 GiB),
// and fsyncs: under SyncAlways after every frame, before waking WaitSynced
// callers, so that concurrent writers share an fsync; under SyncEverySec
// about once a second; under SyncNo when the OS decides, except that the
// log still fsyncs before it starts a new segment, when WaitSynced asks,
// at Close, and once 64 MiB are unsynced. WaitSynced forces an fsync soon
// whatever the policy (WAITAOF).
//
// Under SyncAlways the committer's work is usually done by a writer waiting
// in WaitSynced: it takes the committer's lock if free and commits the
// pending batch in its own goroutine (Redis likewise writes and fsyncs in
// its own thread before replying), sparing two goroutine wake-ups per
// commit; writers that find the lock taken wait for that fsync and lead the
// next one if theirs was not in it. Appends under SyncAlways do not wake
// the committer goroutine, which sweeps up records nobody waits for every
// 2 ms. WaitWritten waits only for the write (the server's wait under
// everysec and no, so a crashed process loses no acknowledged write).
//
// # Failures
//
// A failed write or fsync puts the log in a failing state: Err returns the
// failure (logged), WaitSynced callers get it, and Append goes on without
// blocking (the engine is expected to refuse writes meanwhile, as Redis
// does with -MISCONF). The committer keeps every frame written since the
// last successful fsync in memory and retries every 100 ms. It does not
// trust the segment after a failed write or fsync: an fsync that failed
// may have dropped the dirty pages, and a retried fsync could report
// success for data that never reached the disk (Pebble's lesson,
// "fsyncgate"). So healing reopens the segment, truncates it back to the
// size of the last successful fsync, writes the kept frames again, and
// fsyncs; if the segment could not be created, it is created anew. Only
// then is Err cleared. Synced records are thus never lost, and the log
// never holds an LSN twice: Replay does not skip duplicates. A log closed
// while failing tries to heal once more; if that fails, Close returns the
// failure and the unsynced records are lost.
package wal
