package server_test

// Lists and sorted sets in the differential test (see
// diff_integration_test.go): random command generators, fixed edge cases,
// and a canonical form for ZRANDMEMBER's random replies.

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/cairn-db/cairn/internal/resptest"
)

// Elements drawn from a small pool, so that LREM, LPOS and LINSERT find
// matches and ZADD updates members.
var diffListElems = []string{"a", "b", "c", "x", "1", "2", "-1", "", "a b", "\x00", "ключ", strings.Repeat("e", 70)}

var diffZScores = []string{"0", "1", "2", "-1", "1.5", "-2.25", "0.1", "inf", "-inf", "+inf", "1e300", "-0",
	"3", "10", "100", "0x10", "1e-320", "nan", "abc", "", " 1", "1e400", "5e-324"}

var diffZBounds = []string{"-inf", "+inf", "inf", "0", "1", "(1", "2", "(2", "-1", "(-inf", "1.5", "(0",
	"abc", "", "(", " 1", "nan", "10", "(10", "1e400"}

var diffLexBounds = []string{"-", "+", "[a", "(a", "[b", "(c", "[x", "[", "(", "a", "", "[\x00", "(ключ"}

var diffTimeouts = []string{"0.01", "0.02", "-1", "abc", "-0.5", "inf", "1e20", "0.01x", " 0.01"}

func init() {
	diffFamilies = append(diffFamilies, diffListCommand, diffZSetCommand)
	diffRunners["ZRANDMEMBER"] = diffRunZRandMember
	diffRunners["ZSCAN"] = diffRunZScan
	for _, name := range []string{"ZRANGEBYLEX", "ZREVRANGEBYLEX", "ZLEXCOUNT", "ZREMRANGEBYLEX", "ZRANGE", "ZRANGESTORE"} {
		diffRunners[name] = diffRunLex
	}
	for name, at := range map[string]int{"BLPOP": -1, "BRPOP": -1, "BZPOPMIN": -1, "BZPOPMAX": -1,
		"BRPOPLPUSH": 3, "BLMOVE": 5, "BLMPOP": 1, "BZMPOP": 1} {
		diffRunners[name] = diffRunBlocking(at)
	}
	diffCases = append(diffCases, diffListCases...)
	diffCases = append(diffCases, diffZSetCases...)
}

func (g *diffGen) listElem() string {
	if g.chance(0.15) {
		return g.value()
	}
	return g.pick(diffListElems)
}

func (g *diffGen) listElems(min, max int) []string {
	n := min + g.r.Intn(max-min+1)
	out := make([]string, n)
	for i := range out {
		out[i] = g.listElem()
	}
	return out
}

func (g *diffGen) idx() string {
	if g.chance(0.2) {
		return g.pick(diffRangeIdx)
	}
	return strconv.Itoa(g.r.Intn(12) - 6)
}

