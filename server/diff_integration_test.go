package server_test

// The differential test: the same commands go to a real redis-server (side
// A) and to Cairn (side B), and the replies must match byte for byte. Random
// sequences come from a seeded generator; a mismatch is shrunk to the
// shortest sequence that still shows it.
//
// Environment:
//
//	CAIRN_DIFF_SEED=n       replay: the first sequence uses seed n (printed on failure)
//	CAIRN_DIFF_ITER=n       number of random sequences (default 1500, a few seconds; use 20000+ for a long run)
//	CAIRN_DIFF_KEEPGOING=1  report every distinct mismatch (by command) instead of stopping at the first
//	DIFF_AGAINST=redis      side B is a second redis-server: a self-check of the harness, which must pass
//	DIFF_AGAINST=cairn-proc side B is Cairn in a child process, so that a panic in Cairn is shrunk and shown
//	                        (by default Cairn runs in-process, and a panic ends the test binary)
//	REDIS_SERVER=path       the redis-server binary (default: $PATH, then /usr/bin/redis-server)
//	CI=true                 a missing redis-server fails the test instead of skipping it

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cairn-db/cairn/internal/resptest"
	"github.com/cairn-db/cairn/server"
)

const (
	diffDefaultIter  = 1500
	diffReadTimeout  = 5 * time.Second
	diffMaxScanCalls = 10000 // a SCAN that has not returned to cursor 0 by then loops
)

// ---- the two servers ----

// diffRedisServerPath finds redis-server, or skips (fails under CI=true).
func diffRedisServerPath(t *testing.T) string {
	t.Helper()
	ci := os.Getenv("CI") == "true"
	path := os.Getenv("REDIS_SERVER")
	if path == "" {
		if p, err := exec.LookPath("redis-server"); err == nil {
			path = p
		} else if _, err := os.Stat("/usr/bin/redis-server"); err == nil {
			path = "/usr/bin/redis-server"
		}
	}
	if path == "" {
		if ci {
			t.Fatal("redis-server not found (set REDIS_SERVER or install it): the differential test must run in CI")
		}
		t.Skip("redis-server not found: skipping the differential test against Redis (install redis-server 7.0 or set REDIS_SERVER)")
	}
	// The replies Cairn copies are Redis 7.0's; other versions differ in
	// error strings and corner cases, which would read as Cairn bugs.
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		t.Fatalf("%s --version: %v", path, err)
	}
	if !bytes.Contains(out, []byte(" v=7.0.")) {
		msg := fmt.Sprintf("%s is not Redis 7.0 (%s): the differential test compares against 7.0's replies; set REDIS_SERVER", path, bytes.TrimSpace(out))
		if ci {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return path
}

// startDiffRedis starts a redis-server on a free loopback port and returns its
// address; t.Cleanup stops it by PID.
func startDiffRedis(t *testing.T, bin string) string {
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		addr, err := tryStartDiffRedis(t, bin)
		if err == nil {
			return addr
		}
		lastErr = err // most likely the free port was taken meanwhile: try another
	}
	t.Fatalf("starting redis-server: %v", lastErr)
	return ""
}

func tryStartDiffRedis(t *testing.T, bin string) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir := t.TempDir()
	var logBuf bytes.Buffer
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir, "--databases", "16")
	cmd.Stdout = &logBuf
	cmd.Stderr = &logBuf
	diffDieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return "", err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	// Wait for the event "answers PING", polling with a bounded deadline.
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err // for stop
			return "", fmt.Errorf("redis-server exited (%v): %s", err, logBuf.String())
		default:
		}
		if c, err := resptest.Dial(addr); err == nil {
			c.Timeout = time.Second
			rep, err := c.Do("PING")
			c.Close()
			if err == nil && string(rep) == "+PONG\r\n" {
				t.Cleanup(stop)
				return addr, nil
			}
		}
		if time.Now().After(deadline) {
			stop()
			return "", fmt.Errorf("redis-server on %s did not answer PING within 10s: %s", addr, logBuf.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// diffDieWithParent asks the kernel to kill cmd when the test process dies,
// where it can (Linux's Pdeathsig): an in-process Cairn that panics ends
// the test binary before t.Cleanup can stop redis-server. The field is set
// by name so that this file builds on every OS.
func diffDieWithParent(cmd *exec.Cmd) {
	attr := &syscall.SysProcAttr{}
	if f := reflect.ValueOf(attr).Elem().FieldByName("Pdeathsig"); f.IsValid() && f.CanSet() {
		f.Set(reflect.ValueOf(syscall.SIGKILL).Convert(f.Type()))
		cmd.SysProcAttr = attr
	}
}

// startDiffCairn serves Cairn in-process on a free loopback port.
func startDiffCairn(t *testing.T) string {
	t.Helper()
	cfg := server.DefaultConfig()
	cfg.Dir = t.TempDir()
	srv := server.New(server.Options{Config: cfg})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// Under DIFF_AGAINST=cairn-proc, Cairn runs in a child process: this test
// binary run again with CAIRN_DIFF_CHILD=1, which the init below turns into
// a server. A panic in Cairn then kills only the child: the test sees a
// dropped connection, shrinks the sequence that caused it (restarting the
// child as needed) and shows the panic. In-process (the default), a panic
// ends the whole test binary with no sequence to show.
func init() {
	if os.Getenv("CAIRN_DIFF_CHILD") != "1" {
		return
	}
	dir, err := os.MkdirTemp("", "cairn-diff-child-")
	if err != nil {
		fmt.Println("CAIRN_DIFF_ERROR", err)
		os.Exit(1)
	}
	cfg := server.DefaultConfig()
	cfg.Dir = dir
	srv := server.New(server.Options{Config: cfg})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("CAIRN_DIFF_ERROR", err)
		os.Exit(1)
	}
	go srv.Serve(ln)
	fmt.Printf("CAIRN_DIFF_ADDR %s\n", ln.Addr())
	io.Copy(io.Discard, os.Stdin) // until the parent closes it or dies
	srv.Close()
	os.RemoveAll(dir)
	os.Exit(0)
}

// diffProc is a Cairn child process.
type diffProc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	addr   string
	out    *diffBuffer   // the child's output after its address line
	exited chan struct{} // closed when the child has exited
}

// diffBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type diffBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *diffBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *diffBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func startDiffProc() (*diffProc, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CAIRN_DIFF_CHILD=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p := &diffProc{cmd: cmd, stdin: stdin, out: &diffBuffer{}, exited: make(chan struct{})}
	cmd.Stderr = p.out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	addrc := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		addrc <- line
		io.Copy(p.out, r)
		cmd.Wait()
		close(p.exited)
	}()
	select {
	case line := <-addrc:
		if a, ok := strings.CutPrefix(strings.TrimSpace(line), "CAIRN_DIFF_ADDR "); ok {
			p.addr = a
			return p, nil
		}
		p.stop()
		return nil, fmt.Errorf("cairn child process: %q %s", line, p.out.String())
	case <-time.After(10 * time.Second):
		p.stop()
		return nil, fmt.Errorf("cairn child process did not start within 10s: %s", p.out.String())
	}
}

func (p *diffProc) dead() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// stop ends the child: closing stdin asks it to exit; after 5s it is killed.
func (p *diffProc) stop() {
	p.stdin.Close()
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
}

// panicText is the start of the child's panic message, if it left one.
func (p *diffProc) panicText() string {
	out := p.out.String()
	i := strings.Index(out, "panic:")
	if i < 0 {
		i = strings.Index(out, "fatal error:")
	}
	if i < 0 {
		return strings.TrimSpace(out)
	}
	lines := strings.SplitN(out[i:], "\n", 16)
	if len(lines) == 16 {
		lines[15] = "..."
	}
	return strings.Join(lines, "\n")
}

