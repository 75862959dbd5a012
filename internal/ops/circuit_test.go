package ops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func TestParseCircuit(t *testing.T) {
	for _, tc := range []struct {
		name, page, want string
	}{
		{"plain", "# HELP x\nkopru_circuit_state{target=\"dia\"} 1\nkopru_circuit_state{a=\"b\",target=\"licrus\"} 0\nother 3\n",
			"map[dia:1 licrus:0]"},
		{"labels in another order", `# TYPE kopru_circuit_state gauge
kopru_circuit_state{target="dia",instance="w1"} 2
kopru_circuit_state{instance="w2",zone="a",target="licrus"} 1
`, "map[dia:2 licrus:1]"},
		{"escaped label values", `# TYPE kopru_circuit_state gauge
kopru_circuit_state{target="di\"a"} 1
kopru_circuit_state{target="back\\slash"} 2
kopru_circuit_state{target="two\nlines"} 0
`, `map[back\slash:2 di"a:1 two` + "\n" + `lines:0]`},
		{"a label value that looks like a target label", `kopru_circuit_state{note="target=\"evil\"} 9",target="dia"} 1
`, "map[dia:1]"},
		{"comments, HELP with escapes, blank lines, timestamps", `# a comment that is no HELP or TYPE
# HELP kopru_circuit_state Circuit state per target: 0 closed, 1 half-open, 2 open. A \\ and a \n.
# TYPE kopru_circuit_state gauge

kopru_circuit_state{target="dia"}   2   1700000000000
`, "map[dia:2]"},
		{"other families, some with similar names", `# HELP kopru_circuit_state_changes_total Changes.
# TYPE kopru_circuit_state_changes_total counter
kopru_circuit_state_changes_total{target="dia"} 7
# TYPE kopru_call_duration_seconds histogram
kopru_call_duration_seconds_bucket{target="dia",le="0.1"} 3
kopru_call_duration_seconds_bucket{target="dia",le="+Inf"} 4
kopru_call_duration_seconds_sum{target="dia"} 0.3
kopru_call_duration_seconds_count{target="dia"} 4
# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0.5"} 1e-05
go_gc_duration_seconds_sum 0.01
go_gc_duration_seconds_count 9
# TYPE kopru_circuit_state gauge
kopru_circuit_state{target="licrus"} 0
process_open_fds 12
`, "map[licrus:0]"},
		{"a series without a target label is ignored", "kopru_circuit_state{instance=\"w1\"} 2\nkopru_circuit_state 1\n", "map[]"},
		{"no circuit family at all", "# TYPE up gauge\nup 1\n", "map[]"},
		{"empty page", "", "map[]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseCircuit(strings.NewReader(tc.page))
			if err != nil {
				t.Fatalf("error %v", err)
			}
			if s := fmt.Sprint(got); s != tc.want {
				t.Fatalf("got %q, want %q", s, tc.want)
			}
		})
	}
}

// countingReader yields an endless metrics page of comments and counts what was read of it.
type countingReader struct{ n int64 }

func (r *countingReader) Read(p []byte) (int, error) {
	const line = "# padding padding padding padding padding padding padding padding\n"
	for i := range p {
		p[i] = line[(r.n+int64(i))%int64(len(line))]
	}
	r.n += int64(len(p))
	return len(p), nil
}

