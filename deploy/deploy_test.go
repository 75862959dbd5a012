package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"go.yaml.in/yaml/v3"

	"github.com/kopru/kopru/internal/config"
	"github.com/kopru/kopru/internal/metrics"
)

// routeNames and targets of DESIGN.md; the durable consumer of a route is named exactly like the route.
var (
	routeNames = []string{"licrus-installation", "licrus-first-start", "leansoft-customer", "dia-customer", "dia-service-note"}
	targets    = []string{"licrus", "leansoft", "dia"}
)

// Labels Prometheus (or the Prometheus Operator) adds at scrape time; queries may use them on any series.
var scrapeLabels = []string{"job", "instance", "namespace", "pod", "service", "container", "endpoint"}

const (
	dashboardFile = "grafana/dashboards/kopru.json"
	rulesGlob     = "prometheus/rules/*.yml"
	rulesTestGlob = "prometheus/tests/*.test.yml"
	runbookFile   = "RUNBOOK.md"
)

// exported gathers a registry set up the way a worker sets it up and returns the families by name.
func exported(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	m.AddRoute("licrus-installation")
	m.AddTarget("licrus", "ExternalCall/Create")
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	byName := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		byName[mf.GetName()] = mf
	}
	return byName
}

// seriesNames maps every series name a family produces to its family: a histogram is queried as
// _bucket, _sum and _count (never by its bare name), a summary by its name, _sum and _count.
func seriesNames(fams map[string]*dto.MetricFamily) map[string]*dto.MetricFamily {
	out := map[string]*dto.MetricFamily{}
	for name, mf := range fams {
		switch mf.GetType() {
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				out[name+s] = mf
			}
		case dto.MetricType_SUMMARY:
			for _, s := range []string{"", "_sum", "_count"} {
				out[name+s] = mf
			}
		default:
			out[name] = mf
		}
	}
	return out
}

func familyLabels(mf *dto.MetricFamily) map[string]bool {
	out := map[string]bool{}
	for _, m := range mf.GetMetric() {
		for _, lp := range m.GetLabel() {
			out[lp.GetName()] = true
		}
	}
	return out
}

// --- a small PromQL tokenizer ---------------------------------------------------------------------

type token struct {
	kind string // "ident", "str", "punct"
	text string
}

func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentChar(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }

// tokenize splits a PromQL expression into identifiers, string literals (contents dropped) and single
// punctuation characters. Numbers, durations and Grafana variables ($route, $__rate_interval) come out
// as identifiers or punctuation that never start with "kopru_", which is all the checks need.
func tokenize(expr string) []token {
	var out []token
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			j := i + 1
			for j < len(expr) && expr[j] != c {
				if expr[j] == '\\' && c != '`' {
					j++
				}
				j++
			}
			out = append(out, token{"str", ""})
			i = j + 1
		case c == '#': // comment to end of line
			for i < len(expr) && expr[i] != '\n' {
				i++
			}
		case isIdentStart(c):
			j := i
			for j < len(expr) && isIdentChar(expr[j]) {
				j++
			}
			out = append(out, token{"ident", expr[i:j]})
			i = j
		case c >= '0' && c <= '9':
			j := i
			for j < len(expr) && (isIdentChar(expr[j]) || expr[j] == '.') {
				j++
			}
			out = append(out, token{"num", expr[i:j]})
			i = j
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		default:
			out = append(out, token{"punct", string(c)})
			i++
		}
	}
	return out
}

// selector is one metric name in an expression and the label names its matchers use.
type selector struct {
	metric string
	labels []string
}

// parseExpr returns the kopru_ selectors of expr and the label names of its by/without/on/ignoring/
// group_left/group_right clauses.
func parseExpr(expr string) (sels []selector, grouping []string) {
	toks := tokenize(expr)
	for i := 0; i < len(toks); i++ {
		tk := toks[i]
		if tk.kind != "ident" {
			continue
		}
		switch tk.text {
		case "by", "without", "on", "ignoring", "group_left", "group_right":
			if i+1 < len(toks) && toks[i+1].text == "(" {
				j := i + 2
				for ; j < len(toks) && toks[j].text != ")"; j++ {
					if toks[j].kind == "ident" {
						grouping = append(grouping, toks[j].text)
					}
				}
				i = j
			}
			continue
		}
		if !strings.HasPrefix(tk.text, "kopru_") {
			continue
		}
		sel := selector{metric: tk.text}
		if i+1 < len(toks) && toks[i+1].text == "{" {
			j := i + 2
			for ; j < len(toks) && toks[j].text != "}"; j++ {
				// a label name is an identifier followed by =, != , =~ or !~
				if toks[j].kind == "ident" && j+1 < len(toks) && (toks[j+1].text == "=" || toks[j+1].text == "!") {
					sel.labels = append(sel.labels, toks[j].text)
				}
			}
			i = j
		}
		sels = append(sels, sel)
	}
	return sels, grouping
}

