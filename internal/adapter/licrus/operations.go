package licrus

import (
	"github.com/kopru/kopru/internal/adapter"
	"github.com/kopru/kopru/internal/config"
)

// Operations is what this adapter offers Köprü's route table (internal/routes): ExternalCall/Create,
// the route licrus-installation, set up by the licrus section of the configuration.
func Operations() []adapter.Operation {
	return []adapter.Operation{{
		Target: "licrus", Name: Operation, Route: "licrus-installation",
		EventType: "installation.requested", OutcomeType: "installation.call-created", Section: "licrus",
		Configured: func(cfg config.Config) bool { return cfg.Licrus.URL != "" },
		New: func(b adapter.Build) (adapter.Target, error) {
			lc := Config{BaseURL: b.Config.Licrus.URL, AuthTicket: b.Config.Licrus.AuthTicket}
			if err := lc.Validate(); err != nil {
				return nil, err
			}
			t := New(lc, b.Client)
			route := b.Route
			t.ParseFailed = func() { b.CallNumberParse.WithLabelValues(route).Inc() }
			return t, nil
		},
	}}
}
