package app_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"

	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/config"
	"github.com/kopru/kopru/internal/deadletter"
	"github.com/kopru/kopru/internal/event"
)

// leanSoftDocEvent is the Lean Soft doc's example CustomerSave written as a customer.created event, and
// the doc's example request with its white space removed.
func leanSoftDocEvent(t testing.TB) (*event.Envelope, []byte) {
	t.Helper()
	dir := filepath.Join("..", "adapter", "leansoft", "testdata")
	data, err := os.ReadFile(filepath.Join(dir, "doc-example.event.json"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(dir, "doc-example.request.json"))
	if err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, doc); err != nil {
		t.Fatal(err)
	}
	var d bytes.Buffer
	if err := json.Compact(&d, data); err != nil {
		t.Fatal(err)
	}
	return event.New("customer.created", "e2e-test", d.Bytes()), compact.Bytes()
}

// The Lean Soft doc's own example, as an event, through the whole route as the configuration builds
// it (JetStream, worker, simulator over HTTP): under the default checksum policies it produces an
// outcome, Lean Soft receives the doc's body byte for byte, and the doc's identity number (which fails
// the TCKN check) is counted and logged as a masked warning. With userIdentityNumber: enforce the same
// event is an invalid dead letter and nothing is sent.
func TestLeanSoftDocExampleThroughTheRoute(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		e := newE2E(t)
		e.cfg.Routes = map[string]config.Route{"dia-customer": {Enabled: new(false)}}
		e.start(nil)
		outs := e.watch(bus.StreamOutcomes, "outcomes.customer.synced")
		env, doc := leanSoftDocEvent(t)
		e.publish(env, "")

		msgs := outs.wait(1, 10*time.Second)
		d := e.checkOutcome(msgs[0], "leansoft-customer", env)
		recs := e.sims.LeanSoft.Accepted()
		if len(recs) != 1 {
			t.Fatalf("Lean Soft accepted %d customers, want 1", len(recs))
		}
		if !bytes.Equal(recs[0].Body, doc) {
			t.Errorf("Lean Soft received a body that is not the doc's, byte for byte:\n got %s\nwant %s", recs[0].Body, doc)
		}
		if d["customerId"] != recs[0].CustomerID || d["message"] != "Müşteri Başarıyla Aktarılmıştır." {
			t.Errorf("outcome %v, simulator's CustomerID %q", d, recs[0].CustomerID)
		}
		if got := testutil.ToFloat64(e.app.Metrics.CheckWarnings.WithLabelValues("leansoft-customer", "userIdentityNumber")); got != 1 {
			t.Errorf("kopru_check_warnings_total{check=userIdentityNumber} = %v, want 1", got)
		}
		warns := e.logs.FilterField(zap.String("field", "users[0].identityNumber")).All()
		if len(warns) != 1 {
			t.Fatalf("%d warning log entries for the identity number, want 1", len(warns))
		}
		for _, w := range e.logs.All() {
			for k, v := range w.ContextMap() {
				if s, ok := v.(string); ok && strings.Contains(s, "12346578901") {
					t.Errorf("log entry %q shows the identity number in %s: %q", w.Message, k, s)
				}
			}
		}
	})
	t.Run("userIdentityNumber enforce", func(t *testing.T) {
		e := newE2E(t)
		e.cfg.Routes = map[string]config.Route{"dia-customer": {Enabled: new(false)}}
		e.cfg.LeanSoft.Checksums.UserIdentityNumber = "enforce"
		e.start(nil)
		dlq := e.watch(bus.StreamDLQ, "dlq.>")
		env, _ := leanSoftDocEvent(t)
		e.publish(env, "")
		dl := dlq.wait(1, 10*time.Second)
		checkDeadLetter(t, dl[0], "leansoft-customer", env, deadletter.Invalid, "0",
			"users[0].identityNumber", "*********01 fails the TCKN checksum")
		if n := e.sims.LeanSoft.Requests(); n != 0 {
			t.Fatalf("Lean Soft saw %d requests, want 0", n)
		}
	})
}