// metricNames is the plain form the issue asks for: every kopru_ identifier, histogram suffixes
// stripped.
func metricNames(expr string) []string {
	sels, _ := parseExpr(expr)
	var out []string
	for _, s := range sels {
		n := s.metric
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			n = strings.TrimSuffix(n, suf)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

func TestTokenizer(t *testing.T) {
	expr := `histogram_quantile(0.99, sum by (target, le) (rate(kopru_target_request_duration_seconds_bucket{target=~"$target", status_class!="kopru_not_a_metric"}[$__rate_interval])))
	  / on (target) group_left max by (target) (kopru_circuit_state) # kopru_in_a_comment
	  and route:kopru_consumer_lag:max > 0`
	sels, grouping := parseExpr(expr)
	var got []string
	for _, s := range sels {
		got = append(got, s.metric+"{"+strings.Join(s.labels, ",")+"}")
	}
	want := []string{"kopru_target_request_duration_seconds_bucket{target,status_class}", "kopru_circuit_state{}"}
	if !slices.Equal(got, want) {
		t.Errorf("selectors = %v, want %v", got, want)
	}
	if w := []string{"target", "le", "target", "target"}; !slices.Equal(grouping, w) {
		t.Errorf("grouping = %v, want %v", grouping, w)
	}
	if n, w := metricNames(expr), []string{"kopru_target_request_duration_seconds", "kopru_circuit_state"}; !slices.Equal(n, w) {
		t.Errorf("metricNames = %v, want %v", n, w)
	}
}

// checkExpr reports every problem of one expression against the exported families.
func checkExpr(series map[string]*dto.MetricFamily, allLabels map[string]bool, expr string) []string {
	var problems []string
	sels, grouping := parseExpr(expr)
	for _, s := range sels {
		mf, ok := series[s.metric]
		if !ok {
			base := s.metric
			for _, suf := range []string{"_bucket", "_sum", "_count"} {
				base = strings.TrimSuffix(base, suf)
			}
			if _, isBase := series[base+"_bucket"]; isBase && base == s.metric {
				problems = append(problems, s.metric+" is a histogram: query it as _bucket, _sum or _count")
			} else {
				problems = append(problems, s.metric+" is not exported by internal/metrics")
			}
			continue
		}
		known := familyLabels(mf)
		if strings.HasSuffix(s.metric, "_bucket") && mf.GetType() == dto.MetricType_HISTOGRAM {
			known["le"] = true
		}
		for _, l := range s.labels {
			if !known[l] && !slices.Contains(scrapeLabels, l) {
				problems = append(problems, s.metric+" has no label "+l)
			}
		}
	}
	for _, l := range grouping {
		if !allLabels[l] && !slices.Contains(scrapeLabels, l) && l != "le" {
			problems = append(problems, "grouping label "+l+" is on no kopru metric")
		}
	}
	return problems
}

type exprSource struct{ where, expr string }

// dashboardExprs returns every PromQL query of a Grafana dashboard: panel targets (nested rows
// included) and query variables.
func dashboardExprs(t *testing.T, path string) []exprSource {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []exprSource
	var walk func(v any, where string)
	walk = func(v any, where string) {
		switch v := v.(type) {
		case map[string]any:
			w := where
			if title, ok := v["title"].(string); ok {
				w = where + "/" + title
			}
			if e, ok := v["expr"].(string); ok {
				out = append(out, exprSource{w, e})
			}
			for k, c := range v {
				walk(c, w+"."+k)
			}
		case []any:
			for _, c := range v {
				walk(c, where)
			}
		}
	}
	walk(doc, path)
	d := doc.(map[string]any)
	tpl, _ := d["templating"].(map[string]any)
	list, _ := tpl["list"].([]any)
	for _, v := range list {
		vv := v.(map[string]any)
		if vv["type"] != "query" {
			continue
		}
		switch q := vv["query"].(type) {
		case string:
			out = append(out, exprSource{path + "/templating/" + vv["name"].(string), q})
		case map[string]any:
			if s, ok := q["query"].(string); ok {
				out = append(out, exprSource{path + "/templating/" + vv["name"].(string), s})
			}
		}
	}
	return out
}

type ruleFile struct {
	Groups []struct {
		Name     string `yaml:"name"`
		Interval string `yaml:"interval"`
		Limit    int    `yaml:"limit"`
		Rules    []struct {
			Alert         string            `yaml:"alert"`
			Record        string            `yaml:"record"`
			Expr          string            `yaml:"expr"`
			For           string            `yaml:"for"`
			KeepFiringFor string            `yaml:"keep_firing_for"`
			Labels        map[string]string `yaml:"labels"`
			Annotations   map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func readRules(t *testing.T) map[string]ruleFile {
	t.Helper()
	files, err := filepath.Glob(rulesGlob)
	if err != nil || len(files) == 0 {
		t.Fatalf("no rule files at %s (%v)", rulesGlob, err)
	}
	out := map[string]ruleFile{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var rf ruleFile
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		dec.KnownFields(true)
		if err := dec.Decode(&rf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[f] = rf
	}
	return out
}

func ruleExprs(t *testing.T) []exprSource {
	var out []exprSource
	for f, rf := range readRules(t) {
		for _, g := range rf.Groups {
			for _, r := range g.Rules {
				out = append(out, exprSource{f + "/" + g.Name + "/" + r.Alert + r.Record, r.Expr})
			}
		}
	}
	return out
}

func checkAll(t *testing.T, sources []exprSource) {
	t.Helper()
	fams := exported(t)
	series := seriesNames(fams)
	all := map[string]bool{}
	for _, mf := range fams {
		for l := range familyLabels(mf) {
			all[l] = true
		}
	}
	used := 0
	for _, s := range sources {
		if len(metricNames(s.expr)) > 0 {
			used++
		}
		for _, p := range checkExpr(series, all, s.expr) {
			t.Errorf("%s: %s\n\texpr: %s", s.where, p, s.expr)
		}
	}
	if used == 0 {
		t.Fatal("no expression queries a kopru_ metric: the extraction is broken")
	}
}

func TestCheckExprCatchesMistakes(t *testing.T) {
	fams := exported(t)
	series := seriesNames(fams)
	all := map[string]bool{"route": true, "target": true}
	for expr, want := range map[string]string{
		`rate(kopru_events_totl[5m])`:                                      "kopru_events_totl is not exported",
		`kopru_target_request_duration_seconds`:                            "is a histogram",
		`rate(kopru_events_total{status="x"}[5m])`:                         "has no label status",
		`sum by (rout) (kopru_dlq_messages)`:                               "grouping label rout",
		`sum(rate(kopru_event_end_to_end_seconds_bucket{le="1"}[5m]))`:     "",
		`max by (route) (kopru_dlq_messages{route=~"$route",job="kopru"})`: "",
	} {
		got := strings.Join(checkExpr(series, all, expr), "; ")
		if want == "" && got != "" || want != "" && !strings.Contains(got, want) {
			t.Errorf("checkExpr(%s) = %q, want %q", expr, got, want)
		}
	}
}

func TestDashboardMetricsExist(t *testing.T) {
	checkAll(t, dashboardExprs(t, dashboardFile))
}

func TestRuleMetricsExist(t *testing.T) {
	checkAll(t, ruleExprs(t))
}

func TestPromlint(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	for _, r := range routeNames {
		m.AddRoute(r)
	}
	m.AddTarget("licrus", "ExternalCall/Create")
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

func TestDashboardShape(t *testing.T) {
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		UID        string `json:"uid"`
		Templating struct {
			List []struct {
				Name string `json:"name"`
				Type string `json:"type"`
			} `json:"list"`
		} `json:"templating"`
		Panels []struct {
			ID      int    `json:"id"`
			Type    string `json:"type"`
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	if d.UID == "" {
		t.Error("dashboard has no uid (provisioned links would break)")
	}
	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
	}
	for _, v := range []string{"datasource", "route", "target"} {
		if !vars[v] {
			t.Errorf("template variable %q missing", v)
		}
	}
	ids := map[int]bool{}
	text := string(raw)
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			if strings.TrimSpace(tg.Expr) == "" {
				t.Errorf("panel %q has an empty query", p.Title)
			}
		}
	}
	// what the issue asks the dashboard to show
	for _, m := range []string{"kopru_events_total", "kopru_target_request_duration_seconds_bucket",
		"kopru_event_end_to_end_seconds_bucket", "kopru_consumer_pending_messages",
		"kopru_consumer_ack_pending_messages", "kopru_dlq_messages", "kopru_dlq_oldest_age_seconds",
		"kopru_circuit_state", "$route", "$target"} {
		if !strings.Contains(text, m) {
			t.Errorf("dashboard does not use %s", m)
		}
	}
}

// TestAlertsDocumentedAndTested: every alert has severity, summary, description and a runbook hint,
// a section in RUNBOOK.md, and at least one promtool test (firing and not firing cases live in the
// test file; promtool checks their content).
func TestAlertsDocumentedAndTested(t *testing.T) {
	var tests strings.Builder
	files, _ := filepath.Glob(rulesTestGlob)
	if len(files) == 0 {
		t.Fatal("no promtool test files")
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		tests.Write(raw)
	}
	runbook, err := os.ReadFile(runbookFile)
	if err != nil {
		t.Fatal(err)
	}
	alerts := 0
	for f, rf := range readRules(t) {
		for _, g := range rf.Groups {
			for _, r := range g.Rules {
				if r.Alert == "" {
					continue
				}
				alerts++
				if r.Labels["severity"] == "" {
					t.Errorf("%s: %s has no severity label", f, r.Alert)
				}
				for _, a := range []string{"summary", "description", "runbook", "runbook_url"} {
					if strings.TrimSpace(r.Annotations[a]) == "" {
						t.Errorf("%s: %s has no %s annotation", f, r.Alert, a)
					}
				}
				anchor := "#" + strings.ToLower(r.Alert)
				if !strings.HasSuffix(r.Annotations["runbook_url"], anchor) {
					t.Errorf("%s: %s runbook_url should end in %s", f, r.Alert, anchor)
				}
				if !strings.Contains(string(runbook), "## "+r.Alert+"\n") {
					t.Errorf("%s has no section \"## %s\"", runbookFile, r.Alert)
				}
				n := strings.Count(tests.String(), "alertname: "+r.Alert+"\n")
				if n < 2 {
					t.Errorf("%s has %d promtool alert tests, want a firing and a not-firing one", r.Alert, n)
				}
			}
		}
	}
	if alerts == 0 {
		t.Fatal("no alerts found")
	}
}

// --- YAML and kustomize ---------------------------------------------------------------------------

// yamlFiles lists every YAML file under deploy/ (and the compose file at the repository root).
func yamlFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("../docker-compose.yml"); err == nil {
		out = append(out, "../docker-compose.yml")
	}
	sort.Strings(out)
	return out
}

func decodeAll(path string) ([]map[string]any, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var docs []map[string]any
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		if doc != nil {
			docs = append(docs, doc)
		}
	}
}

func TestYAMLParses(t *testing.T) {
	files := yamlFiles(t)
	if len(files) < 10 {
		t.Fatalf("only %d YAML files found: %v", len(files), files)
	}
	for _, f := range files {
		docs, err := decodeAll(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if len(docs) == 0 {
			t.Errorf("%s: empty", f)
		}
		if strings.HasPrefix(f, "kubernetes/") && !strings.HasSuffix(f, "kustomization.yaml") && !strings.Contains(f, "values") && !strings.HasSuffix(f, "config.yaml") {
			for i, d := range docs {
				if d["apiVersion"] == nil || d["kind"] == nil {
					t.Errorf("%s: document %d has no apiVersion/kind", f, i)
				}
				if md, _ := d["metadata"].(map[string]any); md == nil || md["name"] == nil {
					t.Errorf("%s: document %d has no metadata.name", f, i)
				}
			}
		}
	}
}

func asStrings(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		switch x := x.(type) {
		case string:
			out = append(out, x)
		case map[string]any: // patches: {path: …}
			if p, ok := x["path"].(string); ok {
				out = append(out, p)
			}
		}
	}
	return out
}

func TestKustomizationsResolve(t *testing.T) {
	var found int
	for _, f := range yamlFiles(t) {
		if filepath.Base(f) != "kustomization.yaml" {
			continue
		}
		found++
		docs, err := decodeAll(f)
		if err != nil || len(docs) != 1 {
			t.Errorf("%s: %v", f, err)
			continue
		}
		k, dir := docs[0], filepath.Dir(f)
		var paths []string
		for _, key := range []string{"resources", "components", "patches", "patchesStrategicMerge"} {
			paths = append(paths, asStrings(k[key])...)
		}
		for _, key := range []string{"configMapGenerator", "secretGenerator"} {
			gens, _ := k[key].([]any)
			for _, g := range gens {
				gm, _ := g.(map[string]any)
				for _, fl := range asStrings(gm["files"]) {
					if i := strings.Index(fl, "="); i >= 0 {
						fl = fl[i+1:]
					}
					paths = append(paths, fl)
				}
				paths = append(paths, asStrings(gm["envs"])...)
			}
		}
		if len(paths) == 0 {
			t.Errorf("%s lists nothing", f)
		}
		for _, p := range paths {
			if strings.Contains(p, "://") {
				continue // remote bases are not used, but would not be local files either
			}
			if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
				t.Errorf("%s: %s does not exist", f, p)
			}
		}
	}
	if found == 0 {
		t.Fatal("no kustomization.yaml under kubernetes/")
	}
}

// TestSecretTemplateHasOnlyPlaceholders keeps real credentials out of the repository.
func TestSecretTemplateHasOnlyPlaceholders(t *testing.T) {
	docs, err := decodeAll("kubernetes/base/secret.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"KOPRU_LICRUS_AUTH_TICKET", "KOPRU_LEANSOFT_AUTH_VALUE", "KOPRU_DIA_PASSWORD",
		"KOPRU_DIA_API_KEY", "KOPRU_INGEST_TOKENS", "KOPRU_ADMIN_TOKENS"}
	if len(docs) != 1 || docs[0]["kind"] != "Secret" {
		t.Fatalf("want one Secret, got %v", docs)
	}
	data, _ := docs[0]["stringData"].(map[string]any)
	for _, k := range want {
		v, ok := data[k].(string)
		if !ok {
			t.Errorf("secret template lacks %s", k)
			continue
		}
		if !regexp.MustCompile(`^REPLACE_ME(_[A-Z_]+)?$`).MatchString(v) {
			t.Errorf("%s = %q: the template must hold a REPLACE_ME placeholder, never a value", k, v)
		}
	}
	if len(data) != len(want) {
		t.Errorf("secret template has %d keys, want %d", len(data), len(want))
	}
}

// TestKubernetesConfigLoads: the ConfigMap's config.yaml is what `kopru run --config` accepts (unknown
// keys are refused there) and names every route.
func TestKubernetesConfigLoads(t *testing.T) {
	const path = "kubernetes/base/config.yaml"
	cfg, err := config.Load(path, func(string) string { return "" })
	if err != nil {
		t.Fatalf("config.Load(%s): %v", path, err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if cfg.Streams.Replicas != 3 {
		t.Errorf("%s: streams.replicas = %d, want 3 for production", path, cfg.Streams.Replicas)
	}
	var names []string
	for n := range cfg.Routes {
		names = append(names, n)
	}
	sort.Strings(names)
	want := slices.Clone(routeNames)
	sort.Strings(want)
	if !slices.Equal(names, want) {
		t.Errorf("%s: routes %v, want %v", path, names, want)
	}
	for n := range cfg.Targets {
		if !slices.Contains(targets, n) {
			t.Errorf("%s: unknown target %s", path, n)
		}
	}
}

// TestComposeMountsExist: docker-compose.yml's bind mounts point at files in the repository.
func TestComposeMountsExist(t *testing.T) {
	docs, err := decodeAll("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	svcs, _ := docs[0]["services"].(map[string]any)
	for _, name := range []string{"nats", "kopru", "sim", "prometheus", "grafana"} {
		if svcs[name] == nil {
			t.Errorf("compose service %s missing", name)
		}
	}
	for name, s := range svcs {
		vols, _ := s.(map[string]any)["volumes"].([]any)
		for _, v := range vols {
			src := ""
			switch v := v.(type) {
			case string:
				src = strings.SplitN(v, ":", 2)[0]
			case map[string]any:
				if v["type"] == "bind" {
					src, _ = v["source"].(string)
				}
			}
			if !strings.HasPrefix(src, "./") {
				continue // named volume
			}
			if _, err := os.Stat(filepath.Join("..", src)); err != nil {
				t.Errorf("compose service %s mounts %s, which does not exist", name, src)
			}
		}
	}
}
