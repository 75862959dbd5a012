package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/kopru/kopru/internal/deadletter"
	"github.com/kopru/kopru/internal/ops"
)

// Admin serves the admin API under /v1/admin/ and the operator page under /ui/, both behind the admin
// tokens (KOPRU_ADMIN_TOKENS), which are separate from the ingest tokens.
type Admin struct {
	Tokens []string // none: admin API and operator page are disabled
	Ops    *ops.Ops // required
	Log    *zap.Logger
	// MaxReplay bounds one replay or purge request (0: 10,000 dead letters).
	MaxReplay int
	// Events, when set, gives the operator page its event search and timeline.
	Events *Events
	// Revocations records operator-page logouts (nil: in this process only; KVRevocations shares them
	// between replicas).
	Revocations Revocations

	logins *loginLimiter
}

const disabledAdmin = "the admin API and operator page are disabled: set KOPRU_ADMIN_TOKENS (comma-separated bearer tokens) to enable them"

// Register mounts the admin API and the operator page on mux.
func (a *Admin) Register(mux *http.ServeMux) {
	ts := newTokenSet(a.Tokens)
	if a.Log == nil {
		a.Log = zap.NewNop()
	}
	if a.MaxReplay <= 0 {
		a.MaxReplay = 10000
	}
	if a.Revocations == nil {
		a.Revocations = newMemRevocations()
	}
	a.logins = newLoginLimiter()
	guard := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if ts.empty() {
				writeJSON(w, http.StatusServiceUnavailable, problemResponse{Error: disabledAdmin})
				return
			}
			if ts.match(bearer(r)) < 0 {
				unauthorized(w, "kopru-admin", "a valid admin token is required: Authorization: Bearer <token>")
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("GET /v1/admin/dlq", guard(a.list))
	mux.HandleFunc("GET /v1/admin/dlq/groups", guard(a.groups))
	mux.HandleFunc("GET /v1/admin/dlq/{id}", guard(a.show))
	mux.HandleFunc("POST /v1/admin/dlq/replay", guard(a.replay))
	mux.HandleFunc("POST /v1/admin/dlq/purge", guard(a.purge))
	mux.HandleFunc("GET /v1/admin/status", guard(a.status))
	a.registerUI(mux, ts)
}

// filterFromQuery reads route, class, status, since, until, grep, limit, id (repeated or
// comma-separated) and all.
func filterFromQuery(q url.Values, now time.Time) (ops.Filter, error) {
	f := ops.Filter{Route: q.Get("route"), Class: deadletter.Class(q.Get("class")), Status: q.Get("status"), Grep: q.Get("grep")}
	if f.Grep == "" {
		f.Grep = q.Get("q")
	}
	var err error
	if f.Since, err = ops.ParseTime(q.Get("since"), now); err != nil {
		return f, errors.New("since: " + err.Error())
	}
	if f.Until, err = ops.ParseTime(q.Get("until"), now); err != nil {
		return f, errors.New("until: " + err.Error())
	}
	if s := q.Get("limit"); s != "" {
		if f.Limit, err = strconv.Atoi(s); err != nil || f.Limit < 0 {
			return f, errors.New("limit: not a number")
		}
	}
	for _, v := range q["id"] {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p == "" {
				continue
			}
			id, err := strconv.ParseUint(p, 10, 64)
			if err != nil {
				return f, errors.New("id: " + strconv.Quote(p) + " is not a dead-letter id")
			}
			f.IDs = append(f.IDs, id)
		}
	}
	f.All = q.Get("all") == "true" || q.Get("all") == "1"
	return f, nil
}

