package dia

import (
	"context"
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
