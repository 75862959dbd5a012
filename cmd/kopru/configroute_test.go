package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kopru/kopru/internal/routes"
)

// kopru status reports a route added in configuration (KOPRU_CONFIG) as it reports a built-in one.
func TestStatusShowsConfiguredRoute(t *testing.T) {
	newCLIEnv(t)
	path := filepath.Join(t.TempDir(), "kopru.yaml")
	yaml := "routes:\n  leansoft-customer-resync: {eventType: customer.synced, outcomeType: customer.resynced, target: leansoft, operation: CustomerSave}\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KOPRU_CONFIG", path)
	code, out, stderr := runCLI(t, "", "status", "--json")
	if code != 0 {
		t.Fatalf("%d %s", code, stderr)
	}
	var st struct {
		Routes []struct {
			Route     string `json:"route"`
			EventType string `json:"eventType"`
			Target    string `json:"target"`
		} `json:"routes"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	got := map[string]string{}
	for _, r := range st.Routes {
		got[r.Route] = r.EventType + " " + r.Target
	}
	for _, s := range routes.Builtin() {
		if got[s.Name] != s.EventType+" "+s.Target {
			t.Errorf("built-in route %s: %q", s.Name, got[s.Name])
		}
	}
	if got["leansoft-customer-resync"] != "customer.synced leansoft" {
		t.Fatalf("configured route missing from kopru status: %v", got)
	}
	if code, out, stderr := runCLI(t, "", "status"); code != 0 || !strings.Contains(out, "leansoft-customer-resync") {
		t.Fatalf("kopru status (text): %d %s\n%s", code, stderr, out)
	}

	// A configuration whose added route cannot run is refused as `kopru run` refuses it.
	if err := os.WriteFile(path, []byte("routes:\n  leansoft-x: {eventType: customer.synced}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, "", "status"); code == 0 || stderr == "" {
		t.Fatalf("bad route: %d %q", code, stderr)
	}
}
