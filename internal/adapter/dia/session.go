package dia

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/kopru/kopru/internal/adapter"
)

// TargetName is the metric label of every DİA request.
const TargetName = "dia"

// Sentinel errors, wrapped by the *adapter.Error the Session returns, for errors.Is.
var (
	// ErrLoginRejected: DİA refused the login (wrong user name, password or API key, licence). Calls
	// fail with it, without logging in again, for Config.LoginCooldown.
	ErrLoginRejected = errors.New("dia: login rejected")
	// ErrNoCredits: DİA answered 406, not enough credits (kontör).
	ErrNoCredits = errors.New("dia: not enough credits")
	// ErrLicence: DİA answered 402 or 405, a licence problem.
	ErrLicence = errors.New("dia: licence problem")
	// ErrSession: the session was refused again right after a fresh login. It wraps
	// adapter.ErrSessionEnded, the signal the worker reads.
	ErrSession = fmt.Errorf("dia: session refused after re-login: %w", adapter.ErrSessionEnded)
	// ErrVendor: DİA refused or failed the call with a body code (400, 401, 5xx…).
	ErrVendor = errors.New("dia: vendor error")
	// ErrBadAnswer: DİA's answer could not be read.
	ErrBadAnswer = errors.New("dia: unreadable answer")
)

// Session is the process's one DİA session, shared by every target and goroutine. It logs in lazily on
// the first call; concurrent callers wait for that single login. When a call answers that the session
// is invalid (body code 401 or 419, HTTP 401 or 419, or INVALID_SESSION in msg) it logs in again once
// and repeats the call once. When DİA refuses a login, calls fail fast with the same ClassRejected error
// for Config.LoginCooldown instead of logging in per event.
//
// Every error it returns is a *adapter.Error whose message never holds the password, API key or session
// id. It is safe for concurrent use.
type Session struct {
	cfg    Config
	client *adapter.Client
	now    func() time.Time

	mu        sync.Mutex
	id        string         // current session id; "" when none
	inflight  *loginCall     // the login under way, if any
	failErr   *adapter.Error // the rejection of the last login, during its cool-down
	failUntil time.Time
	old       []string // session ids seen before, scrubbed from vendor messages too
}

type loginCall struct {
	done chan struct{}
	id   string
	err  *adapter.Error
}

// NewSession checks cfg and returns a Session that will log in on first use. client carries the HTTP
// pool and the metrics observer; nil means a default pool. Its Target label is set to "dia".
func NewSession(cfg Config, client *adapter.Client) (*Session, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := adapter.Client{}
	if client != nil {
		c = *client
	}
	c.Target = TargetName
	return &Session{cfg: cfg, client: &c, now: time.Now}, nil
}

// String names the session without any secret.
func (s *Session) String() string {
	return fmt.Sprintf("dia.Session{user:%q, firma:%d, donem:%d}", s.cfg.Username, s.cfg.FirmaKodu, s.cfg.DonemKodu)
}

// Filter is one condition of a _listele call.
type Filter struct {
	Field    string `json:"field"`
	Operator string `json:"operator"`
	Value    any    `json:"value"`
}

// params is the inside of a call body; its field order is the doc's.
type params struct {
	SessionID string         `json:"session_id"`
	FirmaKodu int            `json:"firma_kodu"`
	DonemKodu int            `json:"donem_kodu"`
	Kart      map[string]any `json:"kart,omitempty"`
	Filters   []Filter       `json:"filters,omitempty"`
	Limit     int            `json:"limit,omitempty"`
}

// Insert calls the `_ekle` service with kart and returns the new record's key and DİA's message.
// The body is {"<service>":{"session_id","firma_kodu","donem_kodu","kart"}}; `_key_` link fields in
// kart (numbers or filter objects) pass through untouched.
//
// Errors (*adapter.Error): body code 400 → ClassRejected with DİA's message (invalid combo, record not
// found, several records match…); 406 → ClassRejected "not enough credits (kontör)"; 402/405 →
// ClassRejected licence; 401 after a re-login → ClassRejected (missing rights); 419/INVALID_SESSION
// after a re-login → ClassRetryable; 5xx (or an unreadable answer) → ClassUnknown, since DİA may have
// written the record and gives no Retry-After; transport errors and HTTP statuses as adapter.Client
// classified them. The operation label of the request metric is the service name.
func (s *Session) Insert(ctx context.Context, service string, kart map[string]any) (key, msg string, err error) {
	if !strings.HasSuffix(service, "_ekle") {
		return "", "", adapter.Invalid("dia: %q is not an _ekle service", service)
	}
	rep, err := s.call(ctx, service, params{Kart: kart}, false)
	if err != nil {
		return "", "", err
	}
	return rep.Key, rep.Msg, nil
}

