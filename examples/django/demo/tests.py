"""The example's tests: Django's cache API through django-redis, a
@cache_page view and cache-backed sessions, against the server CAIRN_URL
names (run_tests.py starts one). CAIRN_SERVER_KIND says which kind of
server is expected there: "cairn" or "redis" (the same suite passes on
both)."""
import os
from urllib.parse import urlparse

import redis
from django.core.cache import cache
from django.test import Client, SimpleTestCase
from django_redis import get_redis_connection


def raw(db=None):
    """A redis-py client on the configured server, on db (default: the
    configured one)."""
    url = urlparse(os.environ["CAIRN_URL"])
    if db is None:
        db = int(url.path.strip("/") or 0)
    return redis.Redis(host=url.hostname, port=url.port, password=url.password, db=db)


def has_command(name):
    return raw().execute_command("COMMAND INFO", name)[0] is not None


def requires(*commands):
    """Skips a test on a server without one of commands: django-redis
    sends MULTI/EXEC for set_many and delete_pattern, and EVAL for incr
    and to release a lock. (Cairn gains them with transactions and
    scripting; the skip message says which is missing.)"""

    def wrap(fn):
        def test(self):
            missing = [c for c in commands if not has_command(c)]
            if missing:
                self.skipTest("the server has no %s yet" % "/".join(c.upper() for c in missing))
            fn(self)

        test.__name__, test.__doc__ = fn.__name__, fn.__doc__
        return test

    return wrap


class ServerTests(SimpleTestCase):
    def test_talking_to_the_expected_server(self):
        info = get_redis_connection("default").info("server")
        kind = os.environ.get("CAIRN_SERVER_KIND", "cairn")
        self.assertEqual("cairn_version" in info, kind == "cairn", info)

    def test_selected_database(self):
        url = urlparse(os.environ["CAIRN_URL"])
        db = int(url.path.strip("/") or 0)
        other = (db + 1) % 16
        raw(other).set("outsider", "stays")
        cache.set("k", "v")
        # Django's key ":1:k" is in the configured database only.
        self.assertTrue(raw().exists(":1:k"))
        self.assertFalse(raw(other).exists(":1:k"))
        cache.clear()  # FLUSHDB: the configured database only
        self.assertEqual(raw(other).get("outsider"), b"stays")
        raw(other).delete("outsider")


class CacheAPITests(SimpleTestCase):
    def setUp(self):
        cache.clear()

    def test_set_get(self):
        values = {"str": "héllo", "int": 42, "dict": {"a": [1, 2, 3]}, "bytes": b"\x00\xff", "none": None}
        for k, v in values.items():
            cache.set(k, v)
        for k, v in values.items():
            self.assertEqual(cache.get(k), v, k)
        self.assertIsNone(cache.get("missing"))
        self.assertEqual(cache.get("missing", "dflt"), "dflt")
        self.assertTrue(cache.has_key("int"))
        self.assertFalse(cache.has_key("missing"))

    def test_add_delete(self):
        self.assertTrue(cache.add("a", 1))
        self.assertFalse(cache.add("a", 2))
        self.assertEqual(cache.get("a"), 1)
        self.assertTrue(cache.delete("a"))
        self.assertFalse(cache.delete("a"))
        self.assertIsNone(cache.get("a"))

    @requires("multi", "exec")
    def test_many(self):
        cache.set_many({"x": 1, "y": 2, "z": 3})
        self.assertEqual(cache.get_many(["x", "y", "nope"]), {"x": 1, "y": 2})
        cache.delete_many(["x", "y"])
        self.assertEqual(cache.get_many(["x", "y", "z"]), {"z": 3})

    @requires("eval")
    def test_incr_decr(self):
        cache.set("n", 10)
        self.assertEqual(cache.incr("n"), 11)
        self.assertEqual(cache.incr("n", 5), 16)
        self.assertEqual(cache.decr("n"), 15)
        self.assertEqual(cache.decr("n", 20), -5)
        self.assertEqual(cache.get("n"), -5)
        with self.assertRaises(ValueError):
            cache.incr("missing")

    def test_ttl_expire_persist_touch(self):
        cache.set("t", "v", timeout=100)
        self.assertTrue(0 < cache.ttl("t") <= 100)
        cache.set("p", "v", timeout=None)
        self.assertIsNone(cache.ttl("p"))
        self.assertEqual(cache.ttl("missing"), 0)
        self.assertTrue(cache.expire("p", 50))
        self.assertTrue(0 < cache.ttl("p") <= 50)
        self.assertTrue(cache.persist("p"))
        self.assertIsNone(cache.ttl("p"))
        self.assertTrue(cache.touch("t", 5))
        self.assertTrue(0 < cache.ttl("t") <= 5)
        self.assertTrue(cache.touch("t", None))
        self.assertIsNone(cache.ttl("t"))
        self.assertFalse(cache.touch("missing", 5))
        # A timeout of 0 stores nothing (expires at once).
        cache.set("gone", "v", timeout=0)
        self.assertIsNone(cache.get("gone"))

    def test_keys(self):
        for k in ("user:1", "user:2", "other"):
            cache.set(k, k)
        self.assertEqual(sorted(cache.keys("user:*")), ["user:1", "user:2"])
        self.assertEqual(sorted(cache.iter_keys("*")), ["other", "user:1", "user:2"])

    @requires("multi", "exec")
    def test_delete_pattern(self):
        cache.set_many({"user:1": "a", "user:2": "b", "other": "c"})
        self.assertEqual(cache.delete_pattern("user:*"), 2)
        self.assertEqual(cache.keys("user:*"), [])
        self.assertEqual(cache.get("other"), "c")

    def test_lock(self):
        lock = cache.lock("resource", timeout=5)
        self.assertTrue(lock.acquire(blocking=False))
        self.assertFalse(cache.lock("resource", timeout=5).acquire(blocking=False))
        if not has_command("evalsha"):
            # redis-py releases a lock with EVALSHA; until the server has
            # scripting, the lock is held until its timeout.
            self.assertTrue(0 < raw().pttl(":1:resource") <= 5000)
            self.skipTest("lock release needs EVALSHA, which this server does not have yet")
        lock.release()
        with cache.lock("resource", timeout=5):
            self.assertTrue(raw().exists(":1:resource"))
        self.assertFalse(raw().exists(":1:resource"))

    def test_clear(self):
        cache.set("a", 1)
        cache.set("b", 2)
        cache.clear()
        self.assertEqual(cache.get_many(["a", "b"]), {})


class ViewTests(SimpleTestCase):
    def setUp(self):
        cache.clear()

    def test_cache_page(self):
        first = self.client.get("/cached/").content
        self.assertTrue(first.startswith(b"rendered "))
        # Served from the cache: the view did not run again.
        self.assertEqual(self.client.get("/cached/").content, first)
        self.assertEqual(Client().get("/cached/").content, first)
        cache.clear()
        self.assertNotEqual(self.client.get("/cached/").content, first)

    def test_sessions_in_the_cache(self):
        for want in (1, 2, 3):
            self.assertEqual(self.client.get("/visits/").json(), {"visits": want})
        self.assertEqual(Client().get("/visits/").json(), {"visits": 1})
        session_keys = raw().keys("*django.contrib.sessions.cache*")
        self.assertEqual(len(session_keys), 2, session_keys)
        # The session outlives the client's connection pool.
        get_redis_connection("default").connection_pool.disconnect()
        self.assertEqual(self.client.get("/visits/").json(), {"visits": 4})
