package httpapi

import (
	"context"
	"crypto/hmac"
	"embed"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/kopru/kopru/internal/deadletter"
	"github.com/kopru/kopru/internal/ops"
)

//go:embed ui.html
var uiFS embed.FS

var uiTmpl = template.Must(template.New("ui").Funcs(template.FuncMap{
	"age":   func(d time.Duration) string { return ops.FormatAge(d) },
	"since": func(t time.Time) string { return ops.FormatAge(time.Since(t)) },
	"clip": func(s string, n int) string {
		r := []rune(s)
		if len(r) > n {
			return string(r[:n]) + "…"
		}
		return s
	},
	"ts": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"join": strings.Join,
	"ids": func(ids []uint64) string {
		s := make([]string, len(ids))
		for i, id := range ids {
			s[i] = strconv.FormatUint(id, 10)
		}
		return strings.Join(s, ",")
	},
}).ParseFS(uiFS, "ui.html"))

// authUI accepts the admin token as a bearer header, or a valid session cookie that was not revoked.
// For a bearer request it may return a CSRF cookie to set.
func (a *Admin) authUI(ts tokenSet, r *http.Request, now time.Time) (session, *http.Cookie, bool) {
	if i := ts.match(bearer(r)); i >= 0 {
		s, c := ts.bearerSession(i, r, now)
		return s, c, true
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return session{}, nil, false
	}
	s, ok := ts.parseSession(c.Value, now)
	if !ok {
		return session{}, nil, false
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if revoked, err := a.Revocations.Revoked(ctx, s.sid); err != nil || revoked {
		if err != nil {
			a.Log.Warn("session revocation check failed; refusing the session", zap.Error(err))
		}
		return session{}, nil, false
	}
	return s, nil, true
}

func (s session) checkCSRF(r *http.Request) bool {
	got := r.PostFormValue("csrf")
	return got != "" && hmac.Equal([]byte(got), []byte(s.csrf))
}

// page is what every template gets.
type page struct {
	Title   string
	CSRF    string
	Cookie  bool // logged in with a cookie (show "log out")
	Error   string
	Notice  string
	Status  *ops.Status
	List    *ops.ListResult
	Filter  ops.Filter
	Query   string // the filter as a query string, for links and hidden fields
	Detail  *ops.Detail
	Report  *ops.Report
	Action  string
	Routes  []ops.Route
	Classes []string
	Now     time.Time
	Back    string
	Groups  []ops.Group  // dead letters by route, class and normalised error
	Event   *EventStatus // the event page's timeline
	EventID string       // what the event page searched for
	Matches []EventMatch // the events a business key found
}

var classes = deadletter.ClassNames()

func uiHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

func (a *Admin) render(w http.ResponseWriter, code int, name string, p page) {
	uiHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	if err := uiTmpl.ExecuteTemplate(w, name, p); err != nil {
		a.Log.Warn("operator page template failed", zap.Error(err))
	}
}

func (a *Admin) registerUI(mux *http.ServeMux, ts tokenSet) {
	secure := func(r *http.Request) bool {
		return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
	}
	// guard runs h for an authenticated request, and checks the CSRF token of every POST.
	guard := func(h func(http.ResponseWriter, *http.Request, session)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if ts.empty() {
				a.render(w, http.StatusServiceUnavailable, "message", page{Title: "Disabled", Error: disabledAdmin})
				return
			}
			now := time.Now()
			s, cc, ok := a.authUI(ts, r, now)
			if !ok {
				refuseBody(w)
				if r.Method == http.MethodGet {
					http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
					return
				}
				w.Header().Set("WWW-Authenticate", `Bearer realm="kopru-admin"`)
				a.render(w, http.StatusUnauthorized, "message", page{Title: "Log in", Error: "log in first", Back: "/ui/login"})
				return
			}
			if cc != nil {
				if r.Method == http.MethodPost {
					// A new CSRF nonce: no form can carry its token yet.
					a.render(w, http.StatusForbidden, "message", page{Title: "Refused", Error: "the form's CSRF token is missing or wrong: reload the page and try again", Back: "/ui/"})
					return
				}
				cc.Secure = secure(r)
				http.SetCookie(w, cc)
			}
			if v, age := ts.renewal(s, now); v != "" {
				http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: v, Path: "/ui/", HttpOnly: true, Secure: secure(r),
					SameSite: http.SameSiteStrictMode, MaxAge: age})
			}
			if r.Method == http.MethodPost {
				r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
				if !s.checkCSRF(r) {
					a.render(w, http.StatusForbidden, "message", page{Title: "Refused", Error: "the form's CSRF token is missing or wrong: reload the page and try again", Back: "/ui/"})
					return
				}
			}
			h(w, r, s)
		}
	}
	mux.HandleFunc("GET /ui/login", func(w http.ResponseWriter, r *http.Request) {
		a.render(w, http.StatusOK, "login", page{Title: "Log in"})
	})
	mux.HandleFunc("POST /ui/login", func(w http.ResponseWriter, r *http.Request) {
		if ts.empty() {
			a.render(w, http.StatusServiceUnavailable, "message", page{Title: "Disabled", Error: disabledAdmin})
			return
		}
		client := clientKey(r)
		if d := a.logins.wait(client); d > 0 { // before the body is read
			refuseBody(w)
			w.Header().Set("Retry-After", strconv.Itoa(int(d.Seconds())+1))
			a.render(w, http.StatusTooManyRequests, "login", page{Title: "Log in", Error: "too many wrong tokens from your address: wait a little and try again"})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
		i := ts.match(r.PostFormValue("token"))
		if i < 0 {
			a.logins.fail(client)
			a.Log.Info("operator page login refused", zap.String("client", client))
			a.render(w, http.StatusUnauthorized, "login", page{Title: "Log in", Error: "that is not an admin token"})
			return
		}
		v, _ := ts.newSession(i, time.Now())
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: v, Path: "/ui/", HttpOnly: true, Secure: secure(r),
			SameSite: http.SameSiteStrictMode, MaxAge: int(sessionIdle.Seconds())})
		http.Redirect(w, r, "/ui/", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /ui/logout", guard(func(w http.ResponseWriter, r *http.Request, s session) {
		if !s.bearer {
			if err := a.Revocations.Revoke(r.Context(), s.sid, time.Unix(s.exp, 0)); err != nil {
				a.Log.Warn("logout could not be recorded", zap.Error(err))
				a.render(w, http.StatusServiceUnavailable, "message", page{Title: "Log out", Error: "the logout could not be recorded; try again", Back: "/ui/"})
				return
			}
		}
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/ui/", HttpOnly: true, Secure: secure(r),
			SameSite: http.SameSiteStrictMode, MaxAge: -1})
		http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
	}))
	mux.HandleFunc("GET /ui/{$}", guard(a.uiHome))
	mux.HandleFunc("GET /ui", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ui/", http.StatusMovedPermanently) })
	mux.HandleFunc("GET /ui/dlq/{id}", guard(a.uiShow))
	mux.HandleFunc("GET /ui/events", guard(a.uiEvent))
	mux.HandleFunc("POST /ui/dlq/{id}/replay", guard(func(w http.ResponseWriter, r *http.Request, s session) { a.uiAct(w, r, s, "replay", true) }))
	mux.HandleFunc("POST /ui/dlq/{id}/purge", guard(func(w http.ResponseWriter, r *http.Request, s session) { a.uiAct(w, r, s, "purge", true) }))
	mux.HandleFunc("POST /ui/replay", guard(func(w http.ResponseWriter, r *http.Request, s session) { a.uiAct(w, r, s, "replay", false) }))
	mux.HandleFunc("POST /ui/purge", guard(func(w http.ResponseWriter, r *http.Request, s session) { a.uiAct(w, r, s, "purge", false) }))
}

