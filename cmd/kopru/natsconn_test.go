package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kopru/kopru/internal/app"
	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/bus/bustest"
	"github.com/kopru/kopru/internal/config"
)

const (
	tlsUser     = "kopru-op"
	tlsPassword = "pw-S3cret-cmd-91ce"
)

// TestEveryCommandConnectsOverTLSWithPassword runs publish, status, dlq list, events show and run
// against a server that wants TLS and a user with a password, all configured the same way: the
// KOPRU_NATS_* variables (the password from a _FILE), or the nats section of KOPRU_CONFIG's file.
func TestEveryCommandConnectsOverTLSWithPassword(t *testing.T) {
	pki := bustest.NewPKI(t)
	ns := bustest.StartServer(t, false, func(o *server.Options) {
		o.TLSConfig = pki.TLSServerConfig(t)
		o.TLS, o.TLSTimeout = true, 5
		o.Username, o.Password = tlsUser, tlsPassword
	})
	url := fmt.Sprintf("tls://127.0.0.1:%d", ns.Addr().(*net.TCPAddr).Port)
	nc, err := nats.Connect(url, nats.RootCAs(pki.CAFile), nats.UserInfo(tlsUser, tlsPassword))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	if _, err := bus.Ensure(context.Background(), js, bus.StreamConfig{MemoryStorage: true}); err != nil {
		t.Fatal(err)
	}
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte(tlsPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	yamlFile := filepath.Join(t.TempDir(), "kopru.yaml")
	yaml := fmt.Sprintf("nats: {url: %q, user: %q, password: %q, tlsCA: %q}\n", url, tlsUser, tlsPassword, pki.CAFile)
	if err := os.WriteFile(yamlFile, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	ways := map[string]map[string]string{
		"env":         {"KOPRU_NATS_URL": url, "KOPRU_NATS_USER": tlsUser, "KOPRU_NATS_PASSWORD_FILE": pwFile, "KOPRU_NATS_TLS_CA": pki.CAFile},
		"config file": {"KOPRU_CONFIG": yamlFile},
	}
	for way, env := range ways {
		t.Run(way, func(t *testing.T) {
			for _, k := range []string{"KOPRU_NATS_URL", "KOPRU_NATS_USER", "KOPRU_NATS_PASSWORD", "KOPRU_NATS_PASSWORD_FILE",
				"KOPRU_NATS_TLS_CA", "KOPRU_NATS_CREDS", "KOPRU_CONFIG"} {
				t.Setenv(k, env[k])
			}
			before := streamMsgs(t, js, bus.StreamEvents)
			example := filepath.Join("..", "..", "schemas", "examples", "installation.requested.json")
			code, out, stderr := runCLI(t, "", "publish", "installation.requested", example)
			if code != 0 {
				t.Fatalf("publish: %d %s", code, stderr)
			}
			id := strings.TrimSpace(out)
			if got := streamMsgs(t, js, bus.StreamEvents); got != before+1 {
				t.Fatalf("publish said %s, but EVENTS holds %d messages (before %d)", id, got, before)
			}
			for _, args := range [][]string{{"status", "--json"}, {"dlq", "list"}, {"events", "show", id}} {
				code, out, stderr := runCLI(t, "", args...)
				// No route consumer runs here, so events show answers from the ledger that it knows nothing.
				if code != 0 && !(args[0] == "events" && strings.Contains(stderr, "no event with id")) {
					t.Fatalf("%v: %d %s", args, code, stderr)
				}
				if strings.Contains(out+stderr, tlsPassword) {
					t.Fatalf("%v printed the password", args)
				}
			}
			// kopru run: the same configuration, through app.Start.
			cfg, err := config.Load(os.Getenv("KOPRU_CONFIG"), os.Getenv)
			if err != nil {
				t.Fatal(err)
			}
			cfg.HTTPAddr = "127.0.0.1:0"
			a, err := app.New(app.Options{Config: cfg, WaitForNATS: true, MemoryStorage: true})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := a.Start(ctx); err != nil {
				t.Fatalf("run: %v", err)
			}
			defer func() { _ = a.Stop(context.Background()) }()
			if !strings.HasPrefix(a.NATSURL(), "tls://") {
				t.Fatalf("run connected to %q", a.NATSURL())
			}
			res, err := http.Get("http://" + a.Addr() + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 200 {
				t.Fatalf("healthz %d", res.StatusCode)
			}
		})
	}
}

func streamMsgs(t *testing.T, js jetstream.JetStream, name string) uint64 {
	t.Helper()
	s, err := js.Stream(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// TestEveryCommandNamesMissingJetStream points every command at a nats-server without JetStream: each
// says so at once, never "no responders", "no response from stream" or "has a kopru worker ever run".
func TestEveryCommandNamesMissingJetStream(t *testing.T) {
	ns := bustest.StartServer(t, true, nil)
	t.Setenv("KOPRU_NATS_URL", ns.ClientURL())
	t.Setenv("KOPRU_NATS_CREDS", "")
	t.Setenv("KOPRU_CONFIG", "")
	example := filepath.Join("..", "..", "schemas", "examples", "installation.requested.json")
	for _, args := range [][]string{{"publish", "installation.requested", example}, {"status"}, {"dlq", "list"},
		{"dlq", "replay", "--all", "--yes"}, {"events", "show", "01JX"}} {
		start := time.Now()
		code, _, stderr := runCLI(t, "", args...)
		if code != 1 || !strings.Contains(stderr, "JetStream is not enabled on this server or account") ||
			!strings.Contains(stderr, "jetstream: enabled") {
			t.Errorf("%v: exit %d, stderr %s", args, code, stderr)
		}
		for _, bad := range []string{"no responders", "no response from stream", "ever run"} {
			if strings.Contains(stderr, bad) {
				t.Errorf("%v: says %q: %s", args, bad, stderr)
			}
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%v took %s: a server without JetStream needs no waiting", args, d)
		}
	}

	// kopru run waits (it may be a server restarting with JetStream) and says why on /readyz.
	cfg := config.Config{NATS: config.NATS{URL: ns.ClientURL()}, HTTPAddr: "127.0.0.1:0"}
	a, err := app.New(app.Options{Config: cfg, WaitForNATS: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Start(ctx) }()
	var reason string
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && !strings.Contains(reason, "JetStream is not enabled") {
		time.Sleep(100 * time.Millisecond)
		if a.Addr() == "" {
			continue
		}
		res, err := http.Get("http://" + a.Addr() + "/readyz")
		if err != nil {
			continue
		}
		var body map[string]string
		_ = json.NewDecoder(res.Body).Decode(&body)
		res.Body.Close()
		if res.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("readyz %d %v while JetStream is missing", res.StatusCode, body)
		}
		reason = body["reason"]
	}
	cancel()
	err = <-done
	if !strings.Contains(reason, "JetStream is not enabled") {
		t.Fatalf("readyz reason %q", reason)
	}
	if err == nil || !strings.Contains(err.Error(), "JetStream is not enabled") {
		t.Fatalf("run gave up with %v", err)
	}
}

// TestPublishWithoutStreamsSaysWhoCreatesThem: JetStream is on, but no kopru run created EVENTS yet.
func TestPublishWithoutStreamsSaysWhoCreatesThem(t *testing.T) {
	ns := bustest.StartServer(t, false, nil)
	t.Setenv("KOPRU_NATS_URL", ns.ClientURL())
	t.Setenv("KOPRU_NATS_CREDS", "")
	t.Setenv("KOPRU_CONFIG", "")
	example := filepath.Join("..", "..", "schemas", "examples", "installation.requested.json")
	start := time.Now()
	code, _, stderr := runCLI(t, "", "publish", "installation.requested", example)
	if code != 1 || !strings.Contains(stderr, "no stream takes events.installation.requested") ||
		!strings.Contains(stderr, "created by kopru run") || strings.Contains(stderr, "no response from stream") {
		t.Fatalf("%d %s", code, stderr)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %s", d)
	}
}

// TestCommandsWaitBoundedForAnElectingCluster: one server of a three-node cluster is up, so JetStream
// has no meta leader; status, dlq list and publish wait (bounded) and say what they waited for.
func TestCommandsWaitBoundedForAnElectingCluster(t *testing.T) {
	defer func(d time.Duration) { jetStreamWait = d }(jetStreamWait)
	jetStreamWait = 2 * time.Second
	var routes []*neturl.URL
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		routes = append(routes, &neturl.URL{Scheme: "nats", Host: ln.Addr().String()})
		ln.Close() // nobody listens there: the other two servers are down
	}
	ns := bustest.StartServer(t, false, func(o *server.Options) {
		o.ServerName = "lonely"
		o.Cluster = server.ClusterOpts{Name: "kopru", Host: "127.0.0.1", Port: -1}
		o.Routes = routes
	})
	t.Setenv("KOPRU_NATS_URL", ns.ClientURL())
	t.Setenv("KOPRU_NATS_CREDS", "")
	t.Setenv("KOPRU_CONFIG", "")
	example := filepath.Join("..", "..", "schemas", "examples", "installation.requested.json")
	for _, args := range [][]string{{"status"}, {"dlq", "list"}, {"publish", "installation.requested", example}} {
		start := time.Now()
		code, _, stderr := runCLI(t, "", args...)
		d := time.Since(start)
		if code != 1 || !strings.Contains(stderr, "did not answer within 2s") || !strings.Contains(stderr, "electing its meta leader") || strings.Contains(stderr, "JetStream is not enabled") {
			t.Errorf("%v: exit %d after %s: %s", args, code, d, stderr)
		}
		if d < 2*time.Second || d > 10*time.Second {
			t.Errorf("%v gave up after %s, want the 2s bound", args, d)
		}
	}
}
