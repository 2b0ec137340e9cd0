package server_test

// Blocking commands against redis-server, with several clients per side:
// a client blocks, another pushes, and the replies of both (and the order
// in which blocked clients are served, and timeouts) must match Redis's.
// The harness waits for a client to be blocked by polling INFO clients'
// blocked_clients on that side: an event, not a sleep.

import (
	"bufio"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairn-db/cairn/internal/resptest"
)

// blockStep is one step of a scenario.
type blockStep struct {
	conn int    // the client (0..)
	op   string // "send": write only; "recv": read one reply; "do": both; "blocked N": wait until N clients are blocked; "close"
	cmd  string // the command, split as diffSplit does
}

type blockScenario struct {
	name  string
	steps []blockStep
}

func send(conn int, cmd string) blockStep     { return blockStep{conn: conn, op: "send", cmd: cmd} }
func recv(conn int) blockStep                 { return blockStep{conn: conn, op: "recv"} }
func do(conn int, cmd string) blockStep       { return blockStep{conn: conn, op: "do", cmd: cmd} }
func blocked(n int) blockStep                 { return blockStep{op: "blocked", cmd: strconv.Itoa(n)} }
func closeConn(conn int) blockStep            { return blockStep{conn: conn, op: "close"} }
func blockSeq(steps ...blockStep) []blockStep { return steps }

var blockScenarios = []blockScenario{
	{"wake-up by RPUSH", blockSeq(
		send(0, "BLPOP k 0"), blocked(1), do(1, "RPUSH k a b"), recv(0), do(1, "LRANGE k 0 -1"), blocked(0))},
	{"first blocked, first served", blockSeq(
		send(0, "BLPOP k 0"), blocked(1), send(1, "BRPOP k 0"), blocked(2), send(2, "BLPOP k 0"), blocked(3),
		do(3, "RPUSH k x y"), recv(0), recv(1), blocked(1), do(3, "LPUSH k z"), recv(2), do(3, "EXISTS k"))},
	{"timeouts", blockSeq(
		do(0, "BLPOP k 0.05"), do(0, "BRPOP k1 k2 0.05"), do(0, "BRPOPLPUSH k d 0.05"), do(0, "BLMOVE k d LEFT RIGHT 0.05"),
		do(0, "BLMPOP 0.05 2 k k2 LEFT COUNT 2"), do(0, "BZPOPMIN z 0.05"), do(0, "BZPOPMAX z 0.05"),
		do(0, "BZMPOP 0.05 1 z MIN"), do(0, "EXISTS k d z"))},
	{"several keys", blockSeq(
		send(0, "BLPOP a b c 0"), blocked(1), do(1, "RPUSH c 1"), recv(0),
		send(0, "BRPOP a b c 0"), blocked(1), do(1, "RPUSH b 2 3"), recv(0), do(1, "LRANGE b 0 -1"))},
	{"BLMOVE chain", blockSeq(
		send(0, "BLMOVE src dst LEFT RIGHT 0"), blocked(1), send(1, "BLPOP dst 0"), blocked(2),
		do(2, "RPUSH src v w"), recv(0), recv(1), do(2, "LRANGE src 0 -1"), do(2, "EXISTS dst"),
		send(0, "BRPOPLPUSH src dst 0"), recv(0), do(2, "LRANGE dst 0 -1"))},
	{"sorted sets", blockSeq(
		send(0, "BZPOPMIN z 0"), blocked(1), send(1, "BZPOPMAX z 0"), blocked(2), do(2, "ZADD z 1 a 2 b 3 c"),
		recv(0), recv(1), do(2, "ZRANGE z 0 -1 WITHSCORES"),
		send(0, "BZMPOP 0 2 y z MAX COUNT 5"), recv(0),
		send(0, "BZMPOP 0 2 y x MIN COUNT 5"), blocked(1), do(2, "ZADD x 1 p 2 q"), recv(0))},
	{"list mpop", blockSeq(
		send(0, "BLMPOP 0 2 a b RIGHT COUNT 2"), blocked(1), do(1, "LPUSH b 1 2 3"), recv(0), do(1, "LRANGE b 0 -1"))},
	{"disconnect drops the waiter", blockSeq(
		send(0, "BLPOP k 0"), blocked(1), closeConn(0), blocked(0), do(1, "RPUSH k x"), do(1, "LLEN k"))},
	{"RENAME onto a blocked key", blockSeq(
		send(0, "BLPOP k 0"), blocked(1), do(1, "RPUSH tmp x"), do(1, "RENAME tmp k"), recv(0), do(1, "EXISTS k"))},
	{"wrong type while blocked", blockSeq(
		send(0, "BLPOP k 0.2"), blocked(1), do(1, "SET k str"), do(1, "DEL k"), do(1, "RPUSH k x"), recv(0))},
	{"pipelined after block", blockSeq(
		send(0, "BLPOP k 0"), send(0, "PING"), blocked(1), do(1, "RPUSH k x"), recv(0), recv(0), do(0, "ECHO after"))},
	{"LMOVE wakes", blockSeq(
		send(0, "BLPOP dst 0"), blocked(1), do(1, "RPUSH src a"), do(1, "LMOVE src dst LEFT LEFT"), recv(0))},
	{"a push in another database, through SELECT inside EXEC", blockSeq(
		do(0, "SELECT 1"), send(0, "BLPOP k 0"), blocked(1),
		do(1, "MULTI"), do(1, "SELECT 1"), do(1, "RPUSH k x"), do(1, "SELECT 0"), do(1, "EXEC"), recv(0),
		do(1, "SELECT 1"), do(1, "LLEN k"))},
	{"COPY and MOVE into another database", blockSeq(
		do(0, "SELECT 2"), send(0, "BLPOP k 0"), blocked(1), do(1, "RPUSH src x"), do(1, "COPY src k DB 2"), recv(0),
		send(0, "BZPOPMIN z 0"), blocked(1), do(1, "ZADD z 1 m"), do(1, "MOVE z 2"), recv(0), do(1, "EXISTS src z"))},
	{"a script's push", blockSeq(
		send(0, "BLPOP k 0"), blocked(1), do(1, "EVAL \"return redis.call('rpush', KEYS[1], 'a', 'b')\" 1 k"), recv(0),
		do(1, "LRANGE k 0 -1"))},
	{"blocked flag in CLIENT LIST", blockSeq(
		send(0, "BLPOP k 0"), blocked(1), do(1, "CLIENT LIST"), do(1, "RPUSH k x"), recv(0))},
}

