package httpapi

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// A UI session cookie is "<sid>.<issued unix>.<expiry unix>.<mac>", the mac made with a key derived
// from the admin token used to log in, so any replica accepts it and removing a token from
// KOPRU_ADMIN_TOKENS ends its sessions. A session lives sessionIdle past its last use (each request
// in the second half of that renews the cookie), never more than sessionMax past the login, and
// ends at once on logout: the sid is recorded as revoked (Revocations) until its cookie would expire.
const (
	sessionCookie = "kopru_ui"
	csrfCookie    = "kopru_csrf" // bearer mode: the per-session nonce behind the CSRF token
	sessionIdle   = 30 * time.Minute
	sessionMax    = 12 * time.Hour
)

type session struct {
	key    int    // index of the admin token
	sid    string // cookie sessions: the session id; bearer mode: the CSRF cookie's nonce
	csrf   string
	bearer bool  // the request carried the token itself (an auth proxy)
	iat    int64 // cookie sessions: login time (unix)
	exp    int64 // cookie sessions: expiry (unix)
}

func randomID() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (ts tokenSet) cookieValue(key int, sid string, iat, exp int64) string {
	is, es := strconv.FormatInt(iat, 10), strconv.FormatInt(exp, 10)
	return sid + "." + is + "." + es + "." + base64.RawURLEncoding.EncodeToString(ts.mac(key, "session", sid, is, es))
}

// newSession starts a cookie session for admin token key.
func (ts tokenSet) newSession(key int, now time.Time) (string, session) {
	s := ts.session(key, randomID())
	s.iat, s.exp = now.Unix(), now.Add(sessionIdle).Unix()
	return ts.cookieValue(key, s.sid, s.iat, s.exp), s
}

func (ts tokenSet) session(key int, sid string) session {
	return session{key: key, sid: sid, csrf: base64.RawURLEncoding.EncodeToString(ts.mac(key, "csrf", sid))}
}

// renewal returns a renewed cookie value when s is in the second half of its idle lifetime (and may
// still be extended), else "".
func (ts tokenSet) renewal(s session, now time.Time) (string, int) {
	if s.bearer || s.exp-now.Unix() > int64(sessionIdle.Seconds()/2) {
		return "", 0
	}
	exp := min(now.Add(sessionIdle).Unix(), s.iat+int64(sessionMax.Seconds()))
	if exp <= s.exp {
		return "", 0
	}
	return ts.cookieValue(s.key, s.sid, s.iat, exp), int(exp - now.Unix())
}

// parseSession checks a session cookie's mac and lifetime (not revocation).
func (ts tokenSet) parseSession(v string, now time.Time) (session, bool) {
	parts := strings.Split(v, ".")
	if len(parts) != 4 {
		return session{}, false
	}
	iat, err1 := strconv.ParseInt(parts[1], 10, 64)
	exp, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || now.Unix() >= exp || exp > iat+int64(sessionMax.Seconds()) {
		return session{}, false
	}
	mac, err := base64.RawURLEncoding.DecodeString(parts[3])
	if err != nil {
		return session{}, false
	}
	found := -1
	for i := range ts.keys {
		if hmac.Equal(mac, ts.mac(i, "session", parts[0], parts[1], parts[2])) {
			found = i
		}
	}
	if found < 0 {
		return session{}, false
	}
	s := ts.session(found, parts[0])
	s.iat, s.exp = iat, exp
	return s, true
}