// List calls a `_listele` service with filters and limit (0: DİA's default) and returns the records of
// its `result`. Errors are classified as for Insert, except that a 5xx or unreadable answer is
// ClassRetryable: a listing changes nothing.
func (s *Session) List(ctx context.Context, service string, filters []Filter, limit int) ([]map[string]any, error) {
	if !strings.HasSuffix(service, "_listele") {
		return nil, adapter.Invalid("dia: %q is not a _listele service", service)
	}
	rep, err := s.call(ctx, service, params{Filters: filters, Limit: limit}, true)
	if err != nil {
		return nil, err
	}
	if len(rep.Result) == 0 || string(rep.Result) == "null" {
		return nil, nil
	}
	var recs []map[string]any
	dec := json.NewDecoder(strings.NewReader(string(rep.Result)))
	dec.UseNumber()
	if err := dec.Decode(&recs); err != nil {
		return nil, &adapter.Error{Class: adapter.ClassRetryable, Reason: adapter.ReasonBadAnswer, Status: rep.Code,
			Msg: "DİA " + service + ": result is not a list of records", Err: ErrBadAnswer}
	}
	return recs, nil
}

// FindCariKart looks a customer card up by carikartkodu (scf_carikart_listele, limit 1) and returns its
// _key. found is false when there is none.
func (s *Session) FindCariKart(ctx context.Context, code string) (key string, found bool, err error) {
	recs, err := s.List(ctx, "scf_carikart_listele",
		[]Filter{{Field: "carikartkodu", Operator: "=", Value: code}}, 1)
	if err != nil {
		return "", false, err
	}
	for _, r := range recs {
		if c, ok := r["carikartkodu"]; ok && fmt.Sprint(c) != code {
			continue // a server that ignored the filter must not make us adopt someone else's card
		}
		if k := flexText(r["_key"]); k != "" {
			return k, true, nil
		}
	}
	return "", false, nil
}

// Close logs out of the current session, if any. A later call logs in again. Safe to call twice.
func (s *Session) Close(ctx context.Context) error {
	s.mu.Lock()
	id := s.id
	if id != "" {
		s.old = append(s.old, id)
		s.id = ""
	}
	s.mu.Unlock()
	if id == "" {
		return nil
	}
	body := map[string]any{"logout": map[string]any{"session_id": id}}
	resp, err := s.client.PostJSON(ctx, "logout", s.cfg.endpoint("sis"), body, nil)
	rep, perr := parseReply(resp)
	switch {
	case perr == nil && rep.Code == "200":
		return nil
	case perr == nil:
		return &adapter.Error{Class: adapter.ClassRejected, Reason: adapter.ReasonLogout, Status: rep.Code,
			Msg: "DİA logout refused: " + s.scrub(rep.Msg, id), Err: ErrVendor}
	case err != nil:
		return err
	default:
		return &adapter.Error{Class: adapter.ClassUnknown, Reason: adapter.ReasonLogout, Msg: "DİA logout: unreadable answer", Err: ErrBadAnswer}
	}
}

// call performs one service call, logging in first if needed and once more if DİA says the session is
// invalid. readOnly selects how a 5xx or unreadable answer is classified.
func (s *Session) call(ctx context.Context, service string, p params, readOnly bool) (*reply, error) {
	module, _, ok := strings.Cut(service, "_")
	if !ok || module == "" {
		return nil, adapter.Invalid("dia: service %q has no module prefix", service)
	}
	for attempt := 0; ; attempt++ {
		sid, err := s.session(ctx)
		if err != nil {
			return nil, err
		}
		p.SessionID, p.FirmaKodu, p.DonemKodu = sid, s.cfg.FirmaKodu, s.cfg.DonemKodu
		resp, herr := s.client.PostJSON(ctx, service, s.cfg.endpoint(module), map[string]params{service: p}, nil)
		if resp == nil { // transport failure, classified by adapter.Client; nothing of the body in it
			return nil, herr
		}
		rep, perr := parseReply(resp)
		if sessionInvalid(resp.Status, rep, perr) {
			s.invalidate(sid)
			if attempt == 0 {
				continue
			}
			return nil, s.sessionError(service, resp.Status, rep, perr, sid)
		}
		return s.classify(service, resp, herr, rep, perr, sid, readOnly)
	}
}

