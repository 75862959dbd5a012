// Package devstack bundles the vendor simulators behind one HTTP handler (Licrus under /licrus,
// Lean Soft under /leansoft, DİA under /dia/api/v3) and the configuration that points Köprü at them. `kopru
// sim` serves it; `kopru dev`, the chaos run and the benchmarks start it in-process. Simulators lists
// which simulator stands in for each target of the route registry (internal/routes); a test holds the
// two together, so every registered operation has a simulator here.
package devstack

import (
	"net"
	"net/http"
	"strings"

	"github.com/kopru/kopru/internal/config"
	diasim "github.com/kopru/kopru/internal/sim/dia"
	leansoftsim "github.com/kopru/kopru/internal/sim/leansoft"
	licrussim "github.com/kopru/kopru/internal/sim/licrus"
)

// Credentials the simulators accept. They are development values, not secrets.
const (
	LicrusTicket      = "dev-licrus-ticket"
	LeanSoftCompany   = "1001"
	LeanSoftHeader    = "X-Api-Key"
	LeanSoftAuthValue = "dev-leansoft-key"
	DIAUser           = "ws"
	DIAPassword       = "dev-dia-password"
	DIAAPIKey         = "dev-dia-apikey"
	// DIAFirmaKodu and DIADonemKodu are the company and period the DİA simulator knows (the doc's
	// example); any other firma_kodu/donem_kodu is refused with code 400, as DİA does.
	DIAFirmaKodu = 34
	DIADonemKodu = 1
)

// Sims is the set of simulators.
type Sims struct {
	Licrus   *licrussim.Sim
	LeanSoft *leansoftsim.Sim
	DIA      *diasim.Sim
	mux      *http.ServeMux
}

// New returns fresh simulators.
func New() *Sims {
	s := &Sims{
		Licrus:   licrussim.New(LicrusTicket),
		LeanSoft: leansoftsim.New(LeanSoftCompany, LeanSoftHeader, LeanSoftAuthValue),
		DIA: diasim.New(diasim.Options{
			Users:        []diasim.User{{Username: DIAUser, Password: DIAPassword, APIKey: DIAAPIKey}},
			TaxOffices:   []diasim.TaxOffice{{Kod: "Erciyes Vergi Dairesi", Adi: "ERCİYES VERGİ DAİRESİ"}, {Kod: "ÇANKAYA VERGİ DAİRESİ", Adi: "ÇANKAYA"}},
			ServiceForms: []string{"000009"},
			FirmaKodu:    DIAFirmaKodu,
			DonemKodu:    DIADonemKodu,
		}),
		mux: http.NewServeMux(),
	}
	// The service-note example links to customer card 0000008 (the doc's example).
	s.DIA.AddRecord(diasim.TableCariKart, map[string]any{"carikartkodu": "0000008", "unvan": "Örnek Müşteri"})
	for _, sim := range Simulators() {
		s.mux.Handle(sim.Mount+"/", http.StripPrefix(sim.Mount, sim.handler(s)))
	}
	return s
}

// Simulator is the simulator of one target in the dev stack.
type Simulator struct {
	Target string // the target it stands in for: adapter.Operation.Target
	Mount  string // where the dev stack serves it, e.g. "/licrus"
	// configure points cfg's section of the target at the simulator served on base+Mount, with the
	// credentials it accepts.
	configure func(cfg *config.Config, url string)
	handler   func(*Sims) http.Handler
}

// Simulators lists the dev stack's simulators, one per target.
func Simulators() []Simulator {
	return []Simulator{
		{Target: "licrus", Mount: "/licrus", handler: func(s *Sims) http.Handler { return s.Licrus },
			configure: func(cfg *config.Config, url string) {
				cfg.Licrus = config.Licrus{URL: url + "/api", AuthTicket: LicrusTicket}
			}},
		{Target: "leansoft", Mount: "/leansoft", handler: func(s *Sims) http.Handler { return s.LeanSoft },
			configure: func(cfg *config.Config, url string) {
				cfg.LeanSoft = config.LeanSoft{URL: url + "/api", CompanyID: LeanSoftCompany, AuthHeader: LeanSoftHeader,
					AuthValue: LeanSoftAuthValue, ReferenceGroupCode: "PYTY"}
			}},
		{Target: "dia", Mount: "/dia", handler: func(s *Sims) http.Handler { return s.DIA },
			configure: func(cfg *config.Config, url string) {
				cfg.DIA = config.DIA{URL: url + "/api/v3", Username: DIAUser, Password: DIAPassword, APIKey: DIAAPIKey,
					FirmaKodu: DIAFirmaKodu, DonemKodu: DIADonemKodu}
			}},
	}
}

// ServeHTTP implements http.Handler.
func (s *Sims) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Configure points cfg's targets at simulators served on base (e.g. http://127.0.0.1:8090).
func Configure(cfg *config.Config, base string) {
	base = strings.TrimRight(base, "/")
	for _, sim := range Simulators() {
		sim.configure(cfg, base+sim.Mount)
	}
}

// Serve starts the simulators on addr and returns the server and its base URL.
func Serve(s *Sims, addr string) (*http.Server, string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", err
	}
	srv := &http.Server{Handler: s}
	go func() { _ = srv.Serve(ln) }()
	return srv, "http://" + ln.Addr().String(), nil
}