// bearerSession is the session of a request that carries admin token key itself. Its CSRF token
// hangs on a random nonce kept in a signed cookie (made here when the request has none, returned as
// the cookie to set), so every browser behind the proxy has its own token and none lasts forever.
func (ts tokenSet) bearerSession(key int, r *http.Request, now time.Time) (session, *http.Cookie) {
	if c, err := r.Cookie(csrfCookie); err == nil {
		if parts := strings.Split(c.Value, "."); len(parts) == 3 {
			exp, err := strconv.ParseInt(parts[1], 10, 64)
			mac, merr := base64.RawURLEncoding.DecodeString(parts[2])
			if err == nil && merr == nil && now.Unix() < exp && hmac.Equal(mac, ts.mac(key, "csrf-nonce", parts[0], parts[1])) {
				s := ts.session(key, parts[0])
				s.bearer = true
				return s, nil
			}
		}
	}
	nonce, exp := randomID(), strconv.FormatInt(now.Add(sessionMax).Unix(), 10)
	s := ts.session(key, nonce)
	s.bearer = true
	v := nonce + "." + exp + "." + base64.RawURLEncoding.EncodeToString(ts.mac(key, "csrf-nonce", nonce, exp))
	return s, &http.Cookie{Name: csrfCookie, Value: v, Path: "/ui/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		MaxAge: int(sessionMax.Seconds())}
}

// Revocations records logged-out sessions until their cookies expire. Implementations must be safe
// for concurrent use; a shared one (KVRevocations) makes a logout hold on every replica.
type Revocations interface {
	Revoke(ctx context.Context, sid string, until time.Time) error
	// Revoked reports whether sid was revoked; an error means "cannot tell" (the session is refused).
	Revoked(ctx context.Context, sid string) (bool, error)
}

// memRevocations is the in-process default: a logout holds on this replica only.
type memRevocations struct {
	mu sync.Mutex
	m  map[string]time.Time
}

func newMemRevocations() *memRevocations { return &memRevocations{m: map[string]time.Time{}} }

func (r *memRevocations) Revoke(_ context.Context, sid string, until time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	for k, t := range r.m {
		if now.After(t) {
			delete(r.m, k)
		}
	}
	r.m[sid] = until
	return nil
}

func (r *memRevocations) Revoked(_ context.Context, sid string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.m[sid]
	return ok, nil
}

// KVRevocations keeps revocations in a JetStream key-value bucket (Köprü uses the ledger bucket, whose
// max age outlives every session), so a logout holds on every replica.
func KVRevocations(kv jetstream.KeyValue) Revocations { return kvRevocations{kv} }

type kvRevocations struct{ kv jetstream.KeyValue }

func revocationKey(sid string) string { return "ui-logout." + sid } // sids are base64url: key-safe

func (k kvRevocations) Revoke(ctx context.Context, sid string, until time.Time) error {
	_, err := k.kv.Put(ctx, revocationKey(sid), []byte(until.UTC().Format(time.RFC3339)))
	return err
}

func (k kvRevocations) Revoked(ctx context.Context, sid string) (bool, error) {
	_, err := k.kv.Get(ctx, revocationKey(sid))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return false, nil
	}
	return false, err
}

// loginLimiter throttles failed logins per client address: a bucket of loginBurst attempts that
// refills one every loginRefill. Safe for concurrent use; it forgets full buckets when it grows.
type loginLimiter struct {
	mu      sync.Mutex
	buckets map[string]*loginBucket
	now     func() time.Time
}

type loginBucket struct {
	tokens float64
	at     time.Time
}

const (
	loginBurst   = 5
	loginRefill  = 6 * time.Second // 10 a minute after the burst
	loginClients = 10000
)

func newLoginLimiter() *loginLimiter {
	return &loginLimiter{buckets: map[string]*loginBucket{}, now: time.Now}
}

// clientKey is the address a request came from (the peer; X-Forwarded-For can be forged).
func clientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (l *loginLimiter) refill(b *loginBucket, now time.Time) {
	b.tokens = min(loginBurst, b.tokens+now.Sub(b.at).Seconds()/loginRefill.Seconds())
	b.at = now
}

// wait returns how long client must wait before its next attempt (0: it may try now).
func (l *loginLimiter) wait(client string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[client]
	if !ok {
		return 0
	}
	l.refill(b, l.now())
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) * float64(loginRefill))
}

// fail spends one attempt of client's bucket.
func (l *loginLimiter) fail(client string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[client]
	if !ok {
		if len(l.buckets) >= loginClients {
			for k, o := range l.buckets {
				if l.refill(o, now); o.tokens >= loginBurst || len(l.buckets) >= loginClients {
					delete(l.buckets, k) // full buckets first; past the bound, any
				}
			}
		}
		b = &loginBucket{tokens: loginBurst, at: now}
		l.buckets[client] = b
	}
	l.refill(b, now)
	b.tokens = max(0, b.tokens-1)
}
