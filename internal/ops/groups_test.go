package ops

import (
	"context"
	"testing"
	"time"
)

func TestNormalizeFoldsWhatDiffers(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{`gave up after 8 calls; last: 503`, `gave up after 3 calls; last: 429`},
		{`Seri numarası "SN-1234" bulunamadı`, `Seri numarası "AB-99" bulunamadı`},
		{`event 01JDX3V5Q9M8K7H6G5F4E3D2C1 failed`, `event 550e8400-e29b-41d4-a716-446655440000 failed`},
	} {
		if Normalize(tc.a) != Normalize(tc.b) {
			t.Errorf("%q and %q fold to %q and %q", tc.a, tc.b, Normalize(tc.a), Normalize(tc.b))
		}
	}
	if Normalize("customer not found") == Normalize("tax number refused") {
		t.Error("different errors fold together")
	}
}

func TestGroupsByRouteClassAndNormalisedError(t *testing.T) {
	e := newEnv(t, Options{})
	old := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Second)
	var ls []letter
	for i := range 30 {
		ls = append(ls, letter{class: "exhausted", errText: "gave up after 8 calls; last: 50" + string(rune('0'+i%4)), failedAt: old.Add(time.Duration(i) * time.Minute)})
	}
	ls = append(ls, letter{class: "rejected", errText: `Seri numarası "SN-1" bulunamadı`},
		letter{class: "rejected", errText: `Seri numarası "SN-2" bulunamadı`},
		letter{route: "dia-customer", class: "rejected", errText: `Seri numarası "SN-3" bulunamadı`})
	e.seed(ls...)
	gs, err := e.op.Groups(context.Background(), Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != 3 {
		t.Fatalf("%d groups, want 3: %+v", len(gs), gs)
	}
	g := gs[0]
	if g.Count != 30 || len(g.IDs) != 30 || g.Class != "exhausted" || !g.FirstSeen.Equal(old) || !g.LastSeen.Equal(old.Add(29*time.Minute)) {
		t.Fatalf("first group %+v", g)
	}
	if gs[1].Count != 2 || gs[1].Route != "licrus-installation" || gs[2].Route != "dia-customer" {
		t.Fatalf("groups %+v", gs[1:])
	}
}
