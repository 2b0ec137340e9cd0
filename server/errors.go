package server

import (
	"errors"
	"strings"
	"syscall"

	"github.com/cairn-db/cairn/engine"
)

// Redis's error replies, verbatim (without the leading '-').
const (
	msgSyntax          = "ERR syntax error"
	msgNotInteger      = "ERR value is not an integer or out of range"
	msgNotFloat        = "ERR value is not a valid float"
	msgWrongType       = "WRONGTYPE Operation against a key holding the wrong kind of value"
	msgOverflow        = "ERR increment or decrement would overflow"
	msgNaNInf          = "ERR increment would produce NaN or Infinity"
	msgNoSuchKey       = "ERR no such key"
	msgSameObject      = "ERR source and destination objects are the same"
	msgDBIndex         = "ERR DB index is out of range"
	msgNoAuth          = "NOAUTH Authentication required."
	msgWrongPass       = "WRONGPASS invalid username-password pair or user is disabled."
	msgNoPassword      = "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
	msgStringTooLong   = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
	msgOffsetRange     = "ERR offset is out of range"
	msgInvalidCursor   = "ERR invalid cursor"
	msgNoProto         = "NOPROTO unsupported protocol version"
	msgProtoNotInteger = "ERR Protocol version is not an integer or out of range"
	msgHelloNoAuth     = "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"
	msgNoSuchClient    = "ERR No such client"
	msgTimeoutNegative = "ERR timeout is negative"
	msgLoading         = "LOADING Redis is loading the dataset in memory"
	// msgMisconf is followed by the error's text, as Redis follows it by
	// strerror.
	msgMisconf = "MISCONF Errors writing to the AOF file: "
	// msgBgsaveErr is Redis's reply to a write while the latest snapshot
	// failed (stop-writes-on-bgsave-error).
	msgBgsaveErr = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. " +
		"Commands that may modify the data set are disabled, because this instance is configured to report errors " +
		"during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). " +
		"Please check the Redis logs for details about the RDB error."
)

// engineErrorText maps an engine sentinel to Redis's error text.
func engineErrorText(err error) string {
	switch {
	case errors.Is(err, engine.ErrWrongType):
		return msgWrongType
	case errors.Is(err, engine.ErrNotInteger):
		return msgNotInteger
	case errors.Is(err, engine.ErrNotFloat):
		return msgNotFloat
	case errors.Is(err, engine.ErrOverflow):
		return msgOverflow
	case errors.Is(err, engine.ErrNaNOrInfinity):
		return msgNaNInf
	case errors.Is(err, engine.ErrNoSuchKey):
		return msgNoSuchKey
	case errors.Is(err, engine.ErrSameObject):
		return msgSameObject
	case errors.Is(err, engine.ErrDBIndex):
		return msgDBIndex
	case errors.Is(err, engine.ErrStringTooLong):
		return msgStringTooLong
	}
	return "ERR " + err.Error()
}

func errWrongArity(name string) string {
	return "ERR wrong number of arguments for '" + name + "' command"
}

func errInvalidExpire(cmd string) string {
	return "ERR invalid expire time in '" + cmd + "' command"
}

// errnoText is an I/O error's text as strerror gives it: "No space left on
// device", without the operation and path that Go's errors carry.
func errnoText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		if s != "" {
			return strings.ToUpper(s[:1]) + s[1:]
		}
	}
	return err.Error()
}
