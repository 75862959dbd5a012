package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// lintDashboard applies the rules of Grafana's dashboard-linter (github.com/grafana/dashboard-linter,
// lint/rule_*.go) to a dashboard, as `dashboard-linter lint --strict` does (warnings count as errors).
// The linter itself cannot be installed here: its Go module is not served by the module proxy this
// project builds with (no version is listed and an exact one is refused), so its rules are restated
// below, one block per upstream rule name. PromQL validity (target-promql-rule) is checked more
// strictly by TestDashboardQueriesAgainstPrometheus: a real Prometheus runs every query.
func lintDashboard(raw []byte) []string {
	var d lintDash
	if err := json.Unmarshal(raw, &d); err != nil {
		return []string{"parse: " + err.Error()}
	}
	var out []string
	add := func(rule, format string, a ...any) { out = append(out, rule+": "+fmt.Sprintf(format, a...)) }

	// uneditable-dashboard
	if d.Editable {
		add("uneditable-dashboard", "is editable, it should be set to 'editable: false'")
	}
	// template-datasource-rule
	var ds []lintTemplate
	for _, t := range d.Templating.List {
		if t.Type == "datasource" {
			ds = append(ds, t)
		}
	}
	if len(ds) != 1 {
		add("template-datasource-rule", "want exactly one templated data source, have %d", len(ds))
		return out // every other Prometheus rule depends on it, as upstream
	}
	if q, _ := ds[0].Query.(string); q != "prometheus" {
		add("template-datasource-rule", "data source variable queries %q, want prometheus", ds[0].Query)
		return out
	}
	if ds[0].Name != "datasource" && ds[0].Name != "prometheus_datasource" {
		add("template-datasource-rule", "templated data source variable named %q, should be 'datasource'", ds[0].Name)
	}
	if ds[0].Label != "Data source" && ds[0].Label != "Prometheus data source" {
		add("template-datasource-rule", "templated data source variable labeled %q, should be 'Data source'", ds[0].Label)
	}
	dsRefs := []string{"$" + ds[0].Name, "${" + ds[0].Name + "}"}
	// template-job-rule, template-instance-rule
	for _, name := range []string{"job", "instance"} {
		rule := "template-" + name + "-rule"
		i := slices.IndexFunc(d.Templating.List, func(t lintTemplate) bool { return t.Name == name })
		if i < 0 {
			add(rule, "is missing the %s template", name)
			continue
		}
		t := d.Templating.List[i]
		if !slices.Contains(dsRefs, t.Datasource.UID) {
			add(rule, "%s template should use datasource '$datasource', is currently %q", name, t.Datasource.UID)
		}
		if t.Type != "query" {
			add(rule, "%s template should be a Prometheus query, is currently %q", name, t.Type)
		}
		if want := strings.ToUpper(name[:1]) + name[1:]; t.Label != want {
			add(rule, "%s template should be labeled %q, is currently %q", name, want, t.Label)
		}
		if !t.Multi {
			add(rule, "%s template should be a multi select", name)
		}
		if t.AllValue != ".+" {
			add(rule, "%s template allValue should be '.+', is currently %q", name, t.AllValue)
		}
	}
	for _, t := range d.Templating.List {
		if t.Type != "query" {
			continue
		}
		// template-on-time-change-reload-rule
		if t.Refresh != 2 {
			add("template-on-time-change-reload-rule", "variable %q should refresh on time range change (2), is %d", t.Name, t.Refresh)
		}
		// template-label-promql-rule
		q := t.queryString()
		m := regexp.MustCompile(`^([a-z_]+)\((.+)\)$`).FindStringSubmatch(q)
		if m == nil || !slices.Contains([]string{"label_names", "label_values", "metrics", "query_result"}, m[1]) {
			add("template-label-promql-rule", "template %q has an invalid templated label query %q", t.Name, q)
		} else if strings.Count(m[2], "{") != strings.Count(m[2], "}") || strings.Count(m[2], "(") != strings.Count(m[2], ")") {
			add("template-label-promql-rule", "template %q: unbalanced PromQL in %q", t.Name, q)
		}
	}
	for _, p := range d.allPanels() {
		lintPanel(p, dsRefs, add)
	}
	return out
}

