package clustertest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/testcontainers/testcontainers-go"
	tcexec "github.com/testcontainers/testcontainers-go/exec"
	tcnet "github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/devstack"
	"github.com/kopru/kopru/internal/event"
)

// nonRoot is the user deploy/docker's images run as.
const nonRoot = "65532:65532"

// TestImageServesReadyz runs the images as docker compose would: nats-server with JetStream (the
// image's own configuration), `kopru sim` and `kopru run` from the kopru image, all on one user-defined
// network and addressed by alias. The worker must be ready, export kopru_build_info, turn an event into
// an outcome, run as 65532 and have no shell to exec into.
func TestImageServesReadyz(t *testing.T) {
	p := requireDocker(t)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 170*time.Second)
	defer cancel()
	kopruImg, natsImg := image(t, kopruImage), image(t, natsImage)
	built := time.Now()

	for _, img := range []string{kopruImg, natsImg} {
		ii, err := p.Client().ImageInspect(ctx, img)
		if err != nil {
			t.Fatal(err)
		}
		user := ""
		if ii.Config != nil {
			user = ii.Config.User
		}
		if user != nonRoot {
			t.Errorf("image %s runs as %q, want %q", img, user, nonRoot)
		}
	}

	nw := newNetwork(t)
	natsC := runContainer(t, natsImg, "nats", tcnet.WithNetwork([]string{"nats"}, nw),
		testcontainers.WithExposedPorts("4222/tcp", "8222/tcp"),
		testcontainers.WithWaitStrategy(wait.ForHTTP("/healthz").WithPort("8222/tcp").WithForcedIPv4LocalHost().WithStartupTimeout(30*time.Second)))
	runContainer(t, kopruImg, "sim", tcnet.WithNetwork([]string{"sim"}, nw),
		testcontainers.WithCmd("sim", "--addr", "0.0.0.0:8090"),
		testcontainers.WithWaitStrategy(wait.ForLog("simulators listening on").WithStartupTimeout(30*time.Second)))
	env := map[string]string{
		"KOPRU_NATS_URL":   "nats://nats:4222",
		"KOPRU_HTTP_ADDR":  ":8080",
		"KOPRU_LOG_LEVEL":  "info",
		"KOPRU_LICRUS_URL": "http://sim:8090/licrus/api", "KOPRU_LICRUS_AUTH_TICKET": devstack.LicrusTicket,
		"KOPRU_LEANSOFT_URL": "http://sim:8090/leansoft/api", "KOPRU_LEANSOFT_COMPANY_ID": devstack.LeanSoftCompany,
		"KOPRU_LEANSOFT_AUTH_HEADER": devstack.LeanSoftHeader, "KOPRU_LEANSOFT_AUTH_VALUE": devstack.LeanSoftAuthValue,
		"KOPRU_DIA_URL": "http://sim:8090/dia/api/v3", "KOPRU_DIA_USERNAME": devstack.DIAUser,
		"KOPRU_DIA_PASSWORD": devstack.DIAPassword, "KOPRU_DIA_API_KEY": devstack.DIAAPIKey,
		"KOPRU_DIA_FIRMA_KODU": "34", "KOPRU_DIA_DONEM_KODU": "1",
	}
	kopruC := runContainer(t, kopruImg, "kopru", tcnet.WithNetwork([]string{"kopru"}, nw),
		testcontainers.WithEnv(env), testcontainers.WithExposedPorts("8080/tcp"),
		testcontainers.WithWaitStrategy(wait.ForHTTP("/readyz").WithPort("8080/tcp").WithForcedIPv4LocalHost().WithStartupTimeout(60*time.Second)))
	ready := time.Now()

	base, err := kopruC.PortEndpoint(ctx, "8080/tcp", "http")
	if err != nil {
		t.Fatal(err)
	}
	status, body := httpGet(t, ctx, base+"/readyz")
	if status != http.StatusOK {
		t.Fatalf("GET /readyz = %d %q, want 200", status, body)
	}
	status, metricsText := httpGet(t, ctx, base+"/metrics")
	if status != http.StatusOK {
		t.Fatalf("GET /metrics = %d", status)
	}
	info := metricLine(metricsText, "kopru_build_info{")
	if info == "" {
		t.Fatalf("/metrics has no kopru_build_info:\n%.2000s", metricsText)
	}
	if !strings.Contains(info, `version="`+imageVersion+`"`) {
		t.Errorf("kopru_build_info = %q, want version %q (set with -ldflags -X at build)", info, imageVersion)
	}
	t.Logf("/readyz 200 %q; %s", strings.TrimSpace(body), info)

	// One event through the containers: published from the host on the mapped NATS port.
	natsURL, err := natsC.PortEndpoint(ctx, "4222/tcp", "nats")
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ev := event.New("installation.requested", "kopru/clustertest", installationData(t, "IMG-SERIAL-1"))
	b, _ := ev.Marshal()
	if _, err := js.Publish(ctx, event.EventsPrefix+ev.Type, b, jetstream.WithMsgID(ev.ID)); err != nil {
		t.Fatal(err)
	}
	out := waitOutcome(t, ctx, js, "outcomes.installation.call-created", ev.ID, 30*time.Second)
	t.Logf("event %s → outcome callNumber %v", ev.ID, out["callNumber"])
	_, metricsText = httpGet(t, ctx, base+"/metrics")
	if l := metricLine(metricsText, `kopru_events_total{result="succeeded",route="licrus-installation"}`); !strings.HasSuffix(l, " 1") {
		t.Errorf("kopru_events_total for the succeeded event = %q, want 1", l)
	}

	// Non-root at run time too: what the daemon's process table says about the worker.
	for name, c := range map[string]*testcontainers.DockerContainer{"kopru": kopruC, "nats": natsC} {
		insp, err := c.Inspect(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if insp.Config.User != nonRoot {
			t.Errorf("container %s runs as %q, want %q", name, insp.Config.User, nonRoot)
		}
		top, err := p.Client().ContainerTop(ctx, c.GetContainerID(), client.ContainerTopOptions{Arguments: []string{"-o", "pid,uid,gid,comm"}})
		if err != nil {
			t.Logf("docker top %s: %v (checked the configured user only)", name, err)
			continue
		}
		col := map[string]int{}
		for i, title := range top.Titles {
			col[title] = i
		}
		ui, uok := col["UID"]
		gi, gok := col["GID"]
		if !uok || !gok || len(top.Processes) == 0 {
			t.Errorf("docker top %s: no UID/GID columns or no process: %v %v", name, top.Titles, top.Processes)
		}
		for _, proc := range top.Processes {
			if proc[ui] != "65532" || proc[gi] != "65532" {
				t.Errorf("container %s has a process not running as 65532:65532: %v (%v)", name, proc, top.Titles)
			}
		}
		t.Logf("container %s processes %v: %v", name, top.Titles, top.Processes)
	}

	// No shell: nothing to exec into, and the image cannot be started with one.
	for name, c := range map[string]*testcontainers.DockerContainer{"kopru": kopruC, "nats": natsC} {
		code, r, err := c.Exec(ctx, []string{"/bin/sh", "-c", "id"}, tcexec.Multiplexed())
		var outText []byte
		if r != nil {
			outText, _ = io.ReadAll(r)
		}
		why := oneLine(fmt.Sprintf("exit %d %v %s", code, err, outText))
		switch {
		case err == nil && code == 0:
			t.Errorf("container %s: `/bin/sh -c id` ran (%q); the image must have no shell", name, outText)
		case !strings.Contains(why, "no such file") && !strings.Contains(why, "not found"):
			t.Errorf("container %s: exec /bin/sh failed, but not for want of a shell: %s", name, why)
		default:
			t.Logf("container %s: exec /bin/sh fails as it should: %s", name, why)
		}
	}
	shCtx, shCancel := context.WithTimeout(ctx, 30*time.Second)
	defer shCancel()
	shC, err := testcontainers.Run(shCtx, kopruImg, testcontainers.WithEntrypoint("/bin/sh"), testcontainers.WithCmd("-c", "true"))
	testcontainers.CleanupContainer(t, shC)
	switch {
	case err == nil:
		t.Errorf("docker run --entrypoint /bin/sh %s started; the image must have no shell", kopruImg)
	case !strings.Contains(err.Error(), "no such file") && !strings.Contains(err.Error(), "not found"):
		t.Errorf("docker run --entrypoint /bin/sh failed, but not for want of a shell: %s", oneLine(err.Error()))
	default:
		t.Logf("docker run --entrypoint /bin/sh fails as it should: %s", oneLine(err.Error()))
	}
	t.Logf("timings: images %s, containers ready %s, whole test %s", built.Sub(start).Round(100*time.Millisecond),
		ready.Sub(built).Round(100*time.Millisecond), time.Since(start).Round(100*time.Millisecond))
}

func httpGet(t *testing.T, ctx context.Context, url string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// metricLine returns the first exposition line that starts with prefix.
func metricLine(text, prefix string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

// waitOutcome waits for the outcome of request id on subject and returns its data.
func waitOutcome(t *testing.T, ctx context.Context, js jetstream.JetStream, subject, id string, d time.Duration) map[string]any {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		st, err := js.Stream(ctx, bus.StreamOutcomes)
		if err == nil {
			if m, err := st.GetLastMsgForSubject(ctx, subject); err == nil {
				env, err := event.Decode(m.Data)
				if err != nil {
					t.Fatalf("outcome does not decode: %v", err)
				}
				var data map[string]any
				_ = json.Unmarshal(env.Data, &data)
				if data["requestId"] == id {
					return data
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no outcome for event %s on %s within %s", id, subject, d)
	return nil
}
