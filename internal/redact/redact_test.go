package redact

import (
	"strings"
	"testing"
)

func TestMasks(t *testing.T) {
	cases := []struct{ name, got, want string }{
		{"secret set", Secret("aa1c99300ccd452a"), "****"},
		{"secret unset", Secret(""), "(unset)"},
		{"tckn", Personal("12345678901"), "*********01"},
		{"vkn", Personal("4540536921"), "********21"},
		{"short hidden whole", Personal("99959"), "*****"},
		{"turkish letters count as one", Personal("Çağrı-ŞİŞLİ"), "*********Lİ"},
		{"empty", Personal(""), ""},
		{"digit runs", Digits("tel 0533 999 99 99, çağrı 43090, 2026-11-22"), "tel 05*******99, çağrı 43090, 2026-11-22"},
		{"one line", OneLine(" a\n\tb\r\n  c "), "a b c"},
		{"clip", Clip("çğüşöı", 3), "çğü…"},
		{"no clip", Clip("abc", 3), "abc"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.got != c.want {
				t.Fatalf("got %q, want %q", c.got, c.want)
			}
		})
	}
	long := OneLine(strings.Repeat("ş", 400))
	if len(long) > 500+len("…") || !strings.HasSuffix(long, "…") || strings.ContainsRune(long, '\uFFFD') {
		t.Fatalf("OneLine cut %d bytes: %q", len(long), long[len(long)-8:])
	}
}