func TestParseCircuitHostile(t *testing.T) {
	for _, tc := range []struct {
		name, page, want string
	}{
		{"unclosed label set", "kopru_circuit_state{target=\"dia\" 1\n", "line 1"},
		{"no value", "up 1\nkopru_circuit_state{target=\"dia\"}\n", "line 2"},
		{"a value that is no number", "kopru_circuit_state{target=\"dia\"} open\n", "line 1"},
		{"an HTML page", "<html><body>Log in</body></html>\n", "line 1"},
		{"binary", "\x00\x01\x02\xff\xfe", "text format"},
		{"a TYPE line that contradicts itself", "# TYPE kopru_circuit_state gauge\n# TYPE kopru_circuit_state counter\n", "line 2"},
		{"a line of a megabyte", strings.Repeat("x", 1<<20) + "\n", "text format"},
		{"an endless label value", "kopru_circuit_state{target=\"" + strings.Repeat("a", 3<<20) + "\n", "line 1"},
		{"an endless value", "kopru_circuit_state{target=\"x\"} " + strings.Repeat("1", 3<<20) + "x\n", "line 1"},
		{"an endless TYPE", "# TYPE kopru_circuit_state " + strings.Repeat("a", 3<<20) + "\n", "line 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseCircuit(strings.NewReader(tc.page))
			if !errors.Is(err, ErrMetricsPage) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, %v; want an ErrMetricsPage error saying %q", got, err, tc.want)
			}
			if len(err.Error()) > 600 {
				t.Fatalf("error of %d bytes: %.200s…", len(err.Error()), err)
			}
		})
	}
	t.Run("a page larger than MaxMetricsPage, read no further", func(t *testing.T) {
		r := &countingReader{}
		_, err := parseCircuit(r)
		if !errors.Is(err, ErrMetricsPage) || !strings.Contains(err.Error(), "larger than 4 MiB") {
			t.Fatalf("error %v", err)
		}
		if r.n > MaxMetricsPage+64<<10 {
			t.Fatalf("read %d bytes of an endless page; want at most about %d", r.n, MaxMetricsPage)
		}
	})
	t.Run("a page of exactly MaxMetricsPage is read", func(t *testing.T) {
		head := "kopru_circuit_state{target=\"dia\"} 2\n"
		page := head + strings.Repeat("#", MaxMetricsPage-len(head)-1) + "\n"
		got, err := parseCircuit(strings.NewReader(page))
		if err != nil || fmt.Sprint(got) != "map[dia:2]" {
			t.Fatalf("%v %v", got, err)
		}
	})
}

func TestCircuitFromMetricsURL(t *testing.T) {
	var accept string
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		accept = r.Header.Get("Accept")
		io.WriteString(w, "# TYPE kopru_circuit_state gauge\nkopru_circuit_state{target=\"dia\"} 2\n")
	})
	mux.HandleFunc("/endless", func(w http.ResponseWriter, r *http.Request) {
		buf := []byte(strings.Repeat("# padding\n", 6554))
		for i := 0; i < 2*MaxMetricsPage/len(buf)+1; i++ {
			if _, err := w.Write(buf); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/broken", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "kopru_circuit_state{\n") })
	mux.HandleFunc("/down", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusBadGateway) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	client := &http.Client{Timeout: 5 * time.Second}
	ctx := context.Background()

	got, err := CircuitFromMetricsURL(client, srv.URL+"/metrics")(ctx)
	if err != nil || fmt.Sprint(got) != "map[dia:2]" {
		t.Fatalf("%v %v", got, err)
	}
	if !strings.HasPrefix(accept, "text/plain") {
		t.Fatalf("Accept %q: want the text format", accept)
	}
	for path, want := range map[string]string{"/endless": "larger than", "/broken": "text format", "/down": "502"} {
		_, err := CircuitFromMetricsURL(client, srv.URL+path)(ctx)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), srv.URL+path) {
			t.Fatalf("%s: error %v; want one naming the URL and saying %q", path, err, want)
		}
	}
}

// The registry reader and the page reader agree on what the app's own registry exports.
func TestCircuitFromGathererMatchesThePage(t *testing.T) {
	reg := prometheus.NewRegistry()
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kopru_circuit_state", Help: "Circuit state."}, []string{"target"})
	reg.MustRegister(g)
	g.WithLabelValues("dia").Set(1)
	g.WithLabelValues(`odd "name"`).Set(2)
	fromReg, err := CircuitFromGatherer(reg)(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(srv.Close)
	fromPage, err := CircuitFromMetricsURL(srv.Client(), srv.URL)(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(fromReg) != fmt.Sprint(fromPage) || fmt.Sprint(fromPage) != `map[dia:1 odd "name":2]` {
		t.Fatalf("registry %v, page %v", fromReg, fromPage)
	}
}
