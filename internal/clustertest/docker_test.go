package clustertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	tcnet "github.com/testcontainers/testcontainers-go/network"
)

// Images the tests build. Both come from deploy/docker's Dockerfiles, with binaries compiled here.
const (
	kopruImage = "kopru"
	natsImage  = "nats"
)

// imageVersion is what the test's kopru binary reports in kopru_build_info.
const imageVersion = "clustertest"

var (
	dockerOnce sync.Once
	dockerProv *testcontainers.DockerProvider
	dockerErr  error

	imagesMu sync.Mutex
	images   = map[string]string{} // kind → tag, built once per test binary and removed by TestMain
	imageTag = randomTag()
)

func randomTag() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "t" + hex.EncodeToString(b)
}

// requireDocker returns the Docker provider, or skips t with the reason when no Docker engine answers.
func requireDocker(t *testing.T) *testcontainers.DockerProvider {
	t.Helper()
	dockerOnce.Do(func() {
		defer func() { // the provider panics on some broken setups
			if r := recover(); r != nil {
				dockerErr = fmt.Errorf("%v", r)
			}
		}()
		p, err := testcontainers.NewDockerProvider()
		if err != nil {
			dockerErr = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := p.Health(ctx); err != nil {
			_ = p.Close()
			dockerErr = err
			return
		}
		dockerProv = p
		publishedOnLoopback(ctx, p)
	})
	if dockerErr != nil {
		t.Skipf("SKIP: no Docker engine answers (%v); this test needs one. "+
			"TestEmbeddedClusterInvariants checks the cluster invariants without Docker.", oneLine(dockerErr.Error()))
	}
	return dockerProv
}

// publishedOnLoopback points testcontainers at 127.0.0.1 for published ports when the Docker engine
// runs on this machine's own network stack even though this process is in a container (the engine's
// host name is ours, on a local socket). testcontainers otherwise assumes a sibling container and
// dials the default gateway, where nothing listens. TESTCONTAINERS_HOST_OVERRIDE, when set, wins.
func publishedOnLoopback(ctx context.Context, p *testcontainers.DockerProvider) {
	if _, set := os.LookupEnv("TESTCONTAINERS_HOST_OVERRIDE"); set {
		return
	}
	if !strings.HasPrefix(p.Client().DaemonHost(), "unix://") {
		return
	}
	info, err := p.Client().Info(ctx, client.InfoOptions{})
	host, _ := os.Hostname()
	if err == nil && host != "" && info.Info.Name == host {
		_ = os.Setenv("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1")
	}
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// moduleRoot is the repository root (the test runs in internal/clustertest).
func moduleRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found at %s: %v", root, err)
	}
	return root
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// goBuild compiles a static binary the way deploy/docker/build-images.sh does.
func goBuild(t testing.TB, root, out string, args ...string) {
	t.Helper()
	cmdArgs := append([]string{"build", "-trimpath", "-o", out}, args...)
	cmd := exec.Command(goTool(), cmdArgs...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(cmdArgs, " "), err, b)
	}
}

