package httpapi

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// serve runs f's handler behind NewServer with short timeouts on 127.0.0.1.
func serve(t *testing.T, f *fixture, to Timeouts) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(f.h, to)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// closedWithin reports whether the server ends c (EOF or reset, after any answer) within d.
func closedWithin(c net.Conn, d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

// TestSlowClientsAreCutOff: 150 connections trickling a body to /ui/login and to authenticated
// ingest, 20 trickling their headers and an idle keep-alive are all closed by the server within its
// timeouts, and their goroutines end. Before, only headers had a timeout: bodies and idle
// connections held a goroutine and a file descriptor for ever.
func TestSlowClientsAreCutOff(t *testing.T) {
	f := newFixture(t, []string{ingestToken}, []string{adminToken})
	addr := serve(t, f, Timeouts{ReadHeader: 300 * time.Millisecond, Read: 600 * time.Millisecond,
		Write: 2 * time.Second, Idle: 400 * time.Millisecond})
	base := runtime.NumGoroutine()
	const bodies, headers = 150, 20
	var wg sync.WaitGroup
	var mu sync.Mutex
	var open []string
	stop := make(chan struct{})
	defer close(stop)
	start := time.Now()
	for i := range bodies + headers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				mu.Lock()
				open = append(open, "dial: "+err.Error())
				mu.Unlock()
				return
			}
			defer c.Close()
			var head, drip string
			switch {
			case i >= bodies:
				head, drip = "GET /healthz HTTP/1.1\r\nHost: x\r\n", "X-Slow: y\r\n"
			case i%2 == 0:
				head = "POST /ui/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 10000\r\n\r\ntoken="
				drip = "a"
			default:
				head = "POST /v1/events/installation.requested HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + ingestToken +
					"\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"a\":\""
				drip = "a"
			}
			if _, err := io.WriteString(c, head); err != nil {
				return
			}
			go func() { // trickle a byte every 100 ms until the server gives up on us
				for {
					select {
					case <-stop:
						return
					case <-time.After(100 * time.Millisecond):
					}
					if _, err := io.WriteString(c, drip); err != nil {
						return
					}
				}
			}()
			if !closedWithin(c, 5*time.Second) {
				mu.Lock()
				open = append(open, strings.SplitN(head, "\r\n", 2)[0])
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(open) > 0 {
		t.Fatalf("%d of %d slow connections still open after 5 s (first: %s)", len(open), bodies+headers, open[0])
	}
	t.Logf("%d slow connections cut off in %s", bodies+headers, time.Since(start).Round(time.Millisecond))

	// An idle keep-alive is closed after the idle timeout.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", err, resp)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := br.ReadByte(); err == nil || isTimeout(err) {
		t.Fatalf("an idle keep-alive stayed open: %v", err)
	}

	// Their goroutines are gone too.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base+10 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base+10 {
		t.Fatalf("%d goroutines, %d before the slow clients", n, base)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)
}

// TestUnauthenticatedRequestsAreAnsweredBeforeTheirBodies: a request without a valid token gets its
// 401 at once and its connection closed, without the server waiting for (or draining) a body that
// may never come.
func TestUnauthenticatedRequestsAreAnsweredBeforeTheirBodies(t *testing.T) {
	f := newFixture(t, []string{ingestToken}, []string{adminToken})
	addr := serve(t, f, Timeouts{Read: time.Minute}) // only the early answer can end these quickly
	for _, p := range []string{"/v1/events/installation.requested", "/v1/admin/dlq/replay", "/ui/replay"} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\nContent-Type: application/json\r\nContent-Length: 200000\r\n\r\n{", p)
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s: no answer before the body: %v", p, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", p, resp.StatusCode)
		}
		if _, err := br.ReadByte(); err == nil || isTimeout(err) {
			t.Errorf("%s: the connection stayed open waiting for the body: %v", p, err)
		}
		c.Close()
	}
}
