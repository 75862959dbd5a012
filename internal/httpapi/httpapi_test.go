package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/bus/bustest"
	"github.com/kopru/kopru/internal/deadletter"
	"github.com/kopru/kopru/internal/event"
	"github.com/kopru/kopru/internal/ops"
	"github.com/kopru/kopru/schemas"
)

const (
	ingestToken = "ingest-token-1"
	adminToken  = "admin-token-1"
)

type fixture struct {
	t   testing.TB
	js  jetstream.JetStream
	srv *httptest.Server
	h   http.Handler
	op  *ops.Ops
}

func newFixture(t testing.TB, ingestTokens, adminTokens []string) *fixture {
	t.Helper()
	bs := bustest.Start(t)
	bs.Ensure(t)
	js := bs.JS
	op, err := ops.New(context.Background(), js, ops.Options{Routes: []ops.Route{
		{Name: "licrus-installation", EventType: "installation.requested", Target: "licrus"}}})
	if err != nil {
		t.Fatal(err)
	}
	s := event.MustLoadSchemas()
	h := NewHandler(Deps{Gatherer: prometheus.NewRegistry(), Extra: func(mux *http.ServeMux) {
		RegisterOpenAPI(mux)
		(&Ingest{Tokens: ingestTokens, Types: []string{"installation.requested", "customer.created"}, Schemas: s, Publisher: js}).Register(mux)
		(&Admin{Tokens: adminTokens, Ops: op}).Register(mux)
	}})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &fixture{t: t, js: js, srv: srv, h: h, op: op}
}

func (f *fixture) count(stream string) uint64 {
	f.t.Helper()
	s, _ := f.js.Stream(context.Background(), stream)
	info, err := s.Info(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return info.State.Msgs
}

// seed adds a dead letter of class on licrus-installation, as the worker makes them.
func (f *fixture) seed(class, errText string) uint64 {
	f.t.Helper()
	data, _ := schemas.FS.ReadFile("examples/installation.requested.json")
	env := event.New("installation.requested", "test", data)
	b, _ := env.Marshal()
	m := nats.NewMsg("dlq.licrus-installation")
	m.Data = b
	m.Header = deadletter.Letter{Route: "licrus-installation", EventID: env.ID, OriginalSubject: "events.installation.requested",
		Class: deadletter.Class(class), Error: errText, Attempts: 1, TargetStatus: "HasError", FailedAt: time.Now()}.Header()
	ack, err := f.js.PublishMsg(context.Background(), m)
	if err != nil {
		f.t.Fatal(err)
	}
	return ack.Sequence
}

func (f *fixture) do(method, path, token, ct string, body []byte, hdr ...string) (*http.Response, []byte) {
	f.t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path, bytes.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func example(t testing.TB) []byte {
	b, err := schemas.FS.ReadFile("examples/installation.requested.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAuthIsRequired(t *testing.T) {
	f := newFixture(t, []string{ingestToken, "ingest-token-2"}, []string{adminToken})
	data := example(t)
	cases := []struct {
		name, method, path, token string
		body                      []byte
		want                      int
	}{
		{"ingest without token", "POST", "/v1/events/installation.requested", "", data, 401},
		{"ingest wrong token", "POST", "/v1/events/installation.requested", "nope", data, 401},
		{"ingest with the admin token", "POST", "/v1/events/installation.requested", adminToken, data, 401},
		{"ingest token prefix", "POST", "/v1/events/installation.requested", ingestToken[:5], data, 401},
		{"ingest second token", "POST", "/v1/events/installation.requested", "ingest-token-2", data, 202},
		{"admin list without token", "GET", "/v1/admin/dlq", "", nil, 401},
		{"admin list wrong token", "GET", "/v1/admin/dlq", "nope", nil, 401},
		{"admin list with the ingest token", "GET", "/v1/admin/dlq", ingestToken, nil, 401},
		{"admin show without token", "GET", "/v1/admin/dlq/1", "", nil, 401},
		{"admin replay wrong token", "POST", "/v1/admin/dlq/replay", "nope", []byte(`{"all":true}`), 401},
		{"admin purge without token", "POST", "/v1/admin/dlq/purge", "", []byte(`{"all":true}`), 401},
		{"admin status wrong token", "GET", "/v1/admin/status", ingestToken, nil, 401},
		{"admin status", "GET", "/v1/admin/status", adminToken, nil, 200},
		{"ui post without session", "POST", "/ui/replay", "", []byte(`confirm=yes`), 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ct := "application/json"
			if strings.HasPrefix(c.path, "/ui/") {
				ct = "application/x-www-form-urlencoded"
			}
			resp, body := f.do(c.method, c.path, c.token, ct, c.body)
			if resp.StatusCode != c.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.want, body)
			}
			if c.want == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("401 without WWW-Authenticate: Bearer")
			}
		})
	}
	if n := f.count(bus.StreamEvents); n != 1 {
		t.Fatalf("%d events stored, want only the authorised one", n)
	}
}

