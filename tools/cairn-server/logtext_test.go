package main

import (
	"bytes"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/pkg/errors"
)

// TestErrorLoggedAsText: an error wrapped with github.com/pkg/errors is
// logged as its message on one line, without the stack of its wraps.
func TestErrorLoggedAsText(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: errorText}))
	err := errors.Wrapf(errors.Wrap(os.ErrNotExist, "create snapshot directory /d"), "snapshot %d", 7)
	logger.Error("background snapshot failed", "err", err, "n", 3)
	got := buf.String()
	if want := `err="snapshot 7: create snapshot directory /d: file does not exist" n=3`; !strings.Contains(got, want) {
		t.Fatalf("logged %q, want it to contain %q", got, want)
	}
	if strings.Contains(got, ".go:") || strings.Count(got, "\n") != 1 {
		t.Fatalf("logged a stack: %q", got)
	}
}
