package server

import "testing"

func TestIsName(t *testing.T) {
	for _, c := range []struct {
		arg, name string
		want      bool
	}{
		{"lpush", "lpush", true},
		{"LPUSH", "lpush", true},
		{"LpUsH", "lpush", true},
		{"lpushx", "lpush", false},
		{"lpus", "lpush", false},
		{"", "lpush", false},
		{"lpusH\x00", "lpush", false},
		{"[push", "{push", false}, // '[' is not an upper-case '{'
		{"GET", "set", false},
	} {
		if got := isName([]byte(c.arg), c.name); got != c.want {
			t.Errorf("isName(%q, %q) = %v, want %v", c.arg, c.name, got, c.want)
		}
	}
}