// blockSide runs scenarios on one server.
type blockSide struct {
	t     *testing.T
	addr  string
	conns map[int]*blockConn
	admin *blockConn
}

type blockConn struct {
	nc net.Conn
	rd *bufio.Reader
}

func dialBlock(t *testing.T, addr string) *blockConn {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return &blockConn{nc: nc, rd: bufio.NewReader(nc)}
}

func (c *blockConn) send(t *testing.T, cmd string) {
	args, err := diffSplit(cmd)
	if err != nil {
		t.Fatalf("bad command %q: %v", cmd, err)
	}
	if _, err := c.nc.Write(resptest.AppendCommand(nil, args...)); err != nil {
		t.Fatal(err)
	}
}

func (c *blockConn) recv(t *testing.T) []byte {
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	rep, err := resptest.ReadReply(c.rd)
	if err != nil {
		return []byte("!read: " + err.Error())
	}
	return rep
}

var blockedRE = regexp.MustCompile(`blocked_clients:(\d+)`)

// waitBlocked polls INFO clients until n clients are blocked.
func (s *blockSide) waitBlocked(n int) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.admin.send(s.t, "INFO clients")
		rep := s.admin.recv(s.t)
		m := blockedRE.FindSubmatch(rep)
		if m != nil && string(m[1]) == strconv.Itoa(n) {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s: blocked_clients never became %d: %q", s.addr, n, rep)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

var clientListFlags = regexp.MustCompile(`flags=(\S+)`)

// run executes the scenario and returns the replies read, in order.
func (s *blockSide) run(sc blockScenario) []string {
	s.conns = map[int]*blockConn{}
	s.admin = dialBlock(s.t, s.addr)
	defer func() {
		for _, c := range s.conns {
			c.nc.Close()
		}
		s.admin.nc.Close()
	}()
	s.admin.send(s.t, "FLUSHALL")
	s.admin.recv(s.t)
	conn := func(i int) *blockConn {
		if s.conns[i] == nil {
			s.conns[i] = dialBlock(s.t, s.addr)
		}
		return s.conns[i]
	}
	var out []string
	for _, st := range sc.steps {
		switch st.op {
		case "send":
			conn(st.conn).send(s.t, st.cmd)
		case "recv", "do":
			c := conn(st.conn)
			if st.op == "do" {
				c.send(s.t, st.cmd)
			}
			rep := string(c.recv(s.t))
			if strings.HasPrefix(st.cmd, "CLIENT LIST") {
				// Only the flags are comparable: one line per client, by id.
				var flags []string
				for _, m := range clientListFlags.FindAllStringSubmatch(rep, -1) {
					flags = append(flags, m[1])
				}
				rep = fmt.Sprint("flags ", flags)
			}
			out = append(out, fmt.Sprintf("c%d %s -> %q", st.conn, st.cmd, rep))
		case "blocked":
			n, _ := strconv.Atoi(st.cmd)
			s.waitBlocked(n)
		case "close":
			conn(st.conn).nc.Close()
			delete(s.conns, st.conn)
		}
	}
	return out
}

// TestDiffBlocking runs each scenario on redis-server and on Cairn, with
// several connections per side, and compares every reply.
func TestDiffBlocking(t *testing.T) {
	p := newDiffPair(t)
	for _, sc := range blockScenarios {
		t.Run(sc.name, func(t *testing.T) {
			a := (&blockSide{t: t, addr: p.a.addr}).run(sc)
			b := (&blockSide{t: t, addr: p.b.addr}).run(sc)
			if len(a) != len(b) {
				t.Fatalf("%d replies from redis, %d from cairn", len(a), len(b))
			}
			for i := range a {
				if a[i] != b[i] {
					t.Errorf("reply %d differs:\n  redis: %s\n  cairn: %s", i, a[i], b[i])
				}
			}
			if t.Failed() || testing.Verbose() {
				t.Logf("redis replies:\n  %s", strings.Join(a, "\n  "))
			}
		})
	}
}
