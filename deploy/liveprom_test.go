package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/kopru/kopru/internal/app"
	"github.com/kopru/kopru/internal/config"
	"github.com/kopru/kopru/internal/devstack"
	"github.com/kopru/kopru/internal/event"
	"github.com/kopru/kopru/internal/routes"
	"github.com/kopru/kopru/schemas"
)

// promServer is a real Prometheus (Debian's `prometheus` package; `make test` installs it) scraping an
// in-process Köprü set up like `kopru dev`, every second, with the repository's alert and recording
// rules evaluated every second.
type promServer struct {
	t   *testing.T
	url string
}

func startKopruAndPrometheus(t *testing.T) (*promServer, *app.App) {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("no prometheus binary (Debian package prometheus; `make test` installs it): the dashboard and alerts are not run against a real Prometheus")
	}
	dir := t.TempDir()
	sims := devstack.New()
	simSrv, simURL, err := devstack.Serve(sims, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { simSrv.Close() })
	var cfg config.Config
	cfg.NATS.DataDir = filepath.Join(dir, "nats")
	cfg.NATS.Listen = "127.0.0.1:0"
	no := false
	cfg.NATS.SyncAlways = &no
	cfg.HTTPAddr = "127.0.0.1:0"
	devstack.Configure(&cfg, simURL)
	cfg.Ingest.Tokens, cfg.Admin.Tokens = []string{"t"}, []string{"t"}
	a, err := app.New(app.Options{Config: cfg, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, c := context.WithTimeout(context.Background(), 10*time.Second)
		defer c()
		_ = a.Stop(sctx)
	})

	rules, err := filepath.Abs("prometheus/rules")
	if err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: kopru
    static_configs:
      - targets: [%q]
`, filepath.Join(rules, "*.yml"), a.Addr())
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	logf, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "tsdb"), "--web.listen-address="+addr)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("prometheus log:\n%s", tail(string(b), 3000))
		}
	})
	p := &promServer{t: t, url: "http://" + addr}
	p.eventually(30*time.Second, "Prometheus scrapes Köprü", func() (bool, string) {
		r, err := p.query(`up{job="kopru"} == 1`)
		return err == nil && len(r) == 1, fmt.Sprint(r, err)
	})
	return p, a
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

type promSample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

// query runs an instant query and returns its vector.
func (p *promServer) query(q string) ([]promSample, error) {
	resp, err := http.Get(p.url + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string       `json:"resultType"`
			Result     []promSample `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("%s: %s", err, body)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%s", r.Error)
	}
	return r.Data.Result, nil
}

