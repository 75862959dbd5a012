package dia

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"

	diasim "github.com/kopru/kopru/internal/sim/dia"
)

// TestDocExamples: the doc's gts_notlar_ekle example written as a service-note.created event with
// DİA's own values (testdata/doc-gts_notlar_ekle.event.json: spentTimeUnit "D", spentTime "15.00"),
// and the same with the unit spelled the ways a producer might, goes to the simulator: the body DİA
// receives is the doc's example input (testdata/doc-gts_notlar_ekle.json, its white space removed)
// byte for byte, and the answer is an outcome with the simulator's key and the doc's message.
func TestDocExamples(t *testing.T) {
	var doc bytes.Buffer
	if err := json.Compact(&doc, readFile(t, filepath.Join("testdata", "doc-gts_notlar_ekle.json"))); err != nil {
		t.Fatal(err)
	}
	var base map[string]any
	if err := json.Unmarshal(readFile(t, filepath.Join("testdata", "doc-gts_notlar_ekle.event.json")), &base); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit map[string]any // fields replaced in the event; nil values delete
	}{
		{"DİA's values", nil},
		{"DİA's code in lower case", map[string]any{"spentTimeUnit": "d"}},
		{"English name", map[string]any{"spentTime": 15, "spentTimeUnit": "minutes"}},
		{"English name in upper case", map[string]any{"spentTimeUnit": "MINUTES"}},
		{"Turkish word", map[string]any{"spentTimeUnit": "Dakika"}},
		{"no unit: minutes", map[string]any{"spentTimeUnit": nil}},
		{"decimal comma", map[string]any{"spentTime": "15,00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := map[string]any{}
			for k, v := range base {
				m[k] = v
			}
			for k, v := range tt.edit {
				if v == nil {
					delete(m, k)
				} else {
					m[k] = v
				}
			}
			e := newEnv(t, nil, nil)
			e.sim.AddRecord(diasim.TableCariKart, map[string]any{"carikartkodu": "0000008", "unvan": "Örnek"})
			res, err := NewServiceNoteTarget(e.sess).Call(context.Background(), req(m))
			if err != nil {
				t.Fatalf("Call: %v", err)
			}
			reqs := e.sim.Requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			if !bytes.Equal(reqs[0].Body, doc.Bytes()) {
				t.Errorf("body is not the doc's, byte for byte:\n got %s\nwant %s", reqs[0].Body, doc.Bytes())
			}
			notes := e.sim.Notes()
			if len(notes) != 1 || res.Fields["key"] != strconv.Itoa(notes[0].Key) ||
				res.Fields["message"] != "[ws] «2017-03-25» tarihli «Görev Notu» eklenmiştir." {
				t.Errorf("outcome %v, notes %+v", res.Fields, notes)
			}
		})
	}
}

// TestDocCustomerCombos: customer.created's recordType in DİA's combo codes and in the English names,
// case ignored, reaches scf_carikart_ekle as the combo code (AL is the doc's default), and the tax office
// as the doc's own filter {"kod": "ÇANKAYA VERGİ DAİRESİ"}; the simulator creates the card.
func TestDocCustomerCombos(t *testing.T) {
	tests := []struct {
		recordType any
		want       string
	}{
		{"AL", "AL"}, {"al", "AL"}, {"buyer", "AL"}, {"Buyer", "AL"}, {1, "AL"},
		{"SAT", "SAT"}, {"seller", "SAT"}, {"2", "SAT"},
		{"AS", "AS"}, {"BOTH", "AS"}, {"A+S", "AS"}, {3, "AS"},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%v", tt.recordType), func(t *testing.T) {
			e := newEnv(t, nil, nil)
			code := fmt.Sprintf("C-%02d", i)
			ev := map[string]any{"customerId": code, "name": "Acme", "recordType": tt.recordType, "currency": "TRY",
				"taxNumber": "1234567890", "taxOffice": "ÇANKAYA VERGİ DAİRESİ",
				"address": map[string]any{"country": "Türkiye", "city": "Ankara", "district": "Çankaya", "neighborhood": "Kızılay"}}
			res, err := NewCustomerTarget(e.sess).Call(context.Background(), req(ev))
			if err != nil {
				t.Fatalf("Call: %v", err)
			}
			var body map[string]map[string]any
			if err := json.Unmarshal(e.sim.Requests()[0].Body, &body); err != nil {
				t.Fatal(err)
			}
			kart := body["scf_carikart_ekle"]["kart"].(map[string]any)
			if kart["carikarttipi"] != tt.want {
				t.Errorf("carikarttipi %v, want %s", kart["carikarttipi"], tt.want)
			}
			if vd, _ := json.Marshal(kart["_key_sis_vergidairesi"]); string(vd) != `{"kod":"ÇANKAYA VERGİ DAİRESİ"}` {
				t.Errorf("_key_sis_vergidairesi %s", vd)
			}
			cards := e.sim.Cards()
			if len(cards) != 1 || res.Fields["key"] != strconv.Itoa(cards[0].Key) || cards[0].Fields["carikarttipi"] != tt.want {
				t.Errorf("outcome %v, cards %+v", res.Fields, cards)
			}
		})
	}
}
