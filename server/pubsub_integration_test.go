package server_test

import (
	"bufio"
	"context"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cairn-db/cairn/internal/resptest"
)

// slowSubscriber subscribes to ch on a connection with a small receive
// buffer and never reads again.
func slowSubscriber(t *testing.T, addr, ch string) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.(*net.TCPConn).SetReadBuffer(4096)
	if _, err := nc.Write(resptest.AppendCommand(nil, "SUBSCRIBE", ch)); err != nil {
		t.Fatal(err)
	}
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := resptest.ReadReply(bufio.NewReader(nc)); err != nil {
		t.Fatal(err)
	}
	return nc
}

// TestSlowSubscriberHardLimit: a subscriber that never reads is
// disconnected once its queue passes the pubsub hard limit (the default,
// 32mb), the publisher never waits for it, and the server's memory stays
// bounded while far more than the limit is published.
func TestSlowSubscriberHardLimit(t *testing.T) {
	addr := startTestServer(t, nil)
	slowSubscriber(t, addr, "ch")
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()

	var base, ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&base)
	var peak uint64
	msg := strings.Repeat("m", 64<<10)
	const maxMessages = 4096 // 256 MB in all, eight times the limit
	disconnectedAt := -1
	start := time.Now()
	for i := 0; i < maxMessages; i++ {
		n, err := rdb.Publish(ctx, "ch", msg).Result()
		if err != nil {
			t.Fatal(err)
		}
		if i%64 == 0 {
			// The live heap: what the queue holds, not garbage awaiting
			// collection.
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
		if n == 0 {
			disconnectedAt = i
			break
		}
	}
	if disconnectedAt < 0 {
		t.Fatalf("the subscriber was never disconnected after %d messages of 64kb", maxMessages)
	}
	// The limit is 32mb: 512 messages, plus what the sockets' buffers hold.
	if disconnectedAt < 512 || disconnectedAt > 1024 {
		t.Errorf("disconnected after %d messages of 64kb; want about 512 (32mb)", disconnectedAt)
	}
	if grown := int64(peak) - int64(base.HeapAlloc); grown > 64<<20 {
		t.Errorf("heap grew by %d MB while publishing to a subscriber that does not read", grown>>20)
	}
	t.Logf("disconnected after %d messages (%.1f MB) in %v; heap grew by %d MB at most",
		disconnectedAt, float64(disconnectedAt)/16, time.Since(start).Round(time.Millisecond),
		(int64(peak)-int64(base.HeapAlloc))>>20)
	// Nobody is subscribed any more.
	if n, err := rdb.PubSubNumSub(ctx, "ch").Result(); err != nil || n["ch"] != 0 {
		t.Errorf("PUBSUB NUMSUB ch = %v, %v; want 0", n, err)
	}
}

// TestSlowSubscriberSoftLimit: with only a soft limit, a subscriber that
// does not read is disconnected once it has been over the limit for longer
// than its seconds (so never sooner than that after the first message).
func TestSlowSubscriberSoftLimit(t *testing.T) {
	addr := startTestServer(t, nil)
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	if err := rdb.ConfigSet(ctx, "client-output-buffer-limit", "pubsub 0 1mb 1").Err(); err != nil {
		t.Fatal(err)
	}
	if got := rdb.ConfigGet(ctx, "client-output-buffer-limit").Val()["client-output-buffer-limit"]; got !=
		"normal 0 0 0 slave 268435456 67108864 60 pubsub 0 1048576 1" {
		t.Fatalf("CONFIG GET client-output-buffer-limit = %q", got)
	}
	slowSubscriber(t, addr, "ch")
	msg := strings.Repeat("m", 64<<10)
	start := time.Now()
	for i := 0; i < 500; i++ { // 32 MB at most, over 10 s at least
		n, err := rdb.Publish(ctx, "ch", msg).Result()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			if took := time.Since(start); took < time.Second {
				t.Fatalf("disconnected %v after the first message; the soft limit allows 1s", took)
			}
			t.Logf("disconnected after %d messages, %v", i, time.Since(start).Round(time.Millisecond))
			return
		}
		time.Sleep(20 * time.Millisecond) // a trickle: the soft limit is about time
	}
	t.Fatal("the subscriber was not disconnected by the soft limit")
}
