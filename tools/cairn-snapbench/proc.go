package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// server is one server process this tool started.
type server struct {
	name    string // "A" or "B"
	tmpl    string // command template with {PORT} and {DIR}
	cmd     string // the template filled in
	port    int
	dir     string
	proc    *exec.Cmd
	started time.Time // just before exec: the reference of gctrace's @ times
	done    chan struct{}
	exitErr error
}

var (
	startedMu sync.Mutex
	started   []*server // servers running that this tool started
)

func newServer(name, tmpl string, port int, dir string) *server {
	cmd := strings.ReplaceAll(tmpl, "{PORT}", strconv.Itoa(port))
	cmd = strings.ReplaceAll(cmd, "{DIR}", dir)
	return &server{name: name, tmpl: tmpl, cmd: cmd, port: port, dir: dir}
}

func (s *server) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// portInUse reports whether something answers on, or holds, 127.0.0.1:port.
func portInUse(port int) bool {
	a := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if c, err := net.DialTimeout("tcp", a, 500*time.Millisecond); err == nil {
		c.Close()
		return true
	}
	l, err := net.Listen("tcp", a)
	if err != nil {
		return true
	}
	l.Close()
	return false
}

// start runs the server as `bash -c "exec CMD"` in a fresh s.dir, with
// stdout and stderr in s.dir/server.log, in its own session.
func (s *server) start() error {
	if portInUse(s.port) {
		return fmt.Errorf("[%s] port %d already in use - refusing to start", s.name, s.port)
	}
	if err := os.RemoveAll(s.dir); err != nil {
		return err
	}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return err
	}
	logf, err := os.OpenFile(filepath.Join(s.dir, "server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	c := exec.Command("bash", "-c", "exec "+s.cmd)
	c.Dir = s.dir
	c.Stdout, c.Stderr = logf, logf
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	s.started = time.Now()
	if err := c.Start(); err != nil {
		return fmt.Errorf("[%s] start %q: %w", s.name, s.cmd, err)
	}
	s.proc = c
	s.done = make(chan struct{})
	go func() {
		s.exitErr = c.Wait()
		close(s.done)
	}()
	startedMu.Lock()
	started = append(started, s)
	startedMu.Unlock()
	return nil
}

func (s *server) pid() int { return s.proc.Process.Pid }

func (s *server) alive() bool {
	if s.proc == nil {
		return false
	}
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// waitReady waits until the server answers PING with +PONG.
func (s *server) waitReady(timeout time.Duration) (time.Duration, error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if !s.alive() {
			return 0, fmt.Errorf("[%s] server exited early (%v); see %s/server.log\ncmd: %s",
				s.name, s.exitErr, s.dir, s.cmd)
		}
		if c, err := dial(s.addr(), 2*time.Second); err == nil {
			r, err := c.do("PING")
			c.close()
			if err == nil && string(r) == "PONG" {
				return time.Since(s.started), nil
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 0, fmt.Errorf("[%s] not answering PING after %v: %s", s.name, timeout, s.cmd)
}

// stop sends SIGTERM to the server's PID, then SIGKILL after timeout, and
// waits for it to exit and for its port to be free.
func (s *server) stop(timeout time.Duration) {
	defer func() {
		startedMu.Lock()
		for i, x := range started {
			if x == s {
				started = append(started[:i], started[i+1:]...)
				break
			}
		}
		startedMu.Unlock()
	}()
	if !s.alive() {
		return
	}
	_ = s.proc.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(timeout):
		logf("[%s] did not exit %v after SIGTERM, sending SIGKILL to pid %d", s.name, timeout, s.pid())
		_ = s.proc.Process.Kill()
		<-s.done
	}
	for i := 0; i < 500 && portInUse(s.port); i++ {
		time.Sleep(10 * time.Millisecond)
	}
}

// stopAll stops every server this tool started and that still runs.
func stopAll(timeout time.Duration) {
	startedMu.Lock()
	list := append([]*server(nil), started...)
	startedMu.Unlock()
	for _, s := range list {
		s.stop(timeout)
	}
}

// ---- /proc ----

// parsePss returns the Pss line of a /proc/PID/smaps_rollup text, in bytes.
func parsePss(text []byte) (int64, error) {
	return parseKBField(text, "Pss:")
}

// parseKBField returns the value of a "Name:   123 kB" line, in bytes.
func parseKBField(text []byte, name string) (int64, error) {
	for len(text) > 0 {
		line := text
		if i := bytes.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			text = nil
		}
		if !bytes.HasPrefix(line, []byte(name)) {
			continue
		}
		f := strings.Fields(string(line[len(name):]))
		if len(f) < 1 {
			break
		}
		v, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bad %s line %q", name, line)
		}
		if len(f) >= 2 && f[1] == "kB" {
			v *= 1024
		}
		return v, nil
	}
	return 0, fmt.Errorf("no %s line", name)
}

// pss returns the proportional set size of one process, in bytes.
func pss(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0, err
	}
	return parsePss(b)
}

