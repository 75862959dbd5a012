package adapter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/constant"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const adapterPath = "github.com/kopru/kopru/internal/adapter"

// TestReasonsFixed type-checks every package of the module that imports this one (and this one) and
// fails on any Reason value outside Reasons: a string literal or constant given to Error.Reason,
// Errorf, a comparison or a switch, a Reason constant missing from Reasons, or a conversion of a
// computed string to Reason. Test files are not checked.
func TestReasonsFixed(t *testing.T) {
	users := adapterUsers(t)
	pkgs := modulePackages(t, users...)
	imp := exportImporter(pkgs)
	checked, uses := 0, 0
	for _, p := range pkgs {
		if !slices.Contains(users, p.ImportPath) {
			continue
		}
		if len(p.CgoFiles) > 0 {
			t.Errorf("%s has cgo files; the check cannot type-check it", p.ImportPath)
			continue
		}
		fset := token.NewFileSet()
		var files []*ast.File
		for _, name := range p.GoFiles {
			f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
		n, problems, err := checkReasons(fset, imp(fset), p.ImportPath, files)
		if err != nil {
			t.Fatalf("type-check %s: %v", p.ImportPath, err)
		}
		for _, pr := range problems {
			t.Error(pr)
		}
		checked++
		uses += n
	}
	// The walk must have seen the adapters and the worker; an empty walk proves nothing.
	t.Logf("checked %d packages, %d reason values", checked, uses)
	if checked < 5 || uses < 50 {
		t.Fatalf("checked %d packages and %d reason values; the walk found too little", checked, uses)
	}
}

// The check itself catches each way of slipping a reason past the set.
func TestReasonsFixedCatches(t *testing.T) {
	imp := exportImporter(modulePackages(t, adapterPath))
	src := `package x

import "github.com/kopru/kopru/internal/adapter"

const mine = "mine"

func f(s string) []*adapter.Error {
	return []*adapter.Error{
		{Reason: adapter.ReasonDial},            // fine
		{Reason: "literal"},                     // 1
		{Reason: mine},                          // 2
		{Reason: adapter.Reason("conv")},        // 3
		{Reason: adapter.Reason(s)},             // 4
		adapter.Errorf(adapter.ClassNotSent, "errorf", "x"), // 5
	}
}

func g(e *adapter.Error) bool { return e.Reason == "compared" } // 6
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "x.go", src, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	_, problems, err := checkReasons(fset, imp(fset), "example.com/x", []*ast.File{f})
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 6 {
		t.Fatalf("%d problems, want 6:\n%s", len(problems), strings.Join(problems, "\n"))
	}
}

func TestReasons(t *testing.T) {
	all := Reasons()
	seen := map[Reason]bool{}
	for _, r := range all {
		if r == "" || seen[r] || !r.Known() {
			t.Errorf("reason %q empty, repeated or unknown", r)
		}
		seen[r] = true
	}
	all[0] = "changed"
	if Reasons()[0] == "changed" {
		t.Fatal("Reasons hands out its own slice")
	}
	if Reason("nope").Known() {
		t.Fatal(`"nope" is known`)
	}
}

// The session signal travels as a sentinel through *Error, not as a reason anyone compares.
func TestErrSessionEnded(t *testing.T) {
	vendor := fmt.Errorf("vendor: session refused: %w", ErrSessionEnded)
	var err error = &Error{Class: ClassRetryable, Reason: ReasonSession, Err: vendor}
	if !errors.Is(err, ErrSessionEnded) || !errors.Is(fmt.Errorf("call: %w", err), ErrSessionEnded) {
		t.Fatal("errors.Is does not see ErrSessionEnded through *Error")
	}
	if Unwell(err) {
		t.Fatal("a session the vendor ended counts as the vendor unwell")
	}
}

// checkReasons type-checks files as package path and returns how many Reason values it saw and one
// line per value outside the set.
func checkReasons(fset *token.FileSet, imp types.Importer, path string, files []*ast.File) (int, []string, error) {
	info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}}
	conf := types.Config{Importer: imp}
	if _, err := conf.Check(path, fset, files, info); err != nil {
		return 0, nil, err
	}
	byLine := map[string]string{} // one problem a line: Reason("x") is both a conversion and its literal
	report := func(pos token.Pos, format string, args ...any) {
		p := fset.Position(pos)
		line := fmt.Sprintf("%s:%d", p.Filename, p.Line)
		if _, dup := byLine[line]; !dup {
			byLine[line] = fmt.Sprintf("%s: %s", p, fmt.Sprintf(format, args...))
		}
	}
	n := 0
	for expr, tv := range info.Types {
		if !isReason(tv.Type) || tv.Value == nil || tv.IsType() {
			continue
		}
		n++
		if tv.Value.Kind() != constant.String || !Reason(constant.StringVal(tv.Value)).Known() {
			report(expr.Pos(), "reason %s is not one of adapter.Reasons", tv.Value)
		}
	}
	for _, f := range files {
		ast.Inspect(f, func(node ast.Node) bool {
			call, ok := node.(*ast.CallExpr)
			if !ok || len(call.Args) != 1 {
				return true
			}
			if fun := info.Types[call.Fun]; fun.IsType() && isReason(fun.Type) {
				if arg := info.Types[call.Args[0]]; arg.Value == nil && !isReason(arg.Type) {
					report(call.Pos(), "a computed string converted to adapter.Reason")
				}
			}
			return true
		})
	}
	problems := slices.Sorted(maps.Values(byLine))
	return n, problems, nil
}

func isReason(t types.Type) bool {
	named, ok := types.Unalias(t).(*types.Named)
	return ok && named.Obj().Name() == "Reason" && named.Obj().Pkg() != nil && named.Obj().Pkg().Path() == adapterPath
}

type listedPackage struct {
	ImportPath string
	Dir        string
	Export     string
	Standard   bool
	GoFiles    []string
	CgoFiles   []string
	Imports    []string
}

// modulePackages lists the packages patterns name (relative to the module root) and all their
// dependencies, with compiled export data (`go list -export -deps`, served from the build cache once
// built).
func modulePackages(t testing.TB, patterns ...string) []listedPackage {
	t.Helper()
	return goList(t, append([]string{"-export", "-deps",
		"-json=ImportPath,Dir,Export,Standard,GoFiles,CgoFiles,Imports,Module"}, patterns...)...)
}

// adapterUsers returns this package and every package of the module that imports it.
func adapterUsers(t testing.TB) []string {
	t.Helper()
	var paths []string
	for _, p := range goList(t, "-json=ImportPath,Imports", "./...") {
		if p.ImportPath == adapterPath || slices.Contains(p.Imports, adapterPath) {
			paths = append(paths, p.ImportPath)
		}
	}
	return paths
}

func goList(t testing.TB, args ...string) []listedPackage {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list the module's packages: %v", err)
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found: %v", err)
	}
	cmd := exec.Command(goTool, append([]string{"list", "-e"}, args...)...)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// exportImporter imports packages from the export data go list reported.
func exportImporter(pkgs []listedPackage) func(*token.FileSet) types.Importer {
	export := map[string]string{}
	for _, p := range pkgs {
		if p.Export != "" {
			export[p.ImportPath] = p.Export
		}
	}
	return func(fset *token.FileSet) types.Importer {
		return importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
			file, ok := export[path]
			if !ok {
				return nil, fmt.Errorf("no export data for %s", path)
			}
			return os.Open(file)
		})
	}
}