// diffSide is one server under test, reached over one connection.
type diffSide struct {
	name string
	addr string
	c    *resptest.Client // nil after a connection error: redialled on next use
	proc *diffProc        // the child process serving addr, under cairn-proc
}

// do sends one command. A connection error is turned into a reply that can
// never come from a server (it starts with '!'), so it shows as a mismatch,
// and the connection is dropped to be redialled (and a dead child process
// restarted).
func (s *diffSide) do(args []string) []byte {
	if s.c == nil {
		if s.proc != nil && s.proc.dead() {
			np, err := startDiffProc()
			if err != nil {
				return []byte("!restarting cairn: " + err.Error())
			}
			s.proc, s.addr = np, np.addr
		}
		c, err := resptest.Dial(s.addr)
		if err != nil {
			return []byte("!dial: " + err.Error())
		}
		c.Timeout = diffReadTimeout
		s.c = c
	}
	rep, err := s.c.Do(args...)
	if err != nil {
		s.c.Close()
		s.c = nil
		msg := "!connection error: " + err.Error()
		if s.proc != nil {
			select {
			case <-s.proc.exited:
				msg += "; the cairn process died:\n" + s.proc.panicText()
			case <-time.After(2 * time.Second):
			}
		}
		return []byte(msg)
	}
	return rep
}

func (s *diffSide) close() {
	if s.c != nil {
		s.c.Close()
		s.c = nil
	}
	if s.proc != nil {
		s.proc.stop()
	}
}

// diffPair is side A (always redis-server) and side B (Cairn, or a second
// redis-server under DIFF_AGAINST=redis).
type diffPair struct {
	t    *testing.T
	a, b *diffSide
}

func newDiffPair(t *testing.T) *diffPair {
	t.Helper()
	bin := diffRedisServerPath(t)
	p := &diffPair{t: t, a: &diffSide{name: "redis", addr: startDiffRedis(t, bin)}}
	switch against := os.Getenv("DIFF_AGAINST"); against {
	case "", "cairn":
		p.b = &diffSide{name: "cairn", addr: startDiffCairn(t)}
	case "cairn-proc":
		proc, err := startDiffProc()
		if err != nil {
			t.Fatal(err)
		}
		p.b = &diffSide{name: "cairn", addr: proc.addr, proc: proc}
	case "redis":
		p.b = &diffSide{name: "redis2", addr: startDiffRedis(t, bin)}
	default:
		t.Fatalf("DIFF_AGAINST=%q: want cairn, cairn-proc or redis", against)
	}
	t.Logf("side A: redis-server at %s; side B: %s at %s", p.a.addr, p.b.name, p.b.addr)
	t.Cleanup(func() { p.a.close(); p.b.close() })
	return p
}

// reset puts both sides in the state every sequence starts from.
func (p *diffPair) reset() {
	for _, s := range []*diffSide{p.a, p.b} {
		// RESET first: a sequence may have left the connection in MULTI or
		// watching keys.
		if rep := s.do([]string{"RESET"}); string(rep) != "+RESET\r\n" {
			p.t.Fatalf("%s: RESET answered %q: cannot start a sequence", s.name, rep)
		}
		if diffOnReset != nil {
			diffOnReset(s)
		}
		for _, cmd := range [][]string{{"FLUSHALL"}, {"SELECT", "0"}} {
			if rep := s.do(cmd); string(rep) != "+OK\r\n" {
				p.t.Fatalf("%s: %s answered %q, want +OK: cannot start a sequence", s.name, resptest.Quote(cmd), rep)
			}
		}
	}
}

// ---- comparing replies ----

type diffCmp int

const (
	diffCmpExact   diffCmp = iota
	diffCmpSorted          // KEYS: order is unspecified
	diffCmpScan            // SCAN: iterate to cursor 0, compare the set of keys
	diffCmpNilness         // RANDOMKEY: nil or some key
	diffCmpTol             // TTL and kin: integers within a tolerance
)

// diffCompareMode says how the replies to args are compared, and the tolerance
// for diffCmpTol.
func diffCompareMode(args []string) (diffCmp, int64) {
	if strings.HasPrefix(args[0], "=") {
		return diffCmpExact, 0
	}
	switch strings.ToUpper(args[0]) {
	case "KEYS":
		return diffCmpSorted, 0
	case "SCAN":
		return diffCmpScan, 0
	case "RANDOMKEY":
		return diffCmpNilness, 0
	case "TTL", "EXPIRETIME":
		return diffCmpTol, 1
	case "PTTL", "PEXPIRETIME":
		return diffCmpTol, 1500
	}
	return diffCmpExact, 0
}

// diffIntercept, if set, sees every step first: it may run it itself and
// return the reply to compare (ok), as the transactions' tracker does to
// canonicalise EXEC's replies; diffOnReset tells it a sequence starts.
var (
	diffIntercept func(s *diffSide, args []string) (reply []byte, ok bool)
	diffOnReset   func(s *diffSide)
)

// diffRunners run the commands of other families whose replies can't be
// compared as they are (HSCAN's order, SRANDMEMBER's choice, …), keyed by
// upper-case name and added by init: each returns a canonical form of the
// reply (a "!"-prefixed text for a failure of its own checks), compared
// exactly.
var diffRunners = map[string]func(s *diffSide, args []string) []byte{}

// diffRun executes one step on s and returns the reply to compare: the raw
// reply, except for SCAN, whose full iteration is summarised as an array of
// the sorted distinct keys it returned (or the first error).
func diffRun(s *diffSide, args []string) []byte {
	if name, ok := strings.CutPrefix(args[0], "="); ok {
		// "=TTL k" in a fixed case: TTL k, compared exactly.
		return s.do(append([]string{name}, args[1:]...))
	}
	if diffIntercept != nil {
		if rep, ok := diffIntercept(s, args); ok {
			return rep
		}
	}
	if run := diffRunners[strings.ToUpper(args[0])]; run != nil {
		return run(s, args)
	}
	switch mode, _ := diffCompareMode(args); mode {
	case diffCmpScan:
		return diffRunScan(s, args)
	case diffCmpNilness:
		// Only nil-ness is compared; but the key must exist on its side.
		raw := s.do(args)
		rep, err := resptest.Parse(raw)
		if err == nil && rep.Kind == resptest.Bulk && !rep.Nil {
			if ex := s.do([]string{"EXISTS", string(rep.Str)}); string(ex) != ":1\r\n" {
				return []byte(fmt.Sprintf("!RANDOMKEY returned %q, but EXISTS answers %q", rep.Str, ex))
			}
		}
		return raw
	}
	return s.do(args)
}

