package server

import (
	"encoding/binary"
	"math"
	"strconv"

	lua "github.com/yuin/gopher-lua"
)

// bit, struct and cmsgpack: the other libraries Redis ships to scripts.

// bit is LuaBitOp: 32-bit operations on numbers, results signed.
func newBitLib(L *lua.LState) *lua.LTable {
	t := L.NewTable()
	un := func(name string, f func(int32) int32) {
		t.RawSetString(name, L.NewFunction(func(L *lua.LState) int {
			L.Push(lua.LNumber(f(bitArg(L, 1))))
			return 1
		}))
	}
	fold := func(name string, f func(a, b int32) int32) {
		t.RawSetString(name, L.NewFunction(func(L *lua.LState) int {
			r := bitArg(L, 1)
			for i := 2; i <= L.GetTop(); i++ {
				r = f(r, bitArg(L, i))
			}
			L.Push(lua.LNumber(r))
			return 1
		}))
	}
	shift := func(name string, f func(a int32, n uint) int32) {
		t.RawSetString(name, L.NewFunction(func(L *lua.LState) int {
			L.Push(lua.LNumber(f(bitArg(L, 1), uint(bitArg(L, 2))&31)))
			return 1
		}))
	}
	un("tobit", func(a int32) int32 { return a })
	un("bnot", func(a int32) int32 { return ^a })
	un("bswap", func(a int32) int32 {
		u := uint32(a)
		return int32(u>>24 | (u>>8)&0xff00 | (u<<8)&0xff0000 | u<<24)
	})
	fold("band", func(a, b int32) int32 { return a & b })
	fold("bor", func(a, b int32) int32 { return a | b })
	fold("bxor", func(a, b int32) int32 { return a ^ b })
	shift("lshift", func(a int32, n uint) int32 { return int32(uint32(a) << n) })
	shift("rshift", func(a int32, n uint) int32 { return int32(uint32(a) >> n) })
	shift("arshift", func(a int32, n uint) int32 { return a >> n })
	shift("rol", func(a int32, n uint) int32 { u := uint32(a); return int32(u<<n | u>>(32-n)) })
	shift("ror", func(a int32, n uint) int32 { u := uint32(a); return int32(u>>n | u<<(32-n)) })
	t.RawSetString("tohex", L.NewFunction(func(L *lua.LState) int {
		b := uint32(bitArg(L, 1))
		n := int32(8)
		if L.GetTop() >= 2 && L.Get(2) != lua.LNil {
			n = bitArg(L, 2)
		}
		digits := "0123456789abcdef"
		if n < 0 {
			n = -n
			digits = "0123456789ABCDEF"
		}
		if n > 8 {
			n = 8
		}
		buf := make([]byte, n)
		for i := int(n) - 1; i >= 0; i-- {
			buf[i] = digits[b&15]
			b >>= 4
		}
		L.Push(lua.LString(buf))
		return 1
	}))
	return t
}

// bitArg is LuaBitOp's barg: the number rounded (to even) and taken modulo
// 2^32, as a signed 32-bit value.
func bitArg(L *lua.LState, i int) int32 {
	f := float64(L.CheckNumber(i))
	return int32(uint32(int64(math.RoundToEven(math.Mod(f, 1<<32)))))
}

// struct is Roberto Ierusalimschy's struct library: pack, unpack, size.
func newStructLib(L *lua.LState) *lua.LTable {
	t := L.NewTable()
	t.RawSetString("pack", L.NewFunction(structPack))
	t.RawSetString("unpack", L.NewFunction(structUnpack))
	t.RawSetString("size", L.NewFunction(structSize))
	return t
}

// structItem is one parsed format item.
type structItem struct {
	op   byte // b B h H l L T i I f d c s x
	size int
}

