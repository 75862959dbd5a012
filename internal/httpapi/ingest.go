package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/kopru/kopru/internal/event"
)

// Publisher publishes on JetStream and waits for the PubAck; jetstream.JetStream is one.
type Publisher interface {
	PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error)
}

// Ingest is POST /v1/events/{type}: producers publish events over HTTP.
type Ingest struct {
	Tokens    []string       // bearer tokens (KOPRU_INGEST_TOKENS); none: ingest is disabled
	Types     []string       // event types accepted (those a route consumes); nil: every type with a schema
	Schemas   *event.Schemas // required
	Publisher Publisher      // required
	Log       *zap.Logger
	// Events, when set, answers `Prefer: wait=N` (200 with the outcomes once every route is done) and
	// adds Location: /v1/events/{id} to the 202.
	Events *Events
	// TraceparentDropped, when set, counts the traceparents of whole CloudEvents (structured mode)
	// dropped at ingest for not being W3C trace context (kopru_traceparent_dropped_total{route="ingest"}).
	TraceparentDropped prometheus.Counter
}

// ingestResponse is the 202 body.
type ingestResponse struct {
	ID        string `json:"id"`
	Duplicate bool   `json:"duplicate"`
}

// problemResponse is every 4xx/5xx body of the ingest and admin APIs.
type problemResponse struct {
	Error      string   `json:"error"`
	Problems   []string `json:"problems,omitempty"`
	KnownTypes []string `json:"knownTypes,omitempty"`
}

// Register mounts the ingest endpoint on mux.
func (in *Ingest) Register(mux *http.ServeMux) {
	ts := newTokenSet(in.Tokens)
	log := in.Log
	if log == nil {
		log = zap.NewNop()
	}
	types := map[string]bool{}
	for _, t := range in.Types {
		types[t] = true
	}
	if in.Types == nil && in.Schemas != nil {
		for _, t := range in.Schemas.Types() {
			types[t] = true
		}
	}
	known := make([]string, 0, len(types))
	for t := range types {
		known = append(known, t)
	}
	sort.Strings(known)
	mux.HandleFunc("POST /v1/events/{type}", func(w http.ResponseWriter, r *http.Request) {
		if ts.empty() {
			writeJSON(w, http.StatusServiceUnavailable, problemResponse{Error: "HTTP ingest is disabled: set KOPRU_INGEST_TOKENS (comma-separated bearer tokens) to enable it"})
			return
		}
		if ts.match(bearer(r)) < 0 {
			unauthorized(w, "kopru-ingest", "a valid ingest token is required: Authorization: Bearer <token>")
			return
		}
		typ := r.PathValue("type")
		if !types[typ] {
			writeJSON(w, http.StatusNotFound, problemResponse{Error: "unknown event type " + quote(typ), KnownTypes: known})
			return
		}
		ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err == nil && isBatch(ct) {
			writeJSON(w, http.StatusUnsupportedMediaType, batchRefusal)
			return
		}
		if err != nil || (ct != "application/json" && ct != "application/cloudevents+json") {
			writeJSON(w, http.StatusUnsupportedMediaType, problemResponse{Error: "Content-Type must be application/json (the event data) or application/cloudevents+json (a whole CloudEvent)"})
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, event.MaxSize))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				writeJSON(w, http.StatusRequestEntityTooLarge, problemResponse{Error: "event is over the size limit of 1 MiB"})
				return
			}
			writeJSON(w, http.StatusBadRequest, problemResponse{Error: "could not read the body: " + err.Error()})
			return
		}
		env, status, prob := buildEvent(typ, ct, body, r.Header)
		if prob != nil {
			writeJSON(w, status, prob)
			return
		}
		if env.DroppedTraceparent != "" { // the producer's mistake: the event goes on without it
			if in.TraceparentDropped != nil {
				in.TraceparentDropped.Inc()
			}
			log.Warn("traceparent dropped: not W3C trace context", zap.String("type", typ),
				zap.String("event_id", env.ID), zap.String("traceparent", quoteClip(env.DroppedTraceparent)))
		}
		if err := in.Schemas.Validate(typ, env.Data); err != nil {
			var se *event.SchemaError
			if errors.As(err, &se) {
				writeJSON(w, http.StatusBadRequest, problemResponse{Error: "event data breaks schema " + typ + ".v1", Problems: se.Problems})
				return
			}
			writeJSON(w, http.StatusBadRequest, problemResponse{Error: event.Reason(err), Problems: []string{event.Reason(err)}})
			return
		}
		b, err := env.Marshal()
		if err == nil {
			_, err = event.Decode(b) // the same checks a worker makes, on the exact bytes
		}
		if err != nil {
			if len(b) > event.MaxSize {
				writeJSON(w, http.StatusRequestEntityTooLarge, problemResponse{Error: "event is over the size limit of 1 MiB once wrapped"})
				return
			}
			writeJSON(w, http.StatusBadRequest, problemResponse{Error: event.Reason(err), Problems: []string{event.Reason(err)}})
			return
		}
		m := nats.NewMsg(event.EventsPrefix + typ)
		m.Data = b
		m.Header.Set(nats.MsgIdHdr, env.ID)
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		ack, err := in.Publisher.PublishMsg(ctx, m)
		cancel()
		if err != nil {
			log.Warn("ingest publish failed", zap.String("type", typ), zap.String("event_id", env.ID), zap.Error(err))
			writeJSON(w, http.StatusServiceUnavailable, problemResponse{Error: "the event could not be stored; retry with the same id (Idempotency-Key) and it is kept once"})
			return
		}
		in.answer(w, r, env, ack.Duplicate)
	})
}

