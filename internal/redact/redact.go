// Package redact is Köprü's one place for keeping secrets and personal data out of text that leaves
// the process (logs, errors, dead-letter headers, HTTP answers, the operator page): the one-liner,
// the secret mask, the personal-data mask and the digit-run mask. Every path uses these; none writes
// its own.
package redact

import (
	"strings"
	"unicode/utf8"
)

// Mask is what a secret reads as once masked.
const Mask = "****"

// Secret shows whether a secret is set without showing it: Mask, or "(unset)" when empty.
func Secret(s string) string {
	if s == "" {
		return "(unset)"
	}
	return Mask
}

// Personal hides a personal value (a tax or identity number, a phone number's digits, a business key)
// but for its last two characters, keeping its length so an operator can tell which one failed:
// "12345678901" → "*********01". A value of five characters or fewer is hidden whole.
func Personal(s string) string {
	r := []rune(s)
	keep := 2
	if len(r) <= 5 {
		keep = 0
	}
	for i := 0; i < len(r)-keep; i++ {
		r[i] = '*'
	}
	return string(r)
}

// Clip cuts s to at most n runes, marking a cut with "…".
func Clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// OneLine collapses whitespace runs (newlines included) to single spaces and caps the length, so a
// message fits a log line and a DLQ header.
func OneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	const max = 500
	if len(s) > max {
		cut := max
		for cut > 0 && (s[cut]&0xC0) == 0x80 { // do not split a UTF-8 sequence
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// isDate reports whether run is an ISO date (2026-11-22), which is not personal data.
func isDate(run string) bool {
	return len(run) == 10 && run[4] == '-' && run[7] == '-'
}

// Digits hides long digit runs (phone numbers, tax and identity numbers: 7 digits or more, spaces
// and dashes inside a run allowed) behind their first two and last two digits, for log lines that
// carry a vendor's message: "5301231212" → "53******12". Shorter numbers (call numbers, codes) stay.
func Digits(s string) string {
	var b strings.Builder
	i := 0
	for i < len(s) {
		if s[i] < '0' || s[i] > '9' {
			b.WriteByte(s[i])
			i++
			continue
		}
		j, digits := i, 0
		for j < len(s) && (s[j] >= '0' && s[j] <= '9' || (s[j] == ' ' || s[j] == '-') && j+1 < len(s) && s[j+1] >= '0' && s[j+1] <= '9') {
			if s[j] >= '0' && s[j] <= '9' {
				digits++
			}
			j++
		}
		run := s[i:j]
		if digits >= 7 && !isDate(run) {
			var d []byte
			for k := 0; k < len(run); k++ {
				if run[k] >= '0' && run[k] <= '9' {
					d = append(d, run[k])
				}
			}
			b.WriteString(string(d[:2]) + strings.Repeat("*", len(d)-4) + string(d[len(d)-2:]))
		} else {
			b.WriteString(run)
		}
		i = j
	}
	return b.String()
}
