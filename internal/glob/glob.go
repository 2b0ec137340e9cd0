// Package glob matches byte strings against Redis's glob-style patterns
// (KEYS, SCAN MATCH, PSUBSCRIBE): * ? [abc] [^a-z] and \ escapes, with
// Redis's stringmatchlen semantics, including its treatment of malformed
// patterns (an unclosed [ matches to the end of the pattern).
package glob

// Match reports whether str matches pattern.
func Match(pattern, str []byte) bool {
	var skip bool
	return match(pattern, str, false, 0, &skip)
}

// MatchFold is Match ignoring ASCII case.
func MatchFold(pattern, str []byte) bool {
	var skip bool
	return match(pattern, str, true, 0, &skip)
}

// maxNesting bounds the recursion on '*' as Redis does, so a pattern of many
// stars cannot take exponential time.
const maxNesting = 1000

func lower(c byte, fold bool) byte {
	if fold && c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// skipLonger is Redis's shortcut: once a '*' has failed to match against
// every suffix, no longer prefix for an outer '*' can succeed either.
func match(p, s []byte, fold bool, nesting int, skipLonger *bool) bool {
	if nesting > maxNesting {
		return false
	}
	for len(p) > 0 && len(s) > 0 {
		switch p[0] {
		case '*':
			for len(p) > 1 && p[1] == '*' {
				p = p[1:]
			}
			if len(p) == 1 {
				return true
			}
			for len(s) > 0 {
				if match(p[1:], s, fold, nesting+1, skipLonger) {
					return true
				}
				if *skipLonger {
					return false
				}
				s = s[1:]
			}
			*skipLonger = true
			return false
		case '?':
			s = s[1:]
		case '[':
			p = p[1:]
			not := len(p) > 0 && p[0] == '^'
			if not {
				p = p[1:]
			}
			matched := false
			for {
				if len(p) == 0 {
					break
				}
				if p[0] == '\\' && len(p) >= 2 {
					p = p[1:]
					if p[0] == s[0] {
						matched = true
					}
				} else if p[0] == ']' {
					break
				} else if len(p) >= 3 && p[1] == '-' {
					start, end := p[0], p[2]
					if start > end {
						start, end = end, start
					}
					c := s[0]
					if fold {
						start, end, c = lower(start, true), lower(end, true), lower(c, true)
					}
					p = p[2:]
					if c >= start && c <= end {
						matched = true
					}
				} else if lower(p[0], fold) == lower(s[0], fold) {
					matched = true
				}
				p = p[1:]
			}
			if len(p) == 0 {
				// Unclosed bracket: Redis treats the pattern as ending here.
				p = p[:0]
				if not {
					matched = !matched
				}
				if !matched {
					return false
				}
				s = s[1:]
				return len(s) == 0 && len(p) == 0
			}
			if not {
				matched = !matched
			}
			if !matched {
				return false
			}
			s = s[1:]
		case '\\':
			if len(p) >= 2 {
				p = p[1:]
			}
			if lower(p[0], fold) != lower(s[0], fold) {
				return false
			}
			s = s[1:]
		default:
			if lower(p[0], fold) != lower(s[0], fold) {
				return false
			}
			s = s[1:]
		}
		p = p[1:]
		if len(s) == 0 {
			for len(p) > 0 && p[0] == '*' {
				p = p[1:]
			}
			break
		}
	}
	return len(p) == 0 && len(s) == 0
}
