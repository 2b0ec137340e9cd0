package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestDjangoExample runs examples/django's test suite (Django's cache API
// through django-redis, @cache_page, cache-backed sessions) against the
// built cairn-server: plainly, with requirepass, with db 1 in the URL; and
// against redis-server when it is installed, so that the suite itself is
// checked. Needs Debian's python3-django and python3-django-redis, seen
// only by /usr/bin/python3.
func TestDjangoExample(t *testing.T) {
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import django, django_redis").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s cannot import django and django_redis (%v), and CI=true: .ci/run must install python3-django and python3-django-redis", python, err)
		}
		t.Skipf("SKIP: %s cannot import django and django_redis (%v); apt-get install -y python3-django python3-django-redis", python, err)
	}
	dir, err := filepath.Abs("../../examples/django")
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"run_tests.py", "--server", serverBinary(t)}
	if rs, err := exec.LookPath("redis-server"); err == nil {
		args = append(args, "--redis-server", rs)
	}
	cmd := exec.Command(python, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the Django example's tests failed (%v):\n%s", err, out)
	}
	t.Logf("%s", out)
}
