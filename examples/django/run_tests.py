#!/usr/bin/python3
"""Run the example's test suite against a real cairn-server that this
script starts, three ways: plainly, with requirepass, and with db 1 in the
URL. With --redis-server it runs the same suite against redis-server too
(the suite's own check: what passes on Redis must pass on Cairn).

    /usr/bin/python3 run_tests.py [--server PATH] [--redis-server PATH]

Without --server, cairn-server is built from this tree with `go build`.
Each server runs on a free loopback port with a fresh directory, which is
removed once the server is stopped by its PID. Exit status: 0 when every
run passed.
"""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A server process on a free loopback port, ready once it says so."""

    def __init__(self, kind, binary, password=None):
        self.kind, self.password = kind, password
        self.dir = tempfile.mkdtemp(prefix="cairn-django-")
        try:
            self.start(binary)
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise

    def start(self, binary):
        self.port = free_port()
        args = [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", self.dir, "--save", ""]
        if self.password:
            args += ["--requirepass", self.password]
        if self.kind == "redis":
            args += ["--appendonly", "no", "--loglevel", "notice"]
            ready = "Ready to accept connections"
        else:
            ready = "data loaded"
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, cwd=self.dir, text=True)
        self.log = []
        for line in self.proc.stdout:  # until the ready line (or exit)
            self.log.append(line)
            if ready in line:
                break
        else:
            self.proc.wait()
            raise RuntimeError("%s did not start:\n%s" % (binary, "".join(self.log)))

    def url(self, db=0):
        auth = ":%s@" % self.password if self.password else ""
        return "redis://%s127.0.0.1:%d/%d" % (auth, self.port, db)

    def stop(self):
        self.proc.terminate()  # SIGTERM to this PID
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def run_suite(server, db, label):
    env = dict(os.environ, CAIRN_URL=server.url(db), CAIRN_SERVER_KIND=server.kind,
               DJANGO_SETTINGS_MODULE="cairnsite.settings")
    print("== %s: %s" % (label, server.url(db)), flush=True)
    return subprocess.run([sys.executable, "manage.py", "test", "-v", "2", "demo"], cwd=HERE, env=env).returncode


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", help="cairn-server binary (default: built from the tree)")
    ap.add_argument("--redis-server", help="also run the suite against this redis-server")
    args = ap.parse_args()
    if args.server:
        return run_all(args.server, args.redis_server)
    tmp = tempfile.mkdtemp(prefix="cairn-build-")
    try:
        binary = os.path.join(tmp, "cairn-server")
        subprocess.run(["go", "build", "-o", binary, "./tools/cairn-server"], cwd=ROOT, check=True)
        return run_all(binary, args.redis_server)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_all(binary, redis_server):
    failures = []
    runs = [("cairn", None, 0, "cairn-server"), ("cairn", "s3cret pass", 0, "cairn-server with requirepass"),
            ("cairn", None, 1, "cairn-server, db 1")]
    if redis_server:
        runs.append(("redis", "s3cret", 1, "redis-server with requirepass, db 1"))
    for kind, password, db, label in runs:
        server = Server(kind, binary if kind == "cairn" else redis_server, password and password.replace(" ", "-"))
        try:
            if run_suite(server, db, label) != 0:
                failures.append(label)
        finally:
            server.stop()
    if failures:
        print("FAILED: " + ", ".join(failures))
        return 1
    print("all runs passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