// image builds (once per test binary) the kopru or nats-server image: the binary compiled here, a build
// context staged as deploy/docker/build-images.sh stages it, and deploy/docker's own Dockerfile, which
// is FROM scratch — nothing is pulled. It returns the image tag.
func image(t *testing.T, kind string) string {
	t.Helper()
	p := requireDocker(t)
	imagesMu.Lock()
	defer imagesMu.Unlock()
	if tag, ok := images[kind]; ok {
		return tag
	}
	start := time.Now()
	root := moduleRoot(t)
	dir := t.TempDir()
	for _, d := range []string{"tmp", "data", "home", "certs"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o750); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(dir, "tmp"), 0o1777); err != nil {
		t.Fatal(err)
	}
	var dockerfile string
	switch kind {
	case kopruImage:
		goBuild(t, root, filepath.Join(dir, "kopru"), "-tags", "timetzdata",
			"-ldflags=-s -w -X github.com/kopru/kopru/internal/metrics.Version="+imageVersion, "./cmd/kopru")
		if b, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt"); err == nil {
			writeFile(t, filepath.Join(dir, "certs", "ca-certificates.crt"), b)
		}
		dockerfile = "Dockerfile.kopru"
	case natsImage:
		goBuild(t, root, filepath.Join(dir, "nats-server"), "-ldflags=-s -w", "github.com/nats-io/nats-server/v2")
		writeFile(t, filepath.Join(dir, "nats-server.conf"), readFile(t, filepath.Join(root, "deploy", "docker", "nats-server.conf")))
		dockerfile = "Dockerfile.nats-server"
	default:
		t.Fatalf("unknown image %q", kind)
	}
	// both images carry the healthcheck probe (deploy/docker/probe), as build-images.sh stages it
	goBuild(t, root, filepath.Join(dir, "probe"), "-ldflags=-s -w", "./deploy/docker/probe")
	compiled := time.Since(start)
	writeFile(t, filepath.Join(dir, dockerfile), readFile(t, filepath.Join(root, "deploy", "docker", dockerfile)))

	var buildLog bytes.Buffer
	req := testcontainers.ContainerRequest{FromDockerfile: testcontainers.FromDockerfile{
		Context: dir, Dockerfile: dockerfile, Repo: "kopru-clustertest-" + kind, Tag: imageTag,
		KeepImage: true, BuildLogWriter: &buildLog,
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tag, err := p.BuildImage(ctx, &req)
	if err != nil {
		t.Fatalf("docker build %s: %v\n%s", dockerfile, err, buildLog.String())
	}
	images[kind] = tag
	size := ""
	if ii, err := p.Client().ImageInspect(ctx, tag); err == nil {
		size = fmt.Sprintf(", %.1f MB", float64(ii.Size)/1e6)
	}
	t.Logf("image %s built in %s (go build %s%s)", tag, time.Since(start).Round(100*time.Millisecond),
		compiled.Round(100*time.Millisecond), size)
	return tag
}

// removeImages deletes the images this test binary built.
func removeImages() {
	imagesMu.Lock()
	defer imagesMu.Unlock()
	if dockerProv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for kind, tag := range images {
		if _, err := dockerProv.Client().ImageRemove(ctx, tag, client.ImageRemoveOptions{Force: true, PruneChildren: true}); err != nil {
			fmt.Fprintf(os.Stderr, "clustertest: cannot remove image %s: %v\n", tag, err)
		}
		delete(images, kind)
	}
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// newNetwork creates a user-defined bridge network, removed when the test ends (after its containers).
func newNetwork(t *testing.T) *testcontainers.DockerNetwork {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nw, err := tcnet.New(ctx)
	if err != nil {
		t.Fatalf("docker network create: %v", err)
	}
	testcontainers.CleanupNetwork(t, nw)
	return nw
}

// runContainer starts a container from a local image and removes it when the test ends; if the test
// failed, the container's log tail goes to the test log first.
func runContainer(t *testing.T, img, name string, opts ...testcontainers.ContainerCustomizer) *testcontainers.DockerContainer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	opts = append([]testcontainers.ContainerCustomizer{testcontainers.WithLogger(tclog.TestLogger(t))}, opts...)
	c, err := testcontainers.Run(ctx, img, opts...)
	testcontainers.CleanupContainer(t, c)
	if c != nil {
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("--- last log lines of %s:\n%s", name, logTail(c, 40))
			}
		})
	}
	if err != nil {
		t.Fatalf("container %s (%s): %v", name, img, err)
	}
	return c
}

// logTail returns the last n lines of a container's output.
func logTail(c *testcontainers.DockerContainer, n int) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rc, err := c.Logs(ctx)
	if err != nil {
		return "(logs: " + err.Error() + ")"
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