var (
	// panel types the upstream panel rules look at
	unitPanels = []string{"stat", "singlestat", "graph", "table", "timeseries", "gauge"}
	dsPanels   = []string{"singlestat", "graph", "table", "timeseries"}
	// a subset of upstream's list of valid units (Grafana's value formats): the ones a Köprü panel may use
	validUnits = []string{"none", "short", "percent", "percentunit", "s", "ms", "µs", "ns", "m", "h", "d",
		"dtdurations", "dtdurationms", "ops", "reqps", "rps", "wps", "cps", "bytes", "decbytes", "bool"}
	matcherRe = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"`)
	// a metric selector: name, optional {matchers}, optional [range]
	selectorRe = regexp.MustCompile(`\b(kopru_[a-z0-9_]+)(\{[^}]*\})?(\[[^\]]*\])?`)
)

func lintPanel(p lintPanelT, dsRefs []string, add func(rule, format string, a ...any)) {
	title := p.Title
	if slices.Contains(dsPanels, p.Type) && !slices.Contains(dsRefs, p.Datasource.UID) {
		add("panel-datasource-rule", "panel %q does not use a templated datasource, uses %q", title, p.Datasource.UID)
	}
	// the target rules hold for every panel's queries (bar gauges and state timelines too), as upstream's
	for _, t := range p.Targets {
		lintTarget(title, t.Expr, add)
	}
	if !slices.Contains(unitPanels, p.Type) {
		return
	}
	if title == "" || p.Description == "" {
		add("panel-title-description-rule", "panel %q has a missing title or description", title)
	}
	if p.Targets == nil {
		add("panel-no-targets-rule", "panel %q has no targets", title)
	}
	unit := p.FieldConfig.Defaults.Unit
	for _, o := range p.FieldConfig.Overrides {
		for _, pr := range o.Properties {
			if pr.ID == "unit" {
				unit, _ = pr.Value.(string)
			}
		}
	}
	if len(p.FieldConfig.Defaults.Mappings) == 0 && !slices.Contains(validUnits, unit) {
		add("panel-units-rule", "panel %q has no or invalid units defined: %q", title, unit)
	}
}

func lintTarget(panel, expr string, add func(rule, format string, a ...any)) {
	for _, m := range selectorRe.FindAllStringSubmatchIndex(expr, -1) {
		name, matchers := expr[m[2]:m[3]], ""
		if m[4] >= 0 {
			matchers = expr[m[4]:m[5]]
		}
		// target-job-rule, target-instance-rule: job=~"$job" and instance=~"$instance" on every selector
		for _, l := range []string{"job", "instance"} {
			found := false
			for _, mm := range matcherRe.FindAllStringSubmatch(matchers, -1) {
				if mm[1] == l && mm[2] == "=~" && mm[3] == "$"+l {
					found = true
				}
			}
			if !found {
				add("target-"+l+"-rule", "panel %q: %s has no %s=~\"$%s\" matcher in %s", panel, name, l, l, expr)
			}
		}
		// target-counter-agg-rule: a counter only inside rate, irate or increase over a range
		if strings.HasSuffix(name, "_total") {
			before := strings.TrimRight(expr[:m[0]], " ")
			if m[6] < 0 || !(strings.HasSuffix(before, "rate(") || strings.HasSuffix(before, "increase(")) {
				add("target-counter-agg-rule", "panel %q: counter %s is not aggregated with rate, irate or increase", panel, name)
			}
		}
		// target-rate-interval-rule: rate and irate over $__rate_interval
		if m[6] >= 0 {
			before := strings.TrimRight(expr[:m[0]], " ")
			if (strings.HasSuffix(before, "rate(")) && expr[m[6]:m[7]] != "[$__rate_interval]" {
				add("target-rate-interval-rule", "panel %q: %s should use $__rate_interval, uses %s", panel, name, expr[m[6]:m[7]])
			}
		}
	}
}

type lintDS struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type lintTemplate struct {
	Name       string `json:"name"`
	Label      string `json:"label"`
	Type       string `json:"type"`
	Datasource lintDS `json:"datasource"`
	Query      any    `json:"query"`
	Multi      bool   `json:"multi"`
	AllValue   string `json:"allValue"`
	Refresh    int    `json:"refresh"`
}

func (t lintTemplate) queryString() string {
	switch q := t.Query.(type) {
	case string:
		return q
	case map[string]any:
		s, _ := q["query"].(string)
		return s
	}
	return ""
}

