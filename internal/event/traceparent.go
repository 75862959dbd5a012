package event

// ValidTraceparent reports whether tp is a W3C trace-context traceparent Köprü passes on:
// "00-<32 lowercase hex trace id>-<16 lowercase hex parent id>-<2 hex flags>", with neither id all
// zeros (https://www.w3.org/TR/trace-context/#traceparent-header). Anything else (another version, CR/LF,
// spaces, upper-case hex) is refused, so an event can never put arbitrary bytes into a vendor request's
// header.
func ValidTraceparent(tp string) bool {
	if len(tp) != 55 || tp[0] != '0' || tp[1] != '0' || tp[2] != '-' || tp[35] != '-' || tp[52] != '-' {
		return false
	}
	return hexID(tp[3:35]) && hexID(tp[36:52]) && hexID(tp[53:55])
}

// hexID reports whether s is lowercase hex and, when longer than the flags, not all zeros.
func hexID(s string) bool {
	zero := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '0':
		case c >= '1' && c <= '9' || c >= 'a' && c <= 'f':
			zero = false
		default:
			return false
		}
	}
	return !zero || len(s) == 2
}

// dropBadTraceparent clears a traceparent that is not valid W3C trace context and records that it did:
// a bad trace header is the producer's mistake, never a reason to fail the event.
func (e *Envelope) dropBadTraceparent() {
	if e.Traceparent != "" && !ValidTraceparent(e.Traceparent) {
		e.DroppedTraceparent = e.Traceparent
		e.Traceparent = ""
	}
}
