package server_test

// The differential test's transactions (single connection): a generator
// of MULTI/EXEC/DISCARD/WATCH/UNWATCH mixed into the random sequences, fixed
// cases, and a tracker that canonicalises EXEC's reply element by element
// as the queued commands would be compared on their own (KEYS sorted,
// SCAN/RANDOMKEY/TTL and the other families' canonicalised commands reduced
// to their reply's type). The two-connection tests are in
// multi_pubsub_diff_integration_test.go.

import (
	"strings"

	"github.com/cairn-db/cairn/internal/resptest"
)

func init() {
	diffFamilies = append(diffFamilies, diffMultiCommand)
	diffIntercept = diffTrackTx
	diffOnReset = func(s *diffSide) { delete(diffTxState, s) }
	diffCases = append(diffCases, diffMultiCases...)
}

func diffMultiCommand(g *diffGen) []string {
	switch n := g.r.Intn(100); {
	case n < 30:
		return []string{"MULTI"}
	case n < 58:
		return []string{"EXEC"}
	case n < 66:
		return []string{"DISCARD"}
	case n < 88:
		return append([]string{"WATCH"}, g.keys(1, 3)...)
	default:
		return []string{"UNWATCH"}
	}
}

// diffTx is what the tracker knows of one side's connection.
type diffTx struct {
	inMulti bool
	// queued holds how each queued command's reply is compared.
	queued []diffTxCmp
}

type diffTxCmp int

const (
	diffTxExact  diffTxCmp = iota
	diffTxSorted           // KEYS
	diffTxShape            // nondeterministic: only the reply's type (errors exactly)
)

var diffTxState = map[*diffSide]*diffTx{}

// diffTrackTx follows MULTI state and answers EXEC with a canonical reply.
func diffTrackTx(s *diffSide, args []string) ([]byte, bool) {
	st := diffTxState[s]
	if st == nil {
		st = &diffTx{}
		diffTxState[s] = st
	}
	name := strings.ToUpper(args[0])
	if !st.inMulti {
		if name == "MULTI" {
			rep := s.do(args)
			if string(rep) == "+OK\r\n" {
				st.inMulti, st.queued = true, nil
			}
			return rep, true
		}
		return nil, false
	}
	switch name {
	case "EXEC":
		rep := s.do(args)
		queued := st.queued
		st.inMulti, st.queued = false, nil
		return diffCanonicalExec(rep, queued), true
	case "DISCARD", "RESET":
		rep := s.do(args)
		if rep[0] != '-' {
			st.inMulti, st.queued = false, nil
		}
		return rep, true
	}
	rep := s.do(args)
	if string(rep) == "+QUEUED\r\n" {
		mode := diffTxExact
		switch m, _ := diffCompareMode(args); {
		case diffRunners[name] != nil:
			mode = diffTxShape
		case m == diffCmpSorted:
			mode = diffTxSorted
		case m != diffCmpExact:
			mode = diffTxShape
		}
		st.queued = append(st.queued, mode)
	}
	return rep, true
}

func diffCanonicalExec(raw []byte, queued []diffTxCmp) []byte {
	rep, err := resptest.Parse(raw)
	if err != nil || rep.Kind != resptest.Array || rep.Nil || len(rep.Elems) != len(queued) {
		return raw
	}
	for i, mode := range queued {
		e := rep.Elems[i]
		switch {
		case e.Kind == resptest.Error || mode == diffTxExact:
		case mode == diffTxSorted && e.Kind == resptest.Array && !e.Nil:
			rep.Elems[i] = resptest.Reply{Kind: resptest.Array, Elems: mustParse(diffSortedArray(e)).Elems}
		default:
			rep.Elems[i] = resptest.Reply{Kind: resptest.Simple, Str: []byte("(a reply of type " + string(rune(e.Kind)) + ")")}
		}
	}
	return rep.Encode()
}

func mustParse(raw []byte) resptest.Reply {
	r, err := resptest.Parse(raw)
	if err != nil {
		panic(err)
	}
	return r
}