func (a *Admin) basePage(title string, s session) page {
	return page{Title: title, CSRF: s.csrf, Cookie: !s.bearer, Routes: a.Ops.Routes(), Classes: classes, Now: time.Now()}
}

func uiFilter(q url.Values) (ops.Filter, string) {
	f := ops.Filter{Route: q.Get("route"), Class: deadletter.Class(q.Get("class")), Grep: q.Get("q")}
	v := url.Values{}
	for k, s := range map[string]string{"route": f.Route, "class": string(f.Class), "q": f.Grep} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return f, v.Encode()
}

func (a *Admin) uiHome(w http.ResponseWriter, r *http.Request, s session) {
	p := a.basePage("Overview", s) // the header already says "Köprü operations"
	p.Filter, p.Query = uiFilter(r.URL.Query())
	p.Notice = r.URL.Query().Get("notice")
	var err error
	if p.Status, err = a.Ops.Status(r.Context()); err != nil {
		p.Error = "status: " + err.Error()
	}
	f := p.Filter
	f.Limit = 200
	if p.List, err = a.Ops.List(r.Context(), f); err != nil {
		p.Error = "dead letters: " + err.Error()
	}
	p.Groups = a.uiGroups(r.Context(), p.Filter)
	a.render(w, http.StatusOK, "home", p)
}

