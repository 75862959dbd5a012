package licrus

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// ParseCallNumber finds the call number in a Licrus message such as "Verdiğiniz bilgilere göre çağrı
// oluşturulmuştur. Çağrı numarası: 43090". It accepts the text in NFC or NFD, in any case (Turkish
// dotted and dotless i included), with any spacing around the colon, with or without the Turkish
// letters (Cagri numarasi), and with "No"/"Nr" for "numarası". ok is false when no number follows the
// phrase; the caller must still treat the call as created.
func ParseCallNumber(msg string) (number string, ok bool) {
	folded := fold(msg)
	for _, label := range []string{"cagri numarasi", "cagri no", "cagri nr", "cagri numara"} {
		from := 0
		for {
			i := strings.Index(folded[from:], label)
			if i < 0 {
				break
			}
			rest := folded[from+i+len(label):]
			rest = strings.TrimLeft(rest, " \t:.#=-")
			j := 0
			for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
				j++
			}
			if j > 0 {
				return rest[:j], true
			}
			from += i + len(label)
		}
	}
	return "", false
}

// fold lowers s by Turkish rules, drops diacritics and collapses whitespace, returning ASCII-ish text:
// "ÇAĞRI  NUMARASI" and NFD "c\u0327ag\u0306r\u0131 numaras\u0131" both become "cagri numarasi".
func fold(s string) string {
	s = norm.NFD.String(s)
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Mn, r): // combining marks: cedilla, breve, dot above, diaeresis
			continue
		case r == 'ı' || r == 'I' || r == 'İ':
			r = 'i'
		case unicode.IsSpace(r):
			if !space {
				b.WriteByte(' ')
			}
			space = true
			continue
		default:
			r = unicode.ToLower(r)
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}
