package ops_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/event"
	"github.com/kopru/kopru/internal/ops"
	"github.com/kopru/kopru/internal/sim"
	"github.com/kopru/kopru/schemas"
)

const ticket = "TICKET-e2e-aa1c99300ccd452aa518a52aa5650000"

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func msgs(t *testing.T, js jetstream.JetStream, stream, subject string) uint64 {
	t.Helper()
	s, err := js.Stream(context.Background(), stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background(), jetstream.WithSubjectFilter(subject))
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Subjects[subject]
}

// A rejected event, ingested over HTTP, replayed through the admin API, really runs again: the
// Licrus simulator makes the call and the outcome appears, and the DLQ is empty.
func TestReplayedEventRunsAgainEndToEnd(t *testing.T) {
	stack := newCEStack(t) // the same stack as the CloudEvents interop tests
	lsim, base, js := stack.sim, stack.base, stack.js

	call := func(method, path, token string, body []byte, v any) int {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if v != nil {
			if err := json.Unmarshal(b, v); err != nil {
				t.Fatalf("%s %s: %v: %s", method, path, err, b)
			}
		}
		return resp.StatusCode
	}

	lsim.Faults.Push(sim.Fault{VendorError: "Seri numarası sistemde bulunamadı."})
	data, _ := schemas.FS.ReadFile("examples/installation.requested.json")
	var acc struct {
		ID        string `json:"id"`
		Duplicate bool   `json:"duplicate"`
	}
	if code := call("POST", "/v1/events/installation.requested", "in-tok", data, &acc); code != 202 || acc.ID == "" {
		t.Fatalf("ingest: %d %+v", code, acc)
	}
	waitFor(t, 10*time.Second, "the dead letter", func() bool { return msgs(t, js, bus.StreamDLQ, "dlq.licrus-installation") == 1 })
	if lsim.CallCount() != 0 {
		t.Fatalf("the rejected request made %d calls", lsim.CallCount())
	}

	var list ops.ListResult
	if code := call("GET", "/v1/admin/dlq?route=licrus-installation&class=rejected", "ad-tok", nil, &list); code != 200 || len(list.Items) != 1 {
		t.Fatalf("list: %d %+v", code, list)
	}
	dl := list.Items[0]
	if dl.EventID != acc.ID || dl.TargetStatus != "HasError" {
		t.Fatalf("dead letter %+v", dl)
	}
	var st ops.Status
	if call("GET", "/v1/admin/status", "ad-tok", nil, &st); st.Routes[0].DLQDepth != 1 || st.Routes[0].LastError == "" {
		t.Fatalf("status %+v", st.Routes[0])
	}

	var rep ops.Report
	body := []byte(`{"ids":[` + strconv.FormatUint(dl.ID, 10) + `]}`)
	if code := call("POST", "/v1/admin/dlq/replay", "ad-tok", body, &rep); code != 200 || rep.Counts[ops.ResultReplayed] != 1 {
		t.Fatalf("replay: %d %+v", code, rep)
	}
	waitFor(t, 10*time.Second, "the outcome", func() bool {
		return msgs(t, js, bus.StreamOutcomes, "outcomes.installation.call-created") == 1
	})
	s, _ := js.Stream(context.Background(), bus.StreamOutcomes)
	m, err := s.GetLastMsgForSubject(context.Background(), "outcomes.installation.call-created")
	if err != nil {
		t.Fatal(err)
	}
	out, err := event.Decode(m.Data)
	if err != nil {
		t.Fatal(err)
	}
	var od map[string]any
	_ = json.Unmarshal(out.Data, &od)
	if od["requestId"] != acc.ID || od["callNumber"] == "" {
		t.Fatalf("outcome %s", out.Data)
	}
	if lsim.CallCount() != 1 {
		t.Fatalf("simulator accepted %d calls, want 1", lsim.CallCount())
	}
	if n := msgs(t, js, bus.StreamDLQ, "dlq.licrus-installation"); n != 0 {
		t.Fatalf("%d dead letters left", n)
	}
	// Replaying the same id again finds nothing: no second call.
	if code := call("POST", "/v1/admin/dlq/replay", "ad-tok", body, &rep); code != 200 || rep.Selected != 0 {
		t.Fatalf("second replay: %d %+v", code, rep)
	}
	time.Sleep(200 * time.Millisecond)
	if lsim.CallCount() != 1 {
		t.Fatalf("simulator accepted %d calls after a second replay, want 1", lsim.CallCount())
	}
}
