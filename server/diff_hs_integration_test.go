package server_test

// The differential test's hashes, sets and OBJECT: generators, fixed
// cases, and canonicalising runners for replies whose order or choice is
// up to the server (a hashtable's order, random members).

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/cairn-db/cairn/internal/resptest"
)

var diffFields = []string{"f", "g", "h", "1", "2", "-5", "x\x00y", "", "ключ", strings.Repeat("F", 70)}

var diffMembers = []string{"1", "2", "3", "0", "-1", "10", "100", "9223372036854775807", "-9223372036854775808",
	"01", "+1", " 1", "1.0", "a", "b", "c", "x\x00", "", "hello", strings.Repeat("m", 80)}

func (g *diffGen) field() string {
	if g.chance(0.1) {
		return strconv.Itoa(g.r.Intn(300))
	}
	return g.pick(diffFields)
}

func (g *diffGen) member() string {
	if g.chance(0.2) {
		return strconv.Itoa(g.r.Intn(1000) - 100)
	}
	return g.pick(diffMembers)
}

func (g *diffGen) randCount() string {
	return g.pick([]string{"0", "1", "2", "3", "5", "100", "-1", "-2", "-5", "abc", "1.5",
		"-9223372036854775808", "9223372036854775807"})
}

func (g *diffGen) collScanArgs(name, key string) []string {
	args := []string{name, key, "0"}
	if g.chance(0.1) {
		// Invalid cursors only: a valid nonzero one gives a result that
		// depends on where the hash function put the entries.
		args[2] = g.pick([]string{"abc", " 1", "18446744073709551616", "1.5"})
	}
	for n := g.r.Intn(3); n > 0; n-- {
		switch g.r.Intn(3) {
		case 0:
			args = append(args, g.word("MATCH"), g.pick(diffPatterns))
		case 1:
			args = append(args, g.word("COUNT"), g.pick([]string{"1", "2", "10", "1000", "0", "-1", "abc"}))
		default:
			args = append(args, g.pick([]string{"FOO", "MATCH", "COUNT", "TYPE"}))
		}
	}
	return args
}

func diffHashCommand(g *diffGen) []string {
	k := g.key()
	switch n := g.r.Intn(100); {
	case n < 14:
		args := []string{"HSET", k}
		for i := 1 + g.r.Intn(3); i > 0; i-- {
			args = append(args, g.field(), g.value())
		}
		return args
	case n < 16:
		// Enough fields to leave the listpack encoding.
		args := []string{"HMSET", k}
		for i := 0; i < 60+g.r.Intn(90); i++ {
			args = append(args, "field:"+strconv.Itoa(i), strconv.Itoa(i))
		}
		return args
	case n < 19:
		return []string{"HSETNX", k, g.field(), g.value()}
	case n < 26:
		return []string{"HGET", k, g.field()}
	case n < 29:
		return []string{"HMGET", k, g.field(), g.field(), g.field()}
	case n < 34:
		return []string{"HGETALL", k}
	case n < 40:
		args := []string{"HDEL", k}
		for i := 1 + g.r.Intn(3); i > 0; i-- {
			args = append(args, g.field())
		}
		return args
	case n < 43:
		return []string{"HEXISTS", k, g.field()}
	case n < 46:
		return []string{"HLEN", k}
	case n < 49:
		return []string{"HKEYS", k}
	case n < 52:
		return []string{"HVALS", k}
	case n < 60:
		return []string{"HINCRBY", k, g.field(), g.pick(diffInts)}
	case n < 67:
		return []string{"HINCRBYFLOAT", k, g.field(), g.pick(diffFloats)}
	case n < 70:
		return []string{"HSTRLEN", k, g.field()}
	case n < 78:
		args := []string{"HRANDFIELD", k}
		if g.chance(0.8) {
			args = append(args, g.randCount())
			if g.chance(0.5) {
				args = append(args, g.pick([]string{"WITHVALUES", "withvalues", "FOO"}))
			}
		}
		return args
	case n < 84:
		return g.collScanArgs("HSCAN", k)
	case n < 92:
		return []string{"OBJECT", g.pick([]string{"ENCODING", "ENCODING", "ENCODING", "REFCOUNT", "FREQ", "HELP", "FOO"}), k}
	default:
		return []string{"TYPE", k}
	}
}

