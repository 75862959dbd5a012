package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kopru/kopru/internal/config"
	"github.com/kopru/kopru/internal/devstack"
	"github.com/kopru/kopru/internal/metrics"
)

// clearKopruEnv empties every KOPRU_* variable for the test, so the host's environment cannot leak in.
func clearKopruEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "KOPRU_") {
			t.Setenv(k, "")
		}
	}
}

// TestRunRefusesIncompleteTargets: kopru run stops before starting anything and names every
// variable to set (all of DİA's at once), and suggests the route a misspelt name meant.
func TestRunRefusesIncompleteTargets(t *testing.T) {
	clearKopruEnv(t)
	t.Setenv("KOPRU_NATS_URL", "nats://127.0.0.1:1") // never dialled: the check comes first
	t.Setenv("KOPRU_DIA_URL", "http://127.0.0.1:1/dia/api/v3")
	t.Setenv("KOPRU_DIA_USERNAME", "ws")
	t.Setenv("KOPRU_DIA_PASSWORD", "pw-not-echoed")
	t.Setenv("KOPRU_LEANSOFT_URL", "http://127.0.0.1:1/leansoft/api")
	code, _, stderr := runCLI(t, "", "run")
	if code != 1 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"KOPRU_DIA_FIRMA_KODU or dia.firmaKodu", "KOPRU_DIA_DONEM_KODU or dia.donemKodu",
		"KOPRU_DIA_API_KEY", "KOPRU_LEANSOFT_COMPANY_ID or leansoft.companyId"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "pw-not-echoed") || strings.Contains(stderr, "connect") {
		t.Errorf("stderr: %s", stderr)
	}

	// A disabled target's routes are not checked; a misspelt route name is caught.
	cfg := filepath.Join(t.TempDir(), "kopru.yaml")
	_ = os.WriteFile(cfg, []byte("routes:\n  dia-customer: {enabled: false}\n  dia-service-note: {enabled: false}\n  leansoft-customr: {concurrency: 2}\n"), 0o600)
	code, _, stderr = runCLI(t, "", "run", "--config", cfg)
	if code != 1 || !strings.Contains(stderr, "routes.leansoft-customr: no such route; did you mean leansoft-customer?") || strings.Contains(stderr, "DİA") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}

// TestSampleConfigAgreesWithTheSimulator: the Kubernetes sample's DİA company and period are the ones
// `kopru sim` accepts, and `kopru sim --help` says which they are.
func TestSampleConfigAgreesWithTheSimulator(t *testing.T) {
	c, err := config.Load("../../deploy/kubernetes/base/config.yaml", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if c.DIA.FirmaKodu != devstack.DIAFirmaKodu || c.DIA.DonemKodu != devstack.DIADonemKodu {
		t.Fatalf("sample config firma %d donem %d; kopru sim expects %d/%d", c.DIA.FirmaKodu, c.DIA.DonemKodu, devstack.DIAFirmaKodu, devstack.DIADonemKodu)
	}
	code, _, stderr := runCLI(t, "", "sim", "--help")
	if code != 0 || !strings.Contains(stderr, "firma_kodu 34 and donem_kodu 1") || !strings.Contains(stderr, "KOPRU_DIA_FIRMA_KODU=34") ||
		!strings.Contains(stderr, "simulators of the three vendor APIs") {
		t.Fatalf("sim --help: %d %s", code, stderr)
	}
}

func TestVersion(t *testing.T) {
	old, oldCommit := metrics.Version, metrics.Commit
	metrics.Version, metrics.Commit = "v9.8.7", "0123abcd"
	t.Cleanup(func() { metrics.Version, metrics.Commit = old, oldCommit })
	for _, arg := range []string{"version", "--version"} {
		code, out, _ := runCLI(t, "", arg)
		want := "kopru v9.8.7 (commit 0123abcd, " + runtime.Version()
		if code != 0 || !strings.HasPrefix(out, want) {
			t.Fatalf("%s: %d %q, want %q…", arg, code, out, want)
		}
	}
	if _, out, _ := runCLI(t, "", "--help"); !strings.Contains(out, "kopru version") {
		t.Fatalf("usage does not list version: %s", out)
	}
}

// TestReplayDryRunAndDevNull: a dry run says "would replay" everywhere, and stdin from /dev/null (a
// character device, but no terminal) gets the --yes hint instead of a question nobody can answer.
func TestReplayDryRunAndDevNull(t *testing.T) {
	e := newCLIEnv(t)
	for i := 0; i < 20; i++ {
		e.seed("rejected", "r")
	}
	code, out, stderr := runCLI(t, "", "dlq", "replay", "--class", "rejected", "--dry-run")
	if code != 0 || strings.Contains(out+stderr, "replayed") || !strings.Contains(stderr, "would replay 20/20") ||
		!strings.Contains(out, "dry run, nothing changed: 20 selected: would replay 20") {
		t.Fatalf("dry run: %d\n%s\n%s", code, out, stderr)
	}
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	var o, eb bytes.Buffer
	code = run([]string{"dlq", "replay", "--class", "rejected"}, null, &o, &eb)
	if code != 1 || !strings.Contains(eb.String(), "standard input is not a terminal") || !strings.Contains(eb.String(), "add --yes") {
		t.Fatalf("stdin /dev/null: %d %s", code, eb.String())
	}
	if e.count("EVENTS") != 0 || e.count("DLQ") != 20 {
		t.Fatal("something was replayed")
	}
}

// TestOperatorCommandsDoNotOfferTheEmbeddedServer: they need a running server, so an unreachable one
// is not answered with "leave it empty for the embedded server".
func TestOperatorCommandsDoNotOfferTheEmbeddedServer(t *testing.T) {
	clearKopruEnv(t)
	t.Setenv("KOPRU_NATS_URL", "nats://127.0.0.1:1")
	for _, args := range [][]string{{"status"}, {"dlq", "list"}, {"publish", "installation.requested", "../../schemas/examples/installation.requested.json"}} {
		code, _, stderr := runCLI(t, "", args...)
		if code != 1 || !strings.Contains(stderr, "KOPRU_NATS_URL") || strings.Contains(stderr, "leave it empty") {
			t.Errorf("%v: %d %s", args, code, stderr)
		}
	}
}

// TestRunSaysThePortIsTaken: an embedded server whose port is busy is reported at once, with what to
// do, instead of a readiness timeout.
func TestRunSaysThePortIsTaken(t *testing.T) {
	clearKopruEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "kopru.yaml")
	_ = os.WriteFile(cfg, []byte("nats: {listen: \""+ln.Addr().String()+"\", dataDir: \""+filepath.Join(dir, "nats")+"\"}\nhttpAddr: 127.0.0.1:0\n"), 0o600)
	start := time.Now()
	code, _, stderr := runCLI(t, "", "run", "--config", cfg)
	if code != 1 || !strings.Contains(stderr, "the port is taken: "+ln.Addr().String()+" is in use") || !strings.Contains(stderr, "KOPRU_NATS_URL=nats://"+ln.Addr().String()) {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %s", d)
	}
}

func TestDevAndSimHelpDescribeThemselves(t *testing.T) {
	for cmd, want := range map[string]string{"dev": "Runs all of Köprü on this machine", "sim": "Serves faithful simulators"} {
		code, _, stderr := runCLI(t, "", cmd, "--help")
		if code != 0 || !strings.Contains(stderr, want) || !strings.Contains(stderr, "-addr") && cmd == "sim" {
			t.Errorf("%s --help: %d %s", cmd, code, stderr)
		}
	}
}