func TestDisabledWithoutTokens(t *testing.T) {
	f := newFixture(t, nil, nil)
	resp, body := f.do("POST", "/v1/events/installation.requested", "x", "application/json", example(t))
	if resp.StatusCode != 503 || !strings.Contains(string(body), "KOPRU_INGEST_TOKENS") {
		t.Fatalf("ingest: %d %s", resp.StatusCode, body)
	}
	resp, body = f.do("GET", "/v1/admin/dlq", "x", "", nil)
	if resp.StatusCode != 503 || !strings.Contains(string(body), "KOPRU_ADMIN_TOKENS") {
		t.Fatalf("admin: %d %s", resp.StatusCode, body)
	}
	resp, body = f.do("GET", "/ui/", "", "", nil)
	if resp.StatusCode != 503 || !strings.Contains(string(body), "KOPRU_ADMIN_TOKENS") {
		t.Fatalf("ui: %d %s", resp.StatusCode, body)
	}
}

func TestIngestRefusesBadBodiesAndPublishesNothing(t *testing.T) {
	f := newFixture(t, []string{ingestToken}, nil)
	huge := append([]byte(`{"pad":"`), bytes.Repeat([]byte("x"), event.MaxSize)...)
	huge = append(huge, `"}`...)
	cases := []struct {
		name, path, ct string
		body           []byte
		want           int
		says           string
	}{
		{"malformed JSON", "/v1/events/installation.requested", "application/json", []byte(`{"customer":`), 400, "not a JSON object"},
		{"JSON array", "/v1/events/installation.requested", "application/json", []byte(`[1]`), 400, "not a JSON object"},
		{"schema problems", "/v1/events/installation.requested", "application/json", []byte(`{"customer":{"fullName":"A"},"deviceCount":0}`), 400, `"problems":[`},
		{"oversized", "/v1/events/installation.requested", "application/json", huge, 413, "size limit"},
		{"text/plain", "/v1/events/installation.requested", "text/plain", example(t), 415, "Content-Type"},
		{"no content type", "/v1/events/installation.requested", "", example(t), 415, "Content-Type"},
		{"unknown type", "/v1/events/nope.created", "application/json", example(t), 404, `"knownTypes":["customer.created","installation.requested"]`},
		{"outcome type is not ingested", "/v1/events/installation.call-created", "application/json", example(t), 404, "unknown event type"},
		{"structured type mismatch", "/v1/events/customer.created", "application/cloudevents+json",
			[]byte(`{"specversion":"1.0","id":"a1","source":"s","type":"installation.requested","data":{}}`), 400, "does not match"},
		{"structured bad specversion", "/v1/events/installation.requested", "application/json",
			[]byte(`{"specversion":"0.3","id":"a1","source":"s","type":"installation.requested","data":{}}`), 400, "specversion"},
		{"structured without id", "/v1/events/installation.requested", "application/cloudevents+json",
			[]byte(`{"specversion":"1.0","source":"s","type":"installation.requested","data":{}}`), 400, "no id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := f.do("POST", c.path, ingestToken, c.ct, c.body)
			if resp.StatusCode != c.want || !strings.Contains(string(body), c.says) {
				t.Fatalf("status %d, want %d; body %s (want it to say %s)", resp.StatusCode, c.want, clipBody(body), c.says)
			}
			var p problemResponse
			if err := json.Unmarshal(body, &p); err != nil || p.Error == "" {
				t.Fatalf("body is not a problem JSON: %s", clipBody(body))
			}
		})
	}
	// Every violation is listed, not only the first.
	_, body := f.do("POST", "/v1/events/installation.requested", ingestToken, "application/json", []byte(`{"customer":{"fullName":"A"},"deviceCount":0}`))
	var p problemResponse
	_ = json.Unmarshal(body, &p)
	if len(p.Problems) < 3 {
		t.Fatalf("problems %v", p.Problems)
	}
	if n := f.count(bus.StreamEvents); n != 0 {
		t.Fatalf("%d events stored by refused requests", n)
	}
}

