package dia

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/kopru/kopru/internal/adapter"
)

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
