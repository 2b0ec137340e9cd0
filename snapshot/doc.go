// Package snapshot implements Cairn's snapshot file format: a point-in-time
// image of the keyspace that caps the write-ahead log and makes a restart
// fast. It knows nothing of commands or of the engine: the value codecs live
// here, so that an offline tool can read a snapshot on its own.
//
// A file is written to a temporary name, fsynced, renamed to its final name
// and the directory fsynced, so that it exists whole or not at all. It is
// read through mmap; its data blocks decode independently, so a loader can
// use every core.
//
// # Layout
//
// All fixed-width integers are little-endian.
//
//	file   := header block* index footer
//	header := magic "CAIRNSNP" | version u32 | shards u32 | created i64 (Unix ms)
//	          | reserved u32 | crc u32 (CRC-32C of the 28 bytes before it)
//	block  := rawLen u32 | storedLen u32 | crc u32 (CRC-32C of the stored bytes)
//	          | stored (snappy-compressed entries, storedLen bytes)
//	index  := version byte | shards uvarint | stamp uvarint × shards
//	          | blocks uvarint | (offset uvarint | storedLen uvarint | rawLen uvarint
//	          | shard uvarint | entries uvarint) × blocks
//	          | stats uvarint | (db uvarint | type byte | keys uvarint | bytes uvarint) × stats
//	footer := indexOffset u64 | indexLen u32 | indexCRC u32 | magic "CAIRNEND"
//
// A block holds entries of one shard only, and either strings only or
// collections only (a loader may keep a block of strings as their memory;
// a block of collections is garbage once loaded); a shard's entries may
// span several blocks. A block is cut after the entry that takes it past
// the writer's block size, so one holding a large key is as large as the
// key (up to the 4 GiB its header can state). Its stamp is the LSN of the last write the shard's
// entries reflect: recovery replays, for each key, only the log's effects
// newer than its shard's stamp.
//
//	entry  := db uvarint | type byte | expireAt varint | keyLen uvarint
//	          | valueLen uvarint | key | value
//
// (key and value adjacent: a loader may keep both in one piece of the
// decoded block), and within values
//
//	bytes  := len uvarint | data
//
// The value of an entry, by type:
//
//	string := the bytes of the string
//	list   := count uvarint | element bytes × count        (head to tail)
//	set    := count uvarint | member bytes × count
//	hash   := count uvarint | (field bytes | value bytes) × count
//	zset   := count uvarint | (member bytes | score u64 (IEEE 754 bits)) × count
//	                                                  (ascending score order)
package snapshot
