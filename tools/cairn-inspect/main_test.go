package main

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// result is one in-process run of the tool.
type result struct {
	code           int
	stdout, stderr string
}

// runTool runs the tool with args, as the shell would.
func runTool(t testing.TB, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

// want fails the test unless r exited with code and each of the strings
// appears in its stdout.
func (r result) want(t testing.TB, code int, stdout ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	for _, s := range stdout {
		if !strings.Contains(r.stdout, s) {
			t.Fatalf("stdout lacks %q:\n%s\nstderr:\n%s", s, r.stdout, r.stderr)
		}
	}
}

// wantErr is want for stderr; stdout must be empty.
func (r result) wantErr(t testing.TB, code int, stderr ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	if r.stdout != "" {
		t.Fatalf("stdout is not empty:\n%s", r.stdout)
	}
	for _, s := range stderr {
		if !strings.Contains(r.stderr, s) {
			t.Fatalf("stderr lacks %q:\n%s", s, r.stderr)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		r := runTool(t, args...)
		r.want(t, exitOK, "Usage: cairn-inspect COMMAND", "wal ", "Exit status")
		if r.stderr != "" {
			t.Fatalf("%v: stderr %q", args, r.stderr)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"wal", "--help"}, "Usage: cairn-inspect wal [--json]"},
		{[]string{"wal", "-h"}, "Usage: cairn-inspect wal [--json]"},
		{[]string{"help", "wal"}, "Usage: cairn-inspect wal [--json]"},
		{[]string{"wal", "help"}, "Usage: cairn-inspect wal [--json]"},
		{[]string{"wal", "dump", "--help"}, "Usage: cairn-inspect wal dump"},
		{[]string{"help", "wal", "dump"}, "Usage: cairn-inspect wal dump"},
		{[]string{"wal", "repair", "--help"}, "Usage: cairn-inspect wal repair"},
		{[]string{"help", "wal", "repair"}, "Usage: cairn-inspect wal repair"},
		{[]string{"wal", "help", "repair"}, "Usage: cairn-inspect wal repair"},
		// --help wins over everything else on the line.
		{[]string{"wal", "repair", "/nonexistent", "--help"}, "Usage: cairn-inspect wal repair"},
	} {
		r := runTool(t, tc.args...)
		r.want(t, exitOK, tc.want, "Exit status")
	}
}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "Usage: cairn-inspect COMMAND"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"--frobnicate"}, "unknown flag --frobnicate"},
		{[]string{"help", "frobnicate"}, `no help for "frobnicate"`},
		{[]string{"help", "wal", "frobnicate"}, `no help for "wal frobnicate"`},
		{[]string{"wal"}, "missing DIR"},
		{[]string{"wal", "dump"}, "missing DIR"},
		{[]string{"wal", "repair"}, "missing DIR"},
		{[]string{"wal", dir, dir}, "too many arguments"},
		{[]string{"wal", "--frobnicate", dir}, "flag provided but not defined: -frobnicate"},
		{[]string{"wal", "repair", "--json=maybe", dir}, "invalid boolean value"},
		{[]string{"wal", "--limit", "5", dir}, "--limit needs --records"},
		{[]string{"wal", "dump", "--limit", "-1", dir}, "--limit must be 0"},
		{[]string{"wal", "dump", "--limit", "x", dir}, "invalid value"},
	} {
		r := runTool(t, tc.args...)
		if r.code != exitUsage || r.stdout != "" || !strings.Contains(r.stderr, tc.want) {
			t.Fatalf("%q: exit %d, stdout %q, stderr %q; want exit %d and %q on stderr",
				tc.args, r.code, r.stdout, r.stderr, exitUsage, tc.want)
		}
	}
}

// TestParseInterleaved: flags go before or after DIR, and "--" ends them.
func TestParseInterleaved(t *testing.T) {
	for _, tc := range []struct {
		args []string
		pos  []string
		json bool
	}{
		{[]string{"d"}, []string{"d"}, false},
		{[]string{"--json", "d"}, []string{"d"}, true},
		{[]string{"d", "--json"}, []string{"d"}, true},
		{[]string{"a", "--json", "b"}, []string{"a", "b"}, true},
		{[]string{"--", "--json"}, []string{"--json"}, false},
		{[]string{"a", "--", "--json"}, []string{"a", "--json"}, false},
	} {
		fs := newFlags("test")
		j := fs.Bool("json", false, "")
		pos, err := parse(fs, tc.args, &bytes.Buffer{}, func(w io.Writer) {})
		if err != nil || strings.Join(pos, "|") != strings.Join(tc.pos, "|") || *j != tc.json {
			t.Fatalf("%q: positional %q, json %v, err %v; want %q, %v", tc.args, pos, *j, err, tc.pos, tc.json)
		}
	}
}
