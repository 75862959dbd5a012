package licrus

import "github.com/kopru/kopru/internal/adapter/licrus/licrustext"

// ParseCallNumber finds the call number in a Licrus message such as "Verdiğiniz bilgilere göre çağrı
// oluşturulmuştur. Çağrı numarası: 43090" (licrustext.ParseCallNumber, the parser both Licrus routes
// share). ok is false when no number follows the phrase; the caller must still treat the call as
// created.
func ParseCallNumber(msg string) (number string, ok bool) { return licrustext.ParseCallNumber(msg) }