func diffRunScan(s *diffSide, args []string) []byte {
	seen := map[string]bool{}
	cmd := append([]string(nil), args...)
	for calls := 0; ; calls++ {
		if calls == diffMaxScanCalls {
			return []byte(fmt.Sprintf("!SCAN did not return to cursor 0 after %d calls", diffMaxScanCalls))
		}
		raw := s.do(cmd)
		rep, err := resptest.Parse(raw)
		if err != nil || rep.Kind != resptest.Array {
			return raw // an error reply (compared exactly) or a connection error
		}
		if len(rep.Elems) != 2 || rep.Elems[0].Kind != resptest.Bulk || rep.Elems[0].Nil || rep.Elems[1].Kind != resptest.Array {
			return append([]byte("!malformed SCAN reply: "), raw...)
		}
		for _, k := range rep.Elems[1].Elems {
			seen[string(k.Str)] = true
		}
		cursor := string(rep.Elems[0].Str)
		if cursor == "0" {
			break
		}
		cmd[1] = cursor
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := resptest.Reply{Kind: resptest.Array, Elems: make([]resptest.Reply, len(keys))}
	for i, k := range keys {
		out.Elems[i] = resptest.Reply{Kind: resptest.Bulk, Str: []byte(k)}
	}
	return out.Encode()
}

// diffSame reports whether replies a and b to args agree.
func diffSame(args []string, a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	mode, tol := diffCompareMode(args)
	if mode == diffCmpExact || mode == diffCmpScan {
		return false
	}
	ra, errA := resptest.Parse(a)
	rb, errB := resptest.Parse(b)
	if errA != nil || errB != nil || ra.Kind != rb.Kind {
		return false
	}
	switch mode {
	case diffCmpSorted:
		if ra.Kind != resptest.Array || ra.Nil || rb.Nil {
			return false
		}
		return bytes.Equal(diffSortedArray(ra), diffSortedArray(rb))
	case diffCmpNilness:
		return ra.Kind == resptest.Bulk && ra.Nil == rb.Nil
	case diffCmpTol:
		if ra.Kind != resptest.Integer || ra.Int < 0 || rb.Int < 0 {
			return false // -1 and -2 must match exactly
		}
		d := ra.Int - rb.Int
		return d >= -tol && d <= tol
	}
	return false
}

func diffSortedArray(r resptest.Reply) []byte {
	e := append([]resptest.Reply(nil), r.Elems...)
	sort.Slice(e, func(i, j int) bool { return bytes.Compare(e[i].Encode(), e[j].Encode()) < 0 })
	r.Elems = e
	return r.Encode()
}

// ---- sequences ----

// diffMismatch is the first disagreement in a replayed sequence.
type diffMismatch struct {
	step    int      // index of the step whose replies differ; -1: none
	a, b    []byte   // the two replies at step
	replies [][]byte // side A's replies up to step (agreed by both before it)
}

// replay runs seq from a clean state and returns the first mismatch.
func (p *diffPair) replay(seq [][]string) diffMismatch {
	p.reset()
	m := diffMismatch{step: -1}
	for i, args := range seq {
		ra := diffRun(p.a, args)
		if ra[0] == '!' {
			p.t.Fatalf("redis-server (side A) failed on %s: %s", resptest.Quote(args), ra)
		}
		rb := diffRun(p.b, args)
		m.replies = append(m.replies, ra)
		if !diffSame(args, ra, rb) {
			m.step, m.a, m.b = i, ra, rb
			return m
		}
	}
	return m
}

// shrink returns the shortest sequence it finds (by removing chunks, then
// single commands, while a mismatch persists) that still shows a mismatch,
// cut right after the mismatching step; nil if seq does not reproduce one.
func (p *diffPair) shrink(seq [][]string) [][]string {
	m := p.replay(seq)
	if m.step < 0 {
		return nil
	}
	seq = seq[:m.step+1]
	for chunk := len(seq) / 2; chunk >= 1; chunk /= 2 {
		for changed := true; changed; {
			changed = false
			for i := 0; i+chunk <= len(seq) && len(seq) > 1; {
				cand := append(append([][]string(nil), seq[:i]...), seq[i+chunk:]...)
				if len(cand) == 0 {
					break
				}
				if m := p.replay(cand); m.step >= 0 {
					seq = cand[:m.step+1]
					changed = chunk == 1 // single removals: repeat to a fixpoint
					continue
				}
				i += chunk
			}
		}
	}
	// Then simplify the commands themselves: drop single arguments or
	// option pairs (SET k v EX 10 -> SET k v) while the last step still
	// mismatches in the same way. The name and first argument stay, so
	// that arguments keep their roles (and SCAN keeps cursor 0).
	whole := seq
	m = p.replay(seq)
	class := diffClass(seq[len(seq)-1], m.a)
	for i := 0; i < len(seq); i++ {
		for j := 2; j < len(seq[i]); {
			shrunk := false
			for _, n := range []int{2, 1} {
				if j+n > len(seq[i]) {
					continue
				}
				args := append(append([]string(nil), seq[i][:j]...), seq[i][j+n:]...)
				cand := append([][]string(nil), seq...)
				cand[i] = args
				if m := p.replay(cand); m.step == len(cand)-1 && diffClass(cand[len(cand)-1], m.a) == class {
					seq, shrunk = cand, true
					break
				}
			}
			if !shrunk {
				j++
			}
		}
	}
	// Dropping arguments may have made a command time-dependent (a
	// leftover small expiry): keep the result only if it is stable.
	for k := 0; k < 3; k++ {
		if m := p.replay(seq); m.step != len(seq)-1 {
			return whole
		}
	}
	return seq
}

// report formats a (shrunk) sequence with its replies and the mismatch.
func (p *diffPair) report(seq [][]string) string {
	m := p.replay(seq)
	var b strings.Builder
	fmt.Fprintf(&b, "after FLUSHALL, SELECT 0, on one connection per side:\n")
	for i, args := range seq {
		fmt.Fprintf(&b, "  %2d  %s\n", i+1, resptest.Quote(args))
		switch {
		case i == m.step:
			ra, rb := diffShowPair(m.a, m.b)
			fmt.Fprintf(&b, "        %-7s %s\n        %-7s %s   <-- mismatch\n", p.a.name+":", ra, p.b.name+":", rb)
		case i < len(m.replies):
			fmt.Fprintf(&b, "        %-7s %s\n", "both:", diffShowReply(m.replies[i]))
		}
	}
	if m.step < 0 {
		b.WriteString("  (no mismatch on this replay: nondeterministic?)\n")
	}
	return b.String()
}

// diffShowReply quotes a reply, eliding the middle of a long one.
func diffShowReply(r []byte) string {
	const limit = 120
	if len(r) > 0 && r[0] == '!' { // the harness's own message
		return strings.ReplaceAll(string(r), "\n", "\n                ")
	}
	if len(r) <= limit {
		return fmt.Sprintf("%q", r)
	}
	return fmt.Sprintf("%q ...(%d bytes)... %q", r[:limit/2], len(r)-limit, r[len(r)-limit/2:])
}

// diffShowPair quotes two differing replies; when they are long, it shows
// the region around their first difference.
func diffShowPair(a, b []byte) (string, string) {
	const limit, ctx = 300, 80
	if len(a) <= limit && len(b) <= limit || len(a) > 0 && a[0] == '!' || len(b) > 0 && b[0] == '!' {
		return diffShowReply(a), diffShowReply(b)
	}
	d := 0
	for d < len(a) && d < len(b) && a[d] == b[d] {
		d++
	}
	show := func(r []byte) string {
		from, to := max(0, d-ctx), min(len(r), d+ctx)
		out := fmt.Sprintf("%q", r[from:to])
		if from > 0 {
			out = fmt.Sprintf("(%d bytes)...%s", from, out)
		}
		if to < len(r) {
			out += fmt.Sprintf("...(%d bytes)", len(r)-to)
		}
		return out
	}
	return show(a), show(b)
}

// ---- the random generator ----

// The keyspace is small so that commands interact. Some names hold bytes
// that need care: NUL, CRLF, glob metacharacters, UTF-8, the empty name.
var diffKeys = []string{"a", "b", "k1", "k:2", "\x00b\r\n", "", "[x]*", "ключ"}

var diffInts = []string{
	"0", "1", "-1", "2", "42", "-17", "100", "9223372036854775807", "-9223372036854775808",
	"9223372036854775806", "-9223372036854775807", "9223372036854775808", "18446744073709551616",
	"010", "+1", " 1", "1 ", "-0", "00", "1.0", "0x10", "1e3", "", "abc",
}

var diffFloats = []string{
	"0.1", "0.2", "1.5", "-2.25", "3.0e3", "1e20", "1e300", "-1e300", "1.7976931348623157e308",
	"1e-300", "5e-324", "inf", "-inf", "+inf", "nan", "-0", "0.0", ".5", "5.", "10.5", "-5",
	"5.0000000000000001", "123456789012345678901234567890", "0x10", "1_0", " 1", "1e", "", "abc",
	"1e-400", "1e4000", "1e-5000", "1.5e308",
}

var diffTexts = []string{
	"hello", "", " ", "a b", "value\r\n", "\x00", "\x00\xff\r\n\x01", "😀", "Hello World",
	strings.Repeat("x", 100), "*", "[x]*", "-ERR not an error", "+OK", "$3", "\r\n",
}

var diffPatterns = []string{
	"*", "?", "a*", "*b*", "k?", "k*", "[ak]*", "[^a]*", "[a-c]", "[c-a]", "\\[x]*", "[x]*", "",
	"*\x00*", "k\\", "[", "[a-", "[]", "*[", "ключ", "*?*", "\\*", "??", "*:*", "[!a]*", "k[0-9]",
	"*\r\n", "a**", "*a*a*a*a*a*a*a*a*a*", "\\", "[\\]]*",
}

// Absolute expiry times: far in the future (never reached during a test,
// and far from any relative expiry, so GT/LT never compare near-ties), or
// deliberately in the past, where the effect is immediate.
var diffFutureSecs = []string{"4000000000", "4000000100", "5000000000", "9223372036854775"}
var diffFutureMillis = []string{"4000000000000", "4000000000001", "4000000100000", "9223372036854775807"}
var diffPastSecs = []string{"1", "1000000000", "0", "-1"}
var diffPastMillis = []string{"1", "1000000000000", "0", "-5"}

// Bad expiry arguments: errors for SET/SETEX/GETEX, immediate deletion (0
// and negatives) or an overflow error for EXPIRE and kin.
var diffBadExpiry = []string{"0", "-1", "abc", "1.5", "", "9223372036854775807", "9223372036854775808",
	"9223372036854776", "9223372036854775", "-9223372036854775808"}

// SETRANGE offsets keep values under 1 MB, but for 536870912, which is
// refused before anything is allocated.
var diffOffsets = []string{"0", "1", "2", "3", "5", "10", "100", "1000", "65536", "999000",
	"-1", "536870912", "9223372036854775807", "abc", "1.5"}

var diffRangeIdx = []string{"0", "1", "2", "3", "-1", "-2", "-5", "-100", "5", "100",
	"9223372036854775807", "-9223372036854775808", "abc", "1.5", ""}

var diffDBIdx = []string{"0", "1", "2", "15", "16", "-1", "abc", "1.5", "", "2147483648", "-9223372036854775808"}

var diffUnknownCmds = []string{"FOO", "get2", "", "SETT", "f\x00oo", "x\r\ny", strings.Repeat("z", 200), "\xff"}

type diffGen struct {
	r    *rand.Rand
	slot int // next unused relative-expiry slot of this sequence
}

func (g *diffGen) pick(s []string) string { return s[g.r.Intn(len(s))] }
func (g *diffGen) chance(p float64) bool  { return g.r.Float64() < p }
func (g *diffGen) key() string            { return g.pick(diffKeys) }

func (g *diffGen) keys(min, max int) []string {
	n := min + g.r.Intn(max-min+1)
	out := make([]string, n)
	for i := range out {
		out[i] = g.key()
	}
	return out
}

func (g *diffGen) value() string {
	switch g.r.Intn(10) {
	case 0, 1, 2:
		return g.pick(diffInts)
	case 3, 4:
		return g.pick(diffFloats)
	case 5, 6, 7:
		return g.pick(diffTexts)
	case 8:
		b := make([]byte, g.r.Intn(24))
		g.r.Read(b)
		return string(b)
	default:
		return strconv.Itoa(g.r.Intn(200) - 100)
	}
}

// relSecs returns a valid relative expiry in seconds that no other relative
// expiry of the sequence uses, at least 1000 s apart from all of them: the
// order of two expiries never depends on when the commands ran.
func (g *diffGen) relSecs() int64 {
	g.slot++
	if g.chance(0.1) {
		return 90_000_000_000_000 + int64(g.slot)*1000 // huge but valid
	}
	return 100_000 + int64(g.slot)*1000
}

// exSecs and exMillis are arguments of EX/PX-like options: a unique valid
// relative time, or now and then a bad one.
func (g *diffGen) exSecs() string {
	if g.chance(0.15) {
		return g.pick(diffBadExpiry)
	}
	return strconv.FormatInt(g.relSecs(), 10)
}

func (g *diffGen) exMillis() string {
	if g.chance(0.15) {
		return g.pick(diffBadExpiry)
	}
	return strconv.FormatInt(g.relSecs()*1000+int64(g.r.Intn(1000)), 10)
}

// atSecs/atMillis are arguments of EXAT/PXAT; past ones only when the
// command applies them at once (GETEX, EXPIREAT), never for SET, which
// would leave an expired key whose removal time (and DBSIZE) is up to
// Redis's active expiry.
func (g *diffGen) atSecs(pastOK bool) string {
	switch {
	case pastOK && g.chance(0.2):
		return g.pick(diffPastSecs)
	case g.chance(0.1):
		return g.pick([]string{"0", "-1", "abc", "", "9223372036854776", "1.5"})
	}
	return g.pick(diffFutureSecs)
}

func (g *diffGen) atMillis(pastOK bool) string {
	switch {
	case pastOK && g.chance(0.2):
		return g.pick(diffPastMillis)
	case g.chance(0.1):
		return g.pick([]string{"0", "-1", "abc", "", "9223372036854775808", "1.5"})
	}
	return g.pick(diffFutureMillis)
}

// expireArg is EXPIRE's seconds: unique valid, or past (deletes), or bad.
func (g *diffGen) expireArg(millis bool) string {
	switch {
	case g.chance(0.1):
		return g.pick([]string{"0", "-1", "-100"})
	case g.chance(0.1):
		return g.pick(diffBadExpiry)
	case millis:
		return g.exMillis()
	}
	return g.exSecs()
}

func (g *diffGen) word(w string) string {
	switch g.r.Intn(8) {
	case 0:
		return strings.ToLower(w)
	case 1:
		b := []byte(strings.ToLower(w))
		for i := range b {
			if g.r.Intn(2) == 0 && b[i] >= 'a' && b[i] <= 'z' {
				b[i] -= 'a' - 'A'
			}
		}
		return string(b)
	}
	return w
}

func (g *diffGen) setOptions() []string {
	var opts []string
	for n := g.r.Intn(4); n > 0; n-- {
		switch g.r.Intn(9) {
		case 0:
			opts = append(opts, g.word("NX"))
		case 1:
			opts = append(opts, g.word("XX"))
		case 2:
			opts = append(opts, g.word("GET"))
		case 3:
			opts = append(opts, g.word("KEEPTTL"))
		case 4:
			opts = append(opts, g.word("EX"), g.exSecs())
		case 5:
			opts = append(opts, g.word("PX"), g.exMillis())
		case 6:
			opts = append(opts, g.word("EXAT"), g.atSecs(false))
		case 7:
			opts = append(opts, g.word("PXAT"), g.atMillis(false))
		default:
			opts = append(opts, g.pick([]string{"FOO", "EX", "PERSIST", "NXX"}))
		}
	}
	return opts
}

func (g *diffGen) getexOptions() []string {
	var opts []string
	for n := g.r.Intn(3); n > 0; n-- {
		switch g.r.Intn(6) {
		case 0:
			opts = append(opts, g.word("EX"), g.exSecs())
		case 1:
			opts = append(opts, g.word("PX"), g.exMillis())
		case 2:
			opts = append(opts, g.word("EXAT"), g.atSecs(true))
		case 3:
			opts = append(opts, g.word("PXAT"), g.atMillis(true))
		case 4:
			opts = append(opts, g.word("PERSIST"))
		default:
			opts = append(opts, g.pick([]string{"FOO", "EX", "KEEPTTL"}))
		}
	}
	return opts
}

func (g *diffGen) expireFlags() []string {
	var opts []string
	for n := g.r.Intn(3); n > 0 && g.chance(0.7); n-- {
		opts = append(opts, g.word(g.pick([]string{"NX", "XX", "GT", "LT", "NX", "XX", "GT", "LT", "FOO"})))
	}
	return opts
}

func (g *diffGen) scanArgs() []string {
	args := []string{g.word("SCAN")}
	if g.chance(0.9) {
		args = append(args, g.pick([]string{"0", "0", "0", "00", "-0"}))
	} else {
		// Invalid cursors only: a valid nonzero one gives an unspecified result.
		args = append(args, g.pick([]string{"abc", " 1", "1x", "18446744073709551616", "1.5"}))
	}
	for n := g.r.Intn(3); n > 0; n-- {
		switch g.r.Intn(4) {
		case 0:
			args = append(args, g.word("MATCH"), g.pick(diffPatterns))
		case 1:
			args = append(args, g.word("COUNT"), g.pick([]string{"1", "2", "3", "10", "1000", "0", "-1", "abc", "9223372036854775807"}))
		case 2:
			args = append(args, g.word("TYPE"), g.pick([]string{"string", "STRING", "hash", "list", "none", "foo"}))
		default:
			args = append(args, g.pick([]string{"FOO", "MATCH", "COUNT"}))
		}
	}
	return args
}

// command returns one random command.
// diffFamilies are generators of the command families that live in files
// of their own (diff_hashes_integration_test.go, …), added by init: each
// returns one command of its family, arguments not yet case-scrambled.
var diffFamilies []func(g *diffGen) []string

func (g *diffGen) command() []string {
	var args []string
	// Half of the commands come from the other families when there are any.
	if len(diffFamilies) > 0 && g.chance(0.5) {
		args = diffFamilies[g.r.Intn(len(diffFamilies))](g)
	} else {
		args = g.coreCommand()
	}
	if g.chance(0.05) {
		// Wrong arity or a stray argument: drop or add arguments.
		if g.chance(0.5) {
			args = args[:g.r.Intn(len(args))+1]
		} else {
			args = append(args, g.value())
		}
	}
	args[0] = g.word(args[0])
	return args
}

// coreCommand returns a command of the spine's families: strings, keys,
// connection and server.
func (g *diffGen) coreCommand() []string {
	k := g.key()
	var args []string
	switch n := g.r.Intn(100); {
	case n < 10:
		args = append([]string{"SET", k, g.value()}, g.setOptions()...)
	case n < 16:
		args = []string{"GET", k}
	case n < 18:
		args = []string{"SETNX", k, g.value()}
	case n < 20:
		args = []string{"SETEX", k, g.exSecs(), g.value()}
	case n < 21:
		args = []string{"PSETEX", k, g.exMillis(), g.value()}
	case n < 23:
		args = append([]string{"MGET"}, g.keys(1, 4)...)
	case n < 26:
		name := "MSET"
		if n == 25 {
			name = "MSETNX"
		}
		args = []string{name}
		for i := 1 + g.r.Intn(3); i > 0; i-- {
			args = append(args, g.key(), g.value())
		}
	case n < 27:
		args = []string{"GETSET", k, g.value()}
	case n < 28:
		args = []string{"GETDEL", k}
	case n < 30:
		args = append([]string{"GETEX", k}, g.getexOptions()...)
	case n < 33:
		args = []string{"APPEND", k, g.value()}
	case n < 34:
		args = []string{"STRLEN", k}
	case n < 37:
		args = []string{g.pick([]string{"INCR", "DECR"}), k}
	case n < 40:
		args = []string{g.pick([]string{"INCRBY", "DECRBY"}), k, g.pick(diffInts)}
	case n < 43:
		args = []string{"INCRBYFLOAT", k, g.pick(diffFloats)}
	case n < 45:
		args = []string{"GETRANGE", k, g.pick(diffRangeIdx), g.pick(diffRangeIdx)}
	case n < 47:
		args = []string{"SETRANGE", k, g.pick(diffOffsets), g.value()}
	case n < 50:
		args = append([]string{g.pick([]string{"DEL", "UNLINK", "EXISTS", "TOUCH"})}, g.keys(1, 4)...)
	case n < 54:
		name := g.pick([]string{"EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"})
		var t string
		switch name {
		case "EXPIRE":
			t = g.expireArg(false)
		case "PEXPIRE":
			t = g.expireArg(true)
		case "EXPIREAT":
			t = g.atSecs(true)
		default:
			t = g.atMillis(true)
		}
		args = append([]string{name, k, t}, g.expireFlags()...)
	case n < 59:
		args = []string{g.pick([]string{"TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME", "PERSIST", "TYPE"}), k}
	case n < 62:
		args = []string{g.pick([]string{"RENAME", "RENAMENX"}), k, g.key()}
	case n < 64:
		args = []string{"KEYS", g.pick(diffPatterns)}
	case n < 66:
		args = g.scanArgs()
	case n < 67:
		args = []string{"RANDOMKEY"}
	case n < 69:
		args = []string{"DBSIZE"}
	case n < 70:
		args = []string{g.pick([]string{"FLUSHDB", "FLUSHALL"})}
		if g.chance(0.5) {
			args = append(args, g.pick([]string{"ASYNC", "SYNC", "async", "FOO"}))
		}
	case n < 73:
		args = []string{"MOVE", k, g.pick(diffDBIdx)}
	case n < 76:
		args = []string{"COPY", k, g.key()}
		if g.chance(0.5) {
			args = append(args, g.word("DB"), g.pick(diffDBIdx))
		}
		if g.chance(0.4) {
			args = append(args, g.word("REPLACE"))
		}
		if g.chance(0.05) {
			args = append(args, g.pick([]string{"FOO", "DB"}))
		}
	case n < 80:
		args = []string{"SELECT", g.pick(diffDBIdx)}
	case n < 82:
		args = []string{"PING"}
		if g.chance(0.5) {
			args = append(args, g.value())
		}
	case n < 83:
		args = []string{"ECHO", g.value()}
	case n < 85:
		args = []string{g.pick(diffUnknownCmds)}
		for i := g.r.Intn(4); i > 0; i-- {
			args = append(args, g.value())
		}
	default:
		args = []string{"GET", k}
		if g.chance(0.5) {
			args = []string{"SET", k, g.value()}
		}
	}
	return args
}

func (g *diffGen) sequence() [][]string {
	g.slot = 0
	seq := make([][]string, 1+g.r.Intn(60))
	for i := range seq {
		seq[i] = g.command()
	}
	return seq
}

func diffEnvInt(t *testing.T, name string, def int64) int64 {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("%s=%q: not an integer", name, s)
	}
	return n
}

