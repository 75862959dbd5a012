package metrics

import (
	"runtime"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestBuildInfoSaysVersionCommitAndGo(t *testing.T) {
	old, oldCommit := Version, Commit
	Version, Commit = "v1.2.3", "abc123"
	t.Cleanup(func() { Version, Commit = old, oldCommit })
	m := New(prometheus.NewRegistry())
	if got := testutil.ToFloat64(m.BuildInfo.WithLabelValues("v1.2.3", runtime.Version(), "abc123")); got != 1 {
		t.Fatalf("kopru_build_info{version=v1.2.3,goversion=%s,commit=abc123} = %v", runtime.Version(), got)
	}
	if n := testutil.CollectAndCount(m.BuildInfo); n != 1 {
		t.Fatalf("%d build info series", n)
	}
	Commit = ""
	if _, c, g := Build(); c == "" || g != runtime.Version() {
		t.Fatalf("Build() commit %q go %q", c, g)
	}
}
