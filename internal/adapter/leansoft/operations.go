package leansoft

import (
	"go.uber.org/zap"

	"github.com/kopru/kopru/internal/adapter"
	"github.com/kopru/kopru/internal/config"
)

// Operations is what this adapter offers Köprü's route table (internal/routes): CustomerSave, the
// route leansoft-customer, set up by the leansoft section of the configuration.
func Operations() []adapter.Operation {
	return []adapter.Operation{{
		Target: Name, Name: Operation, Route: "leansoft-customer",
		EventType: "customer.created", OutcomeType: "customer.synced", Section: "leansoft",
		Configured: func(cfg config.Config) bool { return cfg.LeanSoft.URL != "" },
		New:        build,
	}}
}

func build(b adapter.Build) (adapter.Target, error) {
	ls := b.Config.LeanSoft
	lc := Config{BaseURL: ls.URL, CompanyID: ls.CompanyID, AuthHeader: ls.AuthHeader, AuthValue: ls.AuthValue,
		DefaultReferenceGroupCode: ls.ReferenceGroupCode,
		Checksums:                 Checksums{TaxNumber: Policy(ls.Checksums.TaxNumber), UserIdentityNumber: Policy(ls.Checksums.UserIdentityNumber)}}
	if err := lc.Validate(); err != nil {
		return nil, err
	}
	t := New(lc, b.Client)
	route := b.Route
	for _, c := range []string{"taxNumber", "userIdentityNumber"} {
		b.CheckWarnings.WithLabelValues(route, c)
	}
	t.Logger = b.Log.With(zap.String("route", route))
	t.Warned = func(v *Violation) { b.CheckWarnings.WithLabelValues(route, v.Check()).Inc() }
	return t, nil
}