// diffClass names the kind of a mismatch, so that CAIRN_DIFF_KEEPGOING
// reports each kind once: the command (or "unknown command"), and Redis's
// error message or reply type.
func diffClass(args []string, redisReply []byte) string {
	if bytes.HasPrefix(redisReply, []byte("-ERR unknown command")) {
		return "unknown command"
	}
	class := strings.ToUpper(args[0])
	if len(redisReply) > 0 && redisReply[0] == '-' {
		// The first three words: "-ERR Unsupported option", "-ERR value is".
		words := strings.Fields(strings.TrimSpace(string(redisReply)))
		return class + " " + strings.Join(words[:min(3, len(words))], " ")
	}
	if len(redisReply) > 0 {
		return class + " " + string(redisReply[:1])
	}
	return class
}

// TestDiffRandom sends random command sequences to Redis and Cairn.
func TestDiffRandom(t *testing.T) {
	p := newDiffPair(t)
	seed := diffEnvInt(t, "CAIRN_DIFF_SEED", time.Now().UnixNano())
	iter := diffEnvInt(t, "CAIRN_DIFF_ITER", diffDefaultIter)
	keepGoing := os.Getenv("CAIRN_DIFF_KEEPGOING") != ""
	t.Logf("seed %d, %d sequences (replay with CAIRN_DIFF_SEED=%d)", seed, iter, seed)
	if p.b.name == "cairn" && p.b.proc == nil {
		// A panic in the in-process Cairn ends the binary before t.Logf's
		// buffer is shown; stderr is.
		fmt.Fprintf(os.Stderr, "TestDiffRandom: seed %d; if Cairn panics, DIFF_AGAINST=cairn-proc CAIRN_DIFF_SEED=%d CAIRN_DIFF_ITER=%d shows the shortest sequence\n", seed, seed, iter)
	}
	reported := map[string]bool{}
	start := time.Now()
	cmds := 0
	for i := int64(0); i < iter; i++ {
		s := seed + i
		g := &diffGen{r: rand.New(rand.NewSource(s))}
		seq := g.sequence()
		cmds += len(seq)
		m := p.replay(seq)
		if m.step < 0 {
			continue
		}
		failing, redisReply := seq[m.step], m.a
		shrunk := p.shrink(seq)
		var msg string
		if shrunk == nil {
			msg = fmt.Sprintf("mismatch did not reproduce on replay (nondeterministic?); original sequence:\n%s", p.report(seq[:m.step+1]))
		} else {
			failing = shrunk[len(shrunk)-1]
			if m := p.replay(shrunk); m.step >= 0 {
				redisReply = m.a
			}
			msg = p.report(shrunk)
		}
		msg = fmt.Sprintf("%s and %s disagree on %s (sequence seed %d; replay with CAIRN_DIFF_SEED=%d CAIRN_DIFF_ITER=1):\n%s",
			p.a.name, p.b.name, resptest.QuoteArg(strings.ToUpper(failing[0])), s, s, msg)
		if !keepGoing {
			t.Fatal(msg)
		}
		if class := diffClass(failing, redisReply); !reported[class] {
			reported[class] = true
			t.Error(msg)
		}
	}
	t.Logf("%d sequences, %d commands in %v", iter, cmds, time.Since(start).Round(time.Millisecond))
}

