package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/kopru/kopru/internal/adapter/dia"
	"github.com/kopru/kopru/internal/app"
	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/bus/bustest"
	"github.com/kopru/kopru/internal/config"
	"github.com/kopru/kopru/internal/event"
	"github.com/kopru/kopru/internal/ops"
	"github.com/kopru/kopru/internal/sim"
	licrussim "github.com/kopru/kopru/internal/sim/licrus"
	"github.com/kopru/kopru/internal/worker"
)

const (
	ingestToken = "ingest-token-1"
	adminToken  = "admin-token-1"
)

// httpStack is stack with Köprü's HTTP server on 127.0.0.1:0 and ingest and admin tokens.
type httpStack struct {
	*stack
	base string
	ui   *http.Client // the operator page's client, with its cookies
}

func newHTTPStack(t testing.TB, maxWait time.Duration) *httpStack {
	t.Helper()
	bs := bustest.Start(t)
	s := &stack{t: t, ns: bs.Server, js: bs.JS, sim: licrussim.New(ticket)}
	srv := httptest.NewServer(s.sim)
	t.Cleanup(srv.Close)
	s.url = srv.URL + "/api"
	a, err := app.New(app.Options{
		Config: config.Config{NATS: config.NATS{URL: s.ns.ClientURL()}, HTTPAddr: "127.0.0.1:0",
			Ingest: config.Tokens{Tokens: []string{ingestToken}, MaxWait: maxWait}, Admin: config.Tokens{Tokens: []string{adminToken}}},
		Logger: zap.NewNop(),
		Routes: []worker.Route{s.route(fast)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = a.Stop(ctx)
	})
	s.app = a
	return &httpStack{stack: s, base: "http://" + a.Addr()}
}

type statusBody struct {
	ID        string `json:"id"`
	Duplicate bool   `json:"duplicate"`
	Done      bool   `json:"done"`
	Routes    []struct {
		Route    string `json:"route"`
		State    string `json:"state"`
		NewState string `json:"newState"`
		Attempt  int    `json:"attempt"`
		Outcome  struct {
			ID   string         `json:"id"`
			Data map[string]any `json:"data"`
		} `json:"outcome"`
		DeadLetter *struct {
			ID    uint64 `json:"id"`
			Class string `json:"class"`
			Error string `json:"error"`
		} `json:"deadLetter"`
		Replay *struct {
			By    string `json:"by"`
			DLQID uint64 `json:"dlqId"`
		} `json:"replay"`
		Replays  []any          `json:"replays"`
		Result   map[string]any `json:"result"`
		Class    string         `json:"class"`
		DLQID    uint64         `json:"dlqId"`
		Attempts []struct {
			N      int    `json:"n"`
			Class  string `json:"class"`
			Status string `json:"status"`
		} `json:"attempts"`
	} `json:"routes"`
	Outcomes []json.RawMessage `json:"outcomes"`
}

func (h *httpStack) do(method, path, token string, body []byte, hdr map[string]string) (int, http.Header, statusBody) {
	h.t.Helper()
	req, _ := http.NewRequest(method, h.base+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var sb statusBody
	_ = json.Unmarshal(b, &sb)
	return resp.StatusCode, resp.Header, sb
}

func (h *httpStack) post(id string, wait int) (int, http.Header, statusBody) {
	h.t.Helper()
	hdr := map[string]string{"Idempotency-Key": id}
	if wait > 0 {
		hdr["Prefer"] = fmt.Sprintf("wait=%d", wait)
	}
	return h.do("POST", "/v1/events/installation.requested", ingestToken, exampleData(h.t), hdr)
}

// eventually GETs the event until cond holds.
func (h *httpStack) eventually(id string, cond func(statusBody) bool) statusBody {
	h.t.Helper()
	var sb statusBody
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var code int
		code, _, sb = h.do("GET", "/v1/events/"+id, adminToken, nil, nil)
		if code == 200 && len(sb.Routes) == 1 && cond(sb) {
			return sb
		}
	}
	h.t.Fatalf("event %s never reached the expected state; last %+v", id, sb)
	return sb
}

func TestEventWaitAnswersWithTheOutcomeOnce(t *testing.T) {
	h := newHTTPStack(t, 0)
	if code, _, _ := h.do("GET", "/v1/events/never-seen", ingestToken, nil, nil); code != 404 {
		t.Fatalf("unknown id: %d, want 404", code)
	}
	if code, _, _ := h.do("GET", "/v1/events/never-seen", "wrong", nil, nil); code != 401 {
		t.Fatalf("bad token: %d, want 401", code)
	}
	code, hdr, sb := h.post("form-1", 10)
	if code != 200 || !sb.Done || len(sb.Routes) != 1 || sb.Routes[0].State != "succeeded" {
		t.Fatalf("POST with Prefer: wait: %d %+v", code, sb)
	}
	first := sb.Routes[0].Outcome.Data["callNumber"]
	if first == nil || sb.Routes[0].Result["callNumber"] != first || len(sb.Outcomes) != 1 || len(sb.Routes[0].Attempts) != 1 || sb.Routes[0].Attempts[0].Class != "ok" {
		t.Fatalf("outcome %+v", sb)
	}
	if hdr.Get("Location") != "/v1/events/form-1" {
		t.Fatalf("Location %q", hdr.Get("Location"))
	}
	// A retried POST joins the same event: the same answer, no second vendor call.
	code, _, sb = h.post("form-1", 10)
	if code != 200 || !sb.Duplicate || sb.Routes[0].Outcome.Data["callNumber"] != first {
		t.Fatalf("retried POST: %d %+v", code, sb)
	}
	if n := h.sim.CallCount(); n != 1 {
		t.Fatalf("the simulator got %d calls, want 1", n)
	}
	code, _, sb = h.do("GET", "/v1/events/form-1", ingestToken, nil, nil)
	if code != 200 || sb.Routes[0].State != "succeeded" || sb.Routes[0].Outcome.Data["callNumber"] != first {
		t.Fatalf("GET: %d %+v", code, sb)
	}
	// CloudEvents binary mode reaches the same wait.
	code, _, sb = h.do("POST", "/v1/events/installation.requested", ingestToken, exampleData(t), map[string]string{
		"ce-specversion": "1.0", "ce-id": "form-binary", "ce-type": "installation.requested", "ce-source": "web", "Prefer": "wait=10"})
	if code != 200 || sb.ID != "form-binary" || sb.Routes[0].State != "succeeded" || h.sim.CallCount() != 2 {
		t.Fatalf("binary mode with Prefer: wait: %d %+v", code, sb)
	}
}

func TestEventPendingInProgressAndTimeout(t *testing.T) {
	h := newHTTPStack(t, 2*time.Second)
	ctx := context.Background()
	if _, err := h.js.PauseConsumer(ctx, bus.StreamEvents, "licrus-installation", time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	code, hdr, _ := h.post("form-2", 60) // capped at 2 s
	if code != 202 || hdr.Get("Location") != "/v1/events/form-2" {
		t.Fatalf("POST while the route is paused: %d %v", code, hdr)
	}
	if el := time.Since(start); el < 1900*time.Millisecond || el > 5*time.Second {
		t.Fatalf("the wait took %s, want the 2 s cap", el)
	}
	code, _, sb := h.do("GET", "/v1/events/form-2", ingestToken, nil, nil)
	if code != 200 || sb.Done || len(sb.Routes) != 1 || sb.Routes[0].State != "pending" {
		t.Fatalf("paused route: %d %+v", code, sb)
	}
	// The vendor holds the call until in-progress has been seen (a fixed delay could end first).
	hold := make(chan struct{})
	var release sync.Once
	t.Cleanup(func() { release.Do(func() { close(hold) }) })
	h.sim.Faults.Push(sim.Fault{Hold: hold})
	if _, err := h.js.ResumeConsumer(ctx, bus.StreamEvents, "licrus-installation"); err != nil {
		t.Fatal(err)
	}
	h.eventually("form-2", func(sb statusBody) bool { return sb.Routes[0].State == "in-progress" && sb.Routes[0].Attempt == 1 })
	release.Do(func() { close(hold) })
	h.eventually("form-2", func(sb statusBody) bool { return sb.Routes[0].State == "succeeded" && sb.Done })
	if n := h.sim.CallCount(); n != 1 {
		t.Fatalf("the simulator got %d calls, want 1", n)
	}
}

func TestEventDeadLetteredThenReplayed(t *testing.T) {
	h := newHTTPStack(t, 0)
	h.sim.Faults.Push(sim.Fault{VendorError: "Seri numarası hatalı"})
	code, _, sb := h.post("form-3", 10)
	if code != 200 || !sb.Done || sb.Routes[0].State != "dead-lettered" || sb.Routes[0].DeadLetter == nil ||
		sb.Routes[0].DeadLetter.Class != "rejected" || sb.Routes[0].DeadLetter.ID == 0 || len(sb.Routes[0].Attempts) != 1 ||
		sb.Routes[0].Attempts[0].Class != "rejected" {
		t.Fatalf("rejected event: %d %+v", code, sb)
	}
	dlq := sb.Routes[0].DeadLetter.ID
	if sb.Routes[0].Class != "rejected" || sb.Routes[0].DLQID != dlq {
		t.Fatalf("flattened dead letter: %+v", sb.Routes[0])
	}
	o, err := h.app.Ops(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rep, err := o.Replay(context.Background(), ops.ReplayOptions{Filter: ops.Filter{IDs: []uint64{dlq}}, By: "ayse"})
	if err != nil || rep.Counts[ops.ResultReplayed] != 1 {
		t.Fatalf("replay: %v %+v", err, rep)
	}
	sb = h.eventually("form-3", func(sb statusBody) bool {
		return sb.Routes[0].State == "replayed" && sb.Routes[0].NewState == "succeeded"
	})
	r := sb.Routes[0]
	if r.Replay == nil || r.Replay.By != "ayse" || r.Replay.DLQID != dlq || len(r.Attempts) != 2 || r.Attempts[1].Class != "ok" || !sb.Done {
		t.Fatalf("after the replay: %+v", sb)
	}
	if n := h.sim.CallCount(); n != 1 {
		t.Fatalf("the simulator accepted %d calls, want 1", n)
	}
}

// BenchmarkPreferWait200 posts 200 events at once plus 200 requests joining one event, while the
// vendor takes 300 ms. "wait" sends Prefer: wait=10 and wants 200 for all 400; "no-wait" sends the
// same requests without it (202) and waits for the simulator instead: the difference in CPU per
// request is what waiting costs. Both report vendor calls per op (want 201: one per event).
func BenchmarkPreferWait200(b *testing.B) {
	h := newHTTPStack(b, 0)
	h.sim.Faults.Always(&sim.Fault{Delay: 300 * time.Millisecond})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 400}}
	post := func(id string, wait bool) int {
		req, _ := http.NewRequest("POST", h.base+"/v1/events/installation.requested", bytes.NewReader(exampleData(b)))
		req.Header.Set("Authorization", "Bearer "+ingestToken)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", id)
		if wait {
			req.Header.Set("Prefer", "wait=10")
		}
		resp, err := client.Do(req)
		if err != nil {
			b.Error(err)
			return 0
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	runs := 0 // the framework calls each sub-benchmark more than once: ids must not repeat
	for _, mode := range []string{"wait", "no-wait"} {
		b.Run(mode, func(b *testing.B) {
			runs++
			wait, want := mode == "wait", http.StatusOK
			if !wait {
				want = http.StatusAccepted
			}
			calls0 := h.sim.Requests()
			cpu0 := cpuTime()
			b.ResetTimer()
			for i := range b.N {
				var wg sync.WaitGroup
				for k := range 400 {
					id := fmt.Sprintf("bench-%d-%d-%d", runs, i, k)
					if k >= 200 {
						id = fmt.Sprintf("bench-%d-%d-shared", runs, i) // 200 requests for one event
					}
					wg.Add(1)
					go func() {
						defer wg.Done()
						if code := post(id, wait); code != want {
							b.Errorf("%s: %d, want %d", id, code, want)
						}
					}()
				}
				wg.Wait()
				for deadline := time.Now().Add(20 * time.Second); h.sim.Requests()-calls0 < 201*(i+1) && time.Now().Before(deadline); {
					time.Sleep(5 * time.Millisecond)
				}
			}
			b.StopTimer()
			cpu := cpuTime() - cpu0
			calls := h.sim.Requests() - calls0
			b.ReportMetric(float64(calls)/float64(b.N), "vendor-calls/op")
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(400*b.N), "cpu-ms/request")
			time.Sleep(200 * time.Millisecond) // a late extra call would show in the count
			if calls := h.sim.Requests() - calls0; calls != 201*b.N {
				b.Fatalf("%d vendor calls for %d ops, want %d", calls, b.N, 201*b.N)
			}
		})
	}
}

func TestEventRefusedBeforeTheLedgerThenReplayedUnchanged(t *testing.T) {
	h := newHTTPStack(t, 0)
	env := event.New("installation.requested", "test", json.RawMessage(`{"deviceCount":1}`)) // breaks the schema
	env.ID = "bad-1"
	h.publish(env, "")
	sb := h.eventually("bad-1", func(sb statusBody) bool { return sb.Routes[0].State == "dead-lettered" })
	dl := sb.Routes[0].DeadLetter
	if dl == nil || dl.Class != "invalid" || dl.ID == 0 || !sb.Done || len(sb.Routes[0].Attempts) != 0 {
		t.Fatalf("invalid event: %+v", sb)
	}
	o, err := h.app.Ops(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := o.Replay(context.Background(), ops.ReplayOptions{Filter: ops.Filter{IDs: []uint64{dl.ID}}, By: "cli:ali"}); err != nil ||
		rep.Counts[ops.ResultReplayed] != 1 {
		t.Fatalf("replay: %v %+v", err, rep)
	}
	sb = h.eventually("bad-1", func(sb statusBody) bool {
		r := sb.Routes[0]
		return r.State == "replayed" && r.NewState == "dead-lettered" && r.DeadLetter != nil && r.DeadLetter.ID != dl.ID
	})
	if sb.Routes[0].Replay.By != "cli:ali" || h.sim.Requests() != 0 {
		t.Fatalf("after replaying it unchanged: %+v, %d vendor requests", sb, h.sim.Requests())
	}
	// Replayed unchanged once more: the second replay is recorded too.
	again := sb.Routes[0].DeadLetter.ID
	if rep, err := o.Replay(context.Background(), ops.ReplayOptions{Filter: ops.Filter{IDs: []uint64{again}}, By: "cli:ali"}); err != nil ||
		rep.Counts[ops.ResultReplayed] != 1 {
		t.Fatalf("second replay: %v %+v", err, rep)
	}
	h.eventually("bad-1", func(sb statusBody) bool {
		r := sb.Routes[0]
		return len(r.Replays) == 2 && r.Replay.DLQID == again && r.NewState == "dead-lettered" && r.DeadLetter.ID != again
	})
}

func TestEventWaitCoversEveryRouteOfAFanOut(t *testing.T) {
	e := newE2E(t)
	e.cfg.HTTPAddr = "127.0.0.1:0"
	e.cfg.Ingest.Tokens = []string{ingestToken}
	a, err := app.New(app.Options{Config: e.cfg, Logger: zap.NewNop(), MemoryStorage: true, Routes: []worker.Route{
		e2eRoute(t, "leansoft-customer", e.leanSoftTarget(), fastPolicy(10000)),
		e2eRoute(t, "dia-customer", dia.NewCustomerTarget(e.diaSession(nil)), fastPolicy(3)),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Stop(context.Background()) })
	h := &httpStack{stack: &stack{t: t}, base: "http://" + a.Addr()}
	ls := e.sims.LeanSoft
	ls.Faults.Always(&sim.Fault{Status: 503})
	data, _ := json.Marshal(customerEvent(t, "C-WAIT-1", nil).Data)
	post := func(wait string) (int, statusBody) {
		code, _, sb := h.do("POST", "/v1/events/customer.created", ingestToken, data, map[string]string{"Idempotency-Key": "cust-1", "Prefer": wait})
		return code, sb
	}
	if code, _ := post("wait=1"); code != 202 {
		t.Fatalf("Lean Soft down: %d, want 202", code)
	}
	code, _, sb := h.do("GET", "/v1/events/cust-1", ingestToken, nil, nil)
	states := map[string]string{}
	for _, r := range sb.Routes {
		states[r.Route] = r.State
	}
	if code != 200 || sb.Done || states["dia-customer"] != "succeeded" || states["leansoft-customer"] != "in-progress" {
		t.Fatalf("one route done, one retrying: %d %+v", code, sb)
	}
	ls.Faults.Reset()
	code, sb = post("wait=10")
	if code != 200 || !sb.Done || len(sb.Outcomes) != 2 || !sb.Duplicate {
		t.Fatalf("both done: %d %+v", code, sb)
	}
	if n, _ := cardsWithCode(e.sims.DIA, "C-WAIT-1"); n != 1 || ls.Count() != 1 {
		t.Fatalf("DİA cards %d, Lean Soft customers %d; want 1 each", n, ls.Count())
	}
}
