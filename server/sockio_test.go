package server

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// loopbackPair returns the two ends of a TCP connection on 127.0.0.1.
func loopbackPair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

// TestSockIO checks the raw socket reader and writer against a real TCP
// connection: a read deadline, data both ways, writes larger than the
// socket buffers (they must wait for the peer to read, not fail or spin),
// and end of file.
func TestSockIO(t *testing.T) {
	srv, cli := loopbackPair(t)
	s := newSockIO(srv)
	if s == nil {
		t.Fatal("no raw socket for a TCP connection")
	}

	// With nothing to read, a read waits in the poller until its deadline.
	buf := make([]byte, 100)
	srv.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := s.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past the deadline: %v", err)
	}
	srv.SetReadDeadline(time.Time{})

	// A waiting read gets what the peer sends.
	read := make(chan string)
	go func() {
		n, err := s.Read(buf)
		if err != nil {
			read <- err.Error()
			return
		}
		read <- string(buf[:n])
	}()
	cli.Write([]byte("PING\r\n"))
	if got := <-read; got != "PING\r\n" {
		t.Fatalf("Read: %q", got)
	}

	// Writes of every size reach the peer whole and in order, including
	// ones that fill the socket's buffers before the peer reads.
	var want []byte
	got := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(cli)
		got <- b
	}()
	for _, size := range []int{1, 5, 4096, maxRawIO, maxRawIO + 1, 8 << 20} {
		chunk := bytes.Repeat([]byte{byte(size)}, size)
		if n, err := s.Write(chunk); n != size || err != nil {
			t.Fatalf("Write of %d bytes: %d, %v", size, n, err)
		}
		want = append(want, chunk...)
	}
	srv.(*net.TCPConn).CloseWrite()
	if b := <-got; !bytes.Equal(b, want) {
		t.Fatalf("peer read %d bytes, want %d (or different bytes)", len(b), len(want))
	}

	// The peer's close is io.EOF.
	cli.Close()
	if n, err := s.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("Read after the peer closed: %d, %v", n, err)
	}
}
