package firststart

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Data is the data of a first-start.requested v1 event (schemas/first-start.requested.v1.json). Empty
// strings and absent fields mean the same; unknown fields are ignored.
type Data struct {
	SerialNumber             string   `json:"serialNumber"`
	Description              string   `json:"description"`
	Appointment              string   `json:"appointment"` // RFC 3339
	Customer                 Customer `json:"customer"`
	ProductMainGroup         string   `json:"productMainGroup"`
	ProductMainGroupID       ID       `json:"productMainGroupId"`
	GasSafeCertificateNumber string   `json:"gasSafeCertificateNumber"`
	// RequestReason and ServiceType are optional: absent, the configured ids are sent; present, they
	// must name them (the doc's 1 or "first-start", the doc's 32).
	RequestReason ID `json:"requestReason"`
	ServiceType   ID `json:"serviceType"`
}

// Customer is the event's customer block.
type Customer struct {
	FirstName string      `json:"firstName"`
	LastName  string      `json:"lastName"`
	Phones    []PhoneData `json:"phones"`
	Address   Address     `json:"address"`
}

// PhoneData is one phone of the event; Type is mobile, work or home (case ignored) or a Licrus
// ContactInfoType id ("4" or 4, the doc's mobile).
type PhoneData struct {
	Number  string `json:"number"`
	Type    ID     `json:"type"`
	Primary bool   `json:"primary"`
}

// Address is the event's address block: a city and a district, each by name or by Licrus id.
type Address struct {
	City         string   `json:"city"`
	CityID       ID       `json:"cityId"`
	District     string   `json:"district"`
	DistrictID   ID       `json:"districtId"`
	Neighborhood string   `json:"neighborhood"`
	MainStreet   string   `json:"mainStreet"`
	Street       string   `json:"street"`
	Building     string   `json:"building"`
	ApartmentNo  string   `json:"apartmentNo"`
	Number       string   `json:"number"`
	Latitude     *float64 `json:"latitude"`
	Longitude    *float64 `json:"longitude"`
}

// ID is an id that producers may send as a JSON string or number ("35" or 35); it holds the text, ""
// when absent or null.
type ID string

// UnmarshalJSON accepts a string, an integer or null.
func (id *ID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*id = ""
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*id = ID(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("id must be a string or an integer")
	}
	if _, err := strconv.ParseInt(n.String(), 10, 64); err != nil {
		return fmt.Errorf("id %s is not an integer", n)
	}
	*id = ID(n.String())
	return nil
}

// decodeData reads event data; a decode failure is ClassInvalid naming the field when it can.
func decodeData(raw []byte) (Data, error) {
	var d Data
	if err := json.Unmarshal(raw, &d); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return Data{}, errorInvalid("event data: field %s has the wrong type (%s)", te.Field, te.Value)
		}
		return Data{}, errorInvalid("event data is not a first-start.requested object: %v", err)
	}
	return d, nil
}
