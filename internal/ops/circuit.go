package ops

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

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
			if mf.GetName() != "kopru_circuit_state" {
				continue
			}
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "target" && m.GetGauge() != nil {
						out[l.GetValue()] = m.GetGauge().GetValue()
					}
				}
			}
		}
		return out, nil
	}
}

// CircuitFromMetricsURL scrapes kopru_circuit_state{target} from a running kopru's /metrics (text
// format), for the CLI.
func CircuitFromMetricsURL(client *http.Client, url string) CircuitFunc {
	return func(ctx context.Context) (map[string]float64, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return parseCircuit(io.LimitReader(resp.Body, 16<<20))
	}
}

var circuitLine = regexp.MustCompile(`^kopru_circuit_state\{(?:[^}]*,)?target="([^"]*)"[^}]*\}\s+(\S+)`)

func parseCircuit(r io.Reader) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		m := circuitLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		if v, err := strconv.ParseFloat(m[2], 64); err == nil {
			out[m[1]] = v
		}
	}
	return out, sc.Err()
}