func clipBody(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

func TestIngestPublishes(t *testing.T) {
	f := newFixture(t, []string{ingestToken}, nil)
	data := example(t)
	post := func(ct string, body []byte, hdr ...string) ingestResponse {
		t.Helper()
		resp, b := f.do("POST", "/v1/events/installation.requested", ingestToken, ct, body, hdr...)
		if resp.StatusCode != 202 {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		var r ingestResponse
		_ = json.Unmarshal(b, &r)
		return r
	}
	r1 := post("application/json; charset=utf-8", data, "Ce-Source", "erp-1")
	if len(r1.ID) != 26 || r1.Duplicate {
		t.Fatalf("wrapped: %+v", r1)
	}
	r2 := post("application/json", data, "Idempotency-Key", "order-42")
	r3 := post("application/json", data, "Idempotency-Key", "order-42")
	if r2.ID != "order-42" || r2.Duplicate || !r3.Duplicate {
		t.Fatalf("idempotency key: %+v %+v", r2, r3)
	}
	ce := fmt.Sprintf(`{"specversion":"1.0","id":"ce-7","source":"shop","type":"installation.requested","time":"2026-11-03T10:00:00Z","data":%s}`, data)
	r4 := post("application/cloudevents+json", []byte(ce))
	if r4.ID != "ce-7" {
		t.Fatalf("structured: %+v", r4)
	}
	if n := f.count(bus.StreamEvents); n != 3 {
		t.Fatalf("%d events, want 3", n)
	}
	s, _ := f.js.Stream(context.Background(), bus.StreamEvents)
	m, _ := s.GetMsg(context.Background(), 1)
	env, err := event.Decode(m.Data)
	if err != nil || env.Source != "erp-1" || env.ID != r1.ID || m.Header.Get(nats.MsgIdHdr) != r1.ID || m.Subject != "events.installation.requested" {
		t.Fatalf("stored %v %s %v", err, m.Data, m.Header)
	}
}

func TestAdminAPI(t *testing.T) {
	f := newFixture(t, nil, []string{adminToken})
	a := f.seed("rejected", "serial unknown")
	b := f.seed("ambiguous", "outcome unknown")
	get := func(path string, v any) int {
		t.Helper()
		resp, body := f.do("GET", path, adminToken, "", nil)
		if v != nil {
			if err := json.Unmarshal(body, v); err != nil {
				t.Fatalf("%s: %v: %s", path, err, body)
			}
		}
		return resp.StatusCode
	}
	var list ops.ListResult
	if get("/v1/admin/dlq?class=rejected", &list); len(list.Items) != 1 || list.Items[0].ID != a {
		t.Fatalf("list %+v", list)
	}
	if get("/v1/admin/dlq?grep=OUTCOME&since=1h", &list); len(list.Items) != 1 || list.Items[0].ID != b {
		t.Fatalf("list %+v", list)
	}
	if code := get("/v1/admin/dlq?since=yesterday", nil); code != 400 {
		t.Fatalf("bad since: %d", code)
	}
	var d ops.Detail
	if code := get("/v1/admin/dlq/"+strconv.FormatUint(a, 10), &d); code != 200 || d.Headers[deadletter.HdrError][0] != "serial unknown" {
		t.Fatalf("show %d %+v", code, d)
	}
	if code := get("/v1/admin/dlq/999", nil); code != 404 {
		t.Fatalf("missing: %d", code)
	}
	post := func(path, body string) (int, ops.Report) {
		resp, b := f.do("POST", path, adminToken, "application/json", []byte(body))
		var r ops.Report
		_ = json.Unmarshal(b, &r)
		return resp.StatusCode, r
	}
	if code, _ := post("/v1/admin/dlq/replay", `{}`); code != 400 {
		t.Fatalf("empty selection: %d", code)
	}
	if code, _ := post("/v1/admin/dlq/replay", `{"nope":1}`); code != 400 {
		t.Fatalf("unknown field: %d", code)
	}
	code, rep := post("/v1/admin/dlq/replay", `{"all":true,"dryRun":true}`)
	if code != 200 || rep.Counts[ops.ResultWouldReplay] != 1 || rep.Counts[ops.ResultSkipped] != 1 || f.count(bus.StreamEvents) != 0 {
		t.Fatalf("dry run %d %+v", code, rep)
	}
	code, rep = post("/v1/admin/dlq/replay", `{"all":true}`)
	if code != 200 || rep.Counts[ops.ResultReplayed] != 1 || rep.Counts[ops.ResultSkipped] != 1 {
		t.Fatalf("replay %d %+v", code, rep)
	}
	code, rep = post("/v1/admin/dlq/purge", fmt.Sprintf(`{"ids":[%d]}`, b))
	if code != 200 || rep.Counts[ops.ResultPurged] != 1 || f.count(bus.StreamDLQ) != 0 || f.count(bus.StreamEvents) != 1 {
		t.Fatalf("purge %d %+v", code, rep)
	}
	var st ops.Status
	if code := get("/v1/admin/status", &st); code != 200 || len(st.Routes) != 1 || st.Targets[0].Circuit != "closed/unknown" {
		t.Fatalf("status %d %+v", code, st)
	}
}

func TestOpenAPI(t *testing.T) {
	f := newFixture(t, nil, nil)
	resp, body := f.do("GET", "/v1/openapi.yaml", "", "", nil)
	if resp.StatusCode != 200 || !bytes.HasPrefix(body, []byte("openapi: 3")) {
		t.Fatalf("%d %s", resp.StatusCode, clipBody(body))
	}
	for _, p := range []string{"/v1/events/{type}", "/v1/admin/dlq:", "/v1/admin/dlq/{id}", "/v1/admin/dlq/replay", "/v1/admin/dlq/purge", "/v1/admin/status"} {
		if !bytes.Contains(body, []byte(p)) {
			t.Errorf("the document does not describe %s", p)
		}
	}
}

func TestOpenAPICopyIsCurrent(t *testing.T) {
	src, err := os.ReadFile("../../api/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(src, openAPI) {
		t.Fatal("internal/httpapi/openapi.yaml differs from api/openapi.yaml: run go generate ./internal/httpapi")
	}
}
