package main

import (
	"context"
	"fmt"
	"io"

	"github.com/kopru/kopru/internal/devstack"
)

// simHelp is `kopru sim --help`: what the simulators accept, so a configuration can be pointed at them.
var simHelp = fmt.Sprintf(`sim [--addr ADDR]

Serves faithful simulators of the three vendor APIs on one address, for trying `+"`kopru run`"+` (or
docker compose) without vendor accounts. They keep their records in memory until they stop.
  Licrus     <url>/licrus/api     AuthTicket %q
  Lean Soft  <url>/leansoft/api   CompanyID %s, header %s: %q
  DİA        <url>/dia/api/v3     user %q, password %q, API key %q,
                                  firma_kodu %d and donem_kodu %d (others are refused with 400)

Point kopru run at them with, for example:
  KOPRU_LICRUS_URL=http://127.0.0.1:8090/licrus/api KOPRU_LICRUS_AUTH_TICKET=%s
  KOPRU_LEANSOFT_URL=http://127.0.0.1:8090/leansoft/api KOPRU_LEANSOFT_COMPANY_ID=%s
  KOPRU_LEANSOFT_AUTH_HEADER=%s KOPRU_LEANSOFT_AUTH_VALUE=%s
  KOPRU_DIA_URL=http://127.0.0.1:8090/dia/api/v3 KOPRU_DIA_USERNAME=%s KOPRU_DIA_PASSWORD=%s
  KOPRU_DIA_API_KEY=%s KOPRU_DIA_FIRMA_KODU=%d KOPRU_DIA_DONEM_KODU=%d

Flags:`,
	devstack.LicrusTicket, devstack.LeanSoftCompany, devstack.LeanSoftHeader, devstack.LeanSoftAuthValue,
	devstack.DIAUser, devstack.DIAPassword, devstack.DIAAPIKey, devstack.DIAFirmaKodu, devstack.DIADonemKodu,
	devstack.LicrusTicket, devstack.LeanSoftCompany, devstack.LeanSoftHeader, devstack.LeanSoftAuthValue,
	devstack.DIAUser, devstack.DIAPassword, devstack.DIAAPIKey, devstack.DIAFirmaKodu, devstack.DIADonemKodu)

func cmdSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sim", simHelp, stderr)
	addr := fs.String("addr", "127.0.0.1:8090", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q (kopru sim --help)", fs.Arg(0))}
	}
	srv, url, err := devstack.Serve(devstack.New(), *addr)
	if err != nil {
		return err
	}
	defer srv.Close()
	fmt.Fprintf(stdout, "simulators listening on %s\n  Licrus     %s/licrus/api     AuthTicket %q\n  Lean Soft  %s/leansoft/api   company %s, header %s: %q\n  DİA        %s/dia/api/v3     user %q password %q api key %q, firma_kodu %d, donem_kodu %d\nCtrl-C stops\n",
		url, url, devstack.LicrusTicket, url, devstack.LeanSoftCompany, devstack.LeanSoftHeader, devstack.LeanSoftAuthValue,
		url, devstack.DIAUser, devstack.DIAPassword, devstack.DIAAPIKey, devstack.DIAFirmaKodu, devstack.DIADonemKodu)
	<-ctx.Done()
	return nil
}
