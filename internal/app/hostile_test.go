package app_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/deadletter"
	"github.com/kopru/kopru/internal/event"
)

// hostileInputs returns the corpus of testdata/hostile (every *.json and *.bin, published byte for
// byte; gen_hostile.py writes them) and the large inputs generated here rather than committed.
func hostileInputs(t *testing.T) map[string][]byte {
	t.Helper()
	in := map[string][]byte{}
	for _, pat := range []string{"*.json", "*.bin"} {
		files, err := filepath.Glob(filepath.Join("testdata", "hostile", pat))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			in[filepath.Base(f)] = b
		}
	}
	if len(in) < 50 {
		t.Fatalf("only %d hostile events in testdata/hostile", len(in))
	}
	envelope := func(id, data string) []byte {
		return []byte(`{"specversion":"1.0","id":"` + id + `","source":"hostile-test","type":"installation.requested",` +
			`"time":"2025-02-11T06:00:00Z","datacontenttype":"application/json","data":` + data + `}`)
	}
	example := string(exampleData(t))
	// 100,000 nested arrays as data: deeper than any JSON decoder should follow.
	in["generated/nesting-100k-arrays"] = envelope("hostile-gen-nest100k", strings.Repeat("[", 100_000)+strings.Repeat("]", 100_000))
	in["generated/nesting-100k-objects-unclosed"] = envelope("hostile-gen-nest100k-obj", strings.Repeat(`{"a":`, 100_000))
	// Just under event.MaxSize: a 900 KB customer name (the schema allows 250 characters).
	huge := strings.Replace(example, `"Deneme Müşteri"`, `"`+strings.Repeat("Ş", 450_000)+`"`, 1)
	in["generated/fullname-900KB"] = envelope("hostile-gen-900k", huge)
	// 200,000 serial numbers, each valid: the document is one big array.
	in["generated/serials-200k"] = envelope("hostile-gen-serials", strings.Replace(example, `["99958", "99959"]`,
		"["+strings.TrimSuffix(strings.Repeat(`"9,",`, 200_000), ",")+"]", 1))
	return in
}

