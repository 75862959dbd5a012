package adapter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// MaxResponseBytes caps what is read of a vendor answer.
const MaxResponseBytes = 4 << 20

// NewHTTPClient returns an HTTP client whose pool keeps as many idle connections per host as calls may
// be in flight (Go's default keeps 2, which costs ~40% of throughput at 32 concurrent calls).
func NewHTTPClient(concurrency int) *http.Client {
	if concurrency < 2 {
		concurrency = 2
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = concurrency * 2
	tr.MaxIdleConnsPerHost = concurrency
	tr.MaxConnsPerHost = 0
	tr.IdleConnTimeout = 90 * time.Second
	return &http.Client{Transport: tr, CheckRedirect: CheckRedirect}
}

// MaxRedirects is how many same-origin redirects a vendor call follows.
const MaxRedirects = 3

// CheckRedirect is the redirect policy of every vendor call (PostJSON applies it whatever client it is
// given): a redirect is followed only when it stays on the same origin (scheme, host and port) and keeps
// the method and body (307, 308), at most MaxRedirects times. Anything else is not followed and the
// redirect answer itself comes back, classified by ClassifyStatus as rejected with the Location's host
// in the message: credentials (Licrus' AuthTicket, Lean Soft's auth header, DİA's password and API key)
// never go to another host, and a POST is never silently turned into a GET.
func CheckRedirect(req *http.Request, via []*http.Request) error {
	if len(via) == 0 {
		return nil
	}
	first := via[0].URL
	if len(via) > MaxRedirects || !sameOrigin(first, req.URL) || req.Method != via[0].Method {
		return http.ErrUseLastResponse
	}
	return nil
}

func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Hostname(), b.Hostname()) && port(a) == port(b)
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "https") {
		return "443"
	}
	return "80"
}

// validHeaders reports the first header whose name or value Go's client would refuse to send (control
// characters such as CR/LF), so that such a request is refused here as the event's problem rather than
// by the transport as if the vendor had failed.
func validHeaders(h http.Header) (string, bool) {
	for k, vs := range h {
		if k == "" || strings.IndexFunc(k, func(r rune) bool { return r <= ' ' || r >= 0x7f || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", r) }) >= 0 {
			return k, false
		}
		for _, v := range vs {
			for i := 0; i < len(v); i++ {
				if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
					return k, false
				}
			}
		}
	}
	return "", true
}

// Observer is told how long each vendor request took. statusClass is "2xx".."5xx", or "error" when no
// HTTP answer came back.
type Observer func(target, operation, statusClass string, d time.Duration)

// Client is the HTTP plumbing every adapter shares. It is safe for concurrent use.
type Client struct {
	HTTP    *http.Client // nil: a pool sized for 32 calls
	Target  string       // "licrus", "leansoft", "dia": the metric label
	Observe Observer     // may be nil
}

// Response is a vendor's HTTP answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// PostJSON marshals body, posts it to url and returns the answer.
//
// A transport failure comes back as an *Error: ClassNotSent when the request was never fully written
// (the vendor cannot have acted on it), ClassUnknown when it was (timeout or reset while waiting for the
// answer). A non-2xx answer comes back as both the *Response and the *Error of ClassifyStatus, so an
// adapter may read the vendor's body before deciding. Nothing of the request body (where secrets live)
// is ever put into an error.
func (c *Client) PostJSON(ctx context.Context, operation, url string, body any, header http.Header) (*Response, error) {
	payload, err := json.Marshal(body)
	if err != nil {
		return nil, &Error{Class: ClassInvalid, Reason: ReasonEncode, Msg: "cannot encode request: " + OneLine(err.Error()), Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return nil, &Error{Class: ClassNotSent, Reason: ReasonConfig, Msg: "bad target URL: " + OneLine(err.Error()), Err: err}
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Accept", "application/json")
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if tp := TraceparentFrom(ctx); tp != "" && req.Header.Get("Traceparent") == "" {
		req.Header.Set("Traceparent", tp)
	}
	if k, ok := validHeaders(req.Header); !ok {
		return nil, &Error{Class: ClassInvalid, Reason: ReasonHeader,
			Msg: fmt.Sprintf("header %q holds characters an HTTP request cannot carry; no call made", OneLine(k))}
	}
	var wrote bool
	trace := &httptrace.ClientTrace{WroteRequest: func(i httptrace.WroteRequestInfo) { wrote = i.Err == nil }}
	req = req.WithContext(httptrace.WithClientTrace(ctx, trace))

	hc := *defaultClient
	if c.HTTP != nil {
		hc = *c.HTTP
	}
	hc.CheckRedirect = CheckRedirect // whatever client the adapter was given
	start := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		c.observe(operation, "error", time.Since(start))
		return nil, transportError(err, wrote)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes))
	c.observe(operation, statusClass(resp.StatusCode), time.Since(start))
	if err != nil {
		// The vendor answered and then the connection broke: it has seen the whole request.
		return nil, &Error{Class: ClassUnknown, Reason: ReasonReset, Status: strconv.Itoa(resp.StatusCode),
			Msg: "connection broke while reading the answer: " + OneLine(err.Error()), Err: err}
	}
	r := &Response{Status: resp.StatusCode, Header: resp.Header, Body: data}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return r, nil
	}
	return r, ClassifyStatus(resp.StatusCode, resp.Header)
}