// session returns the current session id, logging in (once for all concurrent callers) if there is none.
func (s *Session) session(ctx context.Context) (string, error) {
	s.mu.Lock()
	if s.id != "" {
		id := s.id
		s.mu.Unlock()
		return id, nil
	}
	if s.failErr != nil && s.now().Before(s.failUntil) {
		e := *s.failErr
		s.mu.Unlock()
		return "", &e
	}
	c := s.inflight
	if c == nil {
		c = &loginCall{done: make(chan struct{})}
		s.inflight = c
		// The login is shared: it must not die with the first caller's context.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.loginTimeout())
		go func() {
			defer cancel()
			id, err := s.login(lctx)
			s.mu.Lock()
			c.id, c.err = id, err
			s.inflight = nil
			if err == nil {
				s.id, s.failErr = id, nil
			} else if err.Class == adapter.ClassRejected {
				s.failErr, s.failUntil = err, s.now().Add(s.cfg.loginCooldown())
			}
			s.mu.Unlock()
			close(c.done)
		}()
	}
	s.mu.Unlock()
	select {
	case <-c.done:
		if c.err != nil {
			e := *c.err
			return "", &e
		}
		return c.id, nil
	case <-ctx.Done():
		return "", &adapter.Error{Class: adapter.ClassNotSent, Reason: adapter.ReasonCanceled,
			Msg: "gave up waiting for the DİA login: " + ctx.Err().Error(), Err: ctx.Err()}
	}
}

// invalidate forgets sid if it is still the current session.
func (s *Session) invalidate(sid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.id == sid && sid != "" {
		s.old = append(s.old, sid)
		if len(s.old) > 16 {
			s.old = s.old[len(s.old)-16:]
		}
		s.id = ""
	}
}

// login asks DİA for a session id. A refusal (4xx body code or HTTP 401/403) is ClassRejected; any other
// failure is retryable or not-sent: a login has no effect, so the event's call was simply not made.
func (s *Session) login(ctx context.Context) (string, *adapter.Error) {
	dsu := "False"
	if s.cfg.DisconnectSameUser {
		dsu = "True"
	}
	body := map[string]any{"login": map[string]any{
		"username":             s.cfg.Username,
		"password":             s.cfg.Password,
		"disconnect_same_user": dsu,
		"params":               map[string]any{"apikey": s.cfg.APIKey},
	}}
	resp, herr := s.client.PostJSON(ctx, "login", s.cfg.endpoint("sis"), body, nil)
	if resp == nil {
		te := adapter.AsError(herr)
		e := *te
		if e.Class == adapter.ClassUnknown { // a login that may have happened changes nothing
			e.Class = adapter.ClassNotSent
		}
		e.Msg = "DİA login failed: " + e.Msg
		return "", &e
	}
	rep, perr := parseReply(resp)
	if perr != nil {
		if herr != nil {
			te := *adapter.AsError(herr)
			if te.Reason == adapter.ReasonRedirect { // not followed: the password never goes to another host
				te.Msg = "DİA login: " + te.Msg
				return "", &te
			}
			if te.Class == adapter.ClassRejected {
				kind := loginURL
				if resp.Status == 401 || resp.Status == 403 {
					kind = loginCredentials
				}
				return "", s.loginRejected(te.Status, "HTTP "+te.Status, kind)
			}
			if te.Class == adapter.ClassUnknown {
				te.Class = adapter.ClassRetryable
			}
			te.Msg = "DİA login failed: " + te.Msg
			return "", &te
		}
		return "", &adapter.Error{Class: adapter.ClassRetryable, Reason: adapter.ReasonBadAnswer, Status: statusText(resp.Status),
			Msg: "DİA login: unreadable answer", Err: ErrBadAnswer}
	}
	switch {
	case rep.Code == "200":
		id := strings.TrimSpace(rep.Msg)
		if id == "" {
			return "", &adapter.Error{Class: adapter.ClassRetryable, Reason: adapter.ReasonBadAnswer, Status: rep.Code,
				Msg: "DİA login answered 200 without a session id", Err: ErrBadAnswer}
		}
		return id, nil
	case rep.Code == "402" || rep.Code == "405":
		return "", s.loginRejected(rep.Code, rep.Msg, loginLicence)
	case strings.HasPrefix(rep.Code, "4"):
		return "", s.loginRejected(rep.Code, rep.Msg, loginCredentials)
	default:
		return "", &adapter.Error{Class: adapter.ClassRetryable, Reason: adapter.ReasonLogin, Status: rep.Code,
			Msg: fmt.Sprintf("DİA login failed (%s %s)", rep.Code, s.scrub(rep.Msg, "")), Err: ErrVendor}
	}
}

