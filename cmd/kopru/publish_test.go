package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kopru/kopru/internal/event"
	"github.com/kopru/kopru/schemas"
)

// lastEvent reads the newest message on events.<typ>.
func (e *cliEnv) lastEvent(typ string) *jetstream.RawStreamMsg {
	e.t.Helper()
	s, err := e.js.Stream(context.Background(), "EVENTS")
	if err != nil {
		e.t.Fatal(err)
	}
	m, err := s.GetLastMsgForSubject(context.Background(), "events."+typ)
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

func TestPublishWrapsDataAndPrintsTheID(t *testing.T) {
	e := newCLIEnv(t)
	code, out, errs := runCLI(t, "", "publish", "installation.requested", "../../schemas/examples/installation.requested.json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	id := strings.TrimSpace(out)
	m := e.lastEvent("installation.requested")
	env, err := event.Decode(m.Data)
	if err != nil {
		t.Fatal(err)
	}
	if env.ID != id || m.Header.Get("Nats-Msg-Id") != id || env.Type != "installation.requested" || env.Source != "kopru-cli" {
		t.Fatalf("published %+v with Nats-Msg-Id %q; printed %q", env, m.Header.Get("Nats-Msg-Id"), id)
	}
	want, _ := schemas.FS.ReadFile("examples/installation.requested.json")
	var a, b any
	_ = json.Unmarshal(want, &a)
	_ = json.Unmarshal(env.Data, &b)
	if ja, _ := json.Marshal(a); string(ja) != string(mustJSON(b)) {
		t.Fatalf("data changed on the way")
	}
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

func TestPublishTakesAWholeEnvelopeFromStdin(t *testing.T) {
	e := newCLIEnv(t)
	data, _ := schemas.FS.ReadFile("examples/installation.requested.json")
	env := event.New("installation.requested", "erp-7", data)
	env.ID = "order-1234"
	b, _ := env.Marshal()
	code, out, errs := runCLI(t, string(b), "publish", "installation.requested", "-")
	if code != 0 || strings.TrimSpace(out) != "order-1234" {
		t.Fatalf("exit %d, out %q, err %s", code, out, errs)
	}
	if got := e.lastEvent("installation.requested"); got.Header.Get("Nats-Msg-Id") != "order-1234" {
		t.Fatalf("Nats-Msg-Id %q", got.Header.Get("Nats-Msg-Id"))
	}
	// The same envelope again: JetStream drops it and the CLI says so.
	code, _, errs = runCLI(t, string(b), "publish", "installation.requested", "-")
	if code != 0 || !strings.Contains(errs, "duplicate") {
		t.Fatalf("second publish: exit %d, stderr %q", code, errs)
	}
}

func TestPublishRefusesBadInputBeforeSending(t *testing.T) {
	e := newCLIEnv(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	_ = os.WriteFile(bad, []byte(`{"customer":{"fullName":"A"}}`), 0o600)
	other := event.New("customer.created", "x", []byte(`{}`))
	ob, _ := other.Marshal()
	cases := []struct {
		name, stdin string
		args        []string
		code        int
		want        string
	}{
		{"schema violation", "", []string{"publish", "installation.requested", bad}, 1, "breaks schema"},
		{"not JSON", "nope", []string{"publish", "installation.requested"}, 1, "not a JSON object"},
		{"envelope of another type", string(ob), []string{"publish", "installation.requested", "-"}, 1, "does not match"},
		{"unknown type", "{}", []string{"publish", "no.such.type"}, 2, "unknown event type \"no.such.type\" Event types: customer.created, first-start.requested, installation.requested, service-note.created"},
		{"misspelt type", "{}", []string{"publish", "installation.requsted"}, 2, "did you mean installation.requested?"},
		{"outcome type", "{}", []string{"publish", "customer.synced"}, 2, "customer.synced is an outcome type: Köprü publishes it on outcomes.customer.synced"},
		{"no type", "", []string{"publish"}, 2, "TYPE"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := runCLI(t, tc.stdin, tc.args...)
			if code != tc.code || !strings.Contains(errs, tc.want) {
				t.Fatalf("exit %d (want %d), stderr %q (want %q)", code, tc.code, errs, tc.want)
			}
		})
	}
	s, _ := e.js.Stream(context.Background(), "EVENTS")
	info, _ := s.Info(context.Background())
	if info.State.Msgs != 0 {
		t.Fatalf("%d events published by refused commands", info.State.Msgs)
	}
}

func TestTopLevelHelpAndUnknownCommand(t *testing.T) {
	code, out, _ := runCLI(t, "", "--help")
	if code != 0 || !strings.Contains(out, "kopru run") || !strings.Contains(out, "KOPRU_NATS_URL") {
		t.Fatalf("help: %d %q", code, out)
	}
	code, _, errs := runCLI(t, "", "frobnicate")
	if code != 2 || !strings.Contains(errs, "unknown command") {
		t.Fatalf("unknown command: %d %q", code, errs)
	}
}
