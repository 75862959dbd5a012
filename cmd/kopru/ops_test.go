package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/bus/bustest"
	"github.com/kopru/kopru/internal/deadletter"
	"github.com/kopru/kopru/internal/event"
	"github.com/kopru/kopru/internal/ops"
	"github.com/kopru/kopru/schemas"
)

type cliEnv struct {
	t  *testing.T
	js jetstream.JetStream
}

func newCLIEnv(t *testing.T) *cliEnv {
	t.Helper()
	s := bustest.Start(t)
	s.Ensure(t)
	js := s.JS
	t.Setenv("KOPRU_NATS_URL", s.URL)
	t.Setenv("KOPRU_NATS_CREDS", "")
	return &cliEnv{t: t, js: js}
}

func (e *cliEnv) seed(class, errText string) (uint64, *event.Envelope) {
	e.t.Helper()
	data, _ := schemas.FS.ReadFile("examples/installation.requested.json")
	env := event.New("installation.requested", "test", data)
	b, _ := env.Marshal()
	m := nats.NewMsg("dlq.licrus-installation")
	m.Data = b
	m.Header = deadletter.Letter{Route: "licrus-installation", EventID: env.ID, OriginalSubject: "events.installation.requested",
		Class: deadletter.Class(class), Error: errText, Attempts: 1, TargetStatus: "HasError", FailedAt: time.Now().Add(-2 * time.Hour)}.Header()
	ack, err := e.js.PublishMsg(context.Background(), m)
	if err != nil {
		e.t.Fatal(err)
	}
	return ack.Sequence, env
}

func (e *cliEnv) count(stream string) uint64 {
	s, _ := e.js.Stream(context.Background(), stream)
	info, _ := s.Info(context.Background())
	return info.State.Msgs
}

func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestCLIWithoutNATSURL(t *testing.T) {
	t.Setenv("KOPRU_NATS_URL", "")
	for _, args := range [][]string{{"dlq", "list"}, {"status"}} {
		code, _, stderr := runCLI(t, "", args...)
		if code != 1 || !strings.Contains(stderr, "KOPRU_NATS_URL is empty") {
			t.Fatalf("%v: %d %s", args, code, stderr)
		}
	}
	t.Setenv("KOPRU_NATS_URL", "nats://127.0.0.1:1")
	code, _, stderr := runCLI(t, "", "dlq", "list")
	if code != 1 || !strings.Contains(stderr, "cannot reach NATS at nats://127.0.0.1:1") {
		t.Fatalf("unreachable: %d %s", code, stderr)
	}
}