func diffSetCommand(g *diffGen) []string {
	k := g.key()
	switch n := g.r.Intn(100); {
	case n < 16:
		args := []string{"SADD", k}
		for i := 1 + g.r.Intn(4); i > 0; i-- {
			args = append(args, g.member())
		}
		return args
	case n < 18:
		// Enough integers to leave the intset encoding.
		args := []string{"SADD", k}
		for i := 0; i < 400+g.r.Intn(250); i++ {
			args = append(args, strconv.Itoa(i))
		}
		return args
	case n < 25:
		args := []string{"SREM", k}
		for i := 1 + g.r.Intn(3); i > 0; i-- {
			args = append(args, g.member())
		}
		return args
	case n < 30:
		return []string{"SMEMBERS", k}
	case n < 35:
		return []string{"SISMEMBER", k, g.member()}
	case n < 38:
		return []string{"SMISMEMBER", k, g.member(), g.member()}
	case n < 42:
		return []string{"SCARD", k}
	case n < 48:
		args := []string{"SPOP", k}
		if g.chance(0.6) {
			args = append(args, g.pick([]string{"0", "1", "2", "3", "10", "100", "1000", "-1", "abc"}))
		}
		return args
	case n < 55:
		args := []string{"SRANDMEMBER", k}
		if g.chance(0.8) {
			args = append(args, g.randCount())
		}
		return args
	case n < 60:
		return []string{"SMOVE", k, g.key(), g.member()}
	case n < 75:
		name := g.pick([]string{"SINTER", "SUNION", "SDIFF", "SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"})
		return append([]string{name}, g.keys(1, 3)...)
	case n < 80:
		keys := g.keys(1, 3)
		nk := strconv.Itoa(len(keys))
		if g.chance(0.1) {
			nk = g.pick([]string{"0", "-1", "abc", "5"})
		}
		args := append([]string{"SINTERCARD", nk}, keys...)
		if g.chance(0.4) {
			args = append(args, g.word("LIMIT"), g.pick([]string{"0", "1", "2", "-1", "abc"}))
		}
		return args
	case n < 86:
		return g.collScanArgs("SSCAN", k)
	case n < 94:
		return []string{"OBJECT", "ENCODING", k}
	default:
		return []string{g.pick([]string{"TYPE", "DEL", "EXISTS"}), k}
	}
}

// diffParseArray parses an array reply; ok is false for anything else
// (errors, nils, connection failures), which are compared as they are.
func diffParseArray(raw []byte) (resptest.Reply, bool) {
	rep, err := resptest.Parse(raw)
	if err != nil || rep.Kind != resptest.Array || rep.Nil {
		return rep, false
	}
	return rep, true
}

// diffEncoding asks s for key's OBJECT ENCODING ("" if none).
func diffEncoding(s *diffSide, key string) string {
	rep, err := resptest.Parse(s.do([]string{"OBJECT", "ENCODING", key}))
	if err != nil || rep.Kind != resptest.Bulk {
		return ""
	}
	return string(rep.Str)
}

// diffRunSorted runs args and sorts the reply's elements, taken by groups
// of per (field/value pairs stay together), unless the key is in a
// compact encoding, whose order is deterministic and compared exactly.
func diffRunSorted(per int, keyArg int) func(s *diffSide, args []string) []byte {
	return func(s *diffSide, args []string) []byte {
		raw := s.do(args)
		rep, ok := diffParseArray(raw)
		if !ok || len(rep.Elems)%per != 0 {
			return raw
		}
		if keyArg > 0 && len(args) > keyArg {
			if enc := diffEncoding(s, args[keyArg]); enc == "listpack" || enc == "intset" {
				return raw
			}
		}
		groups := make([]string, 0, len(rep.Elems)/per)
		for i := 0; i < len(rep.Elems); i += per {
			var b []byte
			for j := 0; j < per; j++ {
				b = append(b, rep.Elems[i+j].Encode()...)
			}
			groups = append(groups, string(b))
		}
		sort.Strings(groups)
		return []byte(fmt.Sprintf("*sorted %d\r\n%s", len(rep.Elems), strings.Join(groups, "")))
	}
}

