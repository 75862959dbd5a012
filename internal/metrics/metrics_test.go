package metrics

import (
	"runtime"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
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

// The cached series of the hot path are the exported ones: ObserveLedger and ObserveTarget land on
// the same series a label lookup finds, also for label values not created up front.
func TestHotPathObserversCountOnTheLabelledSeries(t *testing.T) {
	m := New(prometheus.NewRegistry())
	m.ObserveLedger("create", "ok")
	m.ObserveLedger("create", "ok")
	m.ObserveLedger("odd", "ok")
	if got := testutil.ToFloat64(m.LedgerOps.WithLabelValues("create", "ok")); got != 2 {
		t.Fatalf("ledger create ok = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.LedgerOps.WithLabelValues("odd", "ok")); got != 1 {
		t.Fatalf("ledger odd ok = %v, want 1", got)
	}
	for range 3 {
		m.ObserveTarget("licrus", "ExternalCall/Create", "2xx", 0)
	}
	var d dto.Metric
	err := m.TargetDuration.WithLabelValues("licrus", "ExternalCall/Create", "2xx").(prometheus.Metric).Write(&d)
	if err != nil || d.GetHistogram().GetSampleCount() != 3 {
		t.Fatalf("target duration count = %d (%v), want 3", d.GetHistogram().GetSampleCount(), err)
	}
}
