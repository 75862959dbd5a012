package httpapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
	"time"
)

// tokenSet holds bearer tokens as SHA-256 digests, so every comparison is over equal lengths and runs
// in constant time whatever the candidate is.
type tokenSet struct {
	digests [][32]byte
	keys    [][]byte // per token: the key that signs UI sessions made with it
}

func newTokenSet(tokens []string) tokenSet {
	var ts tokenSet
	for _, t := range tokens {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		ts.digests = append(ts.digests, sha256.Sum256([]byte(t)))
		k := sha256.Sum256([]byte("kopru-ui-session\x00" + t))
		ts.keys = append(ts.keys, k[:])
	}
	return ts
}

func (ts tokenSet) empty() bool { return len(ts.digests) == 0 }

// match returns the index of the token equal to candidate, or -1. It looks at every token.
func (ts tokenSet) match(candidate string) int {
	if candidate == "" {
		return -1
	}
	d := sha256.Sum256([]byte(candidate))
	found := -1
	for i := range ts.digests {
		if subtle.ConstantTimeCompare(d[:], ts.digests[i][:]) == 1 {
			found = i
		}
	}
	return found
}

// bearer returns the token of an "Authorization: Bearer …" header.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	const p = "bearer "
	if len(h) > len(p) && strings.EqualFold(h[:len(p)], p) {
		return strings.TrimSpace(h[len(p):])
	}
	return ""
}

func (ts tokenSet) mac(i int, parts ...string) []byte {
	m := hmac.New(sha256.New, ts.keys[i])
	m.Write([]byte(strings.Join(parts, "|")))
	return m.Sum(nil)
}

func unauthorized(w http.ResponseWriter, realm, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="`+realm+`"`)
	refuseBody(w)
	writeJSON(w, http.StatusUnauthorized, map[string]string{"error": msg})
}

// refuseBody ends the connection after this answer without reading the request's body: a request
// refused before its body (no valid token, throttled) must not hold the server while a stranger
// trickles, or never sends, the bytes it announced. net/http would otherwise drain up to 256 KiB.
func refuseBody(w http.ResponseWriter) {
	w.Header().Set("Connection", "close")
	_ = http.NewResponseController(w).SetReadDeadline(time.Now())
}