func (p *promServer) get(path string, v any) error {
	resp, err := http.Get(p.url + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

func (p *promServer) eventually(within time.Duration, what string, f func() (bool, string)) {
	p.t.Helper()
	deadline := time.Now().Add(within)
	for {
		ok, last := f()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: not within %v (last: %s)", what, within, last)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// publishSamples publishes each schema example once and n events that fail validation (dead letters
// on licrus-installation).
func publishSamples(t *testing.T, js jetstream.JetStream, invalid int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pub := func(env *event.Envelope) {
		b, err := env.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := js.Publish(ctx, event.EventsPrefix+env.Type, b, jetstream.WithMsgID(env.ID)); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	for _, spec := range routes.Builtin() {
		if seen[spec.EventType] {
			continue
		}
		seen[spec.EventType] = true
		data, err := schemas.FS.ReadFile("examples/" + spec.EventType + ".json")
		if err != nil {
			t.Fatal(err)
		}
		pub(event.New(spec.EventType, "deploy-test", data))
	}
	for i := 0; i < invalid; i++ {
		pub(event.New("installation.requested", "deploy-test", json.RawMessage(`{"customer":{"fullName":"Eksik Adres"},"deviceCount":0}`)))
	}
}

// grafanaVars replaces the dashboard's variables the way Grafana does with "All" selected.
var grafanaVars = strings.NewReplacer("$__rate_interval", "5s", "$__range", "1m", "$job", "kopru",
	"$instance", ".+", "$route", ".+", "$target", ".+")

// TestDashboardQueriesAgainstPrometheus: every panel query and template variable of the dashboard
// returns data from a real Prometheus scraping Köprü after some events went through, and the
// dead-letter alert goes pending well within its `for:` once dead letters appear.
func TestDashboardQueriesAgainstPrometheus(t *testing.T) {
	p, a := startKopruAndPrometheus(t)
	// Prometheus has seen the DLQ at 0 before any dead letter (the alert measures growth).
	p.eventually(20*time.Second, "kopru_dlq_messages scraped", func() (bool, string) {
		r, err := p.query(`count_over_time(kopru_dlq_messages{route="licrus-installation"}[1m]) >= 2`)
		return err == nil && len(r) == 1, fmt.Sprint(r, err)
	})
	start := time.Now()
	publishSamples(t, a.JetStream(), 3)

	// KopruDeadLettersGrowing has for: 5m; it must be pending (or firing) long before that.
	var alerts struct {
		Data struct {
			Alerts []struct {
				Labels map[string]string `json:"labels"`
				State  string            `json:"state"`
				Value  string            `json:"value"`
			} `json:"alerts"`
		} `json:"data"`
	}
	p.eventually(45*time.Second, "KopruDeadLettersGrowing pending", func() (bool, string) {
		if err := p.get("/api/v1/alerts", &alerts); err != nil {
			return false, err.Error()
		}
		for _, al := range alerts.Data.Alerts {
			if al.Labels["alertname"] == "KopruDeadLettersGrowing" && al.Labels["route"] == "licrus-installation" {
				if al.Value != "3e+00" && al.Value != "3" {
					return false, "value " + al.Value + ", want 3 dead letters"
				}
				return al.State == "pending" || al.State == "firing", al.State
			}
		}
		return false, fmt.Sprint(alerts.Data.Alerts)
	})
	t.Logf("KopruDeadLettersGrowing pending %v after the dead letters were published", time.Since(start).Round(time.Second))
	for _, al := range alerts.Data.Alerts {
		if name := al.Labels["alertname"]; name == "KopruCircuitOpen" || name == "KopruDown" {
			t.Errorf("%s is %s on a healthy system", name, al.State)
		}
	}

	// Let the counters move and be scraped a few times.
	p.eventually(30*time.Second, "events finished", func() (bool, string) {
		r, err := p.query(`sum(kopru_events_total{result="succeeded"}) >= 4`)
		return err == nil && len(r) == 1, fmt.Sprint(r, err)
	})
	time.Sleep(3 * time.Second)

	exprs := dashboardExprs(t, dashboardFile)
	if len(exprs) < 20 {
		t.Fatalf("only %d dashboard queries found", len(exprs))
	}
	for _, e := range exprs {
		q := grafanaVars.Replace(e.expr)
		if strings.Contains(e.where, "/templating/") {
			// label_values(selector, label): the selector must match series carrying the label
			m := strings.TrimSuffix(strings.TrimPrefix(q, "label_values("), ")")
			i := strings.LastIndex(m, ",")
			sel, label := strings.TrimSpace(m[:i]), strings.TrimSpace(m[i+1:])
			q = "count by (" + label + ") (" + sel + ")"
		}
		r, err := p.query(q)
		if err != nil {
			t.Errorf("%s: %v\n\tquery: %s", e.where, err, q)
			continue
		}
		if len(r) == 0 {
			t.Errorf("%s: no data\n\tquery: %s", e.where, q)
		}
	}
	// The KEDA triggers see each route's lag while its circuit is closed (a number, not "no data").
	for r, q := range kedaQueries(t) {
		if res, err := p.query(q); err != nil || len(res) != 1 {
			t.Errorf("ScaledObject trigger %s: %v %v\n\tquery: %s", r, res, err, q)
		}
	}
	// A panel showing only zeros would hide a wrong label: the main ones show the events above.
	for _, q := range []string{
		`sum(increase(kopru_events_total{job=~"kopru",result="succeeded"}[1m])) > 0`,
		`max(kopru_dlq_messages{job=~"kopru",route="licrus-installation"}) == 3`,
		`sum(kopru_target_request_duration_seconds_count{job=~"kopru",status_class="2xx"}) > 0`,
	} {
		if r, err := p.query(q); err != nil || len(r) == 0 {
			t.Errorf("%s: %v %v", q, r, err)
		}
	}
}
