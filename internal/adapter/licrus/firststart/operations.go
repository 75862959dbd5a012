package firststart

import (
	"github.com/kopru/kopru/internal/adapter"
	"github.com/kopru/kopru/internal/config"
)

// Operations is what this adapter offers Köprü's route table (internal/routes): ServiceForm/Create,
// the route licrus-first-start, set up by the licrus section of the configuration.
func Operations() []adapter.Operation {
	return []adapter.Operation{{
		Target: "licrus", Name: OpCreate, Route: "licrus-first-start",
		EventType: "first-start.requested", OutcomeType: "first-start.form-created", Section: "licrus",
		Configured: func(cfg config.Config) bool { return cfg.Licrus.URL != "" },
		New: func(b adapter.Build) (adapter.Target, error) {
			fc := Default()
			fc.BaseURL, fc.AuthTicket = b.Config.Licrus.URL, b.Config.Licrus.AuthTicket
			return New(fc, b.Client)
		},
	}}
}