func diffListCommand(g *diffGen) []string {
	k := g.key()
	lr := func() string { return g.pick([]string{"LEFT", "RIGHT", "left", "UP"}) }
	switch n := g.r.Intn(100); {
	case n < 14:
		return append([]string{g.pick([]string{"LPUSH", "RPUSH"}), k}, g.listElems(1, 5)...)
	case n < 17:
		return append([]string{g.pick([]string{"LPUSHX", "RPUSHX"}), k}, g.listElems(1, 3)...)
	case n < 25:
		args := []string{g.pick([]string{"LPOP", "RPOP"}), k}
		if g.chance(0.4) {
			args = append(args, g.pick([]string{"0", "1", "2", "5", "-1", "abc", "100"}))
		}
		return args
	case n < 28:
		return []string{"LLEN", k}
	case n < 36:
		return []string{"LRANGE", k, g.idx(), g.idx()}
	case n < 40:
		return []string{"LINDEX", k, g.idx()}
	case n < 43:
		return []string{"LSET", k, g.idx(), g.listElem()}
	case n < 47:
		return []string{"LREM", k, g.pick([]string{"0", "1", "-1", "2", "-2", "abc"}), g.listElem()}
	case n < 50:
		return []string{"LTRIM", k, g.idx(), g.idx()}
	case n < 54:
		return []string{"LINSERT", k, g.pick([]string{"BEFORE", "AFTER", "before", "MIDDLE"}), g.listElem(), g.listElem()}
	case n < 60:
		args := []string{"LPOS", k, g.listElem()}
		for _, opt := range []string{"RANK", "COUNT", "MAXLEN"} {
			if g.chance(0.4) {
				args = append(args, opt, g.pick([]string{"0", "1", "2", "-1", "-2", "3", "abc", "-9223372036854775808"}))
			}
		}
		if g.chance(0.05) {
			args = append(args, "FOO")
		}
		return args
	case n < 64:
		return []string{"RPOPLPUSH", k, g.key()}
	case n < 70:
		return []string{"LMOVE", k, g.key(), lr(), lr()}
	case n < 75:
		keys := g.keys(1, 3)
		args := append([]string{"LMPOP", strconv.Itoa(len(keys))}, keys...)
		if g.chance(0.1) {
			args[1] = g.pick([]string{"0", "-1", "abc", "9"})
		}
		args = append(args, lr())
		if g.chance(0.4) {
			args = append(args, "COUNT", g.pick([]string{"1", "2", "10", "0", "-1", "abc"}))
		}
		return args
	case n < 82:
		keys := g.keys(1, 3)
		return append(append([]string{g.pick([]string{"BLPOP", "BRPOP"})}, keys...), g.pick(diffTimeouts))
	case n < 86:
		return []string{"BRPOPLPUSH", k, g.key(), g.pick(diffTimeouts)}
	case n < 90:
		return []string{"BLMOVE", k, g.key(), lr(), lr(), g.pick(diffTimeouts)}
	case n < 94:
		keys := g.keys(1, 3)
		args := append([]string{"BLMPOP", g.pick(diffTimeouts), strconv.Itoa(len(keys))}, keys...)
		args = append(args, lr())
		if g.chance(0.4) {
			args = append(args, "COUNT", g.pick([]string{"1", "2", "10", "0"}))
		}
		return args
	default:
		return []string{g.pick([]string{"TYPE", "EXISTS", "DEL"}), k}
	}
}

func (g *diffGen) zscore() string {
	if g.chance(0.1) {
		return g.pick(diffZScores)
	}
	return g.pick(diffZScores[:14])
}

func (g *diffGen) zbound() string {
	if g.chance(0.3) {
		return g.pick(diffZBounds)
	}
	return g.pick(diffZBounds[:12])
}

func (g *diffGen) limit(args []string) []string {
	if g.chance(0.3) {
		args = append(args, "LIMIT", g.pick([]string{"0", "1", "2", "-1"}), g.pick([]string{"1", "2", "-1", "0", "5"}))
	}
	return args
}

