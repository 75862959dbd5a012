package firststart

import (
	"strings"
	"unicode"

	"github.com/kopru/kopru/internal/redact"
)

// Phone is a Turkish phone number split the way Licrus wants it: Prefix is the 3-digit operator or
// area code ("533", "212"), Content the 7-digit subscriber number.
type Phone struct {
	Prefix  string
	Content string
}

// ParsePhone reads a Turkish number in any common form: "0533 999 99 99", "+90 533 9999999",
// "5339999999", "(533) 999-99-99", "0090 533…", "90533…", landlines "0212 555 12 34". Spaces, dashes,
// dots, slashes and parentheses are ignored. Anything else (letters, extensions, too few or too many
// digits, a code that is not a Turkish area or operator code) is refused: the number is never guessed.
// field names the event field in the error, which shows the number masked.
func ParsePhone(field, s string) (Phone, error) {
	var digits strings.Builder
	plus := false
	for i, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			digits.WriteRune(r)
		case r == '+' && i == 0:
			plus = true
		case r == ' ' || r == '-' || r == '.' || r == '/' || r == '(' || r == ')' || r == '\u00a0' || unicode.IsSpace(r):
		default:
			return Phone{}, errorInvalid("%s: %s is not a phone number", field, maskPhone(s))
		}
	}
	d := digits.String()
	switch {
	case plus && strings.HasPrefix(d, "90") && len(d) == 12:
		d = d[2:]
	case plus:
		return Phone{}, errorInvalid("%s: %s is not a Turkish phone number (+90 and 10 digits)", field, maskPhone(s))
	case strings.HasPrefix(d, "0090") && len(d) == 14:
		d = d[4:]
	case strings.HasPrefix(d, "90") && len(d) == 12:
		d = d[2:]
	case strings.HasPrefix(d, "0") && len(d) == 11:
		d = d[1:]
	}
	if len(d) != 10 {
		return Phone{}, errorInvalid("%s: %s has %d digits where a Turkish number has 10 after the leading 0", field, maskPhone(s), len(d))
	}
	// Area codes start with 2, 3 or 4; mobile operators with 5; 850 is the nationwide non-geographic code.
	if !(d[0] >= '2' && d[0] <= '5') && !strings.HasPrefix(d, "850") {
		return Phone{}, errorInvalid("%s: %s does not start with a Turkish area or operator code", field, maskPhone(s))
	}
	return Phone{Prefix: d[:3], Content: d[3:]}, nil
}

// maskPhone names a phone number in an error without giving it away: its digits masked as every
// personal value is (redact.Personal), "0533 999 99 99" → "'*********99'".
func maskPhone(s string) string {
	if s == "" {
		return "(empty)"
	}
	var d []rune
	for _, r := range s {
		if r >= '0' && r <= '9' {
			d = append(d, r)
		}
	}
	if len(d) == 0 {
		d = []rune(s)
	}
	return "'" + redact.Personal(string(d)) + "'"
}

// isMobile reports whether p is on a mobile operator code (5xx).
func (p Phone) isMobile() bool { return strings.HasPrefix(p.Prefix, "5") }
