package main

import (
	"bufio"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/cairn-db/cairn/server"
)

// readmePath is the repository's README, relative to this package.
const readmePath = "../../README.md"

// commandTableHeading starts the README section whose table lists the
// supported commands, one row per command family.
const commandTableHeading = "## Supported commands"

// backticked matches `NAME` in a table cell.
var backticked = regexp.MustCompile("`([^`]+)`")

// readmeCommands returns the lower-case command names in the README's
// "Supported commands" table, and fails on duplicates.
func readmeCommands(t *testing.T) map[string]bool {
	t.Helper()
	f, err := os.Open(readmePath)
	if err != nil {
		t.Fatalf("the README lists the supported commands: %v", err)
	}
	defer f.Close()

	names := make(map[string]bool)
	inSection, inTable, rows := false, false, 0
	sc := bufio.NewScanner(f)
	for lineNo := 1; sc.Scan(); lineNo++ {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") {
			if inSection {
				break // the next heading ends the section
			}
			inSection = strings.EqualFold(line, commandTableHeading)
			continue
		}
		if !inSection {
			continue
		}
		if !strings.HasPrefix(line, "|") {
			if inTable {
				break // the table has ended
			}
			continue
		}
		inTable = true
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) < 2 {
			continue
		}
		// The family is the first cell; commands are backticked in the others.
		for _, cell := range cells[1:] {
			for _, m := range backticked.FindAllStringSubmatch(cell, -1) {
				name := m[1]
				if name != strings.ToUpper(name) || strings.ContainsAny(name, " \t") {
					t.Errorf("%s:%d: %q: write each command as one upper-case name in backticks", readmePath, lineNo, name)
					continue
				}
				lower := strings.ToLower(name)
				if names[lower] {
					t.Errorf("%s:%d: %s is listed twice", readmePath, lineNo, name)
				}
				names[lower] = true
			}
		}
		rows++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if !inSection {
		t.Fatalf("%s has no %q section", readmePath, commandTableHeading)
	}
	if rows < 3 || len(names) < 10 {
		t.Fatalf("%s: the %q table has %d rows and %d commands; is it a Markdown table of `NAME`s?",
			readmePath, commandTableHeading, rows, len(names))
	}
	return names
}

// TestReadmeListsEveryCommand keeps the README's command table and the
// server's command table in step.
func TestReadmeListsEveryCommand(t *testing.T) {
	documented := readmeCommands(t)
	implemented := make(map[string]bool)
	for _, name := range server.CommandNames() {
		implemented[strings.ToLower(name)] = true
	}
	if len(implemented) == 0 {
		t.Fatal("server.CommandNames() returned no commands")
	}

	var undocumented, missing []string
	for name := range implemented {
		if !documented[name] {
			undocumented = append(undocumented, strings.ToUpper(name))
		}
	}
	for name := range documented {
		if !implemented[name] {
			missing = append(missing, strings.ToUpper(name))
		}
	}
	sort.Strings(undocumented)
	sort.Strings(missing)
	if len(undocumented) > 0 {
		t.Errorf("commands in the server's table but not in README.md's %q table: %s",
			commandTableHeading, strings.Join(undocumented, " "))
	}
	if len(missing) > 0 {
		t.Errorf("commands in README.md's %q table that the server does not have: %s",
			commandTableHeading, strings.Join(missing, " "))
	}
}
