package adapter

import (
	"fmt"
	"strings"
	"testing"
)

// The cached expansion scrubs exactly as a fresh one, also once the cache is full.
func TestScrubCacheScrubsLikeAFreshExpansion(t *testing.T) {
	for i := range 2 * maxCachedSecrets {
		sec := fmt.Sprintf("Bearer tok%04dsecret", i)
		msg := "echo: tok" + fmt.Sprintf("%04d", i) + "secret and " + sec
		for range 2 { // the second time from the cache (while it has room)
			got := Scrub(msg, sec)
			if strings.Contains(got, "secret") || strings.Count(got, "****") != 2 {
				t.Fatalf("Scrub(%q) = %q", msg, got)
			}
		}
	}
	if n := partsCached.Load(); n > maxCachedSecrets {
		t.Fatalf("%d secret lists cached, at most %d", n, maxCachedSecrets)
	}
}
