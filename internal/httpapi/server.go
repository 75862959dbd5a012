package httpapi

import (
	"io"
	"net/http"
	"time"
)

// Timeouts bound how long one connection can hold the server, so that slow or silent clients
// (slowloris: headers or a body trickled a byte at a time, keep-alives left open) cost a goroutine
// and a file descriptor for seconds, not forever. Zero fields take DefaultTimeouts' values.
type Timeouts struct {
	ReadHeader time.Duration // the request line and headers
	Read       time.Duration // the whole request, body included; lifted once the body is read
	Write      time.Duration // from the end of the headers to the end of the response
	Idle       time.Duration // a keep-alive connection waiting for its next request
}

// DefaultTimeouts: 10 s for headers, 30 s for a whole request (1 MiB at 35 KiB/s), 2 minutes for
// the response, 60 s idle. Long admin operations extend their own write deadline (extendWrite).
func DefaultTimeouts() Timeouts {
	return Timeouts{ReadHeader: 10 * time.Second, Read: 30 * time.Second, Write: 2 * time.Minute, Idle: 60 * time.Second}
}

// MaxHeaderBytes bounds the request line and headers.
const MaxHeaderBytes = 64 << 10

// NewServer returns the HTTP server for h with the timeouts t (zero fields: DefaultTimeouts).
func NewServer(h http.Handler, t Timeouts) *http.Server {
	d := DefaultTimeouts()
	for _, p := range []struct{ v, def *time.Duration }{{&t.ReadHeader, &d.ReadHeader}, {&t.Read, &d.Read},
		{&t.Write, &d.Write}, {&t.Idle, &d.Idle}} {
		if *p.v <= 0 {
			*p.v = *p.def
		}
	}
	return &http.Server{Handler: liftReadDeadline(h), ReadHeaderTimeout: t.ReadHeader, ReadTimeout: t.Read,
		WriteTimeout: t.Write, IdleTimeout: t.Idle, MaxHeaderBytes: MaxHeaderBytes}
}

// liftReadDeadline clears the connection's read deadline once the request has been read (at once for
// a request without a body, else when the handler reaches the body's end), so ReadTimeout bounds the
// client's sending, not the handler's work: net/http cancels the request's context when a read
// deadline passes under a running handler.
func liftReadDeadline(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
			_ = rc.SetReadDeadline(time.Time{})
		} else {
			r.Body = &eofHook{ReadCloser: r.Body, atEOF: func() { _ = rc.SetReadDeadline(time.Time{}) }}
		}
		h.ServeHTTP(w, r)
	})
}

type eofHook struct {
	io.ReadCloser
	atEOF func()
	done  bool
}

func (e *eofHook) Read(p []byte) (int, error) {
	n, err := e.ReadCloser.Read(p)
	if err == io.EOF && !e.done {
		e.done = true
		e.atEOF()
	}
	return n, err
}

// extendWrite gives a long handler (a replay of thousands of dead letters) d more to write its answer.
func extendWrite(w http.ResponseWriter, d time.Duration) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(d))
}
