package ops

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/kopru/kopru/internal/redact"
)

// circuitMetric is the gauge the worker's breakers set per target (0 closed, 1 half-open, 2 open).
const circuitMetric = "kopru_circuit_state"

// MaxMetricsPage is the most CircuitFromMetricsURL reads of a metrics page (after any gzip is
// undone). A kopru's page is a few hundred kilobytes; a longer one is refused with ErrMetricsPage
// rather than cut, since a cut page would be read as a malformed one.
const MaxMetricsPage = 4 << 20

// ErrMetricsPage is wrapped by CircuitFromMetricsURL's errors about the page itself: too large, or
// not the Prometheus text format.
var ErrMetricsPage = errors.New("metrics page")

// CircuitName turns the kopru_circuit_state value into a word.
func CircuitName(v float64) string {
	switch v {
	case 0:
		return "closed"
	case 1:
		return "half-open"
	case 2:
		return "open"
	}
	return "closed/unknown"
}

// CircuitFromGatherer reads kopru_circuit_state{target} from a Prometheus registry (the app's own).
func CircuitFromGatherer(g prometheus.Gatherer) CircuitFunc {
	return func(context.Context) (map[string]float64, error) {
		mfs, err := g.Gather()
		if err != nil {
			return nil, err
		}
		out := map[string]float64{}
		for _, mf := range mfs {
			if mf.GetName() == circuitMetric {
				addCircuits(out, mf)
			}
		}
		return out, nil
	}
}

// CircuitFromMetricsURL reads kopru_circuit_state{target} from a running kopru's /metrics, for the
// CLI. The page is read with the Prometheus text parser (expfmt), at most MaxMetricsPage of it; a
// page that is larger, or malformed, is an error wrapping ErrMetricsPage, of one short line.
func CircuitFromMetricsURL(client *http.Client, url string) CircuitFunc {
	return func(ctx context.Context) (map[string]float64, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		// The text format, not OpenMetrics or protobuf, whatever the server prefers.
		req.Header.Set("Accept", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		out, err := parseCircuit(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("GET %s: %w", url, err)
		}
		return out, nil
	}
}

// parseCircuit reads kopru_circuit_state{target} from a metrics page in the Prometheus text format,
// reading at most MaxMetricsPage bytes of r. Other families, comments and label order do not matter;
// label values are unescaped by the parser.
func parseCircuit(r io.Reader) (map[string]float64, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxMetricsPage+1))
	if err != nil {
		return nil, fmt.Errorf("read the metrics page: %w", err)
	}
	if len(b) > MaxMetricsPage {
		return nil, fmt.Errorf("%w is larger than %d MiB: not a kopru's /metrics", ErrMetricsPage, MaxMetricsPage>>20)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(b))
	if err != nil {
		// The parser quotes what it stumbled on, which on a hostile page can be megabytes: one line.
		return nil, fmt.Errorf("%w is not in the Prometheus text format: %s", ErrMetricsPage, redact.OneLine(err.Error()))
	}
	out := map[string]float64{}
	if mf := mfs[circuitMetric]; mf != nil {
		addCircuits(out, mf)
	}
	return out, nil
}

// addCircuits adds to out each series of mf that has a target label: a gauge, or an untyped sample
// (a page without its TYPE line).
func addCircuits(out map[string]float64, mf *dto.MetricFamily) {
	for _, m := range mf.GetMetric() {
		var v float64
		switch {
		case m.GetGauge() != nil:
			v = m.GetGauge().GetValue()
		case m.GetUntyped() != nil:
			v = m.GetUntyped().GetValue()
		default:
			continue
		}
		for _, l := range m.GetLabel() {
			if l.GetName() == "target" {
				out[l.GetValue()] = v
			}
		}
	}
}