// buildEvent turns a request into an envelope: a binary-mode CloudEvent (ce-* headers), a whole
// structured CloudEvent, or the data of a new one. A problem comes back with its HTTP status.
func buildEvent(typ, ct string, body []byte, h http.Header) (*event.Envelope, int, *problemResponse) {
	body = bytes.TrimSpace(body)
	if isBinaryMode(ct, h) {
		return buildBinaryEvent(typ, body, h)
	}
	bad := func(msg string) (*event.Envelope, int, *problemResponse) {
		return nil, http.StatusBadRequest, &problemResponse{Error: msg, Problems: []string{msg}}
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(body, &probe); err != nil {
		return bad("the body is not a JSON object")
	}
	if _, ok := probe["specversion"]; ok || ct == "application/cloudevents+json" {
		env, err := event.Decode(body)
		if err != nil {
			return bad(event.Reason(err))
		}
		if env.Type != typ {
			return bad("the CloudEvent's type " + quoteClip(env.Type) + " does not match the path's " + quoteClip(typ))
		}
		return env, 0, nil
	}
	source := strings.TrimSpace(h.Get("Ce-Source"))
	if source == "" {
		source = "http-ingest"
	}
	env := event.New(typ, source, json.RawMessage(body))
	if k := strings.TrimSpace(h.Get("Idempotency-Key")); k != "" {
		if len(k) > 200 {
			return bad("Idempotency-Key is longer than 200 characters")
		}
		env.ID = k
	}
	if tp := strings.TrimSpace(h.Get("Traceparent")); tp != "" {
		env.Traceparent = tp
	}
	return env, 0, nil
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// waitResponse is the 200 body of a POST with Prefer: wait: the event's status once it is done.
type waitResponse struct {
	Duplicate bool `json:"duplicate"`
	*EventStatus
}

// answer ends an ingest whose event is stored: 202 at once, or with Prefer: wait, 200 with the
// outcomes once every route the event feeds is done, else 202 when the wait runs out.
func (in *Ingest) answer(w http.ResponseWriter, r *http.Request, env *event.Envelope, dup bool) {
	if in.Events == nil {
		writeJSON(w, http.StatusAccepted, ingestResponse{ID: env.ID, Duplicate: dup})
		return
	}
	w.Header().Set("Location", "/v1/events/"+url.PathEscape(env.ID))
	max := in.Events.MaxWait
	if max <= 0 {
		max = DefaultMaxWait
	}
	if d := PreferWait(r.Header, max); d > 0 {
		st, err := in.Events.Wait(r.Context(), env.ID, env.Type, d)
		if err != nil {
			in.Events.logger().Warn("waiting for the outcome failed", zap.String("event_id", env.ID), zap.Error(err))
		} else if st.Done {
			w.Header().Set("Preference-Applied", "wait="+strconv.Itoa(int(d/time.Second)))
			writeJSON(w, http.StatusOK, waitResponse{Duplicate: dup, EventStatus: st})
			return
		}
	}
	writeJSON(w, http.StatusAccepted, ingestResponse{ID: env.ID, Duplicate: dup})
}
