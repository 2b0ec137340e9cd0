package glob

import "testing"

func TestMatch(t *testing.T) {
	cases := []struct {
		pat, s string
		want   bool
	}{
		{"*", "", false}, // as stringmatchlen; KEYS and SCAN special-case a lone "*"
		{"*", "abc", true},
		{"", "", true},
		{"", "a", false},
		{"a*", "abc", true},
		{"a*", "bac", false},
		{"*c", "abc", true},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"h[ae]llo", "hello", true},
		{"h[ae]llo", "hillo", false},
		{"h[^e]llo", "hallo", true},
		{"h[^e]llo", "hello", false},
		{"h[a-b]llo", "hbllo", true},
		{"h[b-a]llo", "hallo", true}, // reversed range
		{"h[a-b]llo", "hcllo", false},
		{`h\*llo`, "h*llo", true},
		{`h\*llo`, "hello", false},
		{`[\]]`, "]", true},
		{"a[", "ab", false}, // unclosed bracket: an empty class
		{"a[b", "ab", true},
		{"a[b", "abc", false},
		{"**a", "xa", true},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "aXbY", false},
		{"user:*", "user:\x00bin", true},
		{"*a*a*a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
	}
	for _, c := range cases {
		if got := Match([]byte(c.pat), []byte(c.s)); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.pat, c.s, got, c.want)
		}
	}
}

func TestMatchFold(t *testing.T) {
	if !MatchFold([]byte("HE[L-M]lo*"), []byte("hello world")) {
		t.Fatal("case-insensitive match failed")
	}
	if Match([]byte("HELLO"), []byte("hello")) {
		t.Fatal("case-sensitive match ignored case")
	}
}