// structFormat walks fmt, calling fn for each item with the byte order and
// alignment in force (native alignment is not applied: '!' is accepted
// and ignored beyond parsing).
func structFormat(L *lua.LState, f string, fn func(it structItem, little bool)) {
	little := true
	for i := 0; i < len(f); i++ {
		op := f[i]
		num := func(def int) int {
			j := i + 1
			for j < len(f) && f[j] >= '0' && f[j] <= '9' {
				j++
			}
			if j == i+1 {
				return def
			}
			n, _ := strconv.Atoi(f[i+1 : j])
			i = j - 1
			return n
		}
		switch op {
		case ' ':
		case '<':
			little = true
		case '>':
			little = false
		case '=':
			little = true
		case '!':
			num(8)
		case 'b', 'B', 'x':
			fn(structItem{op, 1}, little)
		case 'h', 'H':
			fn(structItem{op, 2}, little)
		case 'l', 'L', 'T':
			fn(structItem{op, 8}, little)
		case 'i', 'I':
			n := num(4)
			if n < 1 || n > 8 {
				L.RaiseError("integral size %d is larger than limit of 8", n)
			}
			fn(structItem{op, n}, little)
		case 'f':
			fn(structItem{op, 4}, little)
		case 'd':
			fn(structItem{op, 8}, little)
		case 'c':
			fn(structItem{op, num(1)}, little)
		case 's':
			fn(structItem{op, 0}, little)
		default:
			L.RaiseError("invalid format option '%c'", op)
		}
	}
}

func structPack(L *lua.LState) int {
	f := L.CheckString(1)
	arg := 2
	var out []byte
	structFormat(L, f, func(it structItem, little bool) {
		switch it.op {
		case 'x':
			out = append(out, 0)
		case 'f', 'd':
			v := float64(L.CheckNumber(arg))
			arg++
			var u uint64
			if it.op == 'f' {
				u = uint64(math.Float32bits(float32(v)))
			} else {
				u = math.Float64bits(v)
			}
			out = appendUint(out, u, it.size, little)
		case 'c', 's':
			s := L.CheckString(arg)
			arg++
			if it.op == 'c' {
				if it.size == 0 {
					it.size = len(s)
				}
				if len(s) < it.size {
					L.ArgError(arg-1, "string too short")
				}
				out = append(out, s[:it.size]...)
			} else {
				out = append(append(out, s...), 0)
			}
		default:
			v := float64(L.CheckNumber(arg))
			arg++
			out = appendUint(out, uint64(int64(v)), it.size, little)
		}
	})
	L.Push(lua.LString(out))
	return 1
}

func appendUint(out []byte, u uint64, size int, little bool) []byte {
	var b [8]byte
	if little {
		binary.LittleEndian.PutUint64(b[:], u)
		return append(out, b[:size]...)
	}
	binary.BigEndian.PutUint64(b[:], u)
	return append(out, b[8-size:]...)
}

func structUnpack(L *lua.LState) int {
	f := L.CheckString(1)
	data := L.CheckString(2)
	pos := L.OptInt(3, 1) - 1
	if pos < 0 || pos > len(data) {
		L.ArgError(3, "offset must be 1 or greater")
	}
	n := 0
	need := func(size int) {
		if pos+size > len(data) {
			L.ArgError(2, "data string too short")
		}
	}
	structFormat(L, f, func(it structItem, little bool) {
		switch it.op {
		case 'x':
			need(1)
			pos++
			return
		case 's':
			end := pos
			for end < len(data) && data[end] != 0 {
				end++
			}
			if end >= len(data) {
				L.RaiseError("unfinished string in data")
			}
			L.Push(lua.LString(data[pos:end]))
			pos = end + 1
		case 'c':
			size := it.size
			if size == 0 {
				if n == 0 {
					L.RaiseError("format 'c0' needs a previous size")
				}
				prev := L.Get(-1)
				L.Pop(1)
				n--
				size = int(lua.LVAsNumber(prev))
			}
			need(size)
			L.Push(lua.LString(data[pos : pos+size]))
			pos += size
		default:
			need(it.size)
			var b [8]byte
			var u uint64
			if little {
				copy(b[:], data[pos:pos+it.size])
				u = binary.LittleEndian.Uint64(b[:])
			} else {
				copy(b[8-it.size:], data[pos:pos+it.size])
				u = binary.BigEndian.Uint64(b[:])
			}
			pos += it.size
			var v float64
			switch it.op {
			case 'f':
				v = float64(math.Float32frombits(uint32(u)))
			case 'd':
				v = math.Float64frombits(u)
			case 'b', 'h', 'l', 'i':
				shift := uint(64 - 8*it.size)
				v = float64(int64(u<<shift) >> shift)
			default:
				v = float64(u)
			}
			L.Push(lua.LNumber(v))
		}
		n++
	})
	L.Push(lua.LNumber(pos + 1))
	return n + 1
}

