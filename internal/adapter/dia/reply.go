package dia

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/kopru/kopru/internal/adapter"
)

// reply is a DİA answer body. Codes are strings in DİA's JSON; numbers are accepted too.
type reply struct {
	Code   string
	Msg    string
	Key    string
	Result json.RawMessage
}

var errNoCode = errors.New("no DİA code in the answer")

// parseReply reads the body of resp; it fails when there is no JSON object with a code.
func parseReply(resp *adapter.Response) (*reply, error) {
	if resp == nil {
		return nil, errNoCode
	}
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(strings.NewReader(string(resp.Body)))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, err
	}
	r := &reply{Result: raw["result"]}
	r.Code = rawText(raw["code"])
	if !validCode(r.Code) { // a code is 3 digits; anything else is not DİA's answer (and never reaches a header)
		return nil, errNoCode
	}
	r.Msg = rawText(raw["msg"])
	r.Key = rawText(raw["key"])
	return r, nil
}

func validCode(c string) bool {
	if len(c) != 3 {
		return false
	}
	for _, r := range c {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// rawText reads a JSON string or number as text; other JSON is returned compacted; null is "".
func rawText(m json.RawMessage) string {
	if len(m) == 0 {
		return ""
	}
	var v any
	dec := json.NewDecoder(strings.NewReader(string(m)))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return ""
	}
	return flexText(v)
}

func flexText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return strings.TrimSpace(x)
	case json.Number:
		return x.String()
	case float64:
		return fmt.Sprintf("%.0f", x)
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

// sessionInvalid says whether an answer means "log in again": HTTP 401/419, body code 401/419, or
// INVALID_SESSION in msg.
func sessionInvalid(status int, rep *reply, perr error) bool {
	if status == 401 || status == 419 {
		return true
	}
	if perr != nil {
		return false
	}
	return rep.Code == "401" || rep.Code == "419" || strings.Contains(strings.ToUpper(rep.Msg), "INVALID_SESSION")
}

func statusText(code int) string {
	if code == 0 {
		return ""
	}
	return fmt.Sprint(code)
}