// ---- fixed edge cases ----

// diffSplit splits a command line: words separated by spaces; double quotes
// group, with \xNN, \r, \n, \t, \" and \\ escapes inside them.
func diffSplit(line string) ([]string, error) {
	var out []string
	i := 0
	for {
		for i < len(line) && line[i] == ' ' {
			i++
		}
		if i == len(line) {
			return out, nil
		}
		var w []byte
		if line[i] != '"' {
			for i < len(line) && line[i] != ' ' {
				w = append(w, line[i])
				i++
			}
			out = append(out, string(w))
			continue
		}
		for i++; ; i++ {
			if i >= len(line) {
				return nil, errors.New("unterminated quotes")
			}
			c := line[i]
			if c == '"' {
				i++
				break
			}
			if c != '\\' {
				w = append(w, c)
				continue
			}
			i++
			if i >= len(line) {
				return nil, errors.New("dangling backslash")
			}
			switch line[i] {
			case 'n':
				w = append(w, '\n')
			case 'r':
				w = append(w, '\r')
			case 't':
				w = append(w, '\t')
			case 'x':
				if i+2 >= len(line) {
					return nil, errors.New("short \\x escape")
				}
				v, err := strconv.ParseUint(line[i+1:i+3], 16, 8)
				if err != nil {
					return nil, err
				}
				w = append(w, byte(v))
				i += 2
			default:
				w = append(w, line[i])
			}
		}
		out = append(out, string(w))
	}
}

