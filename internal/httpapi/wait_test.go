package httpapi

import (
	"net/http"
	"testing"
	"time"
)

func TestPreferWait(t *testing.T) {
	for _, tc := range []struct {
		prefer []string
		want   time.Duration
	}{
		{nil, 0},
		{[]string{"wait=10"}, 10 * time.Second},
		{[]string{"respond-async, wait=5"}, 5 * time.Second},
		{[]string{"handling=lenient", "Wait = 3"}, 3 * time.Second},
		{[]string{`wait="7"`}, 7 * time.Second},
		{[]string{"wait=600"}, 30 * time.Second}, // capped
		{[]string{"wait=abc"}, 0},
		{[]string{"wait=-1"}, 0},
		{[]string{"return=minimal"}, 0},
	} {
		h := http.Header{}
		for _, v := range tc.prefer {
			h.Add("Prefer", v)
		}
		if got := PreferWait(h, 30*time.Second); got != tc.want {
			t.Errorf("Prefer %q: %s, want %s", tc.prefer, got, tc.want)
		}
	}
}
