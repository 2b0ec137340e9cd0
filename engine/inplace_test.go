package engine

import (
	"testing"

	"github.com/cairn-db/cairn/vfs"
	"github.com/cairn-db/cairn/wal"
)

// TestInPlaceOverwritesReplay: string writes overwrite a value in place
// only while no effect of their transaction points at it. Each case writes
// one key several times in one transaction (as EXEC or a script does), in
// ways that would corrupt an earlier effect's value were it overwritten in
// place; the log's replay must give the state the writes left.
func TestInPlaceOverwritesReplay(t *testing.T) {
	cases := []struct {
		name string
		run  func(tx *Tx) error
	}{
		{"SET twice, same length", func(tx *Tx) error {
			if _, err := tx.Set(0, []byte("k"), []byte("aaaa"), SetArgs{}); err != nil {
				return err
			}
			if _, err := tx.SetRange(0, []byte("k"), 4, []byte("zz")); err != nil {
				return err
			}
			_, err := tx.Set(0, []byte("k"), []byte("bbbb"), SetArgs{})
			return err
		}},
		{"SET, INCR, SETRANGE, INCR", func(tx *Tx) error {
			if _, err := tx.Set(0, []byte("k"), []byte("5"), SetArgs{}); err != nil {
				return err
			}
			if _, err := tx.IncrBy(0, []byte("k"), 19); err != nil {
				return err
			}
			if _, err := tx.SetRange(0, []byte("k"), 0, []byte("3")); err != nil {
				return err
			}
			_, err := tx.IncrBy(0, []byte("k"), 1)
			return err
		}},
		{"COPY between SETs", func(tx *Tx) error {
			// Replay copies k as the first SET left it: that SET's
			// effect must still hold "abcd" at the commit.
			if _, err := tx.Set(0, []byte("k"), []byte("abcd"), SetArgs{}); err != nil {
				return err
			}
			if _, err := tx.Copy(0, []byte("k"), 0, []byte("j"), true); err != nil {
				return err
			}
			_, err := tx.Set(0, []byte("k"), []byte("wxyz"), SetArgs{})
			return err
		}},
		{"MSET with a repeated key", func(tx *Tx) error {
			_, err := tx.MSet(0, [][]byte{[]byte("k"), []byte("1111"), []byte("j"), []byte("x"), []byte("k"), []byte("2")}, false)
			return err
		}},
		{"APPEND between SETs", func(tx *Tx) error {
			if _, err := tx.Set(0, []byte("k"), []byte("abcdef"), SetArgs{}); err != nil {
				return err
			}
			if _, err := tx.Append(0, []byte("k"), []byte("g")); err != nil {
				return err
			}
			_, err := tx.Set(0, []byte("k"), []byte("xy"), SetArgs{})
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mem := vfs.NewMem()
			wo := wal.Options{FS: mem, Dir: "/wal", Sync: wal.SyncAlways, Logger: rcQuiet}
			e := openT(t, Options{Logger: rcQuiet, WAL: &wo})
			if _, err := e.Load(); err != nil {
				t.Fatal(err)
			}
			// Values present before the transaction, overwritten in place
			// by its first write.
			if err := e.Update([][]byte{[]byte("k"), []byte("j")}, func(tx *Tx) error {
				_, err := tx.MSet(0, [][]byte{[]byte("k"), []byte("0000"), []byte("j"), []byte("0")}, false)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if err := e.Update([][]byte{[]byte("k"), []byte("j")}, tc.run); err != nil {
				t.Fatal(err)
			}
			want := dumpStrings(t, e, "k", "j")
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			e2 := openT(t, Options{Logger: rcQuiet, WAL: &wo})
			defer e2.Close()
			if _, err := e2.Load(); err != nil {
				t.Fatal(err)
			}
			if got := dumpStrings(t, e2, "k", "j"); got != want {
				t.Fatalf("after replay %q, before %q", got, want)
			}
		})
	}
}

func dumpStrings(t *testing.T, e *Engine, keys ...string) string {
	t.Helper()
	var out string
	for _, k := range keys {
		if err := e.View([][]byte{[]byte(k)}, func(tx *Tx) error {
			v, ok, err := tx.Get(0, []byte(k))
			if ok {
				out += k + "=" + string(v) + ";"
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}