// diffCases are sequences, each run from a clean state; every reply of
// every command is compared. A name written "=TTL" is TTL compared
// exactly, without the tolerance for time passing: a TTL read right after
// it was set, or an EXPIRETIME of an absolute time, has one right answer
// (Redis rounds TTL to the nearest second: a Cairn that truncates would
// answer 99999 to "SETEX k 100000 v; TTL k").
var diffCases = []struct {
	name string
	cmds []string
}{
	{"arity", []string{
		"GET", "GET a b", "SET k", "SET", "MSET a", "MSET a 1 b", "MSETNX a", "MGET", "SETNX a",
		"SETEX a 10", "PSETEX a", "GETSET a", "GETDEL", "GETDEL a b", "GETEX", "APPEND a", "STRLEN",
		"INCR", "INCR a b", "DECR", "INCRBY a", "DECRBY a 1 2", "INCRBYFLOAT a", "GETRANGE a 0",
		"SETRANGE a 0", "DEL", "UNLINK", "EXISTS", "EXPIRE a", "PEXPIRE a", "EXPIREAT a",
		"PEXPIREAT a", "TTL", "PTTL a b", "EXPIRETIME", "PEXPIRETIME", "PERSIST", "TYPE", "RENAME a",
		"RENAMENX a", "KEYS", "KEYS a b", "SCAN", "RANDOMKEY a", "DBSIZE a", "MOVE a", "COPY a",
		"TOUCH", "PING a b", "ECHO", "ECHO a b", "SELECT", "SELECT 1 2", "get", "gEt a b",
	}},
	{"unknown commands", []string{
		"FOO", "FOO a b", `foo "a\x00b" "c\r\nd"`, `"" x`, `"f\x00oo" a`, `"\xff" "\xfe"`,
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx " +
			"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy z",
		"FOO a b c d e f g h i j k l m n o p q r s t u v w x y z aa bb cc dd ee ff gg hh ii jj kk ll",
		"HSETT a", "EXPIRE_ a 1", "SET\r\n a b",
	}},
	{"set options", []string{
		"SET k v NX XX", "SET k v XX NX", "SET k v EX 10 PX 10", "SET k v PX 10 EXAT 4000000000",
		"SET k v EX 0", "SET k v EX -1", "SET k v EX abc", "SET k v EX 1.5", "SET k v PX 0",
		"SET k v EX 9223372036854775807", "SET k v EX 9223372036854776", "SET k v EX 9223372036854775",
		"SET k v PX 9223372036854775807", "SET k v EXAT 9223372036854776", "SET k v PXAT 9223372036854775808",
		"SET k v EX", "SET k v FOO", "SET k v NX NX", "SET k v EX 10 EX 10", "SET k v KEEPTTL EX 10",
		"SET k v KEEPTTL PX 10", "SET k v KEEPTTL KEEPTTL", "SET k v PERSIST", "EXISTS k",
		"SET k v nx", "SET k w NX", "GET k", "SET k w NX GET", "SET k w XX GET", "SET k x GET NX",
		"SET missing v XX", "SET missing v XX GET", "SET k v get get", "GET k",
		"SET t v EXAT 4000000000", "TTL t", "=EXPIRETIME t", "SET t w KEEPTTL", "=EXPIRETIME t",
		"SET t w", "=TTL t", "SET t v PXAT 4000000000123", "=PEXPIRETIME t", "=EXPIRETIME t", "SET t v GET EX 100000",
		"=TTL t", "SET t v keepttl xx get", "=TTL t", "SET t v PX 100000000", "=TTL t", "SET t v PX 100000300", "=TTL t",
		"SET t v PX 100000700", "=TTL t", "SET t v EXAT 9223372036854775", "=EXPIRETIME t", "=PEXPIRETIME t",
		"SETNX k v", "SETNX new v", "SETEX k 0 v", "SETEX k -1 v", "SETEX k abc v", "SETEX k 9223372036854775807 v",
		"PSETEX k 0 v", "PSETEX k -5 v", "SETEX s 100000 v", "=TTL s", "PSETEX s 100000000 v", "PTTL s", "=TTL s",
	}},
	{"mset and friends", []string{
		"MSET a 1 b 2 a 3", "MGET a b c a", "MSETNX a 1 c 3", "MGET c", "MSETNX c 3 d 4 c 5",
		"MGET c d", "GETSET a x", "GETSET nokey y", "GETDEL a", "GETDEL a", "GETEX b",
		"GETEX b EX 100000", "TTL b", "GETEX b PERSIST", "TTL b", "GETEX b PX 100000000", "PTTL b",
		"GETEX b EXAT 4000000000", "EXPIRETIME b", "GETEX b PXAT 4000000000000", "PEXPIRETIME b",
		"GETEX b EX 10 PX 10", "GETEX b PERSIST EX 10", "GETEX b EX", "GETEX b EX 0", "GETEX b EX -1",
		"GETEX b FOO", "GETEX b KEEPTTL", "GETEX nokey EX 10", "GETEX b EXAT 1", "EXISTS b", "DBSIZE",
		"SET c v", "GETEX c PXAT 1", "DBSIZE",
	}},
	{"integers", []string{
		"SET n 9223372036854775807", "INCR n", "GET n", "DECR n", "SET n -9223372036854775808",
		"DECR n", "INCRBY n -1", "DECRBY n 1", "SET n 0", "DECRBY n -9223372036854775808",
		"INCRBY n -9223372036854775808", "DECRBY n 9223372036854775807", "INCRBY n 9223372036854775808",
		"INCRBY n abc", "INCRBY n 1.5", "INCRBY n \"\"", "INCR fresh", "DECR fresh2", "INCRBY fresh3 -5",
		"SET s abc", "INCR s", "SET s \" 1\"", "INCR s", "SET s \"1 \"", "INCR s", "SET s 01", "INCR s",
		"SET s +1", "INCR s", "SET s -0", "INCR s", "SET s 1.0", "INCR s", "SET s \"\"", "INCR s",
		"SET s 18446744073709551616", "INCR s", "SET s 00", "DECR s", "SET s 9223372036854775808", "DECR s",
	}},
	{"incrbyfloat", []string{
		"INCRBYFLOAT f 0.1", "INCRBYFLOAT f 0.2", "GET f", "INCRBYFLOAT g 1e20", "INCRBYFLOAT h 3.0e3",
		"INCRBYFLOAT i 10.5", "INCRBYFLOAT i -5", "INCRBYFLOAT i -5.5", "GET i", "INCRBYFLOAT j inf",
		"INCRBYFLOAT j -inf", "INCRBYFLOAT j nan", "INCRBYFLOAT j +inf", "INCRBYFLOAT j abc", "INCRBYFLOAT j \"\"",
		"INCRBYFLOAT j -0", "GET j", "INCRBYFLOAT k 1e308", "INCRBYFLOAT k 1e308", "GET k",
		"INCRBYFLOAT l 1e300", "INCRBYFLOAT l 1e-300", "INCRBYFLOAT m 5e-324", "INCRBYFLOAT n 0x10",
		"INCRBYFLOAT o .5", "INCRBYFLOAT o 5.", "INCRBYFLOAT p 1.7976931348623157e308",
		"INCRBYFLOAT q 123456789012345678901234567890", "INCRBYFLOAT r 0.1", "INCRBYFLOAT r 0.7",
		"INCRBYFLOAT s 1e", "INCRBYFLOAT s \" 1\"", "INCRBYFLOAT s \"1 \"", "INCRBYFLOAT t 1_0",
		"SET u abc", "INCRBYFLOAT u 1", "SET u \"1.5 \"", "INCRBYFLOAT u 1", "SET u 3.0e3", "INCRBYFLOAT u 1",
		"SET u inf", "INCRBYFLOAT u 1", "SET u 9223372036854775807", "INCRBYFLOAT u 1", "INCR u",
		"SET v 1.5", "INCR v", "INCRBYFLOAT v -1.5", "GET v", "INCRBYFLOAT w -0.0", "GET w",
		"INCRBYFLOAT x 1.23456789012345678", "INCRBYFLOAT y 100000000000000000000000", "INCRBYFLOAT z 2.5e-5",
		// Redis computes in long double: beyond float64's range both ways.
		"INCRBYFLOAT a2 1e-400", "INCRBYFLOAT a3 1e-5000", "SET c2 5e-32431", "INCRBYFLOAT c2 0",
		"INCRBYFLOAT e2 1e4000", "SET f2 1e-320", "INCRBYFLOAT f2 0", "INCRBYFLOAT g2 1.5e308", "INCRBYFLOAT g2 1.5e308",
	}},
	{"getrange and setrange", []string{
		"SET s \"Hello World\"", "GETRANGE s 0 -1", "GETRANGE s -3 -1", "GETRANGE s -1 -3",
		"GETRANGE s 5 3", "GETRANGE s -100 100", "GETRANGE s 100 200", "GETRANGE s 0 0", "GETRANGE s -1 -1",
		"GETRANGE s 10 10", "GETRANGE s 11 11", "GETRANGE s -11 0", "GETRANGE s -12 -12",
		"GETRANGE s 0 9223372036854775807", "GETRANGE s -9223372036854775808 -1", "GETRANGE s a 1",
		"GETRANGE s 0 1.5", "GETRANGE missing 0 -1", "GETRANGE missing 5 3", "SET e \"\"", "GETRANGE e 0 -1",
		"GETRANGE e -1 0", "SETRANGE m 5 x", "GET m", "SETRANGE m2 0 \"\"", "EXISTS m2", "SETRANGE m3 10 \"\"",
		"EXISTS m3", "SETRANGE s -1 x", "SETRANGE s 536870912 x", "SETRANGE s 536870912 \"\"",
		"SETRANGE s 536870911 \"\"", "SETRANGE s abc x", "SETRANGE s 6 Redis", "GET s", "SETRANGE s 20 \"\\x00\\r\\n\"",
		"GET s", "STRLEN s", "SETRANGE s 0 \"\"", "SETRANGE nokey 536870912 x", "SETRANGE nokey -1 \"\"",
		"APPEND s !", "APPEND new \"\\x00\"", "GET new", "STRLEN new", "STRLEN missing", "SETRANGE big 999990 xyz",
		"STRLEN big", "GETRANGE big 999985 -1", "SET n 12345", "SETRANGE n 2 9", "INCR n", "APPEND n 6", "INCR n",
		// The zero padding must be zeros even where a shorter value
		// reused a longer one's memory.
		"DECR p", "INCR p", "SETRANGE p 2 x", "GET p", "SET p2 12345", "DECRBY p2 12345", "SETRANGE p2 3 x", "GET p2",
		"SET p3 abcdef", "SET p3 ab", "SETRANGE p3 4 x", "GET p3", "INCRBYFLOAT p4 -1.25", "INCRBYFLOAT p4 1.25",
		"SETRANGE p4 3 x", "GET p4",
	}},
	{"expire options", []string{
		"SET k v", "EXPIRE k 100 NX XX", "EXPIRE k 100 GT LT", "EXPIRE k 100 NX GT", "EXPIRE k 100 NX LT",
		"EXPIRE k 100 XX GT", "EXPIRE k 100 FOO", "EXPIRE k 100 nx nx", "EXPIRE k abc", "EXPIRE k 1.5",
		"EXPIRE k 9223372036854775807", "EXPIRE k -9223372036854775808", "PEXPIRE k 9223372036854775807",
		"EXPIREAT k 9223372036854775807", "PEXPIREAT k 9223372036854775807", "EXPIRE k 9223372036854775",
		"EXPIRE missing 100", "EXPIRE k 100 XX", "TTL k", "EXPIRE k 100000 GT", "TTL k", "EXPIRE k 100000 LT",
		"TTL k", "EXPIRE k 200000 NX", "EXPIREAT k 4000000000", "EXPIRETIME k", "PEXPIRETIME k",
		"EXPIREAT k 3000000000 GT", "EXPIREAT k 3000000000 LT", "EXPIRETIME k", "EXPIREAT k 3000000000 LT",
		"EXPIREAT k 5000000000 GT", "EXPIRETIME k", "EXPIREAT k 4000000000 NX", "EXPIREAT k 4000000000 XX",
		"PEXPIREAT k 4000000000123 XX", "PEXPIRETIME k", "EXPIRETIME k", "PERSIST k", "PERSIST k", "TTL k",
		"PTTL k", "EXPIRETIME k", "PEXPIRETIME k", "EXPIRE k 100 GT", "TTL k", "EXPIRE k 100 LT", "TTL k",
		"PERSIST k", "EXPIREAT k 4000000000 XX", "TTL k", "EXPIRE k -1 GT", "EXISTS k", "EXPIRE k -1 LT",
		"EXISTS k", "SET k v", "EXPIRE k 0", "EXISTS k", "SET k v", "EXPIREAT k 1", "EXISTS k", "SET k v",
		"PEXPIREAT k 1000", "GET k", "SET k v", "PEXPIRE k -5", "TTL k", "TTL missing", "PTTL missing",
		"EXPIRETIME missing", "PEXPIRETIME missing", "PERSIST missing", "SET k v EX 100000", "PERSIST k", "TTL k",
		"SET k v", "EXPIRE k 100000 NX", "EXPIRE k 200000 NX", "TTL k", "EXPIRE k -5 NX", "EXISTS k",
	}},
	{"keys and types", []string{
		"MSET a 1 b 2 k1 3 k:2 4 \"\\x00b\\r\\n\" 5 \"\" 6 [x]* 7 ключ 8 ab 9 ba 10", "DBSIZE",
		"TYPE a", "TYPE missing", "TYPE \"\"", "KEYS *", "KEYS a*", "KEYS ?", "KEYS *b*", "KEYS k?",
		"KEYS [ak]*", "KEYS [^a]*", "KEYS [!a]*", "KEYS [a-c]", "KEYS [c-a]", "KEYS \\[x]*", "KEYS [x]*",
		"KEYS \"\"", "KEYS \"*\\x00*\"", "KEYS k\\", "KEYS [", "KEYS [a-", "KEYS []", "KEYS *[",
		"KEYS ключ", "KEYS *?*", "KEYS \\*", "KEYS ??", "KEYS *:*", "KEYS k[0-9]", "KEYS \"*\\r\\n\"",
		"KEYS a**", "KEYS [\\]]*", "KEYS \\", "KEYS A*", "SCAN 0", "SCAN 0 MATCH a*", "SCAN 0 COUNT 1",
		"SCAN 0 MATCH * COUNT 2 TYPE string", "SCAN 0 TYPE STRING", "SCAN 0 TYPE hash", "SCAN 0 TYPE foo",
		"SCAN 0 COUNT 0", "SCAN 0 COUNT -1", "SCAN 0 COUNT abc", "SCAN 0 COUNT 9223372036854775807",
		"SCAN 0 COUNT 9223372036854775808", "SCAN 0 MATCH \"\"", "SCAN 0 MATCH", "SCAN 0 FOO", "SCAN abc",
		"SCAN \" 1\"", "SCAN 18446744073709551616", "SCAN \"\"", "SCAN 00", "SCAN -0", "RANDOMKEY",
		"EXISTS a a a missing", "TOUCH a b missing", "DEL a a b", "UNLINK k1 missing", "DBSIZE",
		"FLUSHDB", "RANDOMKEY", "KEYS *", "SCAN 0", "DBSIZE",
	}},
	{"rename", []string{
		"RENAME missing x", "RENAMENX missing x", "SET k v", "RENAME k k", "RENAMENX k k", "GET k",
		"SET t v EX 100000", "RENAME t u", "TTL u", "EXISTS t", "SET w 1", "RENAMENX u w", "RENAMENX u z",
		"GET z", "TTL z", "RENAME z w", "GET w", "TTL w", "RENAME w \"\\x00\"", "GET \"\\x00\"",
	}},
	{"move copy select", []string{
		"SET k v", "MOVE k 0", "MOVE k 16", "MOVE k -1", "MOVE k abc", "MOVE k 1.5", "MOVE missing 1",
		"MOVE k 1", "EXISTS k", "SELECT 1", "GET k", "SET k other", "SELECT 0", "SET k again", "MOVE k 1",
		"GET k", "SELECT 1", "GET k", "COPY k k", "COPY k k DB 1", "COPY k k DB 0", "SELECT 0", "GET k",
		"COPY k j", "COPY k j", "SET k newer", "COPY k j", "COPY k j REPLACE", "GET j", "COPY k j DB 16",
		"COPY k j DB -1", "COPY k j DB abc", "COPY k j DB 2147483648", "COPY k j DB -2147483649",
		"COPY k j DB 9223372036854775808", "MOVE k 2147483648", "SELECT 2147483648", "COPY k j FOO", "COPY k j DB", "COPY k j REPLACE REPLACE",
		"COPY missing j", "COPY missing j REPLACE", "SET e v EX 100000", "COPY e f", "TTL f", "MOVE e 2",
		"SELECT 2", "TTL e", "SELECT 16", "SELECT -1", "SELECT abc", "SELECT 1.5", "SELECT \"\"", "SELECT 15",
		"DBSIZE", "SELECT 0", "DBSIZE", "FLUSHALL", "DBSIZE", "SELECT 1", "DBSIZE", "FLUSHALL FOO",
		"FLUSHDB FOO", "FLUSHDB ASYNC", "FLUSHDB SYNC", "FLUSHALL async", "FLUSHALL SYNC", "FLUSHDB ASYNC SYNC",
	}},
	{"connection", []string{
		"PING", "PING hello", "PING \"\"", "PING \"a\\r\\nb\"", "ping", "ECHO hello", "ECHO \"\"",
		"ECHO \"\\x00\\r\\n\"", "SELECT 0",
	}},
	{"binary", []string{
		"SET \"\\x00\" \"\\r\\n\"", "GET \"\\x00\"", "SET \"a\\r\\nb\" \"\\x00\\x01\\xff\"",
		"GET \"a\\r\\nb\"", "KEYS *", "APPEND \"\\x00\" \"\\x00\"", "GET \"\\x00\"", "STRLEN \"\\x00\"",
		"SET \"\" empty", "GET \"\"", "EXISTS \"\"", "RENAME \"\" \"\\xff\"", "GET \"\\xff\"",
	}},
}