type loginProblem int

const (
	loginCredentials loginProblem = iota
	loginLicence
	loginURL
)

func (s *Session) loginRejected(code, vendorMsg string, kind loginProblem) *adapter.Error {
	vendorMsg = s.scrub(vendorMsg, "")
	var hint string
	var reason adapter.Reason
	err := ErrLoginRejected
	switch kind {
	case loginLicence:
		hint, reason = "DİA reports a licence problem for this user or company (402/405): check the web-service licence", adapter.ReasonLicence
		err = errors.Join(ErrLoginRejected, ErrLicence)
	case loginURL:
		hint, reason = "check KOPRU_DIA_URL: it must be the API root https://<server>.ws.dia.com.tr/api/v3", adapter.ReasonLoginRejected
	default:
		hint, reason = "check the DİA user name, password and API key (KOPRU_DIA_USERNAME, KOPRU_DIA_PASSWORD, KOPRU_DIA_API_KEY) and that the user may use web services", adapter.ReasonLoginRejected
	}
	return &adapter.Error{Class: adapter.ClassRejected, Reason: reason, Status: code, Err: err,
		Msg: adapter.OneLine(fmt.Sprintf("DİA refused the login of user %q (%s %s): %s, then replay; logins pause for %s",
			s.cfg.Username, code, vendorMsg, hint, s.cfg.loginCooldown()))}
}

// sessionError is the answer when the session is still refused after a fresh login.
func (s *Session) sessionError(service string, status int, rep *reply, perr error, sid string) error {
	code := statusText(status)
	msg := ""
	if perr == nil {
		code, msg = rep.Code, s.scrub(rep.Msg, sid)
	}
	if code == "401" && !strings.Contains(strings.ToUpper(msg), "INVALID_SESSION") {
		// A fresh session still unauthorised: the user lacks the right for this service.
		return &adapter.Error{Class: adapter.ClassRejected, Reason: adapter.ReasonVendor401, Status: code, Err: ErrVendor,
			Msg: adapter.OneLine(fmt.Sprintf("DİA %s: not authorised (401 %s) even after a fresh login; give the DİA web-service user the right for this service, then replay", service, msg))}
	}
	return &adapter.Error{Class: adapter.ClassRetryable, Reason: adapter.ReasonSession, Status: code, Err: ErrSession,
		Msg: adapter.OneLine(fmt.Sprintf("DİA %s: session refused again right after a fresh login (%s %s)", service, code, msg))}
}