var defaultClient = NewHTTPClient(32)

func (c *Client) observe(operation, class string, d time.Duration) {
	if c.Observe != nil {
		c.Observe(c.Target, operation, class, d)
	}
}

func statusClass(code int) string {
	if code < 100 || code > 599 {
		return "error"
	}
	return strconv.Itoa(code/100) + "xx"
}

// transportError classifies a failure of http.Client.Do. wrote says whether the whole request had been
// written to the connection when it failed.
func transportError(err error, wrote bool) *Error {
	reason := ReasonTransport
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		reason = ReasonTimeout
	case errors.Is(err, context.Canceled):
		reason = ReasonCanceled
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		wrote = false
		reason = ReasonDial
	}
	var de *net.DNSError
	if errors.As(err, &de) {
		wrote = false
		reason = ReasonDNS
	}
	msg := OneLine(unwrapURL(err).Error())
	if !wrote {
		return &Error{Class: ClassNotSent, Reason: reason, Msg: "request not sent: " + msg, Err: err}
	}
	return &Error{Class: ClassUnknown, Reason: reason, Msg: "no answer after the request was sent: " + msg, Err: err}
}

// unwrapURL drops url.Error's "Post \"http://…\":" prefix: URLs may carry credentials in some setups.
func unwrapURL(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}

// ClassifyStatus maps a non-2xx HTTP status to a class: 429 and 503 (and any 5xx that carries
// Retry-After, and 408) are retryable and carry the wait asked for; any other 5xx is an unknown outcome
// (the vendor may have acted before failing); other 4xx are rejections.
func ClassifyStatus(code int, h http.Header) *Error {
	st := strconv.Itoa(code)
	ra, hasRA := RetryAfter(h, time.Now())
	switch {
	case code >= 300 && code < 400:
		where := "no Location"
		if loc, err := url.Parse(h.Get("Location")); err == nil && loc.Host != "" {
			where = "to " + clipHost(loc.Host)
		} else if err == nil && h.Get("Location") != "" {
			where = "to a path on the same host"
		}
		return &Error{Class: ClassRejected, Reason: ReasonRedirect, Status: st,
			Msg: fmt.Sprintf("vendor answered %d %s (%s); not followed: Köprü follows only same-origin 307/308 redirects, "+
				"so credentials never go to another host; check the target URL", code, http.StatusText(code), where)}
	case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable || code == http.StatusRequestTimeout:
		return &Error{Class: ClassRetryable, Reason: retryStatus[code], Status: st, RetryAfter: ra,
			Msg: fmt.Sprintf("vendor answered %d %s", code, http.StatusText(code))}
	case code >= 500 && hasRA:
		return &Error{Class: ClassRetryable, Reason: ReasonHTTP5xx, Status: st, RetryAfter: ra,
			Msg: fmt.Sprintf("vendor answered %d %s with Retry-After", code, http.StatusText(code))}
	case code >= 500:
		return &Error{Class: ClassUnknown, Reason: ReasonHTTP5xx, Status: st,
			Msg: fmt.Sprintf("vendor answered %d %s; it may have acted before failing", code, http.StatusText(code))}
	default:
		return &Error{Class: ClassRejected, Reason: ReasonHTTP4xx, Status: st,
			Msg: fmt.Sprintf("vendor refused the request: %d %s", code, http.StatusText(code))}
	}
}

// retryStatus are the reasons of the statuses that always ask to retry.
var retryStatus = map[int]Reason{
	http.StatusRequestTimeout:     ReasonHTTP408,
	http.StatusTooManyRequests:    ReasonHTTP429,
	http.StatusServiceUnavailable: ReasonHTTP503,
}

// MaxRetryAfter is the longest Retry-After read: larger values (up to any number of digits) read as
// this, so a hostile value cannot overflow a time.Duration. The worker caps every wait at the route's
// budget (worker.Policy.MaxWait) and dead-letters an event whose vendor asks for longer.
const MaxRetryAfter = 365 * 24 * time.Hour

// RetryAfter reads a Retry-After header (seconds or an HTTP date), at most MaxRetryAfter. ok is false
// when there is none.
func RetryAfter(h http.Header, now time.Time) (d time.Duration, ok bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if allDigits(v) {
		const maxSecs = int64(MaxRetryAfter / time.Second)
		s, err := strconv.ParseInt(v, 10, 64)
		if err != nil || s > maxSecs { // only overflow can fail here
			return MaxRetryAfter, true
		}
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, MaxRetryAfter), true
		}
		return 0, true
	}
	return 0, false
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// clipHost keeps a Location host printable and short for a one-line message.
func clipHost(h string) string {
	h = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, h)
	if len(h) > 100 {
		h = h[:100] + "…"
	}
	return h
}

type traceKey struct{}

// WithTraceparent returns ctx carrying a W3C traceparent; PostJSON sends it as the traceparent header
// of every vendor request made with that context. The worker sets it from the event's envelope.
func WithTraceparent(ctx context.Context, tp string) context.Context {
	if tp == "" {
		return ctx
	}
	return context.WithValue(ctx, traceKey{}, tp)
}

// TraceparentFrom returns the traceparent WithTraceparent put in ctx, or "".
func TraceparentFrom(ctx context.Context) string {
	tp, _ := ctx.Value(traceKey{}).(string)
	return tp
}
