package licrustext

import "testing"

// The spellings either Licrus route accepted before they shared this parser: both routes now accept
// all of them, and agree on the call number.
func TestCallNumberSpellingsBothRoutes(t *testing.T) {
	cases := []struct{ msg, call string }{
		{"Verdiğiniz bilgilere göre çağrı oluşturulmuştur. Çağrı numarası: 43090", "43090"},
		{"ÇAĞRI  NUMARASI:43090", "43090"},
		{"c\u0327ag\u0306r\u0131 numaras\u0131 : 43090", "43090"}, // NFD
		{"Cagri numarasi = 43090.", "43090"},
		{"Çağrı No:43090", "43090"},
		{"Çağrı Nr. 43090", "43090"},
		{"çağrı numara #43090", "43090"},
		{"43090 nolu çağrı açıldı", "43090"},
		{"Çağrı numarası: bekleniyor; Çağrı No: 7", "7"},
		{"Form numarası: 100001", ""},
		{"Kayıt başarılı", ""},
	}
	for _, c := range cases {
		t.Run(c.msg, func(t *testing.T) {
			got, ok := ParseCallNumber(c.msg)
			if got != c.call || ok != (c.call != "") {
				t.Errorf("ParseCallNumber = %q, %v; want %q", got, ok, c.call)
			}
			if _, call := ParseNumbers(c.msg); call != c.call {
				t.Errorf("ParseNumbers call = %q; want %q", call, c.call)
			}
		})
	}
}

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"ÇAĞRI  NUMARASI":                           "cagri numarasi",
		"c\u0327ag\u0306r\u0131 numaras\u0131":      "cagri numarasi",
		"İSTANBUL Şişli\tIĞDIR":                     "istanbul sisli igdir",
		FoldAccents(FoldName("  ISPARTA  Merkez ")): "isparta merkez",
	} {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
	if FoldName("Istanbul") == FoldName("İstanbul") {
		t.Error("FoldName must keep I and İ apart")
	}
}

// TestFoldTableIsFoldRune: the table answers exactly what the rule computes, for every rune it holds.
func TestFoldTableIsFoldRune(t *testing.T) {
	for r := rune(0); r < rune(len(foldTable)); r++ {
		f, keep := foldRune(r)
		sf, skeep := foldRuneSlow(r)
		if f != sf && skeep || keep != skeep {
			t.Fatalf("%U: table %U %v, rule %U %v", r, f, keep, sf, skeep)
		}
	}
}

func BenchmarkParseCallNumber(b *testing.B) {
	msg := "Verdiğiniz bilgilere göre çağrı oluşturulmuştur. Çağrı numarası: 43090"
	b.ReportAllocs()
	for b.Loop() {
		if n, ok := ParseCallNumber(msg); !ok || n != "43090" {
			b.Fatal(n)
		}
	}
}
