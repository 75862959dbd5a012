package deploy

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestComposeProfilesPortsHealth: `docker compose up` starts only local images (NATS, the simulators,
// Köprü); Prometheus and Grafana are in the "monitoring" profile; every host port is a variable with
// the usual default on 127.0.0.1; the local services have healthchecks; the README pipes stdin into
// `compose exec` with -T.
func TestComposeProfilesPortsHealth(t *testing.T) {
	docs, err := decodeAll("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	svcs, _ := docs[0]["services"].(map[string]any)
	portRe := regexp.MustCompile(`^127\.0\.0\.1:\$\{KOPRU_[A-Z_]+_PORT:-[0-9]+\}:[0-9]+$`)
	for name, v := range svcs {
		s := v.(map[string]any)
		image, _ := s["image"].(string)
		profiles, _ := s["profiles"].([]any)
		local := strings.HasPrefix(image, "kopru")
		switch {
		case local && len(profiles) > 0:
			t.Errorf("service %s (%s) is in profiles %v: plain `docker compose up` would not start it", name, image, profiles)
		case !local && (len(profiles) != 1 || profiles[0] != "monitoring"):
			t.Errorf("service %s pulls %s but is not only in the monitoring profile (%v)", name, image, profiles)
		}
		ports, _ := s["ports"].([]any)
		for _, p := range ports {
			if ps, _ := p.(string); !portRe.MatchString(ps) {
				t.Errorf("service %s publishes %v: want 127.0.0.1:${KOPRU_…_PORT:-default}:port", name, p)
			}
		}
		hc, _ := s["healthcheck"].(map[string]any)
		test, _ := hc["test"].([]any)
		if len(test) < 2 || test[0] != "CMD" {
			t.Errorf("service %s has no CMD healthcheck (%v)", name, hc)
		}
		if local && (len(test) < 2 || test[1] != "/probe") {
			t.Errorf("service %s: the FROM-scratch image has only /probe to check with, healthcheck %v", name, test)
		}
	}
	if dep, _ := svcs["kopru"].(map[string]any)["depends_on"].(map[string]any); dep["nats"] == nil ||
		dep["nats"].(map[string]any)["condition"] != "service_healthy" {
		t.Errorf("kopru should wait for a healthy NATS: depends_on %v", dep)
	}
	for _, f := range []string{"../README.md", "../docker-compose.yml"} {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(raw), "\n") {
			if strings.Contains(line, "compose exec") && strings.Contains(line, " < ") && !strings.Contains(line, "exec -T") {
				t.Errorf("%s: stdin redirected into compose exec without -T: %s", f, strings.TrimSpace(line))
			}
		}
	}
}

// TestPinnedPromtoolMatchesCompose: deploy/prometheus/promtool builds promtool of the Prometheus
// docker-compose.yml runs (prom/prometheus v3.M.P is Go module version v0.(300+M).P).
func TestPinnedPromtoolMatchesCompose(t *testing.T) {
	compose, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	gomod, err := os.ReadFile("prometheus/promtool/go.mod")
	if err != nil {
		t.Fatal(err)
	}
	img := regexp.MustCompile(`image: prom/prometheus:v3\.(\d+)\.(\d+)\n`).FindStringSubmatch(string(compose))
	mod := regexp.MustCompile(`require github.com/prometheus/prometheus v0\.3(\d\d)\.(\d+)\n`).FindStringSubmatch(string(gomod))
	if img == nil || mod == nil {
		t.Fatalf("compose image %v, promtool module %v: want prom/prometheus:v3.M.P and v0.3MM.P", img, mod)
	}
	if strings.TrimLeft(mod[1], "0") != img[1] && !(mod[1] == "00" && img[1] == "0") || mod[2] != img[2] {
		t.Errorf("compose runs Prometheus v3.%s.%s, promtool is built from v0.3%s.%s", img[1], img[2], mod[1], mod[2])
	}
}
