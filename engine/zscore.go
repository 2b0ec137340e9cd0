package engine

import (
	"math"
	"strconv"
	"strings"
)

// Score parsing as Redis does it with C's strtod.

// strtod parses the longest prefix of s that C's strtod would: leading
// white space, a sign, then inf/infinity/nan, a hex float, or a decimal
// float. It returns the value, the bytes consumed (0: no conversion) and
// whether the value overflowed or underflowed to zero (ERANGE).
func strtod(s string) (float64, int, bool) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	start := i
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	neg := i > start && s[start] == '-'
	rest := strings.ToLower(s[i:min(len(s), i+8)])
	switch {
	case strings.HasPrefix(rest, "infinity"):
		return math.Inf(sign(neg)), i + 8, false
	case strings.HasPrefix(rest, "inf"):
		return math.Inf(sign(neg)), i + 3, false
	case strings.HasPrefix(rest, "nan"):
		j := i + 3
		if j < len(s) && s[j] == '(' {
			k := j + 1
			for k < len(s) && (isAlnum(s[k]) || s[k] == '_') {
				k++
			}
			if k < len(s) && s[k] == ')' {
				j = k + 1
			}
		}
		return math.NaN(), j, false
	}
	hex := i+1 < len(s) && s[i] == '0' && (s[i+1] == 'x' || s[i+1] == 'X')
	if hex {
		j := i + 2
		digits, nonzero := 0, false
		for j < len(s) && isHex(s[j]) {
			nonzero = nonzero || s[j] != '0'
			j++
			digits++
		}
		if j < len(s) && s[j] == '.' {
			j++
			for j < len(s) && isHex(s[j]) {
				nonzero = nonzero || s[j] != '0'
				j++
				digits++
			}
		}
		if digits > 0 {
			end := j
			if j < len(s) && (s[j] == 'p' || s[j] == 'P') {
				k := j + 1
				if k < len(s) && (s[k] == '+' || s[k] == '-') {
					k++
				}
				if k < len(s) && isDigit(s[k]) {
					for k < len(s) && isDigit(s[k]) {
						k++
					}
					end = k
				}
			}
			text := s[start:end]
			if end == j {
				text += "p0"
			}
			return finishStrtod(text, end, nonzero)
		}
		// "0x" without digits: the "0" alone converts.
		return finishStrtod(s[start:i+1], i+1, false)
	}
	j := i
	digits, nonzero := 0, false
	for j < len(s) && isDigit(s[j]) {
		nonzero = nonzero || s[j] != '0'
		j++
		digits++
	}
	if j < len(s) && s[j] == '.' {
		j++
		for j < len(s) && isDigit(s[j]) {
			nonzero = nonzero || s[j] != '0'
			j++
			digits++
		}
	}
	if digits == 0 {
		return 0, 0, false
	}
	end := j
	if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
		k := j + 1
		if k < len(s) && (s[k] == '+' || s[k] == '-') {
			k++
		}
		if k < len(s) && isDigit(s[k]) {
			for k < len(s) && isDigit(s[k]) {
				k++
			}
			end = k
		}
	}
	return finishStrtod(s[start:end], end, nonzero)
}

func finishStrtod(text string, end int, nonzero bool) (float64, int, bool) {
	v, err := strconv.ParseFloat(text, 64)
	if err != nil && !math.IsInf(v, 0) {
		// Exponents too long for ParseFloat's syntax are still numbers.
		return 0, end, true
	}
	erange := err != nil || (v == 0 && nonzero)
	return v, end, erange
}

func sign(neg bool) int {
	if neg {
		return -1
	}
	return 1
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isHex(c byte) bool   { return isDigit(c) || (c|0x20) >= 'a' && (c|0x20) <= 'f' }
func isAlnum(c byte) bool { return isDigit(c) || (c|0x20) >= 'a' && (c|0x20) <= 'z' }

// ParseScore parses a score as Redis's string2d does (ZADD, ZINCRBY,
// WEIGHTS): the whole argument, no leading space, no NaN, and no overflow
// or underflow to zero. Infinities are accepted.
func ParseScore(b []byte) (float64, bool) {
	if len(b) == 0 || isSpace(b[0]) {
		return 0, false
	}
	v, n, erange := strtod(string(b))
	if n != len(b) || math.IsNaN(v) || (erange && (math.IsInf(v, 0) || v == 0)) {
		return 0, false
	}
	return v, true
}

// ParseRangeScore parses a ZRANGEBYSCORE bound's number as Redis's
// zslParseRange does: strtod up to a NUL or the end, which must be reached;
// leading spaces, an empty string (0) and overflow (±inf) are accepted;
// NaN is not.
func ParseRangeScore(b []byte) (float64, bool) {
	s := string(b)
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	v, n, _ := strtod(s)
	if n != len(s) || math.IsNaN(v) {
		return 0, false
	}
	return v, true
}

// ParseLongDouble parses a float as Redis's string2ld (blocking commands'
// timeouts): no spaces, nothing after the number, no NaN; infinities pass.
func ParseLongDouble(b []byte) (float64, bool) {
	f, ok := parseLongDouble(b)
	if !ok {
		return 0, false
	}
	v, _ := f.Float64()
	return v, true
}
