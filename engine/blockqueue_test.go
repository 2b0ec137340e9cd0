package engine

import (
	"sync"
	"testing"
)

// TestBlockQueue checks that every block is handed out exactly once, that
// workers start far apart, and that an idle worker steals from the back.
func TestBlockQueue(t *testing.T) {
	for _, tc := range []struct{ blocks, workers int }{
		{0, 1}, {1, 2}, {2, 3}, {10, 1}, {10, 2}, {1000, 4}, {7, 8},
	} {
		q := newBlockQueue(tc.blocks, tc.workers)
		seen := make([]int, tc.blocks)
		var mu sync.Mutex
		var wg sync.WaitGroup
		for w := 0; w < tc.workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for {
					i, ok := q.next(w)
					if !ok {
						return
					}
					mu.Lock()
					seen[i]++
					mu.Unlock()
				}
			}(w)
		}
		wg.Wait()
		for i, n := range seen {
			if n != 1 {
				t.Fatalf("%d blocks, %d workers: block %d handed out %d times", tc.blocks, tc.workers, i, n)
			}
		}
	}

	q := newBlockQueue(100, 2)
	if i, _ := q.next(1); i != 50 {
		t.Fatalf("worker 1 starts at block %d, want 50", i)
	}
	for w0 := 0; w0 < 50; w0++ {
		if i, _ := q.next(0); i != w0 {
			t.Fatalf("worker 0 got block %d, want %d", i, w0)
		}
	}
	// Worker 0 is done with its half; worker 1 has 51..99 left (49 blocks):
	// worker 0 takes the back half, from 51+24.
	if i, _ := q.next(0); i != 75 {
		t.Fatalf("worker 0 stole block %d, want 75", i)
	}
	q.stop()
	if _, ok := q.next(1); ok {
		t.Fatal("a block was handed out after stop")
	}
}
