package main

import (
	"context"
	"fmt"
	"io"

	"github.com/kopru/kopru/internal/devstack"
)

func cmdSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sim", "sim [--addr ADDR]", stderr)
	addr := fs.String("addr", "127.0.0.1:8090", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	srv, url, err := devstack.Serve(devstack.New(), *addr)
	if err != nil {
		return err
	}
	defer srv.Close()
	fmt.Fprintf(stdout, "simulators listening on %s\n  Licrus     %s/licrus/api     AuthTicket %q\n  Lean Soft  %s/leansoft/api   company %s, header %s: %q\n  DİA        %s/dia/api/v3     user %q password %q api key %q\nCtrl-C stops\n",
		url, url, devstack.LicrusTicket, url, devstack.LeanSoftCompany, devstack.LeanSoftHeader, devstack.LeanSoftAuthValue,
		url, devstack.DIAUser, devstack.DIAPassword, devstack.DIAAPIKey)
	<-ctx.Done()
	return nil
}
