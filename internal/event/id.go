package event

import (
	"strconv"
	"unicode"
	"unicode/utf8"
)

// MaxIDLength is the longest event id Köprü accepts, in bytes.
const MaxIDLength = 200

// CheckID reports whether id can be an event id: present, at most MaxIDLength bytes, valid UTF-8,
// printable (no control or format characters, no spaces other than U+0020) and without leading or
// trailing space. NATS trims header values, so an id with surrounding space or a CR/LF would differ
// from its own Kopru-Event-Id and Nats-Msg-Id. The error wraps ErrInvalid and reads as one line.
func CheckID(id string) error {
	switch {
	case id == "":
		return invalidf("envelope has no id")
	case len(id) > MaxIDLength:
		return invalidf("envelope id is longer than %d characters", MaxIDLength)
	case !utf8.ValidString(id):
		return invalidf("envelope id is not valid UTF-8")
	}
	first, _ := utf8.DecodeRuneInString(id)
	last, _ := utf8.DecodeLastRuneInString(id)
	ok := !unicode.IsSpace(first) && !unicode.IsSpace(last)
	for _, r := range id {
		if !unicode.IsPrint(r) {
			ok = false
			break
		}
	}
	if !ok {
		if onlySpace(id) {
			return invalidf("envelope has no id")
		}
		return invalidf("envelope id %s is refused: ids must be printable with no surrounding space", quoteClip(id))
	}
	return nil
}

func onlySpace(s string) bool {
	for _, r := range s {
		if !unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

// quoteClip quotes s with every non-printable character escaped, cut to 60 runes.
func quoteClip(s string) string {
	if utf8.RuneCountInString(s) > 60 {
		r := []rune(s)
		s = string(r[:60]) + "…"
	}
	return strconv.Quote(s)
}
