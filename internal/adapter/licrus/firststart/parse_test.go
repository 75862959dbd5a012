package firststart

import (
	"context"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"

	"github.com/kopru/kopru/internal/adapter"
	"github.com/kopru/kopru/internal/sim/licrus"
)

func TestParsePhone(t *testing.T) {
	ok := []struct{ in, prefix, content string }{
		{"0533 999 99 99", "533", "9999999"},
		{"+90 533 9999999", "533", "9999999"},
		{"+905339999999", "533", "9999999"},
		{"5339999999", "533", "9999999"},
		{"(533) 999-99-99", "533", "9999999"},
		{"0 (533) 999 99 99", "533", "9999999"},
		{"0090 533 999 99 99", "533", "9999999"},
		{"00905339999999", "533", "9999999"},
		{"905339999999", "533", "9999999"},
		{"0212 555 12 34", "212", "5551234"},
		{"0212/555.12.34", "212", "5551234"},
		{"+90 (232) 444 55 66", "232", "4445566"},
		{"0850 222 33 44", "850", "2223344"},
		{" 0533\u00a0999 99 99 ", "533", "9999999"},
	}
	for _, tc := range ok {
		t.Run(tc.in, func(t *testing.T) {
			p, err := ParsePhone("phone", tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if p.Prefix != tc.prefix || p.Content != tc.content {
				t.Errorf("= %+v, want %s %s", p, tc.prefix, tc.content)
			}
		})
	}
	bad := []string{
		"", "0533 999 99", "0533 999 99 99 9", "05339999999 dahili 12", "0533-ABC-9999", "+49 30 1234567",
		"+90 0533 999 99 99", "444 1 234", "0123 456 78 90", "1234567890", "0900 999 99 99", "+", "five three three",
		"0533 999 99 99 / 0532 888 77 66",
	}
	for _, in := range bad {
		t.Run("bad "+in, func(t *testing.T) {
			_, err := ParsePhone("customer.phones[0].number", in)
			if err == nil {
				t.Fatal("accepted")
			}
			if te := adapter.AsError(err); te.Class != adapter.ClassInvalid {
				t.Errorf("class = %v", te.Class)
			}
			if !strings.Contains(err.Error(), "customer.phones[0].number") {
				t.Errorf("error %q does not name the field", err)
			}
			digits := strings.Map(func(r rune) rune {
				if r >= '0' && r <= '9' {
					return r
				}
				return -1
			}, in)
			if len(digits) >= 5 && strings.Contains(strings.Map(func(r rune) rune {
				if r >= '0' && r <= '9' {
					return r
				}
				return -1
			}, err.Error()), digits) {
				t.Errorf("error %q shows the number", err)
			}
		})
	}
}

func TestCityNames(t *testing.T) {
	tests := []struct{ in, want string }{
		{"İstanbul", "34"}, {"Istanbul", "34"}, {"ISTANBUL", "34"}, {"istanbul", "34"}, {"İSTANBUL", "34"},
		{"ISPARTA", "32"}, {"Isparta", "32"}, {"isparta", "32"}, {"ısparta", "32"},
		{"Iğdır", "76"}, {"IĞDIR", "76"}, {"Igdir", "76"},
		{"Şırnak", "73"}, {"ŞIRNAK", "73"}, {"Sirnak", "73"},
		{"Çankırı", "18"}, {"ÇANKIRI", "18"}, {"Cankiri", "18"},
		{"Kırıkkale", "71"}, {"KIRIKKALE", "71"}, {"Kirikkale", "71"},
		{"Kırklareli", "39"}, {"KIRKLARELİ", "39"}, {"Kirklareli", "39"},
		{"Çanakkale", "17"}, {"İzmir", "35"}, {"Izmir", "35"}, {"IZMIR", "35"}, {"  izmir ", "35"},
		{norm.NFD.String("Düzce"), "81"}, {"Hakkari", "30"}, {"Afyon", "3"}, {"Urfa", "63"}, {"35", "35"}, {"06", "6"},
		{"Elazig", "23"}, {"Muğla", "48"}, {"Mus", "49"},
	}
	for _, lookup := range []bool{false, true} {
		name := "built-in"
		if lookup {
			name = "City/GetAll"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, testTicket, func(c *Config) { c.CityLookup = lookup })
			r := e.t.Resolver()
			for _, tc := range tests {
				t.Run(tc.in, func(t *testing.T) {
					got, err := r.City(context.Background(), tc.in)
					if err != nil || got != tc.want {
						t.Errorf("City(%q) = %q, %v; want %s", tc.in, got, err, tc.want)
					}
				})
			}
			want := 0
			if lookup {
				want = 1
			}
			if n := e.sim.LookupCalls(licrus.LookupCities); n != want {
				t.Errorf("city lookups = %d, want %d", n, want)
			}
		})
	}
}

