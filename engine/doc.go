// Package engine holds the data Cairn serves: databases 0..N-1, each a
// keyspace of strings (and, later, collections) with millisecond expiry.
//
// The keyspace is split into shards by a hash of the key, one lock per
// shard, shared by all databases: a key hashes to the same shard in every
// database. Every access runs inside a transaction (Engine.Update or
// Engine.View) that locks the shards of the keys it names, in ascending shard
// order, so that requests on different shards run in parallel and
// conflicting ones serialise. A write records its effects — deterministic,
// key-level mutations with absolute times (DESIGN rule 1) — and hands them to
// the Committer while it still holds the locks (rule 3).
//
// The engine knows nothing of RESP: callers parse arguments and format
// replies; the engine returns values and sentinel errors (ErrWrongType, …).
package engine
