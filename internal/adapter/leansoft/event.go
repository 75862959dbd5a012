package leansoft

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/kopru/kopru/internal/adapter"
)

// event is the data of customer.created v1 (schemas/customer.created.v1.json).
type event struct {
	CustomerID                      string          `json:"customerId"`
	Name                            string          `json:"name"`
	RecordType                      json.RawMessage `json:"recordType"`
	OrganizationType                json.RawMessage `json:"organizationType"`
	Currency                        string          `json:"currency"`
	TaxNumber                       string          `json:"taxNumber"`
	TaxOffice                       string          `json:"taxOffice"`
	EArchiveEmail                   string          `json:"eArchiveEmail"`
	Email                           string          `json:"email"`
	Phones                          []string        `json:"phones"`
	Address                         eventAddress    `json:"address"`
	ReferenceGroupCode              string          `json:"referenceGroupCode"`
	UserText1                       string          `json:"userText1"`
	UserText2                       string          `json:"userText2"`
	UserText3                       string          `json:"userText3"`
	UserNumeric1                    *int64          `json:"userNumeric1"`
	UserNumeric2                    *int64          `json:"userNumeric2"`
	UserNumeric3                    *int64          `json:"userNumeric3"`
	TradeRegistrationNumber         string          `json:"tradeRegistrationNumber"`
	CentralRegistrationSystemNumber string          `json:"centralRegistrationSystemNumber"`
	ChamberRegistrationNumber       string          `json:"chamberRegistrationNumber"`
	BranchCode                      string          `json:"branchCode"`
	Users                           []eventUser     `json:"users"`
}

type eventAddress struct {
	Country         string `json:"country"`
	City            string `json:"city"`
	District        string `json:"district"`
	Neighborhood    string `json:"neighborhood"`
	Street1         string `json:"street1"`
	Street2         string `json:"street2"`
	BuildingName    string `json:"buildingName"`
	BuildingNumber  string `json:"buildingNumber"`
	ApartmentNumber string `json:"apartmentNumber"`
	PostalCode      string `json:"postalCode"`
}

type eventUser struct {
	FirstName            string `json:"firstName"`
	LastName             string `json:"lastName"`
	Position             string `json:"position"`
	IdentityNumber       string `json:"identityNumber"`
	Email                string `json:"email"`
	CellPhone            string `json:"cellPhone"`
	Phone                string `json:"phone"`
	InternalNumber       string `json:"internalNumber"`
	Department           string `json:"department"`
	DrivingLicenseNumber string `json:"drivingLicenseNumber"`
	UserText1            string `json:"userText1"`
	UserText2            string `json:"userText2"`
	UserText3            string `json:"userText3"`
	UserNumeric1         *int64 `json:"userNumeric1"`
	UserNumeric2         *int64 `json:"userNumeric2"`
	UserNumeric3         *int64 `json:"userNumeric3"`
	Explanation          string `json:"explanation"`
}

// decodeEvent decodes the event data; a malformed document or a field of the wrong JSON type is
// ClassInvalid (the schema should have caught it; Map does not rely on that).
func decodeEvent(data json.RawMessage, ev *event) error {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return adapter.Invalid("customer.created data must be a JSON object")
	}
	if err := json.Unmarshal(trimmed, ev); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			// Field is the JSON path, Value the JSON kind ("number"), never the value itself.
			e := adapter.Invalid("customer.created data: field %s must be a %s, not a %s", te.Field, jsonKind(te.Type.Kind().String()), te.Value)
			e.Err = err
			return e
		}
		var se *json.SyntaxError
		if errors.As(err, &se) {
			e := adapter.Invalid("customer.created data is not valid JSON (offset %d)", se.Offset)
			e.Err = err
			return e
		}
		e := adapter.Invalid("customer.created data cannot be decoded")
		e.Err = err
		return e
	}
	return nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "int", "int64", "int32":
		return "integer"
	case "slice":
		return "array"
	case "struct", "map":
		return "object"
	}
	return goKind
}