func (a *Admin) list(w http.ResponseWriter, r *http.Request) {
	f, err := filterFromQuery(r.URL.Query(), time.Now())
	if err != nil {
		writeJSON(w, http.StatusBadRequest, problemResponse{Error: err.Error()})
		return
	}
	res, err := a.Ops.List(r.Context(), f)
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (a *Admin) show(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, problemResponse{Error: "the id of a dead letter is its DLQ stream sequence, a number"})
		return
	}
	d, err := a.Ops.Show(r.Context(), id)
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// selection is the JSON body of replay and purge.
type selection struct {
	Route          string          `json:"route"`
	Class          string          `json:"class"`
	Status         string          `json:"status"`
	Since          string          `json:"since"`
	Until          string          `json:"until"`
	Grep           string          `json:"grep"`
	IDs            []uint64        `json:"ids"`
	Limit          int             `json:"limit"`
	All            bool            `json:"all"`
	DryRun         bool            `json:"dryRun"`
	AllowAmbiguous bool            `json:"allowAmbiguous"`
	Rate           float64         `json:"rate"`
	Event          json.RawMessage `json:"event"`    // replay of one id: the edited CloudEvent
	EditedBy       string          `json:"editedBy"` // who edited it
	By             string          `json:"by"`       // who replays (recorded in the event's status)
}

func (a *Admin) readSelection(w http.ResponseWriter, r *http.Request) (selection, ops.Filter, bool) {
	var s selection
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 2<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		writeJSON(w, http.StatusBadRequest, problemResponse{Error: "the body must be a JSON selection: " + err.Error()})
		return s, ops.Filter{}, false
	}
	now := time.Now()
	f := ops.Filter{Route: s.Route, Class: deadletter.Class(s.Class), Status: s.Status, Grep: s.Grep, IDs: s.IDs, Limit: s.Limit, All: s.All}
	var err error
	if f.Since, err = ops.ParseTime(s.Since, now); err == nil {
		f.Until, err = ops.ParseTime(s.Until, now)
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, problemResponse{Error: err.Error()})
		return s, f, false
	}
	if f.Limit == 0 || f.Limit > a.MaxReplay {
		f.Limit = a.MaxReplay
	}
	return s, f, true
}

func (a *Admin) replay(w http.ResponseWriter, r *http.Request) {
	extendWrite(w, time.Hour) // thousands of dead letters, perhaps rate-limited
	s, f, ok := a.readSelection(w, r)
	if !ok {
		return
	}
	ro := ops.ReplayOptions{Filter: f, DryRun: s.DryRun, AllowAmbiguous: s.AllowAmbiguous, Rate: s.Rate, By: s.By}
	if ro.By == "" {
		ro.By = "admin-api"
	}
	if len(s.Event) > 0 && string(s.Event) != "null" {
		by := s.EditedBy
		if by == "" {
			by = "admin-api"
		}
		ro.Edit = &ops.Edit{Event: s.Event, By: by}
	}
	rep, err := a.Ops.Replay(r.Context(), ro)
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

func (a *Admin) purge(w http.ResponseWriter, r *http.Request) {
	extendWrite(w, time.Hour) // thousands of dead letters, perhaps rate-limited
	s, f, ok := a.readSelection(w, r)
	if !ok {
		return
	}
	rep, err := a.Ops.Purge(r.Context(), ops.PurgeOptions{Filter: f, DryRun: s.DryRun})
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

func (a *Admin) status(w http.ResponseWriter, r *http.Request) {
	st, err := a.Ops.Status(r.Context())
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (a *Admin) fail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ops.ErrNotFound):
		writeJSON(w, http.StatusNotFound, problemResponse{Error: err.Error()})
	case errors.Is(err, ops.ErrNoFilter), errors.Is(err, ops.ErrEdit), errors.Is(err, ops.ErrOption):
		writeJSON(w, http.StatusBadRequest, problemResponse{Error: err.Error()})
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		writeJSON(w, http.StatusServiceUnavailable, problemResponse{Error: "stopped before the end: " + err.Error()})
	default:
		a.Log.Warn("admin request failed", zap.Error(err))
		writeJSON(w, http.StatusServiceUnavailable, problemResponse{Error: err.Error()})
	}
}

// quoteClip quotes s for a one-line message, cut to 100 characters.
func quoteClip(s string) string {
	if r := []rune(s); len(r) > 100 {
		s = string(r[:100]) + "…"
	}
	return quote(s)
}