func TestCLIListShow(t *testing.T) {
	e := newCLIEnv(t)
	id1, env1 := e.seed("rejected", "Seri numarası sistemde bulunamadı. "+strings.Repeat("x", 100))
	e.seed("exhausted", "gave up after 8 calls")
	code, out, stderr := runCLI(t, "", "dlq", "list")
	if code != 0 {
		t.Fatalf("%d %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[0], "ROUTE") || !strings.Contains(lines[0], "ERROR") {
		t.Fatalf("table:\n%s", out)
	}
	if i := strings.Index(lines[0], "CLASS"); lines[1][i:i+8] != "rejected" {
		t.Fatalf("columns are not aligned:\n%s", out)
	}
	if !strings.Contains(lines[1], "2h0m") || !strings.HasSuffix(lines[1], "…") {
		t.Fatalf("age or truncation:\n%s", out)
	}
	code, out, _ = runCLI(t, "", "dlq", "list", "--class", "exhausted", "--json")
	var res ops.ListResult
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || len(res.Items) != 1 || res.Items[0].Class != "exhausted" {
		t.Fatalf("json: %d %s", code, out)
	}
	if code, _, stderr := runCLI(t, "", "dlq", "list", "--class", "bogus"); code != 2 || !strings.Contains(stderr, "use invalid, rejected") {
		t.Fatalf("bad class: %d %s", code, stderr)
	}
	code, out, _ = runCLI(t, "", "dlq", "show", strconv.FormatUint(id1, 10))
	if code != 0 || !strings.Contains(out, "Kopru-Error-Class:") || !strings.Contains(out, env1.ID) || !strings.Contains(out, "\"specversion\": \"1.0\"") {
		t.Fatalf("show: %d\n%s", code, out)
	}
	if code, _, stderr := runCLI(t, "", "dlq", "show", "999"); code != 1 || !strings.Contains(stderr, "not found") {
		t.Fatalf("show missing: %d %s", code, stderr)
	}
}

func TestCLIReplayConfirmation(t *testing.T) {
	e := newCLIEnv(t)
	e.seed("rejected", "a")
	e.seed("ambiguous", "b")
	// No filter at all.
	if code, _, stderr := runCLI(t, "", "dlq", "replay"); code != 2 || !strings.Contains(stderr, "say what to replay") {
		t.Fatalf("no filter: %d %s", code, stderr)
	}
	// Non-interactive without --yes: refused, nothing changed.
	code, _, stderr := runCLI(t, "", "dlq", "replay", "--route", "licrus-installation")
	if code != 1 || !strings.Contains(stderr, "add --yes") || e.count(bus.StreamEvents) != 0 || e.count(bus.StreamDLQ) != 2 {
		t.Fatalf("refusal: %d %s", code, stderr)
	}
	// Dry run: no question, no change.
	code, out, _ := runCLI(t, "", "dlq", "replay", "--route", "licrus-installation", "--dry-run")
	if code != 0 || !strings.Contains(out, "would-replay") || !strings.Contains(out, "dry run") || e.count(bus.StreamEvents) != 0 {
		t.Fatalf("dry run: %d %s", code, out)
	}
	// Interactive, answered no, then yes.
	old := isInteractive
	isInteractive = func(io.Reader) bool { return true }
	t.Cleanup(func() { isInteractive = old })
	code, _, stderr = runCLI(t, "n\n", "dlq", "replay", "--route", "licrus-installation")
	if code != 1 || !strings.Contains(stderr, "Replay 2 dead letter(s) (1 ambiguous, 1 rejected") || e.count(bus.StreamEvents) != 0 {
		t.Fatalf("answered no: %d %s", code, stderr)
	}
	code, out, stderr = runCLI(t, "y\n", "dlq", "replay", "--route", "licrus-installation")
	if code != 0 || !strings.Contains(out, "replayed 1") || !strings.Contains(out, "skipped 1") || !strings.Contains(stderr, "--allow-ambiguous") {
		t.Fatalf("answered yes: %d %s %s", code, out, stderr)
	}
	if e.count(bus.StreamEvents) != 1 || e.count(bus.StreamDLQ) != 1 {
		t.Fatalf("streams: events %d dlq %d", e.count(bus.StreamEvents), e.count(bus.StreamDLQ))
	}
	code, out, _ = runCLI(t, "", "dlq", "replay", "--class", "ambiguous", "--allow-ambiguous", "--yes")
	if code != 0 || !strings.Contains(out, "replayed 1") || e.count(bus.StreamDLQ) != 0 {
		t.Fatalf("allow ambiguous: %d %s", code, out)
	}
}

func TestCLIReplayProgressAndPurge(t *testing.T) {
	e := newCLIEnv(t)
	for i := 0; i < 40; i++ {
		e.seed("rejected", "r")
	}
	e.seed("invalid", "bad")
	code, _, stderr := runCLI(t, "", "dlq", "replay", "--class", "rejected", "--yes")
	if code != 0 || !strings.Contains(stderr, "replayed 10/40") || !strings.Contains(stderr, "replayed 40/40") {
		t.Fatalf("progress: %d %s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "", "dlq", "purge", "--class", "invalid"); code != 1 || !strings.Contains(stderr, "--yes") {
		t.Fatalf("purge refusal: %d %s", code, stderr)
	}
	code, out, _ := runCLI(t, "", "dlq", "purge", "--class", "invalid", "--yes")
	if code != 0 || !strings.Contains(out, "purged 1") || e.count(bus.StreamDLQ) != 0 || e.count(bus.StreamEvents) != 40 {
		t.Fatalf("purge: %d %s", code, out)
	}
	// Nothing left to match: both commands say so and change nothing.
	for _, verb := range []string{"purge", "replay"} {
		code, out, stderr := runCLI(t, "", "dlq", verb, "--class", "invalid", "--yes")
		if code != 0 || out != "" || !strings.Contains(stderr, "no dead letters match; nothing to "+verb) {
			t.Fatalf("%s of nothing: %d %q %q", verb, code, out, stderr)
		}
	}
	if e.count(bus.StreamEvents) != 40 {
		t.Fatal("a replay of nothing published events")
	}
}

func TestCLIReplayEditFile(t *testing.T) {
	e := newCLIEnv(t)
	id, env := e.seed("rejected", "serial unknown")
	var data map[string]any
	_ = json.Unmarshal(env.Data, &data)
	data["deviceCount"] = 5
	env.Data, _ = json.Marshal(data)
	b, _ := json.MarshalIndent(env, "", "  ")
	f := filepath.Join(t.TempDir(), "fixed.json")
	_ = os.WriteFile(f, b, 0o600)
	sid := strconv.FormatUint(id, 10)
	if code, _, stderr := runCLI(t, "", "dlq", "replay", "--route", "licrus-installation", "--edit-file", f, "--yes"); code != 2 || !strings.Contains(stderr, "exactly one") {
		t.Fatalf("edit without one id: %d %s", code, stderr)
	}
	code, out, stderr := runCLI(t, "", "dlq", "replay", "--id", sid, "--edit-file", f, "--editor-user", "ayse", "--yes")
	if code != 0 || !strings.Contains(out, "replayed 1") {
		t.Fatalf("edit: %d %s %s", code, out, stderr)
	}
	s, _ := e.js.Stream(context.Background(), bus.StreamEvents)
	m, err := s.GetMsg(context.Background(), 1)
	if err != nil || m.Header.Get(deadletter.HdrEditedBy) != "ayse" || m.Header.Get(deadletter.HdrEditedFields) != "/data/deviceCount" {
		t.Fatalf("republished %v %v", err, m)
	}
	// --edit runs the editor on the event.
	id2, _ := e.seed("rejected", "serial unknown")
	old := runEditor
	runEditor = func(path string) error {
		b, _ := os.ReadFile(path)
		return os.WriteFile(path, bytes.Replace(b, []byte(`"deviceCount": 2`), []byte(`"deviceCount": 3`), 1), 0o600)
	}
	t.Cleanup(func() { runEditor = old })
	code, out, stderr = runCLI(t, "", "dlq", "replay", "--id", strconv.FormatUint(id2, 10), "--edit", "--yes")
	if code != 0 || !strings.Contains(out, "replayed 1") {
		t.Fatalf("--edit: %d %s %s", code, out, stderr)
	}
}

func TestCLIStatus(t *testing.T) {
	e := newCLIEnv(t)
	e.seed("rejected", "Seri numarası sistemde bulunamadı.")
	code, out, stderr := runCLI(t, "", "status")
	if code != 0 || !strings.Contains(out, "ROUTE") || !strings.Contains(out, "licrus-installation") ||
		!strings.Contains(out, "Seri numarası") || !strings.Contains(out, "closed/unknown") {
		t.Fatalf("%d %s %s", code, out, stderr)
	}
	code, out, _ = runCLI(t, "", "status", "--json")
	var st ops.Status
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || len(st.Routes) == 0 || st.Routes[0].DLQDepth != 1 {
		t.Fatalf("json %d %s", code, out)
	}
}

func TestCLIHelp(t *testing.T) {
	for _, args := range [][]string{{"dlq", "list", "--help"}, {"dlq", "show", "--help"}, {"dlq", "replay", "--help"}, {"dlq", "purge", "--help"}, {"status", "--help"}} {
		code, _, stderr := runCLI(t, "", args...)
		if code != 0 || !strings.Contains(stderr, "Examples:") {
			t.Fatalf("%v: %d %s", args, code, stderr)
		}
	}
}
