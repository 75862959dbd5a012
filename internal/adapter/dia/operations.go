package dia

import (
	"github.com/kopru/kopru/internal/adapter"
	"github.com/kopru/kopru/internal/config"
)

// Operations is what this adapter offers Köprü's route table (internal/routes): scf_carikart_ekle (the
// route dia-customer) and gts_notlar_ekle (dia-service-note), set up by the dia section of the
// configuration. Every route of one start shares one session (one login).
func Operations() []adapter.Operation {
	configured := func(cfg config.Config) bool { return cfg.DIA.URL != "" }
	return []adapter.Operation{
		{Target: TargetName, Name: ServiceCariKartEkle, Route: "dia-customer",
			EventType: "customer.created", OutcomeType: "customer.synced", Section: "dia", Configured: configured,
			New: func(b adapter.Build) (adapter.Target, error) {
				s, err := session(b)
				if err != nil {
					return nil, err
				}
				return NewCustomerTarget(s), nil
			}},
		{Target: TargetName, Name: ServiceNotlarEkle, Route: "dia-service-note",
			EventType: "service-note.created", OutcomeType: "service-note.synced", Section: "dia", Configured: configured,
			New: func(b adapter.Build) (adapter.Target, error) {
				s, err := session(b)
				if err != nil {
					return nil, err
				}
				return NewServiceNoteTarget(s), nil
			}},
	}
}

// session is the session the DİA routes of one start share.
func session(b adapter.Build) (*Session, error) {
	s, err := b.Shared("dia.session", func() (any, error) {
		d := b.Config.DIA
		return NewSession(Config{BaseURL: d.URL, Username: d.Username, Password: d.Password, APIKey: d.APIKey,
			FirmaKodu: d.FirmaKodu, DonemKodu: d.DonemKodu, DisconnectSameUser: d.DisconnectSameUser}, b.Client)
	})
	if err != nil {
		return nil, err
	}
	return s.(*Session), nil
}
