package ops

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kopru/kopru/internal/event"
)

// Edit replaces the event of a single dead letter before it is replayed.
type Edit struct {
	Event []byte // the whole edited CloudEvents envelope
	By    string // who edited it (recorded in Kopru-Edited-By and the log)
}

// originalEvent is a dead letter's event as a structured-mode document: its payload, or for a
// binary-mode event (ce-* headers, the data as payload) the two put together, so that an edit is
// compared with the whole event.
func originalEvent(m *jetstream.RawStreamMsg) []byte {
	if !event.IsBinary(m.Header) {
		return m.Data
	}
	env, err := event.DecodeMessage(m.Header, m.Data)
	if err != nil {
		return m.Data
	}
	b, err := env.Marshal()
	if err != nil {
		return m.Data
	}
	return b
}

// checkEdit validates an edited envelope against the dead letter: it must decode, keep the event id
// and type, and its data must satisfy the type's schema. It returns the compacted bytes and the
// changed fields.
func (o *Ops) checkEdit(d DeadLetter, orig, edited []byte) ([]byte, []string, error) {
	env, err := event.Decode(bytes.TrimSpace(edited))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s", ErrEdit, event.Reason(err))
	}
	wantID := d.EventID // the caller set it from the stored event (storedEventID)
	if env.ID != wantID {
		return nil, nil, fmt.Errorf("%w: the event id must stay %q (got %q)", ErrEdit, wantID, env.ID)
	}
	if typ := strings.TrimPrefix(d.OriginalSubject, event.EventsPrefix); env.Type != typ {
		return nil, nil, fmt.Errorf("%w: type %q does not match the original subject %s", ErrEdit, env.Type, d.OriginalSubject)
	}
	if err := o.schemas.Validate(env.Type, env.Data); err != nil {
		var se *event.SchemaError
		if errors.As(err, &se) {
			return nil, nil, fmt.Errorf("%w: %s", ErrEdit, strings.Join(se.Problems, "; "))
		}
		return nil, nil, fmt.Errorf("%w: %s", ErrEdit, event.Reason(err))
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, bytes.TrimSpace(edited)); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrEdit, err)
	}
	fields := Changed(orig, buf.Bytes())
	if len(fields) == 0 {
		return nil, nil, fmt.Errorf("%w: nothing was changed", ErrEdit)
	}
	return buf.Bytes(), fields, nil
}

// Changed lists the JSON paths ("/data/customer/city") whose values differ between a and b. Arrays
// are compared whole. Numbers are compared as written, since the mappings read them that way
// (`2.0` and `1e3` are refused where `2` and `1000` are accepted): `2.0` edited to `2` is a change.
// When a is not JSON it returns ["/"].
func Changed(a, b []byte) []string {
	var va, vb any
	if decodeNumbers(a, &va) != nil || decodeNumbers(b, &vb) != nil {
		return []string{"/"}
	}
	var out []string
	var walk func(path string, x, y any)
	walk = func(path string, x, y any) {
		mx, okx := x.(map[string]any)
		my, oky := y.(map[string]any)
		if okx && oky {
			keys := map[string]bool{}
			for k := range mx {
				keys[k] = true
			}
			for k := range my {
				keys[k] = true
			}
			for k := range keys {
				walk(path+"/"+k, mx[k], my[k])
			}
			return
		}
		if !reflect.DeepEqual(x, y) {
			if path == "" {
				path = "/"
			}
			out = append(out, path)
		}
	}
	walk("", va, vb)
	sort.Strings(out)
	return out
}

// decodeNumbers unmarshals b into v keeping numbers as json.Number (their text).
func decodeNumbers(b []byte, v *any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}
