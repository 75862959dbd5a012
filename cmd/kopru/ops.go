package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/kopru/kopru/internal/app"
	"github.com/kopru/kopru/internal/config"
	"github.com/kopru/kopru/internal/ops"
)

const dlqUsage = `Usage: kopru dlq list|groups|show|replay|purge [flags]

  list     dead letters, oldest first, as a table (or --json)
  groups   dead letters grouped by route, class and error (numbers and ids folded), largest first
  show     one dead letter in full: headers, the event, the error
  replay   put dead letters back on their subject for their route (asks first; --dry-run shows what would go)
  purge    delete dead letters for good (asks first)

A dead letter's ID is its sequence in the DLQ stream (first column of "kopru dlq list").
Every command reads KOPRU_NATS_URL (and KOPRU_NATS_CREDS). "kopru dlq COMMAND --help" explains its flags.

Examples:
  kopru dlq list --route licrus-installation --class rejected --since 24h
  kopru dlq show 1234
  kopru dlq replay --id 1234
  kopru dlq replay --route dia-customer --class exhausted --dry-run
  kopru dlq purge --class invalid --until 7d --yes
`

// cmdDLQ is `kopru dlq`: it hands each subcommand (list, groups, show, replay, purge; one file each,
// dlq_*.go) its arguments. This file also holds what they share: the connection to the operator library.
func cmdDLQ(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, dlqUsage)
		return usageError{"want list, show, replay or purge"}
	}
	switch args[0] {
	case "list":
		return dlqList(ctx, args[1:], stdout, stderr)
	case "show":
		return dlqShow(ctx, args[1:], stdout, stderr)
	case "replay":
		return dlqReplay(ctx, args[1:], stdin, stdout, stderr)
	case "purge":
		return dlqPurge(ctx, args[1:], stdin, stdout, stderr)
	case "groups":
		return dlqGroups(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, dlqUsage)
		return nil
	}
	fmt.Fprint(stderr, dlqUsage)
	return usageError{fmt.Sprintf("unknown dlq command %q", args[0])}
}

// connectOps connects (connectNATS) and binds the operator library to the route table the run uses
// (the built-in routes and those KOPRU_CONFIG's file adds).
func connectOps(ctx context.Context, name string, circuit ops.CircuitFunc) (*ops.Ops, func(), error) {
	table, err := routeTable()
	if err != nil {
		return nil, nil, err
	}
	nc, js, err := connectNATS(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	var o *ops.Ops
	err = retryBounded(ctx, "open the dead-letter stream", func(ctx context.Context) (err error) {
		o, err = ops.New(ctx, js, ops.Options{Routes: app.OpsRoutes(table), Circuit: circuit})
		return err
	})
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return o, nc.Close, nil
}

// routeTable is the route table `kopru run` uses with the same configuration (KOPRU_CONFIG and the
// environment): the built-in routes and those the configuration adds.
func routeTable() ([]app.RouteSpec, error) {
	cfg, err := config.Load(os.Getenv("KOPRU_CONFIG"), os.Getenv)
	if err != nil {
		return nil, err
	}
	return app.RouteTable(cfg)
}

// selectDeadLetters connects and selects the dead letters f matches. When none match it says so on
// stderr, closes the connection and returns no items; otherwise the caller closes with closeFn.
func selectDeadLetters(ctx context.Context, stderr io.Writer, f ops.Filter, verb string) (*ops.Ops, []ops.DeadLetter, func(), error) {
	o, closeFn, err := connectOps(ctx, "dlq", nil)
	if err != nil {
		return nil, nil, nil, err
	}
	items, err := o.Select(ctx, f)
	if err != nil || len(items) == 0 {
		closeFn()
		if err == nil {
			fmt.Fprintln(stderr, "no dead letters match; nothing to "+verb)
		}
		return nil, nil, nil, err
	}
	return o, items, closeFn, nil
}
