package httpapi

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"

	"github.com/cloudevents/sdk-go/v2/binding"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/kopru/kopru/internal/event"
	"github.com/kopru/kopru/internal/redact"
)

// The CloudEvents HTTP binding in ingest: structured mode is a whole document in the body (read by
// event.Decode in buildEvent), binary mode puts the attributes in ce-* headers and the data in the
// body (read here with the CloudEvents Go SDK), batch mode is refused.

// batchRefusal is the 415 answer to the CloudEvents batch mode.
var batchRefusal = problemResponse{Error: "CloudEvents batch mode (" + event.ContentTypeBatch + ") is not accepted: " +
	"send one event per request, structured (Content-Type: " + event.ContentTypeStructured + ") or binary " +
	"(ce-id, ce-type, ce-source, ce-specversion headers and the data as an application/json body)"}

// isBatch reports whether the media type ct is the CloudEvents batch mode.
func isBatch(ct string) bool { return ct == event.ContentTypeBatch }

// isBinaryMode reports whether a request with media type ct and headers h carries a binary-mode
// CloudEvent: a ce-specversion header and no structured content type.
func isBinaryMode(ct string, h http.Header) bool {
	return h.Get("Ce-Specversion") != "" && ct != event.ContentTypeStructured && !isBatch(ct)
}

// buildBinaryEvent reads a binary-mode CloudEvent: attributes and extensions from the ce-* headers
// (ce-id is the event id and dedup key, ce-type must be the path's type), datacontenttype from
// Content-Type, the body as the data. A problem comes back with its HTTP status.
func buildBinaryEvent(typ string, body []byte, h http.Header) (*event.Envelope, int, *problemResponse) {
	bad := func(msg string) (*event.Envelope, int, *problemResponse) {
		return nil, http.StatusBadRequest, &problemResponse{Error: msg, Problems: []string{msg}}
	}
	if sv := h.Get("Ce-Specversion"); sv != "1.0" {
		return bad("unsupported specversion " + quote(sv) + " in ce-specversion (want \"1.0\")")
	}
	for k := range h {
		if name, ok := strings.CutPrefix(strings.ToLower(k), "ce-"); ok && !event.ValidAttributeName(name) {
			return bad("header " + quote(k) + " does not name a CloudEvents attribute (ce- then ASCII letters and digits)")
		}
	}
	msg := cehttp.NewMessage(h, io.NopCloser(bytes.NewReader(body)))
	ev, err := binding.ToEvent(context.Background(), msg)
	if err != nil {
		return bad("binary-mode CloudEvent: " + oneLine(err.Error()))
	}
	env := &event.Envelope{SpecVersion: ev.SpecVersion(), ID: ev.ID(), Source: ev.Source(), Type: ev.Type(),
		Time: strings.TrimSpace(h.Get("Ce-Time")), DataContentType: ev.DataContentType(), Subject: ev.Subject(),
		DataSchema: ev.DataSchema(), Data: ev.Data()}
	for name, v := range ev.Extensions() {
		s, ok := v.(string) // from a header, every extension is text
		if !ok {
			continue
		}
		if name == "traceparent" {
			env.Traceparent = s
			continue
		}
		env.SetExtension(name, s)
	}
	if env.Traceparent == "" {
		env.Traceparent = strings.TrimSpace(h.Get("Traceparent"))
	}
	switch {
	case strings.TrimSpace(env.ID) == "":
		return bad("binary-mode CloudEvent has no ce-id")
	case env.Type != typ:
		return bad("the CloudEvent's ce-type " + quote(env.Type) + " does not match the path's " + quote(typ))
	}
	if k := strings.TrimSpace(h.Get("Idempotency-Key")); k != "" && k != env.ID {
		return bad("Idempotency-Key " + quote(k) + " differs from ce-id " + quote(env.ID) + ": send one id")
	}
	return env, 0, nil // the caller runs the envelope checks on the stored form
}

// oneLine is an ingest answer's quoted value: one line (redact.OneLine), at most 200 characters.
func oneLine(s string) string { return redact.Clip(redact.OneLine(s), 200) }
