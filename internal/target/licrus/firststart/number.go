package firststart

import (
	"regexp"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Number labels, matched on folded text (Turkish lower case, accents dropped, spaces unified):
// "Form numarası: 100001", "Belge No: İÇ-2025/7", "Çağrı numarası: 43090", "Çağrı No:43090",
// "100001 numaralı form", "43090 nolu çağrı".
var (
	labelFirst = regexp.MustCompile(`(servis formu|formu?|belge|evrak|cagri)\s*(?:numarasi|numara|nosu|no|#)\s*[.:=：#-]?\s*([0-9a-z][0-9a-z/-]*[0-9a-z]|[0-9])`)
	numberThen = regexp.MustCompile(`(?:^|[^0-9a-z])([0-9][0-9/-]*[0-9]|[0-9])\s*(?:numarali|nolu|no'lu)\s*(servis formu|formu?|belge|evrak|cagri)`)
)

// ParseNumbers finds a form number and a call number in a Licrus message. The text may come NFC or
// NFD, with any case and spacing. The numbers are returned as written in the message (NFC), "" when
// absent. A candidate must hold a digit.
func ParseNumbers(msg string) (formNumber, callNumber string) {
	orig, folded, offs := foldIndexed(msg)
	set := func(label, num string) {
		if !strings.ContainsFunc(num, unicode.IsDigit) {
			return
		}
		if strings.HasPrefix(label, "cagri") {
			if callNumber == "" {
				callNumber = num
			}
		} else if formNumber == "" {
			formNumber = num
		}
	}
	for _, m := range labelFirst.FindAllStringSubmatchIndex(folded, -1) {
		set(folded[m[2]:m[3]], orig[offs[m[4]]:offs[m[5]]])
	}
	for _, m := range numberThen.FindAllStringSubmatchIndex(folded, -1) {
		set(folded[m[4]:m[5]], orig[offs[m[2]]:offs[m[3]]])
	}
	return formNumber, callNumber
}

// foldIndexed returns msg in NFC, its folded form, and for every byte offset of the folded form (and
// its end) the matching offset of the NFC text, so a match in the folded text can be cut from the
// original. Each rune folds to at most one rune: combining marks vanish, spaces become ' '.
func foldIndexed(msg string) (orig, folded string, offs []int) {
	orig = norm.NFC.String(msg)
	var b strings.Builder
	for i, r := range orig {
		f, keep := foldRune(r)
		if !keep {
			continue
		}
		start := b.Len()
		b.WriteRune(f)
		for k := start; k < b.Len(); k++ {
			offs = append(offs, i)
		}
	}
	offs = append(offs, len(orig))
	return orig, b.String(), offs
}

// foldRune folds one rune: Turkish lower case, then the base letter without accents (ı → i). keep is
// false for a combining mark left over after NFC.
func foldRune(r rune) (rune, bool) {
	if unicode.Is(unicode.Mn, r) {
		return 0, false
	}
	if unicode.IsSpace(r) {
		return ' ', true
	}
	r = unicode.TurkishCase.ToLower(r)
	if r == 'ı' {
		return 'i', true
	}
	if d := norm.NFD.String(string(r)); len(d) > 0 {
		for _, b := range d {
			return b, true // the base letter of a decomposed rune
		}
	}
	return r, true
}