func (a *Admin) uiShow(w http.ResponseWriter, r *http.Request, s session) {
	p := a.basePage("Dead letter", s)
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err == nil {
		p.Detail, err = a.Ops.Show(r.Context(), id)
	}
	if err != nil {
		p.Error, p.Back = "no such dead letter: "+r.PathValue("id"), "/ui/"
		a.render(w, http.StatusNotFound, "message", p)
		return
	}
	p.Title = "Dead letter " + r.PathValue("id")
	a.render(w, http.StatusOK, "show", p)
}

// uiAct replays or purges one dead letter (one) or the filtered set, after the form's confirmation.
func (a *Admin) uiAct(w http.ResponseWriter, r *http.Request, s session, action string, one bool) {
	p := a.basePage(action, s)
	p.Action, p.Back = action, "/ui/"
	if r.PostFormValue("confirm") != "yes" {
		p.Error = "tick the confirmation box to " + action
		a.render(w, http.StatusBadRequest, "message", p)
		return
	}
	var f ops.Filter
	if one {
		id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
		if err != nil {
			p.Error = "bad id"
			a.render(w, http.StatusBadRequest, "message", p)
			return
		}
		f.IDs = []uint64{id}
	} else {
		f, _ = uiFilter(r.PostForm)
		f.All = r.PostFormValue("all") == "yes"
		f.Limit = a.MaxReplay
		if ids, ok := formIDs(r.PostFormValue("ids")); ok { // one group of the "by cause" table
			f = ops.Filter{IDs: ids, Limit: a.MaxReplay}
		}
	}
	dry := r.PostFormValue("dryrun") == "yes"
	var rep *ops.Report
	var err error
	if action == "replay" {
		ro := ops.ReplayOptions{Filter: f, DryRun: dry, AllowAmbiguous: r.PostFormValue("allowAmbiguous") == "yes", By: "operator-page"}
		if one {
			ro.Edit = a.uiEdit(r, f.IDs[0])
		}
		rep, err = a.Ops.Replay(r.Context(), ro)
	} else {
		rep, err = a.Ops.Purge(r.Context(), ops.PurgeOptions{Filter: f, DryRun: dry})
	}
	if err != nil {
		p.Error = err.Error()
		if errors.Is(err, ops.ErrEdit) {
			p.Back = "/ui/dlq/" + r.PathValue("id")
		}
		if errors.Is(err, ops.ErrNoFilter) {
			p.Error = "choose a route, a class or a text first, or tick “every dead letter”"
		}
		a.render(w, http.StatusBadRequest, "message", p)
		return
	}
	a.Log.Info("operator page action", zap.String("action", action), zap.Bool("dry_run", dry), zap.Any("counts", rep.Counts))
	p.Report, p.Title = rep, action+" result"
	a.render(w, http.StatusOK, "report", p)
}
