package leansoft

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kopru/kopru/internal/adapter"
)

// Rule names a validation rule. The set is fixed; see RULES.md.
type Rule string

const (
	// From the Lean Soft doc.
	RuleRequired      Rule = "required"        // a field marked * (or needed by Köprü: customerId)
	RuleMaxLength     Rule = "max-length"      // the doc's "Max. Karakter Sayısı", counted in characters
	RuleForbiddenChar Rule = "forbidden-char"  // ? / & % + ^ ' * _ " or white space in a tax or identity number
	RuleEArchiveEmail Rule = "e-archive-email" // required with the placeholder tax number 11111111111
	RuleAllowedValues Rule = "allowed-values"  // recordType and organizationType outside the doc's lists
	RuleType          Rule = "type"            // a JSON value of the wrong type
	// Added by Köprü (the doc does not say Lean Soft checks them).
	RuleDigits   Rule = "digits"   // a tax number is a 10-digit VKN or an 11-digit TCKN; an identity number an 11-digit TCKN
	RuleChecksum Rule = "checksum" // the public TCKN / VKN check digits
)

// Violation is one broken rule, found before any call. Detail never holds a personal number unmasked.
type Violation struct {
	Field  string // the event field, e.g. "taxNumber" or "users[0].identityNumber"
	Vendor string // the Lean Soft field, e.g. "CustomerTaxNo"
	Rule   Rule
	Detail string
}

// Check names the Checksums policy a warning or a Köprü-added violation falls under: "taxNumber" or
// "userIdentityNumber" (the keys of leansoft.checksums); "" for the doc's own rules.
func (v *Violation) Check() string {
	switch {
	case v.Rule != RuleDigits && v.Rule != RuleChecksum:
		return ""
	case v.Vendor == "CustomerTaxNo":
		return "taxNumber"
	case v.Vendor == "CustomerUserIdentityCardNumber":
		return "userIdentityNumber"
	}
	return ""
}

func (v *Violation) Error() string { return fmt.Sprintf("%s (%s) %s", v.Field, v.Vendor, v.Detail) }

// Violations is the Err of the *adapter.Error that Map returns when an event breaks rules.
type Violations []*Violation

func (vs Violations) Error() string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = v.Error()
	}
	return strings.Join(parts, "; ")
}

// Unwrap lets errors.As find each *Violation.
func (vs Violations) Unwrap() []error {
	errs := make([]error, len(vs))
	for i, v := range vs {
		errs[i] = v
	}
	return errs
}

// forbidden is the doc's list of characters refused in CustomerTaxNo and CustomerUserIdentityCardNumber
// ("? / & % + ^ ' * _" boşluk"); white space of any kind counts as "boşluk".
const forbidden = `?/&%+^'*_"`

// checker collects the broken rules of one event: vs must stop it, warns are sent with it.
type checker struct {
	vs    Violations
	warns Violations
	sums  Checksums // with defaults applied
}

func (c *checker) add(field, vendor string, rule Rule, detail string) {
	c.vs = append(c.vs, &Violation{Field: field, Vendor: vendor, Rule: rule, Detail: detail})
}

// added records a failed Köprü-added check under its policy: a violation (enforce), a warning (warn)
// or nothing (off).
func (c *checker) added(p Policy, field, vendor string, rule Rule, detail string) {
	switch p {
	case PolicyOff:
	case PolicyWarn:
		c.warns = append(c.warns, &Violation{Field: field, Vendor: vendor, Rule: rule, Detail: detail})
	default:
		c.add(field, vendor, rule, detail)
	}
}

func (c *checker) err() *adapter.Error {
	e := adapter.Invalid("event breaks Lean Soft rules: %s", c.vs.Error())
	e.Err = c.vs
	return e
}

// required reports whether s is set, recording a violation when it is not.
func (c *checker) required(field, vendor, s string) bool {
	if s == "" {
		c.add(field, vendor, RuleRequired, "is required")
		return false
	}
	return true
}

// maxLen checks the doc's character limit (characters, not bytes: "Ş" is one).
func (c *checker) maxLen(field, vendor, s string, max int) bool {
	if n := utf8.RuneCountInString(s); n > max {
		c.add(field, vendor, RuleMaxLength, fmt.Sprintf("has %d characters; Lean Soft allows at most %d", n, max))
		return false
	}
	return true
}

// noForbidden checks the doc's character rule for tax and identity numbers.
func (c *checker) noForbidden(field, vendor, s string) bool {
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			c.add(field, vendor, RuleForbiddenChar, `contains a space; Lean Soft refuses spaces and ? / & % + ^ ' * _ " in it`)
			return false
		case strings.ContainsRune(forbidden, r):
			c.add(field, vendor, RuleForbiddenChar, fmt.Sprintf(`contains the forbidden character %q; Lean Soft refuses ? / & %% + ^ ' * _ " and spaces in it`, r))
			return false
		}
	}
	return true
}

// taxNumber applies the doc's rules (required, ≤ 11 characters, no forbidden characters, the
// placeholder) and, under Checksums.TaxNumber, Köprü's (10 digits with a valid VKN checksum or 11
// digits with a valid TCKN checksum, the placeholder excepted).
func (c *checker) taxNumber(s string) {
	const field, vendor = "taxNumber", "CustomerTaxNo"
	if !c.required(field, vendor, s) || !c.noForbidden(field, vendor, s) || !c.maxLen(field, vendor, s, 11) {
		return
	}
	p := c.sums.TaxNumber
	switch {
	case s == PlaceholderTaxNumber || p == PolicyOff:
	case !isDigits(s):
		c.added(p, field, vendor, RuleDigits, "must be digits only: a 10-digit VKN or an 11-digit TCKN")
	case len(s) == 10:
		if !ValidVKN(s) {
			c.added(p, field, vendor, RuleChecksum, mask(s)+" fails the VKN checksum")
		}
	case len(s) == 11:
		if !ValidTCKN(s) {
			c.added(p, field, vendor, RuleChecksum, mask(s)+" fails the TCKN checksum")
		}
	default:
		c.added(p, field, vendor, RuleDigits, fmt.Sprintf("has %d digits; a VKN has 10 and a TCKN 11", len(s)))
	}
}

// identityNumber applies the doc's rules for CustomerUserIdentityCardNumber (required, ≤ 11
// characters, no forbidden characters) and, under Checksums.UserIdentityNumber, Köprü's (11 digits
// with a valid TCKN checksum).
func (c *checker) identityNumber(field, s string) {
	const vendor = "CustomerUserIdentityCardNumber"
	if !c.required(field, vendor, s) || !c.noForbidden(field, vendor, s) || !c.maxLen(field, vendor, s, 11) {
		return
	}
	p := c.sums.UserIdentityNumber
	switch {
	case p == PolicyOff:
	case !isDigits(s) || len(s) != 11:
		c.added(p, field, vendor, RuleDigits, "must be an 11-digit TCKN")
	case !ValidTCKN(s):
		c.added(p, field, vendor, RuleChecksum, mask(s)+" fails the TCKN checksum")
	}
}
