// Package licrustext reads the Turkish text of Licrus answers, for both Licrus routes (installation
// calls and first-start forms): Turkish folding (Fold, FoldName, FoldAccents) and the one parser of
// the numbers a Licrus message announces (ParseNumbers, ParseCallNumber).
package licrustext

import (
	"regexp"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Number labels, matched on folded text (Turkish lower case, accents dropped, spaces unified):
// "Form numarası: 100001", "Belge No: İÇ-2025/7", "Çağrı numarası: 43090", "Çağrı No:43090",
// "Cagri Nr. 43090", "Çağrı numarası : 43090", "100001 numaralı form", "43090 nolu çağrı".
var (
	labelFirst = regexp.MustCompile(`(servis formu|formu?|belge|evrak|cagri)\s*(?:numarasi|numara|nosu|nr|no|#)[\s.:=：#-]*([0-9a-z][0-9a-z/-]*[0-9a-z]|[0-9])`)
	numberThen = regexp.MustCompile(`(?:^|[^0-9a-z])([0-9][0-9/-]*[0-9]|[0-9])\s*(?:numarali|nolu|no'lu)\s*(servis formu|formu?|belge|evrak|cagri)`)
)

// ParseNumbers finds a form number and a call number in a Licrus message. The text may come NFC or
// NFD, in any case (Turkish dotted and dotless i included), with any spacing, with or without the
// Turkish letters. The numbers are returned as written in the message (NFC), "" when absent. A
// candidate must hold a digit; the first of each kind wins.
func ParseNumbers(msg string) (formNumber, callNumber string) {
	orig, folded, offs := FoldIndexed(msg)
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

// ParseCallNumber finds the call number in a Licrus message such as "Verdiğiniz bilgilere göre çağrı
// oluşturulmuştur. Çağrı numarası: 43090": the leading digits of the first call number ParseNumbers
// finds that starts with one. ok is false when there is none; the caller must still treat the call as
// created.
func ParseCallNumber(msg string) (number string, ok bool) {
	orig, folded, offs := FoldIndexed(msg)
	for _, m := range labelFirst.FindAllStringSubmatchIndex(folded, -1) {
		if strings.HasPrefix(folded[m[2]:m[3]], "cagri") {
			if d := leadingDigits(orig[offs[m[4]]:offs[m[5]]]); d != "" {
				return d, true
			}
		}
	}
	for _, m := range numberThen.FindAllStringSubmatchIndex(folded, -1) {
		if strings.HasPrefix(folded[m[4]:m[5]], "cagri") {
			if d := leadingDigits(orig[offs[m[2]]:offs[m[3]]]); d != "" {
				return d, true
			}
		}
	}
	return "", false
}

func leadingDigits(s string) string {
	j := 0
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	return s[:j]
}

// Fold lowers s by Turkish rules, drops diacritics and collapses whitespace: "ÇAĞRI  NUMARASI" and
// NFD "c\u0327ag\u0306r\u0131 numaras\u0131" both become "cagri numarasi".
func Fold(s string) string {
	_, f, _ := FoldIndexed(s)
	return strings.Join(strings.Fields(f), " ")
}

// FoldIndexed returns msg in NFC, its folded form (as Fold, spaces kept one for one), and for every
// byte offset of the folded form (and its end) the matching offset of the NFC text, so a match in the
// folded text can be cut from the original. Each rune folds to at most one rune: combining marks
// vanish, spaces become ' '.
func FoldIndexed(msg string) (orig, folded string, offs []int) {
	orig = norm.NFC.String(msg)
	var b strings.Builder
	b.Grow(len(orig))
	offs = make([]int, 0, len(orig)+1)
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
// false for a combining mark left over after NFC. The Latin letters Licrus writes (ASCII, Latin-1,
// Latin Extended-A and -B) are read from a table made once: a message costs no allocation per rune.
func foldRune(r rune) (rune, bool) {
	if r >= 0 && r < rune(len(foldTable)) {
		f := foldTable[r]
		return f, f >= 0
	}
	return foldRuneSlow(r)
}

// foldTable holds foldRune's answer for the runes below U+0250; -1 where the rune is dropped.
var foldTable = func() (t [0x250]rune) {
	for r := range t {
		if f, keep := foldRuneSlow(rune(r)); keep {
			t[r] = f
		} else {
			t[r] = -1
		}
	}
	return t
}()

func foldRuneSlow(r rune) (rune, bool) {
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

// FoldName is the exact-match key of a name: NFC, trimmed, inner whitespace collapsed, lower-cased by
// Turkish rules (I→ı, İ→i), so "ISPARTA" and "Isparta" agree and "Istanbul" stays apart from "İstanbul".
func FoldName(s string) string {
	s = norm.NFC.String(s)
	s = strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
	return strings.ToLowerSpecial(unicode.TurkishCase, s)
}

// FoldAccents drops what separates ç/c, ğ/g, ı/i, ö/o, ş/s, ü/u, â/a… in a FoldName key: every
// combining mark after canonical decomposition, and the dotless ı. It is Fold's accent rule on a key
// that is already lower case.
func FoldAccents(key string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(key) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r == 'ı':
			b.WriteRune('i')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
