// Command kopru is Köprü's one binary: the production worker (run), a self-contained demo (dev), the
// vendor simulators (sim), and the operator and producer tools (publish, dlq, status).
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/kopru/kopru/internal/app"
	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/config"
	"github.com/kopru/kopru/internal/metrics"
	"github.com/kopru/kopru/internal/routes"
)

const usage = `kopru — event-driven integrator for Licrus, Lean Soft and DİA on NATS JetStream

Usage:
  kopru run     [--config FILE]        run the workers for every configured route (production)
  kopru dev     [--data DIR]           everything embedded: JetStream, simulators, workers; publishes samples
  kopru sim     [--addr ADDR]          serve the Licrus, Lean Soft and DİA simulators
  kopru publish TYPE [FILE|-]          publish an event (data or a whole CloudEvents envelope); prints its id
  kopru dlq     list|show|replay|purge inspect and replay dead letters (kopru dlq --help)
  kopru status  [--json]               per route: pending, in flight, dead letters, last error
  kopru events  show [--json] ID       what happened to one event: state per route, vendor calls
  kopru version                        version, commit and Go version (also kopru --version)

Every command reads KOPRU_NATS_URL (empty for run/dev: an embedded nats-server on 127.0.0.1:4222).
Configuration: a YAML file (--config) and KOPRU_* environment variables, which win; secrets may come
from KOPRU_*_FILE. See README.md for every variable.
`

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch args[0] {
	case "run":
		err = cmdRun(ctx, args[1:], stderr)
	case "dev":
		err = cmdDev(ctx, args[1:], stdout, stderr)
	case "sim":
		err = cmdSim(ctx, args[1:], stdout, stderr)
	case "publish":
		err = cmdPublish(ctx, args[1:], stdin, stdout, stderr)
	case "dlq":
		err = cmdDLQ(ctx, args[1:], stdin, stdout, stderr)
	case "status":
		err = cmdStatus(ctx, args[1:], stdout, stderr)
	case "events":
		err = cmdEvents(ctx, args[1:], stdout, stderr)
	case "version", "--version", "-version", "-v":
		v, c, g := metrics.Build()
		fmt.Fprintf(stdout, "kopru %s (commit %s, %s %s/%s)\n", v, c, g, runtime.GOOS, runtime.GOARCH)
		return 0
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "kopru: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "kopru %s: %s\n", args[0], termBlock(ue.msg))
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "kopru %s: %s\n", args[0], termBlock(err.Error()))
		return 1
	}
	return 0
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("kopru "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: kopru %s\n\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// newLogger builds the zap logger: JSON for production, console for people.
func newLogger(level, format string, stderr io.Writer) (*zap.Logger, error) {
	lvl := zapcore.InfoLevel
	if level != "" {
		if err := lvl.UnmarshalText([]byte(level)); err != nil {
			return nil, fmt.Errorf("log level %q: use debug, info, warn or error", level)
		}
	}
	var enc zapcore.Encoder
	if format == "console" {
		ec := zap.NewDevelopmentEncoderConfig()
		ec.EncodeTime = zapcore.TimeEncoderOfLayout("15:04:05.000")
		enc = zapcore.NewConsoleEncoder(ec)
	} else {
		ec := zap.NewProductionEncoderConfig()
		ec.EncodeTime = zapcore.ISO8601TimeEncoder
		enc = zapcore.NewJSONEncoder(ec)
	}
	return zap.New(zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(stderr)), lvl)), nil
}

func cmdRun(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlags("run", `run [--config FILE]

Runs the workers of every configured route (a route runs when its target's URL is set) and the HTTP
server (metrics, health, ingest, admin, /ui). Creates or updates the streams EVENTS, OUTCOMES, DLQ and
the ledger bucket first. With KOPRU_NATS_URL empty it starts an embedded nats-server (store ./data/nats,
fsync on every write). It waits for NATS if it is not reachable yet, and on SIGTERM/Ctrl-C finishes the
events in flight (up to 30 s) before it exits.

Configuration: the YAML file, then KOPRU_* environment variables (they win); every secret can come
from KOPRU_*_FILE instead. See README.md "Configuration" for every setting.

Example:
  KOPRU_NATS_URL=nats://nats:4222 KOPRU_LICRUS_URL=https://test-ecostar-api.licrus.com/api \
  KOPRU_LICRUS_AUTH_TICKET_FILE=/run/secrets/licrus kopru run --config /etc/kopru/config.yaml`, stderr)
	cfgPath := fs.String("config", os.Getenv("KOPRU_CONFIG"), "YAML configuration file (env KOPRU_CONFIG)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	defer startProfiles()()
	gc := tuneGC(os.Getenv, os.ReadFile)
	cfg, err := config.Load(*cfgPath, os.Getenv)
	if err != nil {
		return err
	}
	if err := checkRunConfig(cfg); err != nil {
		return err
	}
	log, err := newLogger(cfg.Log.Level, cfg.Log.Format, stderr)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	a, err := app.New(app.Options{Config: cfg, Logger: log, WaitForNATS: true})
	if err != nil {
		return err
	}
	if err := a.Start(ctx); err != nil {
		if errors.Is(err, bus.ErrPortTaken) {
			listen := cmp.Or(cfg.NATS.Listen, "127.0.0.1:4222")
			return fmt.Errorf("%w: to use the server listening there set KOPRU_NATS_URL=nats://%s; or stop it; or move the embedded server with nats.listen in the config file", err, listen)
		}
		return err
	}
	log.Info("kopru running", zap.String("nats", a.NATSURL()), zap.String("http", a.Addr()), zap.String("gc", gc))
	<-ctx.Done()
	log.Info("shutting down: finishing events in flight")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return a.Stop(sctx)
}

// checkRunConfig refuses, before anything starts, a configuration whose routes cannot run: misspelt
// route names and every setting missing for a target some enabled route uses, each named by its
// environment variable and YAML path.
func checkRunConfig(cfg config.Config) error {
	if err := cfg.CheckRoutes(routes.Names()); err != nil {
		return err
	}
	table, err := routes.Table(cfg)
	if err != nil {
		return err
	}
	return cfg.CheckTargets(routes.Targets(cfg, table)...)
}