type lintPanelT struct {
	Type        string `json:"type"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Datasource  lintDS `json:"datasource"`
	Targets     []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
	FieldConfig struct {
		Defaults struct {
			Unit     string            `json:"unit"`
			Mappings []json.RawMessage `json:"mappings"`
		} `json:"defaults"`
		Overrides []struct {
			Properties []struct {
				ID    string `json:"id"`
				Value any    `json:"value"`
			} `json:"properties"`
		} `json:"overrides"`
	} `json:"fieldConfig"`
	Panels []lintPanelT `json:"panels"` // collapsed rows
}

type lintDash struct {
	Editable   bool `json:"editable"`
	Templating struct {
		List []lintTemplate `json:"list"`
	} `json:"templating"`
	Panels []lintPanelT `json:"panels"`
}

func (d lintDash) allPanels() []lintPanelT {
	var out []lintPanelT
	for _, p := range d.Panels {
		out = append(out, p)
		out = append(out, p.Panels...)
	}
	return out
}

// TestDashboardLint: deploy/grafana passes the dashboard-linter rules in strict mode.
func TestDashboardLint(t *testing.T) {
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range lintDashboard(raw) {
		t.Error(p)
	}
}

// TestDashboardLintCatchesMistakes: each rule reports what it should.
func TestDashboardLintCatchesMistakes(t *testing.T) {
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	d["editable"] = true
	list := d["templating"].(map[string]any)["list"].([]any)
	var kept []any
	for _, v := range list {
		vm := v.(map[string]any)
		switch vm["name"] {
		case "instance":
			continue // dropped
		case "job":
			vm["allValue"] = ".*"
		case "route":
			vm["refresh"] = 1.0
		}
		kept = append(kept, vm)
	}
	d["templating"].(map[string]any)["list"] = kept
	panels := d["panels"].([]any)
	p := panels[1].(map[string]any)
	p["description"] = ""
	p["fieldConfig"].(map[string]any)["defaults"].(map[string]any)["unit"] = "events"
	p["datasource"] = map[string]any{"type": "prometheus", "uid": "prom-1"}
	p["targets"] = []any{map[string]any{"expr": `sum(rate(kopru_events_total{job=~"$job"}[5m])) + sum(kopru_attempts_total{job=~"$job",instance=~"$instance"})`}}
	bad, _ := json.Marshal(d)
	got := strings.Join(lintDashboard(bad), "\n")
	for _, want := range []string{"uneditable-dashboard:", "template-instance-rule: is missing", "template-job-rule: job template allValue",
		"template-on-time-change-reload-rule: variable \"route\"", "panel-title-description-rule:", "panel-units-rule:",
		"panel-datasource-rule:", "target-instance-rule: panel", "target-rate-interval-rule:", "target-counter-agg-rule: panel"} {
		if !strings.Contains(got, want) {
			t.Errorf("lint of a broken dashboard does not report %q; got:\n%s", want, got)
		}
	}
	if strings.Count(got, "target-counter-agg-rule") != 1 || strings.Count(got, "target-rate-interval-rule") != 1 {
		t.Errorf("want one counter-agg and one rate-interval report (the increase()/rate() uses are fine); got:\n%s", got)
	}
}

// TestDashboardLintChecksEveryPanelsQueries: the target rules hold for panels without units too
// (bar gauges, state timelines), as upstream's linter checks them.
func TestDashboardLintChecksEveryPanelsQueries(t *testing.T) {
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	var title string
	for _, v := range d["panels"].([]any) {
		p := v.(map[string]any)
		if typ, _ := p["type"].(string); (typ == "state-timeline" || typ == "bargauge") && title == "" {
			title, _ = p["title"].(string)
			p["targets"] = []any{map[string]any{"expr": `max(kopru_circuit_state)`}}
		}
	}
	if title == "" {
		t.Skip("the dashboard has no state-timeline or bar gauge panel")
	}
	bad, _ := json.Marshal(d)
	got := strings.Join(lintDashboard(bad), "\n")
	for _, want := range []string{"target-job-rule: panel " + strconv.Quote(title), "target-instance-rule: panel " + strconv.Quote(title)} {
		if !strings.Contains(got, want) {
			t.Errorf("lint does not report %q; got:\n%s", want, got)
		}
	}
}