// TestHostileEventsEndAsInvalidDeadLetters publishes every hostile event on
// events.installation.requested through the running app: each must end as exactly one `invalid` dead
// letter with a one-line Kopru-Error, with no call at the simulator, no panic and bounded memory.
func TestHostileEventsEndAsInvalidDeadLetters(t *testing.T) {
	if testing.Short() {
		t.Skip("publishes ~90 events, some of several MiB")
	}
	s := newStack(t)
	ctx := context.Background()
	inputs := hostileInputs(t)
	const subject = "events.installation.requested"

	// Over the server's max payload, or over EVENTS' max message size (event.MaxSize): refused, never
	// in the stream.
	before := streamMsgs(t, s.js, bus.StreamEvents)
	tooBig := bytes.Repeat([]byte("x"), 10_000_000)
	if _, err := s.js.Publish(ctx, subject, tooBig, jetstream.WithMsgID("hostile/10MB")); err == nil {
		t.Fatal("a 10 MB event was accepted; the server's max payload is 8 MiB")
	} else if !errors.Is(err, nats.ErrMaxPayload) && !strings.Contains(strings.ToLower(err.Error()), "payload") {
		t.Fatalf("10 MB publish failed, but not for its size: %v", err)
	}
	big := envelope2MiB(exampleData(t))
	if _, err := s.js.Publish(ctx, subject, big, jetstream.WithMsgID("hostile/2MiB")); err == nil {
		t.Fatalf("a %d-byte event was stored; EVENTS' limit is %d", len(big), event.MaxSize)
	}
	if after := streamMsgs(t, s.js, bus.StreamEvents); after != before {
		t.Fatalf("EVENTS holds %d messages after the refused publish, %d before", after, before)
	}

	byHash := map[[32]byte]string{}
	for name, b := range inputs {
		h := sha256.Sum256(b)
		if other, dup := byHash[h]; dup {
			t.Fatalf("%s and %s are the same bytes", name, other)
		}
		byHash[h] = name
		if _, err := s.js.Publish(ctx, subject, b, jetstream.WithMsgID("hostile/"+name)); err != nil {
			t.Fatalf("publish %s (%d bytes): %v", name, len(b), err)
		}
	}

	dl := s.deadLetters(len(inputs), 90*time.Second)
	seen := map[string]int{}
	for _, m := range dl {
		name, ok := byHash[sha256.Sum256(m.Data())]
		if !ok {
			t.Errorf("dead letter %s holds bytes that were not published (%d bytes)", m.Headers().Get(deadletter.HdrEventID), len(m.Data()))
			continue
		}
		seen[name]++
		h := m.Headers()
		if c := h.Get(deadletter.HdrErrorClass); c != "invalid" {
			t.Errorf("%s: class %q, want invalid (error %q)", name, c, h.Get(deadletter.HdrError))
		}
		e := h.Get(deadletter.HdrError)
		if e == "" || strings.ContainsAny(e, "\r\n") || len(e) > 1000 {
			t.Errorf("%s: Kopru-Error is empty, not one line or over 1000 bytes: %q", name, clipTo(e, 200))
		}
		if h.Get(deadletter.HdrRoute) != "licrus-installation" || h.Get(deadletter.HdrOriginalSubject) != subject || h.Get(deadletter.HdrEventID) == "" {
			t.Errorf("%s: headers %v", name, h)
		}
	}
	for name := range inputs {
		if seen[name] != 1 {
			t.Errorf("%s: %d dead letters, want 1", name, seen[name])
		}
	}
	if got := counter(s.app, "licrus-installation", "invalid"); int(got) != len(inputs) {
		t.Errorf("invalid counter %v, want %d", got, len(inputs))
	}
	if n := s.sim.Requests(); n != 0 {
		t.Errorf("the simulator saw %d requests, want 0", n)
	}
	if outs := s.outcomes(-1, 100*time.Millisecond); len(outs) != 0 {
		t.Errorf("%d outcomes, want 0", len(outs))
	}
	for _, e := range s.logs.All() {
		if strings.Contains(strings.ToLower(e.Message), "panic") {
			t.Errorf("panic logged: %s %v", e.Message, e.ContextMap())
		}
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	const bound = 200 << 20
	if ms.HeapInuse > bound {
		t.Errorf("heap in use %d MiB after GC, bound %d MiB", ms.HeapInuse>>20, bound>>20)
	}
	t.Logf("%d hostile events dead-lettered; heap in use after GC %d MiB", len(inputs), ms.HeapInuse>>20)
	s.assertNoSecrets()
}

func streamMsgs(t *testing.T, js jetstream.JetStream, name string) uint64 {
	t.Helper()
	st, err := js.Stream(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

func clipTo(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// TestOversizedEventNeverEntersTheStream: EVENTS refuses anything over event.MaxSize, so every event
// that is stored is small enough to be dead-lettered whole (original bytes plus the Kopru-* headers)
// even on a server with NATS's default 1 MiB max payload.
func TestOversizedEventNeverEntersTheStream(t *testing.T) {
	s := newStack(t)
	before := streamMsgs(t, s.js, "EVENTS")
	for _, size := range []int{event.MaxSize + 1, 2 << 20, 8<<20 - 200} {
		b := bytes.Repeat([]byte("x"), size)
		if _, err := s.js.Publish(context.Background(), "events.installation.requested", b); err == nil {
			t.Fatalf("a %d-byte event was stored (limit %d)", size, event.MaxSize)
		}
	}
	if after := streamMsgs(t, s.js, "EVENTS"); after != before {
		t.Fatalf("EVENTS grew from %d to %d", before, after)
	}
	// The largest event the stream takes is dead-lettered whole.
	msgID := "hostile/at-the-limit"
	b := append([]byte(`{"specversion":"1.0","id":"x","source":"s","type":"installation.requested","data":{"pad":"`),
		bytes.Repeat([]byte("x"), event.MaxSize-200)...)
	b = append(b, `"}}`...)
	b = append(b, bytes.Repeat([]byte(" "), event.MaxSize-len(b)-len(nats.MsgIdHdr)-len(msgID)-64)...)
	if _, err := s.js.Publish(context.Background(), "events.installation.requested", b, jetstream.WithMsgID(msgID)); err != nil {
		t.Fatalf("publish of %d bytes refused: %v", len(b), err)
	}
	dl := s.deadLetters(1, 10*time.Second)
	if len(dl) != 1 || len(dl[0].Data()) != len(b) {
		t.Fatalf("%d dead letters for a %d-byte event, want 1 carrying it whole", len(dl), len(b))
	}
	if c := dl[0].Headers().Get(deadletter.HdrErrorClass); c != "invalid" {
		t.Fatalf("class %q, want invalid", c)
	}
}

// envelope2MiB is a well-formed event of 2 MiB: under the server's max payload, over EVENTS' limit.
func envelope2MiB(example []byte) []byte {
	big := strings.Replace(string(example), `"Deneme Müşteri"`, `"`+strings.Repeat("x", 2<<20)+`"`, 1)
	return []byte(`{"specversion":"1.0","id":"hostile-gen-2mib","source":"hostile-test","type":"installation.requested","data":` + big + `}`)
}