// TestDiffCases compares fixed edge cases.
func TestDiffCases(t *testing.T) {
	p := newDiffPair(t)
	for _, tc := range diffCases {
		t.Run(tc.name, func(t *testing.T) {
			seq := make([][]string, len(tc.cmds))
			for i, line := range tc.cmds {
				args, err := diffSplit(line)
				if err != nil || len(args) == 0 {
					t.Fatalf("bad case line %q: %v", line, err)
				}
				seq[i] = args
			}
			// Report each mismatch, shrunk, then drop the failing command
			// and go on to find the next one (later commands may depend on
			// the dropped one: the first report is the one to trust).
			lineNo := make([]int, len(seq))
			for i := range lineNo {
				lineNo[i] = i + 1
			}
			for len(seq) > 0 {
				m := p.replay(seq)
				if m.step < 0 {
					return
				}
				shown := p.shrink(seq[:m.step+1])
				if shown == nil {
					shown = seq[:m.step+1]
				}
				t.Errorf("%s and %s disagree on %s (line %d of the case):\n%s", p.a.name, p.b.name,
					resptest.Quote(seq[m.step]), lineNo[m.step], p.report(shown))
				seq = append(seq[:m.step:m.step], seq[m.step+1:]...)
				lineNo = append(lineNo[:m.step:m.step], lineNo[m.step+1:]...)
			}
		})
	}
}
