package ledger

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
)

// encode is json.Marshal(e), byte for byte, written by hand for the entries of the hot path (a claim,
// a success): encoding/json reflects over every field, formats each time through MarshalJSON and scans
// the outcome (already compact JSON, as json.Marshal made it in the worker) once more to re-validate
// it. Anything off that path — dead-letter headers, replays, texts that need escaping, unusual times or
// numbers — goes through json.Marshal.
func encode(e Entry) ([]byte, error) {
	if b, ok := appendEntry(make([]byte, 0, 160+len(e.Outcome)+96*len(e.History)), e); ok {
		return b, nil
	}
	return json.Marshal(e)
}

func appendEntry(b []byte, e Entry) ([]byte, bool) {
	if len(e.DLQ) > 0 || len(e.Replays) > 0 || !plain(string(e.State)) || !plain(e.Unresolved) || !compactObject(e.Outcome) {
		return nil, false
	}
	var ok bool
	b = append(b, `{"state":"`...)
	b = append(b, e.State...)
	b = append(b, `","attempts":`...)
	b = strconv.AppendInt(b, int64(e.Attempts), 10)
	b = append(b, `,"startedAt":`...)
	if b, ok = appendTime(b, e.StartedAt); !ok {
		return nil, false
	}
	if len(e.Outcome) > 0 {
		b = append(b, `,"outcome":`...)
		b = append(b, e.Outcome...)
	}
	if e.Uncounted != 0 {
		b = append(b, `,"uncounted":`...)
		b = strconv.AppendInt(b, int64(e.Uncounted), 10)
	}
	if e.Unresolved != "" {
		b = append(b, `,"unresolved":"`...)
		b = append(b, e.Unresolved...)
		b = append(b, '"')
	}
	if len(e.History) > 0 {
		b = append(b, `,"history":[`...)
		for i, a := range e.History {
			if i > 0 {
				b = append(b, ',')
			}
			if b, ok = appendAttempt(b, a); !ok {
				return nil, false
			}
		}
		b = append(b, ']')
	}
	return append(b, '}'), true
}

func appendAttempt(b []byte, a Attempt) ([]byte, bool) {
	if !plain(a.Status) || !plain(a.Class) || !plain(a.Error) {
		return nil, false
	}
	var ok bool
	b = append(b, `{"n":`...)
	b = strconv.AppendInt(b, int64(a.N), 10)
	b = append(b, `,"at":`...)
	if b, ok = appendTime(b, a.At); !ok {
		return nil, false
	}
	b = append(b, `,"durationMs":`...)
	if f := math.Abs(a.DurationMS); f != 0 && (f < 1e-6 || f >= 1e21) || math.IsNaN(a.DurationMS) {
		return nil, false // encoding/json's exponent form, or no JSON at all
	}
	b = strconv.AppendFloat(b, a.DurationMS, 'f', -1, 64)
	if a.Status != "" {
		b = append(b, `,"status":"`...)
		b = append(b, a.Status...)
		b = append(b, '"')
	}
	b = append(b, `,"class":"`...)
	b = append(b, a.Class...)
	b = append(b, '"')
	if a.Error != "" {
		b = append(b, `,"error":"`...)
		b = append(b, a.Error...)
		b = append(b, '"')
	}
	return append(b, '}'), true
}

// appendTime appends t as time.Time.MarshalJSON does, for UTC times of years 0 to 9999.
func appendTime(b []byte, t time.Time) ([]byte, bool) {
	if t.Location() != time.UTC || t.Year() < 0 || t.Year() > 9999 {
		return nil, false
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), true
}

// plain reports whether s is printable ASCII that encoding/json writes as it is (no quote, backslash
// or HTML character to escape).
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}

// compactObject reports whether raw is empty or a JSON object by its ends. Entry.Outcome is the outcome
// envelope as json.Marshal made it in the worker (the only writer; entries read back keep those bytes):
// compact, valid and HTML-escaped already, which encoding/json's re-compacting leaves unchanged — so
// it is copied as it is.
func compactObject(raw json.RawMessage) bool {
	return len(raw) == 0 || raw[0] == '{' && raw[len(raw)-1] == '}'
}
