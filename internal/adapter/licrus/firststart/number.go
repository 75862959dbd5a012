package firststart

import "github.com/kopru/kopru/internal/adapter/licrus/licrustext"

// ParseNumbers finds a form number and a call number in a Licrus message (licrustext.ParseNumbers,
// the parser both Licrus routes share). The numbers are returned as written, "" when absent.
func ParseNumbers(msg string) (formNumber, callNumber string) { return licrustext.ParseNumbers(msg) }
