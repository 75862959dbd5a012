package leansoft

import "github.com/kopru/kopru/internal/redact"

// PlaceholderTaxNumber is the tax number the Lean Soft doc accepts for a customer without one (an
// individual buying without a TCKN on file). With it, the e-archive e-mail becomes required.
const PlaceholderTaxNumber = "11111111111"

// ValidTCKN reports whether s is a Turkish national id number (T.C. Kimlik No) by its public checksum:
// 11 digits, the first not 0, d10 = (7·(d1+d3+d5+d7+d9) − (d2+d4+d6+d8)) mod 10 and
// d11 = (d1+…+d10) mod 10. Foreigners' ids (YKN, starting with 99) follow the same rule.
func ValidTCKN(s string) bool {
	d, ok := digits(s, 11)
	if !ok || d[0] == 0 {
		return false
	}
	odd := d[0] + d[2] + d[4] + d[6] + d[8]
	even := d[1] + d[3] + d[5] + d[7]
	if ((odd*7-even)%10+10)%10 != d[9] {
		return false
	}
	sum := 0
	for _, x := range d[:10] {
		sum += x
	}
	return sum%10 == d[10]
}

// ValidVKN reports whether s is a Turkish tax id number (Vergi Kimlik No) by the public checksum of the
// Revenue Administration: 10 digits; for the first nine digits dᵢ (i = 1…9) let
// c = (dᵢ + 10 − i) mod 10 and, when c ≠ 0, p = c·2^(10−i) mod 9, taken as 9 when it is 0; the tenth
// digit is (10 − Σp mod 10) mod 10.
func ValidVKN(s string) bool {
	d, ok := digits(s, 10)
	if !ok {
		return false
	}
	return vknCheckDigit(d[:9]) == d[9]
}

func vknCheckDigit(d []int) int {
	sum := 0
	for i := 0; i < 9; i++ {
		c := (d[i] + 9 - i) % 10
		if c == 0 {
			continue
		}
		p := (c << (9 - i)) % 9
		if p == 0 {
			p = 9
		}
		sum += p
	}
	return (10 - sum%10) % 10
}

// digits returns the decimal digits of s when s is exactly n ASCII digits.
func digits(s string, n int) ([]int, bool) {
	if len(s) != n {
		return nil, false
	}
	d := make([]int, n)
	for i := 0; i < n; i++ {
		if s[i] < '0' || s[i] > '9' {
			return nil, false
		}
		d[i] = int(s[i] - '0')
	}
	return d, true
}

// isDigits reports whether s is non-empty and all ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// mask hides all but the last two characters of a personal number, keeping its length, so an operator
// can tell which number failed without the number being written to logs and dead-letter headers.
func mask(s string) string { return redact.Personal(s) }