func diffZSetCommand(g *diffGen) []string {
	k := g.key()
	switch n := g.r.Intn(100); {
	case n < 16:
		args := []string{"ZADD", k}
		for _, opt := range []string{"NX", "XX", "GT", "LT", "CH", "INCR"} {
			if g.chance(0.1) {
				args = append(args, opt)
			}
		}
		for i := 1 + g.r.Intn(4); i > 0; i-- {
			args = append(args, g.zscore(), g.listElem())
		}
		return args
	case n < 20:
		return []string{"ZINCRBY", k, g.zscore(), g.listElem()}
	case n < 23:
		return append([]string{"ZREM", k}, g.listElems(1, 3)...)
	case n < 26:
		return []string{"ZSCORE", k, g.listElem()}
	case n < 28:
		return append([]string{"ZMSCORE", k}, g.listElems(1, 3)...)
	case n < 30:
		return []string{"ZCARD", k}
	case n < 33:
		return []string{"ZCOUNT", k, g.zbound(), g.zbound()}
	case n < 35:
		return []string{"ZLEXCOUNT", k, g.pick(diffLexBounds), g.pick(diffLexBounds)}
	case n < 38:
		return []string{g.pick([]string{"ZRANK", "ZREVRANK"}), k, g.listElem()}
	case n < 46:
		args := []string{"ZRANGE", k}
		switch g.r.Intn(3) {
		case 0:
			args = append(args, g.idx(), g.idx())
		case 1:
			args = append(args, g.zbound(), g.zbound(), "BYSCORE")
		default:
			args = append(args, g.pick(diffLexBounds), g.pick(diffLexBounds), "BYLEX")
		}
		if g.chance(0.4) {
			args = append(args, "REV")
		}
		if g.chance(0.3) {
			args = g.limit(args)
		}
		if g.chance(0.4) {
			args = append(args, "WITHSCORES")
		}
		return args
	case n < 49:
		args := []string{"ZRANGESTORE", g.key(), k}
		switch g.r.Intn(3) {
		case 0:
			args = append(args, g.idx(), g.idx())
		case 1:
			args = append(args, g.zbound(), g.zbound(), "BYSCORE")
		default:
			args = append(args, g.pick(diffLexBounds), g.pick(diffLexBounds), "BYLEX")
		}
		if g.chance(0.3) {
			args = append(args, "REV")
		}
		return g.limit(args)
	case n < 52:
		args := []string{"ZREVRANGE", k, g.idx(), g.idx()}
		if g.chance(0.5) {
			args = append(args, "WITHSCORES")
		}
		return args
	case n < 57:
		args := []string{g.pick([]string{"ZRANGEBYSCORE", "ZREVRANGEBYSCORE"}), k, g.zbound(), g.zbound()}
		if g.chance(0.5) {
			args = append(args, "WITHSCORES")
		}
		return g.limit(args)
	case n < 61:
		return g.limit([]string{g.pick([]string{"ZRANGEBYLEX", "ZREVRANGEBYLEX"}), k, g.pick(diffLexBounds), g.pick(diffLexBounds)})
	case n < 63:
		return []string{"ZREMRANGEBYRANK", k, g.idx(), g.idx()}
	case n < 65:
		return []string{"ZREMRANGEBYSCORE", k, g.zbound(), g.zbound()}
	case n < 67:
		return []string{"ZREMRANGEBYLEX", k, g.pick(diffLexBounds), g.pick(diffLexBounds)}
	case n < 72:
		args := []string{g.pick([]string{"ZPOPMIN", "ZPOPMAX"}), k}
		if g.chance(0.5) {
			args = append(args, g.pick([]string{"0", "1", "2", "10", "-1", "abc"}))
		}
		return args
	case n < 75:
		keys := g.keys(1, 3)
		args := append([]string{"ZMPOP", strconv.Itoa(len(keys))}, keys...)
		args = append(args, g.pick([]string{"MIN", "MAX", "max", "LEFT"}))
		if g.chance(0.4) {
			args = append(args, "COUNT", g.pick([]string{"1", "2", "10", "0", "-1"}))
		}
		return args
	case n < 78:
		args := []string{"ZRANDMEMBER", k}
		if g.chance(0.7) {
			args = append(args, g.pick([]string{"0", "1", "2", "5", "100", "-1", "-5", "abc"}))
			if g.chance(0.5) {
				args = append(args, "WITHSCORES")
			}
		}
		return args
	case n < 88:
		keys := g.keys(1, 3)
		name := g.pick([]string{"ZUNION", "ZINTER", "ZDIFF", "ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"})
		args := []string{name}
		if strings.HasSuffix(name, "STORE") {
			args = append(args, g.key())
		}
		num := strconv.Itoa(len(keys))
		if g.chance(0.05) {
			num = g.pick([]string{"0", "-1", "abc", "5"})
		}
		args = append(append(args, num), keys...)
		if g.chance(0.3) {
			args = append(args, "WEIGHTS")
			for range keys {
				args = append(args, g.pick([]string{"1", "2", "0", "-1", "inf", "0.5", "abc"}))
			}
		}
		if g.chance(0.3) {
			args = append(args, "AGGREGATE", g.pick([]string{"SUM", "MIN", "MAX", "avg"}))
		}
		if !strings.HasSuffix(name, "STORE") && g.chance(0.5) {
			args = append(args, "WITHSCORES")
		}
		return args
	case n < 91:
		args := []string{"ZSCAN", k, g.pick([]string{"0", "0", "abc", "-1"})}
		if g.chance(0.3) {
			args = append(args, "MATCH", g.pick([]string{"*", "a*", "?", "[ab]"}))
		}
		if g.chance(0.3) {
			args = append(args, "COUNT", g.pick([]string{"1", "10", "0", "abc"}))
		}
		return args
	case n < 96:
		keys := g.keys(1, 3)
		return append(append([]string{g.pick([]string{"BZPOPMIN", "BZPOPMAX"})}, keys...), g.pick(diffTimeouts))
	default:
		keys := g.keys(1, 2)
		args := append([]string{"BZMPOP", g.pick(diffTimeouts), strconv.Itoa(len(keys))}, keys...)
		return append(args, g.pick([]string{"MIN", "MAX"}))
	}
}

