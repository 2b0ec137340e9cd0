package snapshot

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/golang/snappy"
)

// TestCompressPaced checks that compressing in pieces gives snappy.Encode's
// very bytes, with a pause after every paceBytes of input but the last.
func TestCompressPaced(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	mixed := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			if i%1000 < 700 {
				b[i] = byte('a' + i%7) // compressible runs
			} else {
				b[i] = byte(rng.Uint32())
			}
		}
		return b
	}
	for _, tc := range []struct {
		name   string
		size   int
		pauses int
	}{
		{"empty", 0, 0},
		{"small", 100, 0},
		{"one pace", paceBytes, 0},
		{"just over", paceBytes + 1, 1},
		{"odd piece", paceBytes + snappyPiece/2 + 3, 1},
		{"several", 3*paceBytes + 12345, 3},
		{"exact multiple", 4 * paceBytes, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := mixed(tc.size)
			pauses := 0
			got := compressPaced(make([]byte, snappy.MaxEncodedLen(len(src))), src, func() { pauses++ })
			if want := snappy.Encode(nil, src); !bytes.Equal(got, want) {
				t.Fatalf("compressPaced gave %d bytes that differ from snappy.Encode's %d", len(got), len(want))
			}
			if pauses != tc.pauses {
				t.Errorf("paused %d times, want %d", pauses, tc.pauses)
			}
			back, err := snappy.Decode(nil, got)
			if err != nil || !bytes.Equal(back, src) {
				t.Fatalf("round trip: err %v, equal %v", err, bytes.Equal(back, src))
			}
		})
	}
}