// vmRSS returns the VmRSS of one process, in bytes.
func vmRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseKBField(b, "VmRSS:")
}

// childrenOf returns the PIDs of the direct children of pid, from
// /proc/PID/task/*/children, or by scanning /proc/*/stat for the parent
// PID where the kernel has no children files.
func childrenOf(pid int) ([]int, error) {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	if err == nil && len(tasks) > 0 {
		var out []int
		for _, t := range tasks {
			b, err := os.ReadFile(t)
			if err != nil {
				continue // the thread exited
			}
			for _, f := range strings.Fields(string(b)) {
				if c, err := strconv.Atoi(f); err == nil {
					out = append(out, c)
				}
			}
		}
		return out, nil
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
		return nil, err
	}
	return childrenByScan(pid)
}

// childrenByScan finds the children of pid by reading every /proc/N/stat.
func childrenByScan(pid int) ([]int, error) {
	d, err := os.Open("/proc")
	if err != nil {
		return nil, err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, err
	}
	var out []int
	for _, n := range names {
		p, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + n + "/stat")
		if err != nil {
			continue
		}
		if pp, err := parseStatPPID(b); err == nil && pp == pid {
			out = append(out, p)
		}
	}
	return out, nil
}

// parseStatPPID returns the parent PID from a /proc/PID/stat text. The
// command name is in parentheses and may hold spaces and parentheses, so
// the fields are counted from the last ')'.
func parseStatPPID(b []byte) (int, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("no ')' in stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0, errors.New("short stat")
	}
	return strconv.Atoi(f[1]) // f[0] is the state
}

// descendants returns pid's children, their children, and so on.
func descendants(pid int) []int {
	var out []int
	queue := []int{pid}
	seen := map[int]bool{pid: true}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		cs, _ := childrenOf(p)
		for _, c := range cs {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
				queue = append(queue, c)
			}
		}
	}
	return out
}

// memSample is the memory of a server and its descendants at one moment.
type memSample struct {
	at    time.Duration // since the measurement began
	pss   int64         // PSS of the server plus all its descendants
	rss   int64         // the server's own VmRSS
	procs int           // processes summed (1 + descendants that could be read)
	took  time.Duration // how long reading /proc took
}

// sampleMem reads the PSS of pid and its descendants and pid's VmRSS.
// Processes that vanish while being read are left out.
func sampleMem(pid int) (m memSample, err error) {
	t0 := time.Now()
	defer func() { m.took = time.Since(t0) }()
	p, err := pss(pid)
	if err != nil {
		return m, err
	}
	m.pss, m.procs = p, 1
	for _, c := range descendants(pid) {
		if cp, err := pss(c); err == nil {
			m.pss += cp
			m.procs++
		}
	}
	m.rss, _ = vmRSS(pid)
	return m, nil
}

// gcStat summarises the gctrace lines (GODEBUG=gctrace=1) of a Go server.
type gcStat struct {
	n        int     // GCs
	maxSTW   float64 // ms, the longer of the two stop-the-world phases
	maxMark  float64 // ms, the concurrent mark phase (wall clock)
	sumSTW   float64
	maxHeapM int // MB, the largest heap gctrace reports (at a GC's start or end)
	maxLiveM int // MB, the largest live heap (marked)
}

// parseGCTrace reads server.log's gctrace lines, "gc N @S.SSSs P%: A+B+C ms
// clock, ...", and summarises those whose @ time (seconds since the
// process started) falls in one of the intervals (all of them when
// intervals is nil).
func parseGCTrace(path string, intervals [][2]float64) (gcStat, error) {
	var st gcStat
	f, err := os.Open(path)
	if err != nil {
		return st, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "gc ") {
			continue
		}
		var num int
		var at, pct float64
		var a, b, c float64
		if _, err := fmt.Sscanf(line, "gc %d @%fs %f%%: %f+%f+%f ms clock", &num, &at, &pct, &a, &b, &c); err != nil {
			continue
		}
		if intervals != nil {
			in := false
			for _, iv := range intervals {
				if at >= iv[0] && at <= iv[1] {
					in = true
					break
				}
			}
			if !in {
				continue
			}
		}
		st.n++
		stw := max(a, c)
		st.maxSTW = max(st.maxSTW, stw)
		st.sumSTW += a + c
		st.maxMark = max(st.maxMark, b)
		// "..., 4->5->2 MB, ...": heap at start, at end, live.
		if i := strings.Index(line, " MB,"); i > 0 {
			k := strings.LastIndex(line[:i], " ")
			h := strings.Split(line[k+1:i], "->")
			if len(h) == 3 {
				for _, x := range h[:2] {
					if mb, err := strconv.Atoi(x); err == nil {
						st.maxHeapM = max(st.maxHeapM, mb)
					}
				}
				if mb, err := strconv.Atoi(h[2]); err == nil {
					st.maxLiveM = max(st.maxLiveM, mb)
				}
			}
		}
	}
	return st, sc.Err()
}
