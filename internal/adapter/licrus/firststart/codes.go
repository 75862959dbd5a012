package firststart

import (
	"strconv"
	"strings"

	"github.com/kopru/kopru/internal/adapter"
)

// The coded fields of the form accept the doc's value as well as an English name, case ignored, and
// send what the doc shows: a phone's type is mobile, work or home or a ContactInfoType id of
// Config.ContactTypeIDs (the doc's 4); requestReason, when given, is first-start (Turkish "ilk
// çalıştırma") or Config.RequestReasonID (the doc's 1); serviceType, when given, is
// Config.ServiceTypeID (the doc's 32, which the doc does not name).

// phoneTypeNames maps folded English names (adapter.FoldCode) to the keys of Config.ContactTypeIDs.
var phoneTypeNames = map[string]string{
	"mobile": PhoneMobile, "cell": PhoneMobile, "work": PhoneWork, "home": PhoneHome,
}

// contactTypeID returns the ContactInfoType id of a phone type: a name (mobile, work, home; case
// ignored) or an id that Config.ContactTypeIDs holds ("4" or 4). ok is false otherwise.
func contactTypeID(cfg Config, typ string) (id int, ok bool) {
	typ = strings.TrimSpace(typ)
	if n, err := strconv.Atoi(typ); err == nil {
		for _, v := range cfg.ContactTypeIDs {
			if v == n {
				return n, true
			}
		}
		return 0, false
	}
	key, known := phoneTypeNames[adapter.FoldCode(typ)]
	if !known {
		return 0, false
	}
	id, ok = cfg.ContactTypeIDs[key]
	return id, ok
}

// requestReasonNames are the folded names of the one request reason this route sends.
var requestReasonNames = map[string]bool{"firststart": true, "ilkcalistirma": true}

// checkFormCodes checks the optional requestReason and serviceType of the event: this route makes
// first-start forms only, so they must name Config.RequestReasonID and Config.ServiceTypeID.
func checkFormCodes(d Data, cfg Config) error {
	if rr := strings.TrimSpace(string(d.RequestReason)); rr != "" {
		n, err := strconv.Atoi(rr)
		if !requestReasonNames[adapter.FoldCode(rr)] && (err != nil || n != cfg.RequestReasonID) {
			return errorInvalid("requestReason %q is not first-start (RequestReason %d): this route creates first-start forms only", rr, cfg.RequestReasonID)
		}
	}
	if st := strings.TrimSpace(string(d.ServiceType)); st != "" {
		if n, err := strconv.Atoi(st); err != nil || n != cfg.ServiceTypeID {
			return errorInvalid("serviceType %q is not the configured ServiceType %d", st, cfg.ServiceTypeID)
		}
	}
	return nil
}
