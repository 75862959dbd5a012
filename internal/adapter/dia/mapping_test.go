package dia

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/kopru/kopru/internal/adapter"
)

func mustJSON(t testing.TB, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wantInvalid(t testing.TB, err error, substr string) {
	t.Helper()
	var te *adapter.Error
	if !errors.As(err, &te) || te.Class != adapter.ClassInvalid {
		t.Fatalf("want an invalid *adapter.Error, got %v", err)
	}
	if !strings.Contains(te.Msg, substr) {
		t.Fatalf("message %q does not contain %q", te.Msg, substr)
	}
}

func TestCustomerKart(t *testing.T) {
	base := func() map[string]any {
		return map[string]any{"customerId": "C-1", "name": "Acme", "recordType": "buyer", "currency": "TRY", "taxNumber": "1234567890",
			"address": map[string]any{"country": "Türkiye", "city": "Ankara", "district": "Çankaya", "neighborhood": "Kızılay"}}
	}
	with := func(mod func(m map[string]any)) map[string]any { m := base(); mod(m); return m }
	baseAddr := map[string]any{"adresadi": "MERKEZ", "adres1": "Kızılay", "ilce": "Çankaya", "sehir": "Ankara", "ulke": "Türkiye"}
	addr := func(extra map[string]any) []any {
		a := map[string]any{}
		for k, v := range baseAddr {
			a[k] = v
		}
		for k, v := range extra {
			if v == nil {
				delete(a, k)
			} else {
				a[k] = v
			}
		}
		return []any{a}
	}

	tests := []struct {
		name    string
		mapping CustomerMapping
		data    any
		want    map[string]any
		invalid string
	}{
		{name: "the schema example", data: "example", want: map[string]any{
			"carikartkodu": "C-004217", "unvan": "Güneşli Isı Sistemleri Ticaret Limited Şirketi", "carikarttipi": "AL",
			"verginumarasi": "7345123090", "_key_sis_vergidairesi": map[string]any{"kod": "Erciyes Vergi Dairesi"},
			"eposta": "info@gunesli.example",
			"m_adresler": []any{map[string]any{
				"adresadi": "MERKEZ", "adres1": "Alpaslan Mahallesi Sivas Caddesi",
				"adres2": "Çınar Sokak Öztürk İş Merkezi No:12 D:4", "ilce": "Melikgazi", "sehir": "Kayseri", "ulke": "Türkiye",
				"postakodu": "38030", "telefon1": "+90 352 222 33 44", "telefon2": "+90 532 555 66 77",
			}},
		}},
		{name: "minimal buyer with VKN", data: base(), want: map[string]any{
			"carikartkodu": "C-1", "unvan": "Acme", "carikarttipi": "AL", "verginumarasi": "1234567890", "m_adresler": addr(nil)}},
		{name: "TCKN goes to tckimlikno", data: with(func(m map[string]any) { m["taxNumber"] = "10000000146"; m["recordType"] = "seller" }),
			want: map[string]any{"carikartkodu": "C-1", "unvan": "Acme", "carikarttipi": "SAT", "tckimlikno": "10000000146", "m_adresler": addr(nil)}},
		{name: "both is AS, numbers as JSON numbers", data: with(func(m map[string]any) {
			m["recordType"] = "both"
			m["customerId"] = 4217
			m["taxNumber"] = 1234567890
		}), want: map[string]any{"carikartkodu": "4217", "unvan": "Acme", "carikarttipi": "AS", "verginumarasi": "1234567890", "m_adresler": addr(nil)}},
		{name: "DİA's own combo code", data: with(func(m map[string]any) { m["recordType"] = "sat" }),
			want: map[string]any{"carikartkodu": "C-1", "unvan": "Acme", "carikarttipi": "SAT", "verginumarasi": "1234567890", "m_adresler": addr(nil)}},
		{name: "Lean Soft's code as an integer", data: with(func(m map[string]any) { m["recordType"] = 3 }),
			want: map[string]any{"carikartkodu": "C-1", "unvan": "Acme", "carikarttipi": "AS", "verginumarasi": "1234567890", "m_adresler": addr(nil)}},
		{name: "English name, upper case", data: with(func(m map[string]any) { m["recordType"] = "BUYER" }),
			want: map[string]any{"carikartkodu": "C-1", "unvan": "Acme", "carikarttipi": "AL", "verginumarasi": "1234567890", "m_adresler": addr(nil)}},
		{name: "record types can be overridden", mapping: CustomerMapping{CariKartTipi: map[string]string{"buyer": "AL", "seller": "SA", "both": "AS"}},
			data: with(func(m map[string]any) { m["recordType"] = "seller" }),
			want: map[string]any{"carikartkodu": "C-1", "unvan": "Acme", "carikarttipi": "SA", "verginumarasi": "1234567890", "m_adresler": addr(nil)}},
		{name: "tax office on another field", mapping: CustomerMapping{TaxOfficeField: "adi", AddressName: "FATURA"},
			data: with(func(m map[string]any) { m["taxOffice"] = " ÇANKAYA " }),
			want: map[string]any{"carikartkodu": "C-1", "unvan": "Acme", "carikarttipi": "AL", "verginumarasi": "1234567890",
				"_key_sis_vergidairesi": map[string]any{"adi": "ÇANKAYA"}, "m_adresler": addr(map[string]any{"adresadi": "FATURA"})}},
		{name: "typed phones: mobile to ceptel, primary first", data: with(func(m map[string]any) {
			m["phones"] = []any{
				map[string]any{"number": "0312 111 11 11", "type": "work"},
				map[string]any{"number": "0532 000 00 00", "type": "mobile"},
				map[string]any{"number": "0312 222 22 22", "type": "home", "primary": true},
				map[string]any{"number": "0312 333 33 33", "type": "work"},
			}
		}), want: map[string]any{"carikartkodu": "C-1", "unvan": "Acme", "carikarttipi": "AL", "verginumarasi": "1234567890",
			"m_adresler": addr(map[string]any{"ceptel": "0532 000 00 00", "telefon1": "0312 222 22 22", "telefon2": "0312 111 11 11"})}},
		{name: "no address at all", data: map[string]any{"customerId": "C-1", "name": "Acme", "taxNumber": ""},
			want: map[string]any{"carikartkodu": "C-1", "unvan": "Acme"}},
		{name: "30 characters (multi-byte) is fine", data: with(func(m map[string]any) { m["customerId"] = strings.Repeat("Ş", 30) }),
			want: map[string]any{"carikartkodu": strings.Repeat("Ş", 30), "unvan": "Acme", "carikarttipi": "AL", "verginumarasi": "1234567890", "m_adresler": addr(nil)}},
		{name: "31 characters is too long", data: with(func(m map[string]any) { m["customerId"] = strings.Repeat("x", 31) }), invalid: "at most 30"},
		{name: "no customerId", data: with(func(m map[string]any) { m["customerId"] = " " }), invalid: "customerId is empty"},
		{name: "no name", data: with(func(m map[string]any) { m["name"] = "" }), invalid: "no name"},
		{name: "unknown record type", data: with(func(m map[string]any) { m["recordType"] = "partner" }), invalid: "not buyer, seller or both"},
		{name: "tax number with letters", data: with(func(m map[string]any) { m["taxNumber"] = "12345X7890" }), invalid: "digits only"},
		{name: "tax number of 9 digits", data: with(func(m map[string]any) { m["taxNumber"] = "123456789" }), invalid: "has 9 digits"},
		{name: "phone of a wrong shape", data: with(func(m map[string]any) { m["phones"] = []any{42} }), invalid: "phones[0]"},
		{name: "not JSON", data: json.RawMessage(`[`), invalid: "not readable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var data json.RawMessage
			switch d := tc.data.(type) {
			case string:
				data = example(t, "customer.created.json")
			case json.RawMessage:
				data = d
			default:
				data = mustJSON(t, d)
			}
			got, err := tc.mapping.Kart(data)
			if tc.invalid != "" {
				wantInvalid(t, err, tc.invalid)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// Compare as JSON, the way DİA sees it.
			var g, w any
			_ = json.Unmarshal(mustJSON(t, got), &g)
			_ = json.Unmarshal(mustJSON(t, tc.want), &w)
			if !reflect.DeepEqual(g, w) {
				t.Fatalf("kart\n got %s\nwant %s", mustJSON(t, got), mustJSON(t, tc.want))
			}
		})
	}
}

func TestServiceNoteKart(t *testing.T) {
	base := func() map[string]any {
		return map[string]any{"customerCode": "0000008", "user": "ws", "subject": "Konu", "date": "2017-03-25"}
	}
	with := func(mod func(m map[string]any)) map[string]any { m := base(); mod(m); return m }
	min := func(extra map[string]any) map[string]any {
		k := map[string]any{"_key_scf_carikart": map[string]any{"carikartkodu": "0000008"},
			"_key_sis_kullanici": map[string]any{"kullaniciadi": "ws"}, "konu": "Konu", "tarih": "2017-03-25", "gorusmesekli": 1}
		for a, b := range DocEmptyLinks {
			k[a] = b
		}
		for a, b := range extra {
			k[a] = b
		}
		return k
	}
	tests := []struct {
		name    string
		mapping ServiceNoteMapping
		data    any
		want    map[string]any
		invalid string
	}{
		{name: "the doc example", data: "example", want: map[string]any{
			"_key_scf_carikart":    map[string]any{"carikartkodu": "0000008"},
			"_key_shy_servisformu": map[string]any{"fisno": "000009"},
			"_key_sis_kullanici":   map[string]any{"kullaniciadi": "ws"},
			"gorusmesekli":         1, "harcananzaman": "15.00", "harcananzamanturu": "D",
			"konu": "Parça değişimi hakkında", "note": "yanlış getirilen parçanın yenisi ile değişimi",
			"saat": "15:55:18", "tarih": "2017-03-25",
			"_key_gts_gorev": 0, "_key_gts_gorusme_kategori": 0, "_key_gts_gorusme_kategorileri": nil, "_key_scf_satiselemani": 0,
			"_key_scf_siparis": 0, "_key_scf_teklif": 0, "_key_sis_rehber_karti": 0, "_key_sis_seviyekodu": 0,
		}},
		{name: "empty links can be left out", mapping: ServiceNoteMapping{OmitEmptyLinks: true}, data: base(), want: map[string]any{
			"_key_scf_carikart": map[string]any{"carikartkodu": "0000008"}, "_key_sis_kullanici": map[string]any{"kullaniciadi": "ws"},
			"konu": "Konu", "tarih": "2017-03-25", "gorusmesekli": 1}},
		{name: "DİA unit codes, case ignored", data: with(func(m map[string]any) { m["spentTime"] = "15.00"; m["spentTimeUnit"] = "d" }),
			want: min(map[string]any{"harcananzaman": "15.00", "harcananzamanturu": "D"})},
		{name: "DİA unit S", data: with(func(m map[string]any) { m["spentTime"] = 1; m["spentTimeUnit"] = "S" }),
			want: min(map[string]any{"harcananzaman": "1.00", "harcananzamanturu": "S"})},
		{name: "Turkish unit gün", data: with(func(m map[string]any) { m["spentTime"] = 1; m["spentTimeUnit"] = "Gün" }),
			want: min(map[string]any{"harcananzaman": "1.00", "harcananzamanturu": "G"})},
		{name: "English unit upper case", data: with(func(m map[string]any) { m["spentTime"] = 1; m["spentTimeUnit"] = "HOURS" }),
			want: min(map[string]any{"harcananzaman": "1.00", "harcananzamanturu": "S"})},
		{name: "only the required fields", data: base(), want: min(nil)},
		{name: "empty optional strings are absent", data: with(func(m map[string]any) {
			m["serviceFormNo"], m["note"], m["time"], m["spentTime"], m["spentTimeUnit"] = "", "", "", "", ""
		}), want: min(nil)},
		{name: "spent time as text with a comma, in hours", data: with(func(m map[string]any) { m["spentTime"] = "1,5"; m["spentTimeUnit"] = "hours" }),
			want: min(map[string]any{"harcananzaman": "1.50", "harcananzamanturu": "S"})},
		{name: "spent time in days", data: with(func(m map[string]any) { m["spentTime"] = 2; m["spentTimeUnit"] = "days" }),
			want: min(map[string]any{"harcananzaman": "2.00", "harcananzamanturu": "G"})},
		{name: "spent time defaults to minutes", data: with(func(m map[string]any) { m["spentTime"] = 15.25 }),
			want: min(map[string]any{"harcananzaman": "15.25", "harcananzamanturu": "D"})},
		{name: "gorusmesekli can be set", mapping: ServiceNoteMapping{GorusmeSekli: 3}, data: base(), want: min(map[string]any{"gorusmesekli": 3})},
		{name: "numeric codes", data: with(func(m map[string]any) { m["customerCode"] = 8; m["serviceFormNo"] = 9 }),
			want: min(map[string]any{"_key_scf_carikart": map[string]any{"carikartkodu": "8"}, "_key_shy_servisformu": map[string]any{"fisno": "9"}})},
		{name: "no customer", data: with(func(m map[string]any) { delete(m, "customerCode") }), invalid: "no customerCode"},
		{name: "customer code too long", data: with(func(m map[string]any) { m["customerCode"] = strings.Repeat("9", 31) }), invalid: "longer than 30"},
		{name: "no user", data: with(func(m map[string]any) { m["user"] = " " }), invalid: "no user"},
		{name: "no subject", data: with(func(m map[string]any) { delete(m, "subject") }), invalid: "no subject"},
		{name: "no date", data: with(func(m map[string]any) { delete(m, "date") }), invalid: "YYYY-MM-DD"},
		{name: "impossible date", data: with(func(m map[string]any) { m["date"] = "2017-02-30" }), invalid: "YYYY-MM-DD"},
		{name: "bad time", data: with(func(m map[string]any) { m["time"] = "15:55" }), invalid: "HH:MM:SS"},
		{name: "negative spent time", data: with(func(m map[string]any) { m["spentTime"] = -1 }), invalid: "non-negative"},
		{name: "spent time not a number", data: with(func(m map[string]any) { m["spentTime"] = "quarter" }), invalid: "non-negative"},
		{name: "unknown unit", data: with(func(m map[string]any) { m["spentTime"] = 1; m["spentTimeUnit"] = "weeks" }), invalid: "not minutes, hours or days"},
		{name: "unknown unit without time", data: with(func(m map[string]any) { m["spentTimeUnit"] = "weeks" }), invalid: "not minutes, hours or days"},
		{name: "DİA's unit code alone", data: with(func(m map[string]any) { m["spentTimeUnit"] = "D" }), want: min(nil)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var data json.RawMessage
			if _, ok := tc.data.(string); ok {
				data = example(t, "service-note.created.json")
			} else {
				data = mustJSON(t, tc.data)
			}
			got, err := tc.mapping.Kart(data)
			if tc.invalid != "" {
				wantInvalid(t, err, tc.invalid)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var g, w any
			_ = json.Unmarshal(mustJSON(t, got), &g)
			_ = json.Unmarshal(mustJSON(t, tc.want), &w)
			if !reflect.DeepEqual(g, w) {
				t.Fatalf("kart\n got %s\nwant %s", mustJSON(t, got), mustJSON(t, tc.want))
			}
		})
	}
}