// diffRunScanColl iterates HSCAN/SSCAN to cursor 0 and returns the sorted
// distinct items (pairs for HSCAN), or the first error.
func diffRunScanColl(per int) func(s *diffSide, args []string) []byte {
	return func(s *diffSide, args []string) []byte {
		if len(args) < 3 {
			return s.do(args)
		}
		seen := map[string]bool{}
		cmd := append([]string(nil), args...)
		for calls := 0; ; calls++ {
			if calls == diffMaxScanCalls {
				return []byte("!scan did not return to cursor 0")
			}
			raw := s.do(cmd)
			rep, ok := diffParseArray(raw)
			if !ok {
				return raw
			}
			if len(rep.Elems) != 2 || rep.Elems[1].Kind != resptest.Array || len(rep.Elems[1].Elems)%per != 0 {
				return append([]byte("!malformed scan reply: "), raw...)
			}
			items := rep.Elems[1].Elems
			for i := 0; i < len(items); i += per {
				var b []byte
				for j := 0; j < per; j++ {
					b = append(b, items[i+j].Encode()...)
				}
				seen[string(b)] = true
			}
			cursor := string(rep.Elems[0].Str)
			if cursor == "0" {
				break
			}
			cmd[2] = cursor
		}
		keys := make([]string, 0, len(seen))
		for k := range seen {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return []byte(fmt.Sprintf("*scan %d\r\n%s", len(keys), strings.Join(keys, "")))
	}
}

// diffContents returns key's fields and values (hash) or members (set)
// on s, by name.
func diffContents(s *diffSide, cmd, key string) map[string]string {
	rep, ok := diffParseArray(s.do([]string{cmd, key}))
	out := map[string]string{}
	if !ok {
		return out
	}
	if cmd == "HGETALL" {
		for i := 0; i+1 < len(rep.Elems); i += 2 {
			out[string(rep.Elems[i].Str)] = string(rep.Elems[i+1].Str)
		}
		return out
	}
	for _, e := range rep.Elems {
		out[string(e.Str)] = ""
	}
	return out
}

// diffRunRandom checks HRANDFIELD and SRANDMEMBER's choice against the
// key's contents and returns what both sides must agree on: the reply's
// shape and size (the whole contents when the count covers them).
func diffRunRandom(hash bool) func(s *diffSide, args []string) []byte {
	return func(s *diffSide, args []string) []byte {
		dumpCmd := "SMEMBERS"
		if hash {
			dumpCmd = "HGETALL"
		}
		raw := s.do(args)
		rep, err := resptest.Parse(raw)
		if err != nil || rep.Kind == resptest.Error || rep.Nil || len(args) < 2 {
			return raw
		}
		contents := diffContents(s, dumpCmd, args[1])
		if rep.Kind == resptest.Bulk {
			if _, ok := contents[string(rep.Str)]; !ok {
				return []byte(fmt.Sprintf("!%s returned %q, not in the key", args[0], rep.Str))
			}
			return []byte("+one valid member\r\n")
		}
		withValues := len(args) > 3
		per := 1
		if withValues {
			per = 2
		}
		var count int64
		if len(args) > 2 {
			count, _ = strconv.ParseInt(args[2], 10, 64)
		}
		distinct := map[string]bool{}
		for i := 0; i+per <= len(rep.Elems); i += per {
			f := string(rep.Elems[i].Str)
			v, ok := contents[f]
			if !ok || (withValues && string(rep.Elems[i+1].Str) != v) {
				return []byte(fmt.Sprintf("!%s returned %q, not in the key (or a wrong value)", args[0], f))
			}
			distinct[f] = true
		}
		if count > 1 && len(distinct)*per != len(rep.Elems) {
			return []byte(fmt.Sprintf("!%s %d returned repeats", args[0], count))
		}
		if count > 0 && int(count) >= len(contents) {
			if len(distinct) != len(contents) {
				return []byte(fmt.Sprintf("!%s %d returned %d of %d", args[0], count, len(distinct), len(contents)))
			}
			return []byte(fmt.Sprintf("*all %d\r\n", len(rep.Elems)))
		}
		return []byte(fmt.Sprintf("*%d valid elements\r\n", len(rep.Elems)))
	}
}

// diffRunSPop checks SPOP's choice, then brings the set to a state both
// sides agree on: the popped members are put back and the k smallest
// removed instead (k popped), unless SPOP took the whole set.
func diffRunSPop(s *diffSide, args []string) []byte {
	if len(args) < 2 {
		return s.do(args)
	}
	before := diffContents(s, "SMEMBERS", args[1])
	raw := s.do(args)
	rep, err := resptest.Parse(raw)
	if err != nil || rep.Kind == resptest.Error || rep.Nil {
		return raw
	}
	var popped []string
	if rep.Kind == resptest.Bulk {
		popped = []string{string(rep.Str)}
	} else {
		for _, e := range rep.Elems {
			popped = append(popped, string(e.Str))
		}
	}
	seen := map[string]bool{}
	for _, m := range popped {
		if _, ok := before[m]; !ok || seen[m] {
			return []byte(fmt.Sprintf("!SPOP returned %q: not a member, or twice", m))
		}
		seen[m] = true
	}
	canon := fmt.Sprintf("+popped %d of %d (kind %c)\r\n", len(popped), len(before), raw[0])
	if len(popped) == 0 || len(popped) == len(before) {
		return []byte(canon)
	}
	all := make([]string, 0, len(before))
	for m := range before {
		all = append(all, m)
	}
	sort.Strings(all)
	s.do(append([]string{"SADD", args[1]}, popped...))
	s.do(append([]string{"SREM", args[1]}, all[:len(popped)]...))
	return []byte(canon)
}

// diffRunObject compares OBJECT ENCODING and REFCOUNT exactly but for
// strings, whose raw/embstr/int choice and sharing depend in Redis on how
// the value was made (APPEND, SETRANGE, INCRBYFLOAT, COPY), which Cairn
// does not keep: for them only the type is compared. (diffCases checks
// strings made by SET exactly.)
func diffRunObject(s *diffSide, args []string) []byte {
	raw := s.do(args)
	if len(args) == 3 && (strings.EqualFold(args[1], "encoding") || strings.EqualFold(args[1], "refcount")) {
		if t := s.do([]string{"TYPE", args[2]}); string(t) == "+string\r\n" && (raw[0] == '$' || raw[0] == ':') {
			return []byte("+a string encoding\r\n")
		}
	}
	if len(args) == 3 && strings.EqualFold(args[1], "idletime") && bytes.HasPrefix(raw, []byte(":")) {
		return []byte(":idle\r\n")
	}
	return raw
}

func init() {
	diffFamilies = append(diffFamilies, diffHashCommand, diffSetCommand)
	diffRunners["HGETALL"] = diffRunSorted(2, 1)
	diffRunners["HKEYS"] = diffRunSorted(1, 1)
	diffRunners["HVALS"] = diffRunSorted(1, 1)
	diffRunners["SMEMBERS"] = diffRunSorted(1, 1)
	diffRunners["SINTER"] = diffRunSorted(1, 0)
	diffRunners["SUNION"] = diffRunSorted(1, 0)
	diffRunners["SDIFF"] = diffRunSorted(1, 0)
	diffRunners["HSCAN"] = diffRunScanColl(2)
	diffRunners["SSCAN"] = diffRunScanColl(1)
	diffRunners["HRANDFIELD"] = diffRunRandom(true)
	diffRunners["SRANDMEMBER"] = diffRunRandom(false)
	diffRunners["SPOP"] = diffRunSPop
	diffRunners["OBJECT"] = diffRunObject

	diffCases = append(diffCases, []struct {
		name string
		cmds []string
	}{
		{"hash basics", []string{
			"HSET h a 1 b 2 c 3", "HGETALL h", "HSET h a 10 d 4", "HGETALL h", "HDEL h b x", "HGETALL h",
			"HSET h", "HSET h a", "HSET h a 1 b", "HMSET h a", "HMSET h a 1 b", "HMSET h a 1", "HSETNX h a 2",
			"HSETNX h e 5", "HGET h e", "HGET h zz", "HGET nokey a", "HMGET h a zz e", "HMGET nokey a b",
			"HEXISTS h a", "HEXISTS h zz", "HEXISTS nokey a", "HLEN h", "HLEN nokey", "HKEYS h", "HVALS h",
			"HKEYS nokey", "HGETALL nokey", "HSTRLEN h a", "HSTRLEN h zz", "HSTRLEN nokey a", "HDEL h a c d e",
			"EXISTS h", "HDEL nokey a", "SET s v", "HSET s a 1", "HGET s a", "HGETALL s", "HDEL s a", "HLEN s",
			"HSETNX s a 1", "HINCRBY s a 1", "HINCRBYFLOAT s a 1", "HRANDFIELD s", "HSCAN s 0", "HMGET s a",
			"HEXISTS s a", "HSTRLEN s a", "HKEYS s", "HVALS s", "TYPE h", "HSET h \"\" \"\"", "HGETALL h", "TYPE h",
		}},
		{"hash increments", []string{
			"HINCRBY h a 5", "HINCRBY h a -10", "HINCRBY h a abc", "HINCRBY h a 1.5", "HINCRBY h a 9223372036854775807",
			"HINCRBY h a 9223372036854775808", "HSET h m 9223372036854775807", "HINCRBY h m 1", "HINCRBY h m -1",
			"HSET h n -9223372036854775808", "HINCRBY h n -1", "HSET h s abc", "HINCRBY h s 1", "HSET h sp \" 1\"",
			"HINCRBY h sp 1", "HSET h z 01", "HINCRBY h z 1", "HINCRBYFLOAT h f 0.1", "HINCRBYFLOAT h f 0.2",
			"HGET h f", "HINCRBYFLOAT h f inf", "HINCRBYFLOAT h f -inf", "HINCRBYFLOAT h f nan", "HINCRBYFLOAT h f abc",
			"HINCRBYFLOAT h s 1", "HSET h i inf", "HINCRBYFLOAT h i 1", "HINCRBYFLOAT h g 1e308", "HINCRBYFLOAT h g 1e308",
			"HGET h g", "HINCRBYFLOAT h e 1e100", "OBJECT ENCODING h", "HGET h e", "HINCRBYFLOAT h q 3.0e3", "HGET h q",
			"HINCRBYFLOAT h r 10.5", "HINCRBYFLOAT h r -5.5", "HGET h r", "HINCRBYFLOAT h t 5e-324", "HINCRBYFLOAT h t 1e-400",
			"HINCRBYFLOAT h u -0", "HGET h u", "HINCRBY h2 x 1", "OBJECT ENCODING h2",
		}},
		{"hash encodings", []string{
			"HSET h a 1", "OBJECT ENCODING h", "HSET h b " + strings.Repeat("x", 64), "OBJECT ENCODING h",
			"HSET h c " + strings.Repeat("x", 65), "OBJECT ENCODING h", "HDEL h c", "OBJECT ENCODING h",
			"HSET h2 " + strings.Repeat("k", 65) + " 1", "OBJECT ENCODING h2", "HSET h3 a 1",
			"HSETNX h3 a " + strings.Repeat("y", 70), "OBJECT ENCODING h3", "HSETNX h3 b " + strings.Repeat("y", 70),
			"OBJECT ENCODING h3", "HSET h4 a 1 b " + strings.Repeat("z", 100), "OBJECT ENCODING h4",
			"OBJECT REFCOUNT h", "OBJECT FREQ h", "OBJECT FREQ nokey", "OBJECT ENCODING nokey", "OBJECT REFCOUNT nokey",
			"OBJECT IDLETIME nokey", "OBJECT", "OBJECT FOO", "OBJECT FOO h", "OBJECT ENCODING", "OBJECT ENCODING h x",
			"OBJECT HELP", "OBJECT HELP x", "object help", "OBJECT encoding h",
		}},
		{"string encodings", []string{
			"SET a 1", "OBJECT ENCODING a", "OBJECT REFCOUNT a", "SET a 9999", "OBJECT REFCOUNT a", "SET a 10000",
			"OBJECT REFCOUNT a", "OBJECT ENCODING a", "SET a -1", "OBJECT ENCODING a", "OBJECT REFCOUNT a",
			"SET a 9223372036854775807", "OBJECT ENCODING a", "SET a 9223372036854775808", "OBJECT ENCODING a",
			"SET a 01", "OBJECT ENCODING a", "SET a -0", "OBJECT ENCODING a", "SET a \"\"", "OBJECT ENCODING a",
			"SET a " + strings.Repeat("e", 44), "OBJECT ENCODING a", "SET a " + strings.Repeat("e", 45),
			"OBJECT ENCODING a", "OBJECT REFCOUNT a", "INCR n", "OBJECT ENCODING n", "OBJECT REFCOUNT n",
			"MSET b 5 c hello", "OBJECT ENCODING b", "OBJECT ENCODING c",
		}},
		{"hrandfield and hscan", []string{
			"HSET h a 1 b 2 c 3", "HRANDFIELD h 3", "HRANDFIELD h 10", "HRANDFIELD h 3 WITHVALUES",
			"HRANDFIELD h 100 withvalues", "HRANDFIELD h 0", "HRANDFIELD h 0 WITHVALUES", "HRANDFIELD h 1 FOO",
			"HRANDFIELD h 1 WITHVALUES x", "HRANDFIELD h abc", "HRANDFIELD h -9223372036854775808",
			"HRANDFIELD h -9223372036854775807 WITHVALUES", "HRANDFIELD h -4611686018427387904 WITHVALUES",
			"HRANDFIELD h -4611686018427387903 FOO", "HRANDFIELD h 9223372036854775807 WITHVALUES",
			"HRANDFIELD h 4611686018427387904 WITHVALUES", "HRANDFIELD h 4611686018427387903 WITHVALUES", "HRANDFIELD nokey", "HRANDFIELD nokey 3", "HRANDFIELD nokey -3 WITHVALUES",
			"HRANDFIELD nokey abc", "HRANDFIELD nokey 1 FOO", "HSCAN h 0", "HSCAN h 0 MATCH a", "HSCAN h 0 MATCH", "HSCAN h 0 COUNT 0",
			"HSCAN h 0 COUNT -1", "HSCAN h 0 COUNT abc", "HSCAN h 0 FOO bar", "HSCAN h 0 TYPE hash", "HSCAN h abc",
			"HSCAN h -1", "HSCAN h 18446744073709551616", "HSCAN nokey 0", "HSCAN nokey 0 FOO", "HSCAN nokey abc",
			"HSCAN h 0 COUNT 1 MATCH *", "=HSCAN h 0", "=HSCAN h 5",
		}},
		{"set basics", []string{
			"SADD s 3 1 2", "=SMEMBERS s", "OBJECT ENCODING s", "SADD s 1", "SADD s a", "OBJECT ENCODING s",
			"SISMEMBER s a", "SISMEMBER s zz", "SISMEMBER nokey a", "SMISMEMBER s a b 1", "SMISMEMBER nokey a",
			"SCARD s", "SCARD nokey", "SREM s a 1 zz", "SCARD s", "SREM nokey a", "SREM s 2 3", "EXISTS s",
			"SADD i 5 -3 9223372036854775807 -9223372036854775808 0", "=SMEMBERS i", "OBJECT ENCODING i",
			"SADD j 01", "OBJECT ENCODING j", "SADD k \" 1\"", "OBJECT ENCODING k", "SADD l 9223372036854775808",
			"OBJECT ENCODING l", "SADD m -0", "OBJECT ENCODING m", "SET str v", "SADD str a", "SREM str a",
			"SMEMBERS str", "SISMEMBER str a", "SMISMEMBER str a", "SCARD str", "SPOP str", "SRANDMEMBER str",
			"SSCAN str 0", "SADD", "SADD s", "SREM s", "SMISMEMBER s", "SCARD", "SPOP", "SPOP s 1 2",
			"=SMEMBERS nokey", "TYPE i",
		}},
		{"smove and combinations", []string{
			"SADD s 1 2 3", "SADD t 3 4 a", "SMOVE s t 1", "=SMEMBERS s", "SMEMBERS t", "SMOVE s t 9",
			"SMOVE s s 2", "SMOVE s s 9", "SMOVE nokey t 1", "SET str v", "SMOVE s str 2", "SMOVE str s 2",
			"SMOVE nokey str 1", "SMOVE s new 2", "SMOVE s new 3", "EXISTS s", "SMEMBERS new", "OBJECT ENCODING new",
			"SADD s 1 2 3 5", "SINTER s t", "SUNION s t", "SDIFF s t", "SDIFF t s", "SINTER s nokey", "SUNION s nokey",
			"SDIFF nokey s", "SINTER s str", "SINTER nokey str", "SUNION s str", "SDIFF s str", "SDIFF nokey str",
			"SINTERSTORE d s t", "=SMEMBERS d", "OBJECT ENCODING d", "SUNIONSTORE d s t", "SMEMBERS d", "OBJECT ENCODING d",
			"SDIFFSTORE d s t", "SMEMBERS d", "SINTERSTORE d s nokey", "EXISTS d", "SINTERSTORE str s", "TYPE str",
			"SET str v", "SINTERSTORE d s str", "SET e v EX 100000", "SUNIONSTORE e s", "TTL e", "TYPE e",
			"SDIFFSTORE s s", "SMEMBERS s", "SUNIONSTORE s s t", "SCARD s", "SINTERSTORE", "SINTERSTORE d",
			"SINTERCARD 2 s t", "SINTERCARD 2 s t LIMIT 1", "SINTERCARD 2 s t LIMIT 0", "SINTERCARD 2 s t limit 100",
			"SINTERCARD 0 s", "SINTERCARD -1 s", "SINTERCARD abc s", "SINTERCARD 3 s t", "SINTERCARD 1 s LIMIT -1",
			"SINTERCARD 1 s LIMIT abc", "SINTERCARD 1 s LIMIT", "SINTERCARD 1 s FOO", "SINTERCARD 1 str", "SINTERCARD 1 nokey",
			"SINTERCARD 2 nokey str", "SINTERCARD 1", "SINTERCARD",
		}},
		{"spop and srandmember", []string{
			"SPOP nokey", "SPOP nokey 3", "SPOP nokey 0", "SPOP nokey -1", "SPOP nokey abc", "SADD s 1 2 3",
			"SPOP s 0", "SPOP s -1", "SPOP s abc", "SPOP s 1.5", "SPOP s 3", "EXISTS s", "SADD s a", "SPOP s",
			"EXISTS s", "SADD s 1 2 3 4 5 6 7 8 9 10", "SRANDMEMBER s 100", "SRANDMEMBER s 0", "SRANDMEMBER s abc",
			"SRANDMEMBER s -9223372036854775808", "SRANDMEMBER s 1 2", "SRANDMEMBER nokey", "SRANDMEMBER nokey 5",
			"SRANDMEMBER nokey -5", "SRANDMEMBER s 5", "SRANDMEMBER s -20", "SPOP s 100", "EXISTS s",
			"SADD t 1 2 3 4 5 6 7 8 9 10 x", "SET ttl v", "SADD p 1 2 3", "EXPIRE p 100000", "SPOP p 2", "TTL p", "SCARD p",
		}},
		{"set encodings", []string{
			"SADD s 1", "OBJECT ENCODING s", "OBJECT REFCOUNT s", "OBJECT FREQ s", "SADD h a", "OBJECT ENCODING h",
			"SREM h a", "SADD h 1", "OBJECT ENCODING h", "SADD s " + diffSeq(1, 512), "SCARD s", "OBJECT ENCODING s",
			"SADD s 513", "OBJECT ENCODING s", "SREM s " + diffSeq(1, 500), "OBJECT ENCODING s", "SCARD s",
			"SADD big " + diffSeq(0, 600), "SPOP big 550", "SCARD big", "OBJECT ENCODING big",
			"SADD big2 " + diffSeq(0, 600) + " a", "SPOP big2 10", "SCARD big2", "OBJECT ENCODING big2",
			"SINTERSTORE d big2 big2", "OBJECT ENCODING d", "SSCAN s 0 COUNT 1000", "SSCAN s 0 MATCH 51*",
		}},
		{"collections and keys", []string{
			"HSET h a 1", "SADD s x", "TYPE h", "TYPE s", "SCAN 0 TYPE hash", "SCAN 0 TYPE set", "COPY h h2",
			"HGETALL h2", "HSET h2 b 2", "HGETALL h", "COPY s s2", "SADD s2 y", "SCARD s", "RENAME h h3", "HGETALL h3",
			"EXISTS h", "MOVE s 1", "SELECT 1", "SMEMBERS s", "SELECT 0", "EXPIRE h3 100000", "TTL h3", "DEL h3 s2 h2",
			"DBSIZE", "GET s", "INCR s", "APPEND h a", "SET s2 v", "HSET s2 a 1",
		}},
	}...)
}

// diffSeq is "from from+1 … to".
func diffSeq(from, to int) string {
	parts := make([]string, 0, to-from+1)
	for i := from; i <= to; i++ {
		parts = append(parts, strconv.Itoa(i))
	}
	return strings.Join(parts, " ")
}
