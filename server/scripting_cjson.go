package server

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	lua "github.com/yuin/gopher-lua"
)

// cjson: the JSON library Redis ships (lua-cjson 2.1), with its defaults:
// numbers printed with 14 significant digits, "/" escaped, sparse arrays
// refused past a ratio of 2 (beyond 10 elements), nesting bounded at 1000,
// null decoded as cjson.null.

const cjsonMaxDepth = 1000

// cjsonNull is cjson.null, which Redis's cjson decodes JSON null to (a
// light userdata holding NULL).
var cjsonNull = &lua.LUserData{}

func newCJSONLib(L *lua.LState) *lua.LTable {
	t := L.NewTable()
	t.RawSetString("encode", L.NewFunction(cjsonEncode))
	t.RawSetString("decode", L.NewFunction(cjsonDecode))
	t.RawSetString("null", cjsonNull)
	t.RawSetString("_NAME", lua.LString("cjson"))
	t.RawSetString("_VERSION", lua.LString("2.1.0"))
	return t
}

func cjsonEncode(L *lua.LState) int {
	if L.GetTop() != 1 {
		L.ArgError(1, "expected 1 argument")
	}
	var b strings.Builder
	cjsonAppend(L, &b, L.Get(1), 0)
	L.Push(lua.LString(b.String()))
	return 1
}

func cjsonAppend(L *lua.LState, b *strings.Builder, v lua.LValue, depth int) {
	switch v := v.(type) {
	case lua.LString:
		cjsonAppendString(b, string(v))
	case lua.LNumber:
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			L.RaiseError("Cannot serialise number: must not be NaN or Inf")
		}
		b.WriteString(cjsonNumber(f))
	case lua.LBool:
		if v {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case *lua.LNilType:
		b.WriteString("null")
	case *lua.LUserData:
		if v == cjsonNull {
			b.WriteString("null")
			return
		}
		L.RaiseError("Cannot serialise userdata: type not supported")
	case *lua.LTable:
		depth++
		if depth > cjsonMaxDepth {
			L.RaiseError("Cannot serialise, excessive nesting (%d)", depth)
		}
		n := cjsonArrayLength(L, v)
		if n > 0 {
			b.WriteByte('[')
			for i := 1; i <= n; i++ {
				if i > 1 {
					b.WriteByte(',')
				}
				cjsonAppend(L, b, v.RawGetInt(i), depth)
			}
			b.WriteByte(']')
			return
		}
		b.WriteByte('{')
		first := true
		v.ForEach(func(k, val lua.LValue) {
			if !first {
				b.WriteByte(',')
			}
			first = false
			switch k := k.(type) {
			case lua.LString:
				cjsonAppendString(b, string(k))
			case lua.LNumber:
				b.WriteByte('"')
				b.WriteString(cjsonNumber(float64(k)))
				b.WriteByte('"')
			default:
				L.RaiseError("Cannot serialise %s: table key must be a number or string", k.Type().String())
			}
			b.WriteByte(':')
			cjsonAppend(L, b, val, depth)
		})
		b.WriteByte('}')
	default:
		L.RaiseError("Cannot serialise %s: type not supported", v.Type().String())
	}
}

// cjsonArrayLength is lua-cjson's lua_array_length: the largest index when
// every key is a positive integer (an array), 0 for an object or an empty
// table; an excessively sparse array is an error.
func cjsonArrayLength(L *lua.LState, t *lua.LTable) int {
	maxIdx, items := 0, 0
	isArray := true
	t.ForEach(func(k, _ lua.LValue) {
		if !isArray {
			return
		}
		n, ok := k.(lua.LNumber)
		if !ok || float64(n) < 1 || math.Floor(float64(n)) != float64(n) {
			isArray = false
			return
		}
		if int(n) > maxIdx {
			maxIdx = int(n)
		}
		items++
	})
	if !isArray {
		return 0
	}
	if maxIdx > 10 && maxIdx > items*2 {
		L.RaiseError("Cannot serialise table: excessively sparse array")
	}
	return maxIdx
}

func cjsonNumber(f float64) string {
	return strconv.FormatFloat(f, 'g', 14, 64)
}

func cjsonAppendString(b *strings.Builder, s string) {
	const hexd = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch ch {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '/':
			b.WriteString(`\/`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if ch < 0x20 || ch == 0x7f {
				b.WriteString(`\u00`)
				b.WriteByte(hexd[ch>>4])
				b.WriteByte(hexd[ch&15])
			} else {
				b.WriteByte(ch)
			}
		}
	}
	b.WriteByte('"')
}

func cjsonDecode(L *lua.LState) int {
	if L.GetTop() != 1 {
		L.ArgError(1, "expected 1 argument")
	}
	d := cjsonDecoder{L: L, s: L.CheckString(1)}
	v := d.value(0)
	d.skipSpace()
	if d.i < len(d.s) {
		d.fail("the end", d.tokenName())
	}
	L.Push(v)
	return 1
}

type cjsonDecoder struct {
	L *lua.LState
	s string
	i int
}

func (d *cjsonDecoder) skipSpace() {
	for d.i < len(d.s) && (d.s[d.i] == ' ' || d.s[d.i] == '\t' || d.s[d.i] == '\n' || d.s[d.i] == '\r') {
		d.i++
	}
}

// fail raises lua-cjson's "Expected X but found Y at character N".
func (d *cjsonDecoder) fail(want, found string) {
	d.L.RaiseError("Expected %s but found %s at character %d", want, found, d.i+1)
}