// classify turns an answer that is not a session problem into a result or a *adapter.Error.
func (s *Session) classify(service string, resp *adapter.Response, herr error, rep *reply, perr error, sid string, readOnly bool) (*reply, error) {
	if perr != nil {
		if herr != nil { // no DİA body: trust adapter.Client's reading of the HTTP status
			return nil, herr
		}
		cls := adapter.ClassUnknown
		what := "the record may have been written"
		if readOnly {
			cls, what = adapter.ClassRetryable, "nothing was changed"
		}
		return nil, &adapter.Error{Class: cls, Reason: adapter.ReasonBadAnswer, Status: statusText(resp.Status), Err: ErrBadAnswer,
			Msg: fmt.Sprintf("DİA %s: unreadable answer (%s)", service, what)}
	}
	if herr != nil {
		// A status that asks to retry (429, 503, 408, 5xx with Retry-After) means it was not handled.
		if te := adapter.AsError(herr); te.Class == adapter.ClassRetryable {
			e := *te
			if m := s.scrub(rep.Msg, sid); m != "" {
				e.Msg = adapter.OneLine(e.Msg + ": " + m)
			}
			return nil, &e
		}
	}
	msg := s.scrub(rep.Msg, sid)
	fail := func(cls adapter.Class, reason adapter.Reason, err error, format string, args ...any) (*reply, error) {
		return nil, &adapter.Error{Class: cls, Reason: reason, Status: rep.Code, Err: err,
			Msg: adapter.OneLine(fmt.Sprintf(format, args...))}
	}
	switch c := rep.Code; {
	case c == "200":
		rep.Msg = msg
		return rep, nil
	case c == "406":
		return fail(adapter.ClassRejected, adapter.ReasonCredits, ErrNoCredits,
			"DİA: not enough credits (kontör) for %s — top up, then replay (%s)", service, msg)
	case c == "402" || c == "405":
		return fail(adapter.ClassRejected, adapter.ReasonLicence, ErrLicence,
			"DİA: licence problem for %s (%s %s) — check the DİA web-service licence of the user and company, then replay", service, c, msg)
	case c == "400":
		return fail(adapter.ClassRejected, adapter.ReasonVendor400, ErrVendor, "DİA refused %s: %s", service, msg)
	case strings.HasPrefix(c, "5"):
		var r *reply
		var err error
		if readOnly {
			r, err = fail(adapter.ClassRetryable, adapter.ReasonVendor5xx, ErrVendor, "DİA %s failed (%s %s); a listing changes nothing", service, c, msg)
		} else {
			r, err = fail(adapter.ClassUnknown, adapter.ReasonVendor5xx, ErrVendor,
				"DİA %s failed (%s %s); the record may or may not have been written", service, c, msg)
		}
		// A body code with DİA's own message (501 "kart kodu zaten kullanılıyor") is DİA's application
		// answering about this record: DİA is well, whatever this means for the event.
		err.(*adapter.Error).PerRecord = strings.TrimSpace(rep.Msg) != ""
		return r, err
	case strings.HasPrefix(c, "4"):
		return fail(adapter.ClassRejected, adapter.ReasonVendor4xx, ErrVendor, "DİA refused %s (%s %s)", service, c, msg)
	default:
		if readOnly {
			return fail(adapter.ClassRetryable, adapter.ReasonBadAnswer, ErrBadAnswer, "DİA %s: unexpected code %q (%s)", service, c, msg)
		}
		return fail(adapter.ClassUnknown, adapter.ReasonBadAnswer, ErrBadAnswer,
			"DİA %s: unexpected code %q (%s); the record may have been written", service, c, msg)
	}
}

// scrub removes every secret this session knows from a vendor message: DİA may echo a session id.
func (s *Session) scrub(msg, sid string) string {
	if msg == "" {
		return ""
	}
	s.mu.Lock()
	secrets := append([]string{sid, s.id, s.cfg.Password, s.cfg.APIKey}, s.old...)
	s.mu.Unlock()
	return adapter.OneLine(adapter.Scrub(msg, secrets...))
}

// reply is a DİA answer body. Codes are strings in DİA's JSON; numbers are accepted too.
type reply struct {
	Code   string
	Msg    string
	Key    string
	Result json.RawMessage
}

var errNoCode = errors.New("no DİA code in the answer")

// parseReply reads the body of resp; it fails when there is no JSON object with a code.
func parseReply(resp *adapter.Response) (*reply, error) {
	if resp == nil {
		return nil, errNoCode
	}
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(strings.NewReader(string(resp.Body)))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, err
	}
	r := &reply{Result: raw["result"]}
	r.Code = rawText(raw["code"])
	if !validCode(r.Code) { // a code is 3 digits; anything else is not DİA's answer (and never reaches a header)
		return nil, errNoCode
	}
	r.Msg = rawText(raw["msg"])
	r.Key = rawText(raw["key"])
	return r, nil
}

func validCode(c string) bool {
	if len(c) != 3 {
		return false
	}
	for _, r := range c {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// rawText reads a JSON string or number as text; other JSON is returned compacted; null is "".
func rawText(m json.RawMessage) string {
	if len(m) == 0 {
		return ""
	}
	var v any
	dec := json.NewDecoder(strings.NewReader(string(m)))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return ""
	}
	return flexText(v)
}

func flexText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return strings.TrimSpace(x)
	case json.Number:
		return x.String()
	case float64:
		return fmt.Sprintf("%.0f", x)
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

// sessionInvalid says whether an answer means "log in again": HTTP 401/419, body code 401/419, or
// INVALID_SESSION in msg.
func sessionInvalid(status int, rep *reply, perr error) bool {
	if status == 401 || status == 419 {
		return true
	}
	if perr != nil {
		return false
	}
	return rep.Code == "401" || rep.Code == "419" || strings.Contains(strings.ToUpper(rep.Msg), "INVALID_SESSION")
}

func statusText(code int) string {
	if code == 0 {
		return ""
	}
	return fmt.Sprint(code)
}