func TestNameMatching(t *testing.T) {
	items := []Item{
		{ID: "1", Text: "Kırıkkale"}, {ID: "2", Text: "Kırklareli"}, {ID: "3", Text: "ÜMRANİYE"},
		{ID: "4", Text: "ÇAYIR"}, {ID: "5", Text: "ÇAYİR"}, {ID: "6", Text: "Isparta"},
		{ID: "7", Text: "İSPİR"}, {ID: "8", Text: "Kazanlar"}, {ID: "9", Text: "KAZANLAR", Inactive: true},
		{ID: "10", Text: "ESKİ"}, {ID: "11", Text: "Eski", Inactive: true}, {ID: "12", Text: "Merkez"},
	}
	tests := []struct {
		in, want string
		errHas   []string
	}{
		{in: "Kırıkkale", want: "1"}, {in: "Kirikkale", want: "1"}, {in: "KIRIKKALE", want: "1"},
		{in: "Kırklareli", want: "2"}, {in: "KIRKLARELI", want: "2"},
		{in: "Umraniye", want: "3"}, {in: "ümraniye", want: "3"}, {in: norm.NFD.String("Ümraniye"), want: "3"},
		{in: "ÇAYIR", want: "4"}, {in: "çayir", want: "5"},
		{in: "Cayir", errHas: []string{"ambiguous district 'Cayir'", "'ÇAYIR' (id 4)", "'ÇAYİR' (id 5)"}},
		{in: "ISPARTA", want: "6"}, {in: "İspir", want: "7"}, {in: "Ispir", want: "7"},
		{in: "kazanlar", want: "8"}, {in: "eski", want: "10"},
		{in: "Kırık", errHas: []string{"unknown district 'Kırık'"}},
		{in: "merkez  ", want: "12"}, {in: "", errHas: []string{"empty district name"}},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			it, err := matchName("district", tc.in, items)
			if tc.errHas != nil {
				if !IsInvalid(err) {
					t.Fatalf("err = %v, want invalid", err)
				}
				for _, s := range tc.errHas {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q lacks %q", err, s)
					}
				}
				return
			}
			if err != nil || it.ID != tc.want {
				t.Errorf("= %+v, %v; want id %s", it, err, tc.want)
			}
		})
	}
}

func TestDistrictTraps(t *testing.T) {
	e := newEnv(t, testTicket)
	r := e.t.Resolver()
	ctx := context.Background()
	tests := []struct{ city, name, want string }{
		{"34", "Umraniye", "451"}, {"34", "ÜMRANİYE", "451"}, {"34", "Kadikoy", "446"}, {"34", "Şişli", "450"},
		{"34", "Sisli", "450"}, {"34", "Şile", "455"}, {"34", "Sile", "455"}, {"34", "Silivri", "454"},
		{"35", "Karabağlar", "511"}, {"35", "KARABAGLAR", "511"}, {"35", "Çiğli", "503"}, {"35", "Cigli", "503"},
		{"32", "Eğirdir", "3202"}, {"18", "Ilgaz", "1802"}, {"73", "Cizre", "7302"},
	}
	for _, tc := range tests {
		t.Run(tc.city+"/"+tc.name, func(t *testing.T) {
			got, err := r.District(ctx, tc.city, tc.name)
			if err != nil || got != tc.want {
				t.Errorf("= %q, %v; want %s", got, err, tc.want)
			}
		})
	}
}

func TestParseNumbers(t *testing.T) {
	tests := []struct{ in, form, call string }{
		{"İlk çalıştırma formu oluşturulmuştur. Form numarası: 100001", "100001", ""},
		{norm.NFD.String("İlk çalıştırma formu oluşturulmuştur. Form numarası: 100001"), "100001", ""},
		{"FORM NUMARASI:100001", "100001", ""},
		{"form   numarası :  100001.", "100001", ""},
		{"Form No: 55", "55", ""},
		{"Form nosu 77", "77", ""},
		{"Belge No: İÇ-2025/7", "İÇ-2025/7", ""},
		{norm.NFD.String("BELGE NO: İÇ-2025/7"), "İÇ-2025/7", ""},
		{"Verdiğiniz bilgilere göre çağrı oluşturulmuştur. Çağrı numarası: 43090", "", "43090"},
		{norm.NFD.String("ÇAĞRI NUMARASI:\u00a043090"), "", "43090"},
		{"Cagri numarasi: 43090", "", "43090"},
		{"100001 numaralı form oluşturuldu", "100001", ""},
		{"43090 nolu çağrı açıldı, form numarası: 12", "12", "43090"},
		{"Form numarası: yok", "", ""},
		{"İşlem başarılı.", "", ""},
		{"Formunuz 3 gün içinde incelenecek", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			f, c := ParseNumbers(tc.in)
			if f != tc.form || c != tc.call {
				t.Errorf("= %q, %q; want %q, %q", f, c, tc.form, tc.call)
			}
		})
	}
}
