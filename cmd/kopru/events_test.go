package main

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/ledger"
)

func TestCLIEventsShow(t *testing.T) {
	e := newCLIEnv(t)
	ctx := context.Background()
	if _, err := e.js.CreateOrUpdateConsumer(ctx, bus.StreamEvents, jetstream.ConsumerConfig{Durable: "licrus-installation",
		FilterSubject: "events.installation.requested", AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		t.Fatal(err)
	}
	kv, err := e.js.KeyValue(ctx, bus.LedgerBucket)
	if err != nil {
		t.Fatal(err)
	}
	l := ledger.New(kv, nil)
	at := time.Now().UTC().Add(-time.Minute)
	ok := ledger.Entry{State: ledger.Succeeded, Attempts: 2,
		Outcome: json.RawMessage(`{"specversion":"1.0","id":"o1","type":"installation.call-created","data":{"callNumber":"43090"}}`)}
	ok.AddAttempt(ledger.Attempt{N: 1, At: at, DurationMS: 12, Status: "503", Class: "retryable", Error: "busy"})
	ok.AddAttempt(ledger.Attempt{N: 2, At: at.Add(time.Second), DurationMS: 30, Class: "ok"})
	if _, err := l.Create(ctx, ledger.Key("licrus-installation", "ev-ok"), ok); err != nil {
		t.Fatal(err)
	}
	seq, env := e.seed("rejected", "Seri numarası hatalı")
	dead := ledger.Entry{State: ledger.Dead, Attempts: 1, DLQ: map[string]string{"Kopru-Error-Class": "rejected", "Kopru-Error": "Seri numarası hatalı"}}
	if _, err := l.Create(ctx, ledger.Key("licrus-installation", env.ID), dead); err != nil {
		t.Fatal(err)
	}

	code, out, errOut := runCLI(t, "", "events", "show", "ev-ok")
	if code != 0 || !strings.Contains(out, "succeeded callNumber=43090") || !strings.Contains(out, "503") || !strings.Contains(out, "retryable") {
		t.Fatalf("show ev-ok: %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "", "events", "show", env.ID)
	want := "dead-lettered (rejected: Seri numarası hatalı; dead letter " + strconv.FormatUint(seq, 10)
	if code != 0 || !strings.Contains(out, want) {
		t.Fatalf("show dead: %d\n%s\n%s\nwant %q", code, out, errOut, want)
	}
	code, out, _ = runCLI(t, "", "events", "show", "--json", "ev-ok")
	var st struct {
		Done   bool `json:"done"`
		Routes []struct {
			State    string `json:"state"`
			Attempts []any  `json:"attempts"`
		} `json:"routes"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || !st.Done || len(st.Routes) != 1 || st.Routes[0].State != "succeeded" || len(st.Routes[0].Attempts) != 2 {
		t.Fatalf("--json: %d %s", code, out)
	}
	if code, _, errOut = runCLI(t, "", "events", "show", "nobody"); code != 1 || !strings.Contains(errOut, "no event") {
		t.Fatalf("unknown id: %d %s", code, errOut)
	}
}

func TestCLIDLQGroups(t *testing.T) {
	e := newCLIEnv(t)
	for _, n := range []string{"111", "222", "333"} {
		e.seed("rejected", `Seri numarası "SN-`+n+`" bulunamadı`)
	}
	e.seed("exhausted", "gave up after 8 calls; last: 503")
	code, out, errOut := runCLI(t, "", "dlq", "groups")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[1], "3 ") || !strings.Contains(lines[1], `Seri numarası "…" bulunamadı`) ||
		!strings.Contains(lines[1], "1,2,3") || !strings.HasPrefix(lines[2], "1 ") {
		t.Fatalf("groups: %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = runCLI(t, "", "dlq", "groups", "--class", "exhausted", "--json")
	var gs []struct {
		Count int      `json:"count"`
		IDs   []uint64 `json:"ids"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &gs) != nil || len(gs) != 1 || gs[0].Count != 1 || gs[0].IDs[0] != 4 {
		t.Fatalf("groups --json: %d %s", code, out)
	}
}