// diffRunBlocking runs a blocking command on one connection, where
// nothing can wake it: a timeout that would make it wait long (or forever:
// 0, or under a millisecond) is replaced by 10 ms on both sides (a stray
// argument appended by the generator may have become the timeout).
func diffRunBlocking(at int) func(s *diffSide, args []string) []byte {
	return func(s *diffSide, args []string) []byte {
		i := at
		if i < 0 {
			i += len(args)
		}
		if i > 0 && i < len(args) && !slices.Contains(diffTimeouts, args[i]) {
			args = append([]string(nil), args...)
			args[i] = "0.01"
		}
		return s.do(args)
	}
}

// diffRunLex skips a lex-range command on a set whose scores differ: Redis
// leaves that undefined (its skiplist's answer depends on the random node
// levels), so neither side runs it and both keep the same state.
func diffRunLex(s *diffSide, args []string) []byte {
	name := strings.ToUpper(args[0])
	lex := strings.Contains(name, "LEX")
	for _, a := range args[1:] {
		lex = lex || strings.EqualFold(a, "BYLEX")
	}
	src := 1
	if name == "ZRANGESTORE" {
		src = 2
	}
	if !lex || len(args) <= src {
		return s.do(args)
	}
	rep, err := resptest.Parse(s.do([]string{"ZRANGE", args[src], "0", "-1", "WITHSCORES"}))
	if err == nil && rep.Kind == resptest.Array {
		scores := map[string]bool{}
		for i := 1; i < len(rep.Elems); i += 2 {
			scores[string(rep.Elems[i].Str)] = true
		}
		if len(scores) > 1 {
			return []byte("skipped: lex range over mixed scores")
		}
	}
	return s.do(args)
}