func structSize(L *lua.LState) int {
	f := L.CheckString(1)
	size := 0
	structFormat(L, f, func(it structItem, _ bool) {
		if it.op == 's' || (it.op == 'c' && it.size == 0) {
			L.ArgError(1, "options 'c0' - 's' have undefined sizes")
		}
		size += it.size
	})
	L.Push(lua.LNumber(size))
	return 1
}

// cmsgpack is lua-cmsgpack: pack(...) and unpack(s).
func newMsgpackLib(L *lua.LState) *lua.LTable {
	t := L.NewTable()
	t.RawSetString("pack", L.NewFunction(func(L *lua.LState) int {
		if L.GetTop() == 0 {
			L.RaiseError("MessagePack pack needs input.")
		}
		var out []byte
		for i := 1; i <= L.GetTop(); i++ {
			out = msgpackAppend(L, out, L.Get(i), 0)
		}
		L.Push(lua.LString(out))
		return 1
	}))
	t.RawSetString("unpack", L.NewFunction(func(L *lua.LState) int {
		s := L.CheckString(1)
		d := msgpackDecoder{L: L, s: s}
		n := 0
		for d.i < len(s) {
			L.Push(d.value(0))
			n++
		}
		return n
	}))
	return t
}

func msgpackAppend(L *lua.LState, out []byte, v lua.LValue, depth int) []byte {
	switch v := v.(type) {
	case lua.LString:
		n := len(v)
		switch {
		case n < 32:
			out = append(out, 0xa0|byte(n))
		case n <= 0xff:
			out = append(out, 0xd9, byte(n))
		case n <= 0xffff:
			out = append(out, 0xda, byte(n>>8), byte(n))
		default:
			out = append(out, 0xdb, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
		}
		return append(out, v...)
	case lua.LBool:
		if v {
			return append(out, 0xc3)
		}
		return append(out, 0xc2)
	case lua.LNumber:
		f := float64(v)
		if f == math.Trunc(f) && f >= math.MinInt64 && f < math.MaxInt64 {
			return msgpackInt(out, int64(f))
		}
		if f32 := float32(f); float64(f32) == f {
			return binary.BigEndian.AppendUint32(append(out, 0xca), math.Float32bits(f32))
		}
		return binary.BigEndian.AppendUint64(append(out, 0xcb), math.Float64bits(f))
	case *lua.LTable:
		if depth >= 16 {
			return append(out, 0xc0)
		}
		maxIdx, count, isArray := 0, 0, true
		v.ForEach(func(k, _ lua.LValue) {
			count++
			n, ok := k.(lua.LNumber)
			if !ok || float64(n) < 1 || float64(n) != math.Trunc(float64(n)) {
				isArray = false
				return
			}
			maxIdx = max(maxIdx, int(n))
		})
		if isArray && maxIdx == count {
			out = msgpackHeader(out, count, 0x90, 0xdc)
			for i := 1; i <= count; i++ {
				out = msgpackAppend(L, out, v.RawGetInt(i), depth+1)
			}
			return out
		}
		out = msgpackHeader(out, count, 0x80, 0xde)
		v.ForEach(func(k, val lua.LValue) {
			out = msgpackAppend(L, out, k, depth+1)
			out = msgpackAppend(L, out, val, depth+1)
		})
		return out
	}
	return append(out, 0xc0)
}

func msgpackHeader(out []byte, n int, fix, b16 byte) []byte {
	switch {
	case n < 16:
		return append(out, fix|byte(n))
	case n <= 0xffff:
		return append(out, b16, byte(n>>8), byte(n))
	}
	return append(out, b16+1, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

func msgpackInt(out []byte, n int64) []byte {
	switch {
	case n >= 0 && n <= 127:
		return append(out, byte(n))
	case n >= 0 && n <= 0xff:
		return append(out, 0xcc, byte(n))
	case n >= 0 && n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(out, 0xcd), uint16(n))
	case n >= 0 && n <= 0xffffffff:
		return binary.BigEndian.AppendUint32(append(out, 0xce), uint32(n))
	case n >= 0:
		return binary.BigEndian.AppendUint64(append(out, 0xcf), uint64(n))
	case n >= -32:
		return append(out, byte(n))
	case n >= -128:
		return append(out, 0xd0, byte(n))
	case n >= -32768:
		return binary.BigEndian.AppendUint16(append(out, 0xd1), uint16(n))
	case n >= -1<<31:
		return binary.BigEndian.AppendUint32(append(out, 0xd2), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(out, 0xd3), uint64(n))
}

type msgpackDecoder struct {
	L *lua.LState
	s string
	i int
}

func (d *msgpackDecoder) take(n int) string {
	if d.i+n > len(d.s) {
		d.L.RaiseError("Missing bytes in input.")
	}
	s := d.s[d.i : d.i+n]
	d.i += n
	return s
}

func (d *msgpackDecoder) uint(n int) uint64 {
	var u uint64
	for _, c := range []byte(d.take(n)) {
		u = u<<8 | uint64(c)
	}
	return u
}

func (d *msgpackDecoder) value(depth int) lua.LValue {
	if depth > 1000 {
		d.L.RaiseError("Too deep nesting in input.")
	}
	c := d.take(1)[0]
	switch {
	case c <= 0x7f:
		return lua.LNumber(c)
	case c >= 0xe0:
		return lua.LNumber(int8(c))
	case c&0xe0 == 0xa0:
		return lua.LString(d.take(int(c & 0x1f)))
	case c&0xf0 == 0x90:
		return d.array(int(c&0x0f), depth)
	case c&0xf0 == 0x80:
		return d.mapOf(int(c&0x0f), depth)
	}
	switch c {
	case 0xc0:
		return lua.LNil
	case 0xc2:
		return lua.LFalse
	case 0xc3:
		return lua.LTrue
	case 0xca:
		return lua.LNumber(math.Float32frombits(uint32(d.uint(4))))
	case 0xcb:
		return lua.LNumber(math.Float64frombits(d.uint(8)))
	case 0xcc:
		return lua.LNumber(d.uint(1))
	case 0xcd:
		return lua.LNumber(d.uint(2))
	case 0xce:
		return lua.LNumber(d.uint(4))
	case 0xcf:
		return lua.LNumber(d.uint(8))
	case 0xd0:
		return lua.LNumber(int8(d.uint(1)))
	case 0xd1:
		return lua.LNumber(int16(d.uint(2)))
	case 0xd2:
		return lua.LNumber(int32(d.uint(4)))
	case 0xd3:
		return lua.LNumber(int64(d.uint(8)))
	case 0xd9, 0xc4:
		return lua.LString(d.take(int(d.uint(1))))
	case 0xda, 0xc5:
		return lua.LString(d.take(int(d.uint(2))))
	case 0xdb, 0xc6:
		return lua.LString(d.take(int(d.uint(4))))
	case 0xdc:
		return d.array(int(d.uint(2)), depth)
	case 0xdd:
		return d.array(int(d.uint(4)), depth)
	case 0xde:
		return d.mapOf(int(d.uint(2)), depth)
	case 0xdf:
		return d.mapOf(int(d.uint(4)), depth)
	}
	d.L.RaiseError("Bad data format in input.")
	return lua.LNil
}

func (d *msgpackDecoder) array(n int, depth int) lua.LValue {
	if n > len(d.s)-d.i {
		d.L.RaiseError("Missing bytes in input.")
	}
	t := d.L.CreateTable(n, 0)
	for i := 1; i <= n; i++ {
		t.RawSetInt(i, d.value(depth+1))
	}
	return t
}

func (d *msgpackDecoder) mapOf(n int, depth int) lua.LValue {
	if n > len(d.s)-d.i {
		d.L.RaiseError("Missing bytes in input.")
	}
	t := d.L.CreateTable(0, n)
	for i := 0; i < n; i++ {
		k := d.value(depth + 1)
		v := d.value(depth + 1)
		if k != lua.LNil {
			t.RawSet(k, v)
		}
	}
	return t
}