var diffMultiCases = []struct {
	name string
	cmds []string
}{
	{"multi basics", []string{
		"MULTI", "SET a 1", "INCR a", "GET a", "MGET a b", "EXEC", "GET a",
		"MULTI", "EXEC", "MULTI", "DISCARD", "EXEC", "DISCARD", "MULTI", "PING", "ECHO hi", "EXEC",
	}},
	{"multi errors at queue time", []string{
		"MULTI", "SET a 1", "FOO", "EXEC", "GET a",
		"MULTI", "SET a 2", "GET", "EXEC", "GET a",
		"MULTI", "SET a 3", "SET a", "INCR a", "EXEC",
		"MULTI", "CLIENT NOPE", "EXEC",
		"MULTI", "CONFIG", "EXEC",
		"MULTI", "SAVE", "EXEC",
		"MULTI", "SHUTDOWN", "EXEC",
		"MULTI", "SHUTDOWN NOSAVE", "DISCARD",
		"MULTI", "MULTI", "SET a 4", "EXEC", "GET a",
		"MULTI", "MULTI foo", "EXEC",
		"MULTI", "WATCH a", "SET a 5", "EXEC", "GET a",
		"MULTI", "EXEC foo", "EXEC", "EXEC foo", "DISCARD foo",
		"MULTI", "DISCARD foo", "EXEC",
		"MULTI", "UNWATCH x", "EXEC", "WATCH", "MULTI", "UNWATCH", "EXEC",
	}},
	{"multi errors at run time", []string{
		"SET s str", "MULTI", "SET a 1 2 3", "INCR s", "GET a", "INCRBY a x", "SET b 2",
		"EXPIRE b abc", "GETRANGE s a b", "SELECT 100", "GET b", "EXEC",
		"MULTI", "SELECT 1", "SET a db1", "SELECT 0", "GET a", "SELECT 1", "GET a", "EXEC", "GET a",
		"SELECT 0", "MULTI", "RENAME nokey x", "COPY s s", "MOVE s 0", "EXEC",
	}},
	{"multi whole keyspace", []string{
		"MSET a 1 b 2 c 3", "MULTI", "KEYS *", "DBSIZE", "SET d 4", "DBSIZE", "KEYS ?", "FLUSHDB", "DBSIZE",
		"SET e 5", "EXEC", "KEYS *",
		"MULTI", "SET x 1", "SELECT 1", "SET y 2", "FLUSHALL", "SET z 3", "SELECT 0", "EXEC", "KEYS *",
		"SELECT 1", "KEYS *", "SELECT 0",
		"MULTI", "FLUSHALL FOO", "FLUSHDB ASYNC", "EXEC",
	}},
	{"multi connection commands", []string{
		"MULTI", "PING", "PING x", "ECHO e", "CLIENT SETNAME tx", "CLIENT GETNAME", "AUTH x",
		"CLIENT GETNAME", "SELECT 2", "EXEC", "CLIENT GETNAME",
		"SELECT 0", "MULTI", "PUBLISH ch m", "PUBSUB NUMSUB ch", "PUBSUB NUMPAT", "PUBSUB CHANNELS", "EXEC",
		"MULTI", "PUBSUB CHANNELS a b", "PUBSUB NUMPAT x", "EXEC",
		"MULTI", "SET a 1", "RESET", "EXEC", "GET a",
	}},
	{"watch by the same client", []string{
		"WATCH a", "SET a 1", "MULTI", "GET a", "EXEC", "GET a",
		"WATCH a", "GET a", "MULTI", "SET a 2", "EXEC", "GET a",
		"WATCH a b c", "WATCH a", "SET c 1", "WATCH b", "MULTI", "EXEC",
		"WATCH a", "UNWATCH", "SET a 3", "MULTI", "SET a 4", "EXEC", "GET a",
		"WATCH a", "SET a 5", "UNWATCH", "MULTI", "EXEC",
		"WATCH a", "SET a 6", "MULTI", "DISCARD", "MULTI", "EXEC",
		"WATCH a", "MULTI", "FOO", "EXEC", "SET a 7", "MULTI", "EXEC",
		"WATCH a", "DEL nokey", "MULTI", "EXEC",
		"WATCH a", "SET a 7", "EXEC", "MULTI", "EXEC",
	}},
	{"watch and keyspace commands", []string{
		"SET s 1", "WATCH d", "COPY s d", "MULTI", "EXEC",
		"WATCH s", "COPY s d2", "MULTI", "EXEC",
		"WATCH s", "RENAME s r", "MULTI", "EXEC",
		"WATCH s", "RENAME r s", "MULTI", "EXEC",
		"WATCH s", "MOVE s 1", "MULTI", "EXEC",
		"SELECT 1", "WATCH s", "SELECT 0", "SET s 2", "MULTI", "EXEC",
		"SELECT 1", "WATCH s", "MOVE s 0", "SELECT 0", "MULTI", "EXEC",
		"WATCH nokey", "FLUSHALL", "MULTI", "EXEC",
		"SET w 1", "WATCH w", "FLUSHDB", "MULTI", "EXEC",
		"SET w 1", "SELECT 3", "WATCH w", "SELECT 0", "FLUSHDB", "MULTI", "EXEC",
		"SET w 1", "SELECT 3", "WATCH w", "FLUSHALL", "MULTI", "EXEC", "SELECT 0",
		"SET w 1", "WATCH w", "FLUSHALL", "MULTI", "EXEC",
		"SET w 1", "WATCH w", "EXPIRE w 100", "MULTI", "EXEC",
		"WATCH w", "PERSIST w", "MULTI", "EXEC",
		"WATCH w", "PERSIST w", "MULTI", "EXEC",
		"WATCH w", "EXPIRE w 0", "MULTI", "EXEC",
		"SET w 1", "WATCH w", "SET w 1", "MULTI", "EXEC",
		"WATCH w", "APPEND w \"\"", "MULTI", "EXEC",
		"WATCH w", "GETEX w", "MULTI", "EXEC",
		"WATCH w", "GETDEL w", "MULTI", "EXEC",
	}},
	{"watch keys already expired", []string{
		// PEXPIREAT in the past on a fresh key keeps nothing: Redis
		// deletes it at once, as Cairn does.
		"SET e 1", "PEXPIREAT e 1", "WATCH e", "SET e 2", "MULTI", "EXEC",
		"WATCH e", "GET e", "MULTI", "EXEC",
	}},
}
