package leansoft

import "testing"

func TestValidTCKN(t *testing.T) {
	tests := []struct {
		in   string
		want bool
		why  string
	}{
		{"10000000146", true, "odd=2 even=0: d10=14%10=4, d11=(1+1+4)%10=6"},
		{"17291716060", true, "python-stdnum's doc example"},
		{"12346578938", true, "the doc's 123465789 with check digits computed: d10=(26*7-19)%10=3, d11=48%10=8"},
		{"23456789138", true, "odd=21 even=24: d10=123%10=3, d11=48%10=8"},
		{"19090909018", true, "odd=1 even=36: 7-36=-29, d10=1 (mod of a negative), d11=38%10=8"},
		{"12346578901", false, "the doc example's CustomerUserIdentityCardNumber: d10 should be 3"},
		{"11111111111", false, "the doc's placeholder: d11 should be 0"},
		{"10000000147", false, "d11 off by one"},
		{"10000000156", false, "d10 off by one"},
		{"01234567890", false, "first digit 0"},
		{"00000000000", false, "first digit 0"},
		{"1000000014", false, "10 digits"},
		{"100000001460", false, "12 digits"},
		{"1000000014a", false, "a letter"},
		{"", false, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := ValidTCKN(tt.in); got != tt.want {
				t.Errorf("ValidTCKN(%q) = %v, want %v (%s)", tt.in, got, tt.want, tt.why)
			}
		})
	}
}

func TestValidVKN(t *testing.T) {
	tests := []struct {
		in   string
		want bool
		why  string
	}{
		{"4540536920", true, "python-stdnum's doc example"},
		{"1234567890", true, "every (d+9-i)%10 is 0: sum 0, check 0"},
		{"7345123090", true, "p = 3,4,2,1,3,6,3,8,- : sum 30, check 0"},
		{"0000000001", true, "first c is 9, so p=9*512%9=0 counts as 9: sum 49, check 1"},
		{"4540536921", false, "python-stdnum's invalid example"},
		{"7345123091", false, "check digit off by one"},
		{"2222222222", false, "the e-invoice convention for foreign buyers fails the checksum (refused, see RULES.md)"},
		{"454053692", false, "9 digits"},
		{"45405369201", false, "11 digits"},
		{"454053692O", false, "letter O for zero"},
		{"", false, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := ValidVKN(tt.in); got != tt.want {
				t.Errorf("ValidVKN(%q) = %v, want %v (%s)", tt.in, got, tt.want, tt.why)
			}
		})
	}
}

func TestMask(t *testing.T) {
	tests := map[string]string{
		"12345678901": "*********01",
		"4540536921":  "********21",
		"1234":        "****",
		"":            "",
	}
	for in, want := range tests {
		if got := mask(in); got != want {
			t.Errorf("mask(%q) = %q, want %q", in, got, want)
		}
	}
}
