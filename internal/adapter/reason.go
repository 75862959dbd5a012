package adapter

import (
	"errors"
	"slices"
)

// Reason is the short label of a failure in Error.Reason, from the fixed set Reasons lists, so it can be
// a metric label and a log field without unbounded values. A new reason is a new constant here, added
// to Reasons: TestReasonsFixed type-checks every package that builds an *Error and fails on any other
// value (a string literal, a local constant, a conversion from a computed string).
//
// A reason says why, for people; code that must act on a failure reads its Class, or a sentinel error
// with errors.Is (ErrSessionEnded), never a vendor's reason.
type Reason string

// Reasons of failures that come from the event or Köprü itself, not from the vendor: they never count
// against a target's health (see Unwell).
const (
	ReasonInvalid Reason = "invalid" // the event cannot be turned into a request (Invalid)
	ReasonHeader  Reason = "header"  // a header value (from the event, e.g. its traceparent) Go refuses to send
	ReasonEncode  Reason = "encode"  // the request body cannot be encoded
)

// Reasons of a request that did not get an HTTP answer (Client.PostJSON).
const (
	ReasonConfig    Reason = "config"    // the target's configuration is unusable (bad URL, failed setup)
	ReasonDial      Reason = "dial"      // the connection was refused or could not be made
	ReasonDNS       Reason = "dns"       // the vendor's host name did not resolve
	ReasonTimeout   Reason = "timeout"   // no answer within the attempt's timeout
	ReasonCanceled  Reason = "canceled"  // the caller's context ended (shutdown) before an answer
	ReasonTransport Reason = "transport" // any other transport failure
	ReasonReset     Reason = "reset"     // the connection broke while the answer was being read
)

// Reasons of an HTTP status (ClassifyStatus).
const (
	ReasonRedirect Reason = "redirect" // a redirect Köprü does not follow
	ReasonHTTP408  Reason = "http_408"
	ReasonHTTP429  Reason = "http_429"
	ReasonHTTP503  Reason = "http_503"
	ReasonHTTP5xx  Reason = "http_5xx" // another 5xx
	ReasonHTTP4xx  Reason = "http_4xx" // another 4xx
)

// Reasons of a vendor's answer, read by its adapter.
const (
	ReasonBadAnswer      Reason = "bad_answer"      // the answer is not what the vendor's API promises
	ReasonUndecodable    Reason = "undecodable"     // a 2xx whose body cannot be decoded
	ReasonVendorRejected Reason = "vendor_rejected" // the vendor refused the record (HasError, Result false)
	ReasonVendor400      Reason = "vendor_400"      // DİA body code 400
	ReasonVendor401      Reason = "vendor_401"      // DİA 401 even after a fresh login: missing rights
	ReasonVendor4xx      Reason = "vendor_4xx"      // another DİA 4xx body code
	ReasonVendor5xx      Reason = "vendor_5xx"      // a DİA 5xx body code
	ReasonCredits        Reason = "credits"         // DİA 406: not enough credits (kontör)
	ReasonLicence        Reason = "licence"         // DİA 402/405: a licence problem
	ReasonLogin          Reason = "login"           // a login failed without being refused
	ReasonLoginRejected  Reason = "login_rejected"  // the vendor refused the login
	ReasonLogout         Reason = "logout"          // a logout failed
	ReasonSession        Reason = "session"         // the session was refused again after a fresh login (ErrSessionEnded)
)

// Reasons the worker gives a call it did not make or cannot account for.
const (
	ReasonCircuitOpen  Reason = "circuit_open" // the target's circuit breaker is open: no call made
	ReasonLimit        Reason = "limit"        // no call slot (concurrency or rate limit) before shutdown
	ReasonLookup       Reason = "lookup"       // a natural-key lookup after an unknown outcome is still owed
	ReasonAbandoned    Reason = "abandoned"    // a call began and its result was never recorded
	ReasonUnclassified Reason = "unclassified" // an error that is not an *Error (AsError)
)

var reasons = []Reason{
	ReasonInvalid, ReasonHeader, ReasonEncode,
	ReasonConfig, ReasonDial, ReasonDNS, ReasonTimeout, ReasonCanceled, ReasonTransport, ReasonReset,
	ReasonRedirect, ReasonHTTP408, ReasonHTTP429, ReasonHTTP503, ReasonHTTP5xx, ReasonHTTP4xx,
	ReasonBadAnswer, ReasonUndecodable, ReasonVendorRejected, ReasonVendor400, ReasonVendor401, ReasonVendor4xx,
	ReasonVendor5xx, ReasonCredits, ReasonLicence, ReasonLogin, ReasonLoginRejected, ReasonLogout, ReasonSession,
	ReasonCircuitOpen, ReasonLimit, ReasonLookup, ReasonAbandoned, ReasonUnclassified,
}

// Reasons returns every Reason, for creating the series of a reason-labelled metric up front. The
// caller owns the slice.
func Reasons() []Reason { return slices.Clone(reasons) }

// Known reports whether r is one of Reasons.
func (r Reason) Known() bool { return slices.Contains(reasons, r) }

// Sentinel errors an adapter wraps in the *Error it returns (Error.Err), for errors.Is: signals the
// worker acts on without knowing any vendor's words.
var (
	// ErrSessionEnded: the vendor ended the session the call ran in and refused it again right after a
	// fresh login (DİA 419 or INVALID_SESSION twice). It says nothing about the vendor's health: it
	// never moves the circuit breaker (Unwell).
	ErrSessionEnded = errors.New("adapter: vendor session ended")
)