// diffRunZScan iterates ZSCAN to cursor 0 and returns the sorted distinct
// member/score pairs (a big set is scanned in hash order).
func diffRunZScan(s *diffSide, args []string) []byte {
	if len(args) < 3 {
		return s.do(args)
	}
	cmd := append([]string(nil), args...)
	if c, err := strconv.ParseInt(cmd[2], 10, 64); err == nil && c != 0 || strings.HasPrefix(cmd[2], "1844674407370955") {
		cmd[2] = "0" // where a scan resumes from a made-up cursor is the implementation's choice
	}
	seen := map[string]bool{}
	for calls := 0; ; calls++ {
		if calls == diffMaxScanCalls {
			return []byte("!ZSCAN did not return to cursor 0")
		}
		raw := s.do(cmd)
		rep, err := resptest.Parse(raw)
		if err != nil || rep.Kind != resptest.Array || len(rep.Elems) != 2 {
			return raw
		}
		pairs := rep.Elems[1].Elems
		for i := 0; i+1 < len(pairs); i += 2 {
			seen[fmt.Sprintf("%q=%q", pairs[i].Str, pairs[i+1].Str)] = true
		}
		if string(rep.Elems[0].Str) == "0" {
			break
		}
		cmd[2] = string(rep.Elems[0].Str)
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return []byte("pairs: " + strings.Join(out, " "))
}

// diffRunZRandMember canonicalises ZRANDMEMBER: the reply's shape (nil,
// or the number of elements), that every member exists with the score
// given, and that a positive count returned distinct members.
func diffRunZRandMember(s *diffSide, args []string) []byte {
	raw := s.do(args)
	rep, err := resptest.Parse(raw)
	if err != nil || rep.Kind != resptest.Array && rep.Kind != resptest.Bulk {
		return raw
	}
	if rep.Kind == resptest.Bulk {
		if rep.Nil {
			return raw
		}
		if ex := s.do([]string{"ZSCORE", args[1], string(rep.Str)}); ex[0] != '$' || string(ex) == "$-1\r\n" {
			return []byte(fmt.Sprintf("!ZRANDMEMBER returned %q, not a member", rep.Str))
		}
		return []byte("one member")
	}
	if len(args) < 3 {
		return raw
	}
	withScores := len(args) == 4
	count, _ := strconv.Atoi(args[2])
	seen := map[string]bool{}
	step := 1
	if withScores {
		step = 2
	}
	for i := 0; i < len(rep.Elems); i += step {
		m := string(rep.Elems[i].Str)
		sc := s.do([]string{"ZSCORE", args[1], m})
		if string(sc) == "$-1\r\n" {
			return []byte(fmt.Sprintf("!ZRANDMEMBER returned %q, not a member", m))
		}
		if withScores {
			got, _ := strconv.ParseFloat(string(rep.Elems[i+1].Str), 64)
			scRep, _ := resptest.Parse(sc)
			want, _ := strconv.ParseFloat(string(scRep.Str), 64)
			if got != want {
				return []byte(fmt.Sprintf("!ZRANDMEMBER gave %q score %q, ZSCORE %q", m, rep.Elems[i+1].Str, sc))
			}
		}
		if count > 0 && seen[m] {
			return []byte(fmt.Sprintf("!ZRANDMEMBER %d repeated %q", count, m))
		}
		seen[m] = true
	}
	return []byte(fmt.Sprintf("%d elements", len(rep.Elems)))
}

var diffListCases = []struct {
	name string
	cmds []string
}{
	{"list arity and errors", []string{
		"LPUSH", "LPUSH a", "RPUSH a", "LPOP", "LPOP a 1 2", "RPOP a 1 2", "LLEN", "LRANGE a 0", "LINDEX a",
		"LSET a 0", "LREM a 0", "LTRIM a 0", "LINSERT a BEFORE x", "LPOS a", "RPOPLPUSH a", "LMOVE a b LEFT",
		"LMPOP 1", "LMPOP 1 a", "BLPOP a", "BRPOP", "BLMOVE a b LEFT RIGHT", "BRPOPLPUSH a b", "BLMPOP 0 1",
		"SET s x", "LPUSH s a", "LLEN s", "LRANGE s 0 -1", "LPOP s", "BLPOP s 0.01", "LMOVE s a LEFT LEFT",
		"RPUSH a 1", "LMOVE a s LEFT LEFT", "LRANGE a 0 -1", "LSET nokey 0 x", "LSET a 5 x", "LSET a x x",
		"LPOP a abc", "LPOP a -1", "LPOP a 0", "LPOP nokey 0", "LPOP nokey 2", "LPOP a 5", "LPOS a 1 RANK 0",
		"LPOS a 1 COUNT -1", "LPOS a 1 MAXLEN -1", "LPOS a 1 RANK", "LPOS a 1 FOO 1",
		"LMPOP 0 a LEFT", "LMPOP 2 a LEFT", "LMPOP 1 a UP", "LMPOP 1 a LEFT COUNT 0", "LMPOP 1 a LEFT COUNT 1 COUNT 1",
		"LMPOP abc a LEFT", "BLMPOP abc 1 a LEFT", "BLMPOP 0.01 0 a LEFT", "BLPOP a -1", "BLPOP a abc",
		"BLPOP a inf", "BLPOP a 1e20", "BLPOP a \" 1\"", "BLPOP a 0.01", "BRPOPLPUSH a b -1",
	}},
	{"list basics", []string{
		"RPUSH l a b c d e f g", "LRANGE l 0 -1", "LRANGE l -100 100", "LRANGE l 5 2", "LRANGE l -3 -1",
		"LINDEX l 0", "LINDEX l -1", "LINDEX l 7", "LINDEX l -8", "LSET l -1 Z", "LINSERT l BEFORE c X",
		"LINSERT l AFTER Z Y", "LINSERT l AFTER nope Y", "LINSERT nokey AFTER a b", "LRANGE l 0 -1",
		"LPUSH l a a", "LREM l 1 a", "LREM l -1 a", "LREM l 0 a", "LRANGE l 0 -1", "LTRIM l 1 -2",
		"LRANGE l 0 -1", "LTRIM l 5 1", "EXISTS l", "RPUSH l 1 2 1 2 1 2", "LPOS l 1", "LPOS l 1 RANK 2",
		"LPOS l 1 RANK -1", "LPOS l 1 COUNT 0", "LPOS l 1 COUNT 2 RANK -2", "LPOS l 2 MAXLEN 2",
		"LPOS l 2 COUNT 0 MAXLEN 4", "LPOS l 9", "LPOS l 9 COUNT 1", "LPOS nokey 1", "LPOS nokey 1 COUNT 1",
		"LPOP l 2", "RPOP l 2", "LLEN l", "RPOPLPUSH l l", "LRANGE l 0 -1", "LMOVE l m RIGHT LEFT",
		"LMOVE l m LEFT RIGHT", "LRANGE m 0 -1", "LMPOP 2 nokey m RIGHT COUNT 5", "EXISTS m",
		"LMPOP 1 nokey LEFT", "LPUSHX nokey a", "RPUSHX l z", "RPUSH l z y x w", "LRANGE l 0 -1",
		"BLPOP nokey l 0", "BRPOP l 0", "BLMPOP 0 1 l LEFT COUNT 9", "BLMOVE nokey l LEFT LEFT 0.01",
		"RPUSH q 1 2", "BLMOVE q q LEFT RIGHT 0", "LRANGE q 0 -1", "BRPOPLPUSH q r 0", "LRANGE r 0 -1",
	}},
	{"list long", []string{
		"RPUSH big " + strings.Repeat("x ", 300) + "y", "LLEN big", "LINDEX big 300", "LINDEX big 150",
		"LSET big 150 " + strings.Repeat("z", 9000), "LINDEX big 150", "LINSERT big BEFORE y w", "LRANGE big 297 -1",
		"LREM big -5 x", "LLEN big", "LTRIM big 100 -100", "LLEN big", "LPOS big w", "LPOS big x RANK -3 COUNT 2",
		"LPUSH big " + strings.Repeat("h ", 200) + "g", "LINDEX big 0", "LINDEX big 201", "LREM big 0 x", "LLEN big",
		"LRANGE big 0 3", "LPOP big 500", "EXISTS big",
	}},
}

// diffBigZSetCase builds sets past 128 members (and one with a long member)
// and reads them every way.
func diffBigZSetCase() []string {
	add := "ZADD big"
	lex := "ZADD lex"
	for i := 0; i < 200; i++ {
		add += fmt.Sprintf(" %d m%03d", (i*37)%50, i)
		lex += fmt.Sprintf(" 0 w%03d", i)
	}
	return []string{
		add, lex, "ZCARD big", "ZRANGE big 0 9 WITHSCORES", "ZRANGE big -5 -1 REV WITHSCORES", "ZRANK big m100",
		"ZREVRANK big m100", "ZSCORE big m199", "ZCOUNT big (10 20", "ZRANGEBYSCORE big 10 (12 WITHSCORES LIMIT 3 5",
		"ZREVRANGEBYSCORE big +inf 45 WITHSCORES", "ZRANGEBYLEX lex [w100 (w110", "ZREVRANGEBYLEX lex (w150 - LIMIT 0 4",
		"ZLEXCOUNT lex - +", "ZLEXCOUNT lex (w005 [w010", "ZREMRANGEBYLEX lex - [w009", "ZRANGE lex 0 2",
		"ZREMRANGEBYRANK big 0 9", "ZREMRANGEBYSCORE big 40 +inf", "ZCARD big", "ZPOPMIN big 3", "ZPOPMAX big 2",
		"ZINCRBY big 100 m001", "ZRANGE big -1 -1 WITHSCORES", "ZADD big -0 negzero", "ZSCORE big negzero",
		"ZRANGESTORE small big 0 4", "ZRANGE small 0 -1 WITHSCORES", "ZUNIONSTORE u 2 big small WEIGHTS 1 2",
		"ZRANGE u 0 4 WITHSCORES", "ZINTER 2 big small WITHSCORES", "ZDIFF 2 big small", "ZMPOP 1 big MAX COUNT 3",
		"ZADD long 1 " + strings.Repeat("L", 65), "ZADD long 2 s", "ZRANGE long 0 -1 WITHSCORES", "ZREM long s",
		"ZRANGE long 0 -1", "ZSCAN big 0", "ZSCAN big 0 MATCH m1*", "ZRANDMEMBER big 5 WITHSCORES", "ZRANDMEMBER big -300",
		"ZREMRANGEBYRANK big 0 -1", "EXISTS big",
	}
}

var diffZSetCases = []struct {
	name string
	cmds []string
}{
	{"zset arity and errors", []string{
		"ZADD", "ZADD z", "ZADD z 1", "ZADD z 1 a 2", "ZADD z NX XX 1 a", "ZADD z GT LT 1 a", "ZADD z NX GT 1 a",
		"ZADD z INCR 1 a 2 b", "ZADD z abc a", "ZADD z nan a", "ZADD z CH", "ZADD z 1 a", "ZINCRBY z abc a",
		"ZINCRBY z nx a", "ZADD z inf a", "ZINCRBY z -inf a", "ZSCORE z a", "ZADD z INCR -inf a",
		"SET s x", "ZADD s 1 a", "ZRANGE s 0 -1", "ZCARD s", "ZSCORE s a", "ZMSCORE s a", "ZUNION 2 z s",
		"ZRANGE z 0", "ZRANGE z 0 1 LIMIT 0 1", "ZRANGE z a b BYLEX WITHSCORES", "ZRANGE z 0 1 BYSCORE BYLEX",
		"ZRANGE z 0 1 REV REV", "ZRANGEBYSCORE z 0 1 REV", "ZRANGE z x 1 BYSCORE", "ZRANGE z [a x BYLEX",
		"ZCOUNT z a b", "ZLEXCOUNT z a b", "ZREMRANGEBYSCORE z a 1", "ZREMRANGEBYLEX z a [b", "ZREMRANGEBYRANK z a 1",
		"ZPOPMIN z 1 2", "ZPOPMIN z -1", "ZPOPMIN z abc", "ZPOPMIN z 0", "ZPOPMIN nokey 0", "ZPOPMIN nokey",
		"ZMPOP 1 z", "ZMPOP 0 z MIN", "ZMPOP 1 z LEFT", "ZMPOP 1 z MIN COUNT 0", "ZRANDMEMBER z 1 2",
		"ZRANDMEMBER z abc", "ZRANDMEMBER z -9223372036854775808", "ZRANDMEMBER z 9223372036854775807 WITHSCORES",
		"ZUNION 0 z", "ZUNION -1 z", "ZUNION 3 z", "ZUNIONSTORE d 0 z", "ZINTER 1 z WEIGHTS", "ZINTER 1 z WEIGHTS x",
		"ZINTER 1 z AGGREGATE avg", "ZDIFF 1 z WEIGHTS 1", "ZDIFFSTORE d 1 z WITHSCORES", "ZUNIONSTORE d 1 z WITHSCORES",
		"ZSCAN z abc", "ZSCAN nokey 0 COUNT 0", "ZSCAN z 0 COUNT 0", "ZSCAN z 0 FOO", "ZSCAN s 0",
		"ZRANGESTORE d z 0 -1 WITHSCORES", "BZPOPMIN z -1", "BZPOPMIN nokey 0.01", "BZMPOP 0.01 1 nokey MIN",
		"BZMPOP 0.01 0 z MIN", "BZPOPMAX s 0.01",
	}},
	{"zset scores", []string{
		"ZADD z 0.1 a 1e300 b -0 c 1e-320 d 123456789012345678 e 1.5 f 100 g 1e17 h 0.000012 i 1e16 j",
		"ZRANGE z 0 -1 WITHSCORES", "ZINCRBY z 0.2 a", "ZINCRBY z 1 c", "ZADD z -0 k", "ZSCORE z k",
		"ZADD z 0x10 l 5e-324 m", "ZSCAN z 0", "ZMSCORE z a nope b", "ZADD z +inf n -inf o", "ZRANGE z 0 -1 WITHSCORES",
		"ZRANGEBYSCORE z (0 (1e300 WITHSCORES", "ZRANGEBYSCORE z -inf +inf LIMIT 2 3", "ZREVRANGEBYSCORE z +inf -inf LIMIT 1 2",
		"ZCOUNT z (-inf (inf", "ZCOUNT z 1e400 -1e400", "ZCOUNT z \" 1\" 100", "ZCOUNT z \"\" 1", "ZCOUNT z ( 1",
		"ZRANK z a", "ZREVRANK z a", "ZRANK z nope",
	}},
	{"zset ranges and lex", []string{
		"ZADD z 0 a 0 b 0 c 0 d 0 e 0 f", "ZRANGEBYLEX z - +", "ZRANGEBYLEX z [b (e", "ZREVRANGEBYLEX z + - LIMIT 1 2",
		"ZRANGE z (f [a BYLEX REV", "ZLEXCOUNT z [c +", "ZREMRANGEBYLEX z (a [c", "ZRANGE z 0 -1",
		"ZADD z 1 b 2 c 3 g", "ZRANGEBYLEX z - +", "ZRANGEBYLEX z [b [d", "ZREVRANGEBYLEX z [d [b", "ZLEXCOUNT z [c [f",
		"ZREMRANGEBYLEX z [e [f", "ZRANGE z 0 -1 WITHSCORES", "ZRANGE z -2 -1 REV WITHSCORES", "ZRANGE z 1 0",
		"ZRANGE z 1 2 BYSCORE LIMIT 0 1", "ZRANGESTORE d z 0 1", "ZRANGE d 0 -1 WITHSCORES", "ZRANGESTORE d z 5 6",
		"EXISTS d", "ZREMRANGEBYRANK z 0 0", "ZREMRANGEBYSCORE z (1 3", "ZRANGE z 0 -1 WITHSCORES",
		"ZPOPMAX z 2", "ZPOPMIN z", "EXISTS z",
	}},
	{"zset options", []string{
		"ZADD z 1 a 2 b", "ZADD z NX 5 a 3 c", "ZADD z XX 5 a 4 d", "ZADD z CH 6 a 2 b 7 e", "ZADD z GT CH 1 a 9 b",
		"ZADD z LT CH 1 a 9 b", "ZADD z XX GT 10 a", "ZADD z INCR 2 a", "ZADD z INCR NX 2 a", "ZADD z INCR XX 2 nope",
		"ZADD z INCR GT -1 a", "ZADD nokey XX 1 a", "EXISTS nokey", "ZADD nokey NX INCR 1 a", "ZRANGE z 0 -1 WITHSCORES",
		"ZADD z 1 a 2 a 3 a", "ZSCORE z a", "ZADD w GT 1 a", "ZRANGE w 0 -1 WITHSCORES",
	}},
	{"zset big (skiplist)", diffBigZSetCase()},
	{"zset set operations", []string{
		"ZADD a 1 x 2 y 3 z", "ZADD b 4 y 5 z 6 w", "ZUNION 2 a b WITHSCORES", "ZINTER 2 a b WITHSCORES",
		"ZDIFF 2 a b WITHSCORES", "ZUNION 2 a b WEIGHTS 2 -1 AGGREGATE MAX WITHSCORES", "ZINTER 2 a b AGGREGATE MIN WITHSCORES",
		"ZUNIONSTORE d 3 a b nokey", "ZRANGE d 0 -1 WITHSCORES", "ZINTERSTORE d 2 a nokey", "EXISTS d",
		"ZADD i 1 p", "ZADD j inf p -inf q",
		"ZUNION 2 i j WEIGHTS 0 0 WITHSCORES", "ZUNIONSTORE k 2 j j", "ZRANGE k 0 -1 WITHSCORES", "ZINTER 2 j j WITHSCORES",
		"ZUNION 2 j i WEIGHTS inf 1 WITHSCORES", "ZDIFFSTORE a 2 a b", "ZRANGE a 0 -1 WITHSCORES",
		"ZINTERSTORE a 2 a a WEIGHTS 1 2", "ZRANGE a 0 -1 WITHSCORES",
	}},
}
