package main

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// termSafe returns s for a terminal: every control character (C0, DEL, C1), Unicode format
// character (bidi overrides, zero-width joiners) and invalid UTF-8 byte is written as an escape
// (\x1b, \u202e), so event ids, headers and vendor messages cannot move the cursor, retitle the window,
// recolour or reorder what the operator reads. Tabs and newlines are escaped too: a value stays on its
// table cell and its line.
func termSafe(s string) string { return escapeTerm(s, false) }

// termBlock is termSafe for multi-line text (an event pretty-printed): it keeps \n and \t.
func termBlock(s string) string { return escapeTerm(s, true) }

func escapeTerm(s string, block bool) string {
	clean := true
	for _, r := range s {
		if unsafeRune(r, block) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case !unsafeRune(r, block):
			b.WriteString(s[i : i+n])
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		i += n
	}
	return b.String()
}

func unsafeRune(r rune, block bool) bool {
	switch {
	case block && (r == '\n' || r == '\t'):
		return false
	case r == utf8.RuneError:
		return true
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r == '\u2028', r == '\u2029':
		return true
	}
	return unicode.Is(unicode.Cf, r)
}