func (d *cjsonDecoder) tokenName() string {
	if d.i >= len(d.s) {
		return "T_END"
	}
	switch d.s[d.i] {
	case '{':
		return "T_OBJ_BEGIN"
	case '}':
		return "T_OBJ_END"
	case '[':
		return "T_ARR_BEGIN"
	case ']':
		return "T_ARR_END"
	case ',':
		return "T_COMMA"
	case ':':
		return "T_COLON"
	case '"':
		return "T_STRING"
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return "T_NUMBER"
	}
	switch rest := d.s[d.i:]; {
	case strings.HasPrefix(rest, "true"), strings.HasPrefix(rest, "false"):
		return "T_BOOLEAN"
	case strings.HasPrefix(rest, "null"):
		return "T_NULL"
	}
	return "invalid token"
}

func (d *cjsonDecoder) value(depth int) lua.LValue {
	d.skipSpace()
	if d.i >= len(d.s) {
		d.fail("value", "T_END")
	}
	switch ch := d.s[d.i]; {
	case ch == '{':
		if depth >= cjsonMaxDepth {
			d.L.RaiseError("Found too many nested data structures (%d) at character %d", depth+1, d.i+1)
		}
		d.i++
		t := d.L.NewTable()
		d.skipSpace()
		if d.i < len(d.s) && d.s[d.i] == '}' {
			d.i++
			return t
		}
		for {
			d.skipSpace()
			if d.i >= len(d.s) || d.s[d.i] != '"' {
				d.fail("object key string", d.tokenName())
			}
			k := d.str()
			d.skipSpace()
			if d.i >= len(d.s) || d.s[d.i] != ':' {
				d.fail("colon", d.tokenName())
			}
			d.i++
			t.RawSetString(k, d.value(depth+1))
			d.skipSpace()
			if d.i < len(d.s) && d.s[d.i] == ',' {
				d.i++
				continue
			}
			if d.i < len(d.s) && d.s[d.i] == '}' {
				d.i++
				return t
			}
			d.fail("comma or object end", d.tokenName())
		}
	case ch == '[':
		if depth >= cjsonMaxDepth {
			d.L.RaiseError("Found too many nested data structures (%d) at character %d", depth+1, d.i+1)
		}
		d.i++
		t := d.L.NewTable()
		d.skipSpace()
		if d.i < len(d.s) && d.s[d.i] == ']' {
			d.i++
			return t
		}
		for n := 1; ; n++ {
			t.RawSetInt(n, d.value(depth+1))
			d.skipSpace()
			if d.i < len(d.s) && d.s[d.i] == ',' {
				d.i++
				continue
			}
			if d.i < len(d.s) && d.s[d.i] == ']' {
				d.i++
				return t
			}
			d.fail("comma or array end", d.tokenName())
		}
	case ch == '"':
		return lua.LString(d.str())
	case ch == '-' || (ch >= '0' && ch <= '9'):
		j := d.i
		for j < len(d.s) && strings.IndexByte("+-0123456789.eE", d.s[j]) >= 0 {
			j++
		}
		f, err := strconv.ParseFloat(d.s[d.i:j], 64)
		if err != nil && !strings.Contains(err.Error(), "range") {
			d.fail("value", "invalid number")
		}
		d.i = j
		return lua.LNumber(f)
	case strings.HasPrefix(d.s[d.i:], "true"):
		d.i += 4
		return lua.LTrue
	case strings.HasPrefix(d.s[d.i:], "false"):
		d.i += 5
		return lua.LFalse
	case strings.HasPrefix(d.s[d.i:], "null"):
		d.i += 4
		return cjsonNull
	}
	d.fail("value", d.tokenName())
	return lua.LNil
}

// str decodes the string at d.i (which is '"').
func (d *cjsonDecoder) str() string {
	start := d.i
	d.i++
	var b []byte
	for {
		if d.i >= len(d.s) {
			d.i = start
			d.L.RaiseError("Expected value but found unexpected end of string at character %d", start+1)
		}
		ch := d.s[d.i]
		switch {
		case ch == '"':
			d.i++
			return string(b)
		case ch == '\\':
			if d.i+1 >= len(d.s) {
				d.i = start
				d.fail("value", "invalid escape code")
			}
			d.i++
			switch e := d.s[d.i]; e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r, n := d.unicodeEscape()
				if n == 0 {
					d.i = start
					d.fail("value", "invalid unicode escape code")
				}
				b = utf8.AppendRune(b, r)
				d.i += n - 1
			default:
				d.i = start
				d.fail("value", "invalid escape code")
			}
			d.i++
		default:
			b = append(b, ch)
			d.i++
		}
	}
}

// unicodeEscape decodes \uXXXX (and a surrogate pair) at d.i (the 'u');
// it returns the rune and how many bytes from d.i it used, 0 if invalid.
func (d *cjsonDecoder) unicodeEscape() (rune, int) {
	hex4 := func(at int) (rune, bool) {
		if at+4 > len(d.s) {
			return 0, false
		}
		n, err := strconv.ParseUint(d.s[at:at+4], 16, 32)
		return rune(n), err == nil
	}
	r, ok := hex4(d.i + 1)
	if !ok {
		return 0, 0
	}
	if r >= 0xd800 && r < 0xdc00 {
		if d.i+11 <= len(d.s) && d.s[d.i+5] == '\\' && d.s[d.i+6] == 'u' {
			lo, ok := hex4(d.i + 7)
			if ok && lo >= 0xdc00 && lo < 0xe000 {
				return (r-0xd800)<<10 + (lo - 0xdc00) + 0x10000, 11
			}
		}
		return 0, 0
	}
	return r, 5
}
