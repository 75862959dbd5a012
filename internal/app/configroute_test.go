package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/kopru/kopru/internal/app"
	"github.com/kopru/kopru/internal/bus/bustest"
	"github.com/kopru/kopru/internal/config"
	"github.com/kopru/kopru/internal/devstack"
	"github.com/kopru/kopru/internal/routes"
)

// A route added in configuration is in the route registry the HTTP side reads: the admin status
// lists it, ingest accepts its event type and the events API reports what the route did, exactly as
// for a built-in route.
func TestConfiguredRouteShowsInAdminStatusAndIngest(t *testing.T) {
	bs := bustest.Start(t)
	sims := httptest.NewServer(devstack.New())
	t.Cleanup(sims.Close)
	cfg := config.Config{NATS: config.NATS{URL: bs.Server.ClientURL()}, HTTPAddr: "127.0.0.1:0",
		Ingest: config.Tokens{Tokens: []string{ingestToken}}, Admin: config.Tokens{Tokens: []string{adminToken}},
		Routes: map[string]config.Route{"leansoft-customer-resync": {EventType: "customer.synced",
			OutcomeType: "customer.resynced", Target: "leansoft", Operation: "CustomerSave"}}}
	devstack.Configure(&cfg, sims.URL) // the configured route runs, as a built-in one does
	a, err := app.New(app.Options{Config: cfg, Logger: zap.NewNop()})
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
	base := "http://" + a.Addr()

	req, _ := http.NewRequest(http.MethodGet, base+"/v1/admin/status", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Routes []struct {
			Name      string `json:"route"`
			EventType string `json:"eventType"`
			Target    string `json:"target"`
		} `json:"routes"`
	}
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("admin status: %d %v", resp.StatusCode, err)
	}
	names := map[string]string{}
	for _, r := range st.Routes {
		names[r.Name] = r.EventType + " " + r.Target
	}
	for _, s := range routes.Builtin() {
		if names[s.Name] != s.EventType+" "+s.Target {
			t.Errorf("built-in route %s: %q in admin status", s.Name, names[s.Name])
		}
	}
	if names["leansoft-customer-resync"] != "customer.synced leansoft" {
		t.Fatalf("configured route missing from admin status: %v", names)
	}

	data, err := os.ReadFile("../../schemas/examples/customer.synced.json")
	if err != nil {
		t.Fatal(err)
	}
	req, _ = http.NewRequest(http.MethodPost, base+"/v1/events/customer.synced", bytes.NewReader(data))
	req.Header.Set("Authorization", "Bearer "+ingestToken)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "resync-1")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("ingest of the configured route's event type: %d, want 202", resp.StatusCode)
	}

	req, _ = http.NewRequest(http.MethodGet, base+resp.Header.Get("Location"), nil)
	req.Header.Set("Authorization", "Bearer "+ingestToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var ev struct {
		Routes []struct {
			Route  string `json:"route"`
			Target string `json:"target"`
		} `json:"routes"`
	}
	err = json.NewDecoder(resp.Body).Decode(&ev)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("events API: %d %v", resp.StatusCode, err)
	}
	if len(ev.Routes) != 1 || ev.Routes[0].Route != "leansoft-customer-resync" || ev.Routes[0].Target != "leansoft" {
		t.Fatalf("events API: routes %+v, want the configured route alone", ev.Routes)
	}
}
