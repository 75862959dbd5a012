package adapter

import (
	"encoding/base64"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"github.com/kopru/kopru/internal/redact"
)

// minSecret is the shortest secret part that is scrubbed: shorter ones would mangle ordinary text.
const minSecret = 4

// Scrub replaces every meaningful part of each secret in s with redact.Mask ("****"), for vendor messages that echo a
// credential back. It is the one scrubber of every target; what ends up in Kopru-Error (and so in the
// operator page, the admin API and `kopru dlq`) and in log lines has been through it.
//
// Matching ignores case. For each secret it hides the whole value, the token after an auth scheme
// ("Bearer X", "Basic X", "Token X" → X), what a Basic token decodes to ("user:pass" and the password),
// and the standard and URL-safe base64 of each of these (with and without padding). Parts shorter than
// 4 characters are left alone. Safe for concurrent use.
func Scrub(s string, secrets ...string) string {
	if s == "" {
		return s
	}
	for _, part := range cachedParts(secrets) {
		s = replaceFold(s, part, redact.Mask)
	}
	return s
}

// partsCache holds the secretParts of the secret lists seen so far (key: the list joined by NUL): the
// expansion (base64 forms, sorting) costs more than the scrub, and the same secrets come with every
// call. At most maxCachedSecrets lists are kept, so secrets that keep changing (session tokens) are
// expanded afresh once the cache is full rather than grow it. The cached slices are never written.
var (
	partsCache  sync.Map // string → []string
	partsCached atomic.Int32
)

const maxCachedSecrets = 64

func cachedParts(secrets []string) []string {
	key := strings.Join(secrets, "\x00")
	if p, ok := partsCache.Load(key); ok {
		return p.([]string)
	}
	parts := secretParts(secrets)
	if partsCached.Load() < maxCachedSecrets {
		if _, loaded := partsCache.LoadOrStore(key, parts); !loaded {
			partsCached.Add(1)
		}
	}
	return parts
}

// secretParts expands secrets into every form a vendor might echo, longest first (so that a longer
// form is hidden whole before a shorter one inside it).
func secretParts(secrets []string) []string {
	seen := map[string]bool{}
	var parts []string
	add := func(p string) {
		p = strings.TrimSpace(p)
		if len(p) < minSecret || seen[strings.ToLower(p)] {
			return
		}
		seen[strings.ToLower(p)] = true
		parts = append(parts, p)
	}
	for _, sec := range secrets {
		var plain []string
		plain = append(plain, sec)
		if scheme, token, ok := strings.Cut(strings.TrimSpace(sec), " "); ok && isScheme(scheme) {
			token = strings.TrimSpace(token)
			plain = append(plain, token)
			if strings.EqualFold(scheme, "basic") {
				for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
					if dec, err := enc.DecodeString(token); err == nil && utf8.Valid(dec) {
						plain = append(plain, string(dec))
						if _, pass, ok := strings.Cut(string(dec), ":"); ok {
							plain = append(plain, pass)
						}
						break
					}
				}
			}
		}
		for _, p := range plain {
			add(p)
			for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
				add(enc.EncodeToString([]byte(strings.TrimSpace(p))))
			}
		}
	}
	// Longest first: "Bearer X" before X, X before a shorter fragment.
	for i := 1; i < len(parts); i++ {
		for k := i; k > 0 && len(parts[k]) > len(parts[k-1]); k-- {
			parts[k], parts[k-1] = parts[k-1], parts[k]
		}
	}
	return parts
}

// isScheme reports whether w looks like an HTTP auth scheme (a token of letters, digits and -._).
func isScheme(w string) bool {
	if w == "" || len(w) > 20 {
		return false
	}
	for _, r := range w {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '.' || r == '_') {
			return false
		}
	}
	return true
}

// replaceFold replaces every case-insensitive occurrence of old in s with repl.
func replaceFold(s, old, repl string) string {
	if len(old) == 0 || len(s) < len(old) {
		return s
	}
	var b strings.Builder
	last := 0
	first := unicode.ToLower(rune(old[0]))
	for i := 0; i+len(old) <= len(s); {
		c := s[i]
		if c < utf8.RuneSelf && unicode.ToLower(rune(c)) != first && old[0] < utf8.RuneSelf {
			i++
			continue
		}
		if strings.EqualFold(s[i:i+len(old)], old) {
			b.WriteString(s[last:i])
			b.WriteString(repl)
			i += len(old)
			last = i
			continue
		}
		i++
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}
