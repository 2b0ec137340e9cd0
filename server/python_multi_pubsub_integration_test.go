package server_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// pyMultiPubsub drives transactions and pub/sub through redis-py (Debian's
// python3-redis): pipeline(transaction=True), the WATCH-retry helper
// transaction(), WatchError, and pubsub() with patterns and get_message.
const pyMultiPubsub = `
import sys, threading, time
import redis

host, port = sys.argv[1].rsplit(":", 1)
r = redis.Redis(host=host, port=int(port), decode_responses=True)
other = redis.Redis(host=host, port=int(port), decode_responses=True)
r.flushall()

def check(what, got, want):
    if got != want:
        raise SystemExit("%s: got %r, want %r" % (what, got, want))

# MULTI/EXEC through a transactional pipeline.
p = r.pipeline(transaction=True)
p.set("a", "1").incr("a").incrby("a", 10).get("a").mget("a", "nokey")
check("pipeline", p.execute(), [True, 2, 12, "12", ["12", None]])

# A run-time error inside EXEC does not stop the others.
r.set("s", "text")
p = r.pipeline(transaction=True)
p.incr("s").set("t", "ok").get("t")
res = p.execute(raise_on_error=False)
check("error kind", type(res[0]).__name__, "ResponseError")
check("after error", res[1:], [True, "ok"])

# A queueing error aborts the whole transaction.
p = r.pipeline(transaction=True)
p.set("u", "1").execute_command("NOSUCHCOMMAND")
try:
    p.execute()
    raise SystemExit("EXECABORT expected")
except redis.exceptions.ResponseError as e:
    check("execabort", "EXECABORT" in str(e) or "unknown command" in str(e), True)
check("aborted write", r.get("u"), None)

# WATCH: another client's write makes EXEC fail with WatchError.
r.set("w", "0")
with r.pipeline() as p:
    p.watch("w")
    other.set("w", "changed")
    p.multi()
    p.set("w", "mine")
    try:
        p.execute()
        raise SystemExit("WatchError expected")
    except redis.exceptions.WatchError:
        pass
check("watched value", r.get("w"), "changed")

# The retry helper: the first attempt is spoiled by another client.
r.set("counter", "5")
calls = []
def incr(pipe):
    v = int(pipe.get("counter"))
    calls.append(v)
    if len(calls) == 1:
        other.incr("counter")
    pipe.multi()
    pipe.set("counter", v + 1)
r.transaction(incr, "counter")
check("retries", calls, [5, 6])
check("counter", r.get("counter"), "7")

# Pub/sub with patterns.
ps = r.pubsub()
ps.psubscribe("news.*")
ps.subscribe("plain")
got = [ps.get_message(timeout=5) for _ in range(2)]
check("confirmations", [(m["type"], m["channel"], m["data"]) for m in got],
      [("psubscribe", "news.*", 1), ("subscribe", "plain", 2)])
check("numpat", other.pubsub_numpat(), 1)
check("numsub", other.pubsub_numsub("plain", "news.x"), [("plain", 1), ("news.x", 0)])
check("publish", other.publish("news.sport", "goal"), 1)
check("publish", other.publish("plain", "hello"), 1)
check("publish", other.publish("elsewhere", "nobody"), 0)
m1 = ps.get_message(timeout=5)
m2 = ps.get_message(timeout=5)
check("pmessage", (m1["type"], m1["pattern"], m1["channel"], m1["data"]), ("pmessage", "news.*", "news.sport", "goal"))
check("message", (m2["type"], m2["channel"], m2["data"]), ("message", "plain", "hello"))
check("nothing more", ps.get_message(timeout=0.2), None)
ps.punsubscribe("news.*")
m = ps.get_message(timeout=5)
check("punsubscribe", (m["type"], m["channel"], m["data"]), ("punsubscribe", "news.*", 1))
check("after punsubscribe", other.publish("news.sport", "again"), 0)

# A handler thread, as applications use it.
seen = []
done = threading.Event()
def handler(msg):
    seen.append(msg["data"])
    if len(seen) == 3:
        done.set()
ps2 = r.pubsub(ignore_subscribe_messages=True)
ps2.psubscribe(**{"t?": handler})
th = ps2.run_in_thread(sleep_time=0.01)
deadline = time.time() + 5
while other.pubsub_numpat() < 1 and time.time() < deadline:
    time.sleep(0.01)
for i in range(3):
    other.publish("t%d" % i, "m%d" % i)
ok = done.wait(5)
th.stop()
th.join(5)
check("handler", (ok, seen), (True, ["m0", "m1", "m2"]))
ps.close()
ps2.close()
print("OK")
`

func TestPythonMultiPubsub(t *testing.T) {
	const python = "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		t.Skip("SKIP: /usr/bin/python3 is missing")
	}
	if out, err := exec.Command(python, "-c", "import redis").CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3-redis is missing and CI=true (.ci/run installs it): %s", out)
		}
		t.Skipf("SKIP: Debian's python3-redis is missing (apt-get install python3-redis): %s", out)
	}
	addr := startTestServer(t, nil)
	cmd := exec.Command(python, "-c", pyMultiPubsub, addr)
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "OK" {
		t.Fatalf("redis-py: %v\n%s", err, out)
	}
}
