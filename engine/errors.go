package engine

import "errors"

// Sentinel errors that callers branch on. The server maps each to Redis's
// exact error text; the engine never builds protocol strings.
var (
	ErrWrongType     = errors.New("engine: wrong type")
	ErrNotInteger    = errors.New("engine: value is not an integer or out of range")
	ErrNotFloat      = errors.New("engine: value is not a valid float")
	ErrOverflow      = errors.New("engine: increment or decrement would overflow")
	ErrNaNOrInfinity = errors.New("engine: increment would produce NaN or Infinity")
	ErrNoSuchKey     = errors.New("engine: no such key")
	ErrSameObject    = errors.New("engine: source and destination objects are the same")
	ErrDBIndex       = errors.New("engine: DB index is out of range")
	ErrStringTooLong = errors.New("engine: string exceeds maximum allowed size")
	ErrInvalidExpire = errors.New("engine: invalid expire time")
	ErrReadOnlyTx    = errors.New("engine: write in a read-only transaction")
	ErrKeyNotLocked  = errors.New("engine: key's shard is not locked by this transaction")
	ErrClosed        = errors.New("engine: closed")
)
