// Package leansoft simulates Lean Soft's CustomerSave as its doc describes it
// (api-docs/leansoft-customer-save.txt): POST /api/Definitions/CustomerSave/{CompanyID} with
// {"Customer":{…}}, answered with the envelope {"Result","Message","Item"}. It applies the doc's rules
// (required fields, lengths, forbidden characters in tax and identity numbers, the e-archive e-mail with
// the placeholder tax number) and answers a violation with HTTP 200 and Result:false and a Turkish
// message, as Lean Soft's other services do. It does not check TCKN/VKN checksums: the doc does not say
// Lean Soft does. It records every accepted customer and injects faults on demand.
//
// Where the doc is silent the simulator decides, and says so: a missing or wrong auth header is HTTP
// 401, an unknown CompanyID HTTP 404, a body that is not JSON of the documented types HTTP 400 (each
// with the Result envelope); integer fields accept a JSON number or a string of digits (the doc's own
// example sends CustomerOrganizationType as "0"), text fields must be JSON strings.
package leansoft

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kopru/kopru/internal/sim"
)

// SuccessMessage is the doc's success message.
const SuccessMessage = "Müşteri Başarıyla Aktarılmıştır."

// Int is an integer field. It decodes from a JSON number or a string of digits ("0"), since the doc's
// example sends CustomerOrganizationType as a string although its table says integer.
type Int int64

// UnmarshalJSON implements json.Unmarshaler.
func (n *Int) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		s = strings.TrimSpace(s)
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("not an integer")
	}
	*n = Int(v)
	return nil
}

// Customer is the Customer object of CustomerSave as the simulator decodes it.
type Customer struct {
	CustomerName                            string
	CustomerRecordType                      *Int
	CustomerOrganizationType                *Int
	CustomerReferenceGroupCode              string
	CustomerCurrencyCode                    string
	CustomerCountryName                     string
	CustomerCityName                        string
	CustomerDistrictName                    string
	CustomerNeighborhood                    string
	CustomerStreet1                         string
	CustomerStreet2                         string
	CustomerBuildingName                    string
	CustomerBuildingNumber                  string
	CustomerApartmentNumber                 string
	CustomerPostalCode                      string
	CustomerPhone1                          string
	CustomerPhone2                          string
	CustomerEmail                           string
	CustomerTaxNo                           string
	CustomerTaxOffice                       string
	CustomerElectronicArchiveBillEmail      string
	CustomerUserText1                       string
	CustomerUserText2                       string
	CustomerUserText3                       string
	CustomerUserNumeric1                    *Int
	CustomerUserNumeric2                    *Int
	CustomerUserNumeric3                    *Int
	CustomerIntegrationCompanyCode          string
	CustomerTradeRegistrationNumber         string
	CustomerCentralRegistrationSystemNumber string
	CustomerChamberRegistrationNumber       string
	CustomerBranchCode                      string
	CustomerUsers                           []CustomerUser
}

// CustomerUser is one element of CustomerUsers.
type CustomerUser struct {
	CustomerUserName                 string
	CustomerUserSurname              string
	CustomerUserPosition             string
	CustomerUserIdentityCardNumber   string
	CustomerUserEmail                string
	CustomerUserCellPhone            string
	CustomerUserPhone                string
	CustomerUserInternalNumber       string
	CustomerUserDepartmentName       string
	CustomerUserDrivingLicenseNumber string
	CustomerUserText1                string
	CustomerUserText2                string
	CustomerUserText3                string
	CustomerUserNumeric1             *Int
	CustomerUserNumeric2             *Int
	CustomerUserNumeric3             *Int
	CustomerUserExplanation          string
}

// Record is one accepted CustomerSave call.
type Record struct {
	CustomerID string      // the GUID the simulator answered
	CompanyID  string      // from the path
	Customer   Customer    // the decoded request
	Body       []byte      // the request bytes as received
	Header     http.Header // the request headers (the auth header included)
	At         time.Time
}

// Sim is the Lean Soft simulator. Mount it at the server root: the API lives under /api, so the
// adapter's BaseURL is the server URL + "/api". Safe for concurrent use.
type Sim struct {
	Faults sim.Faults

	companyID  string
	authHeader string
	authValue  string
	mux        *http.ServeMux

	mu       sync.Mutex
	accepted []Record
	requests int
}

// New returns a simulator for one company. When authHeader is not empty every request must carry
// authHeader: authValue, or it is answered 401; with authHeader empty no authentication is asked.
func New(companyID, authHeader, authValue string) *Sim {
	s := &Sim{companyID: companyID, authHeader: authHeader, authValue: authValue, mux: http.NewServeMux()}
	s.mux.HandleFunc("POST /api/Definitions/CustomerSave/{companyID}", s.customerSave)
	return s
}

// ServeHTTP implements http.Handler.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Accepted returns a copy of every accepted customer, in order.
func (s *Sim) Accepted() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Record(nil), s.accepted...)
}

// Count is len(Accepted()).
func (s *Sim) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.accepted)
}

// Requests counts every CustomerSave request that reached the simulator, faults and refusals included.
func (s *Sim) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// envelope is Lean Soft's answer.
type envelope struct {
	Result  bool   `json:"Result"`
	Message string `json:"Message"`
	Item    any    `json:"Item"`
}

type saveItem struct {
	CustomerID string `json:"CustomerID"`
}

func answer(w http.ResponseWriter, status int, e envelope) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(e)
}

func refuse(w http.ResponseWriter, status int, msg string) {
	answer(w, status, envelope{Result: false, Message: msg})
}

const maxBody = 1 << 20

func (s *Sim) customerSave(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	s.mu.Unlock()

	ft := s.Faults.Next()
	if sim.Before(w, r, ft) {
		return
	}
	if s.authHeader != "" && subtle.ConstantTimeCompare([]byte(r.Header.Get(s.authHeader)), []byte(s.authValue)) != 1 {
		refuse(w, http.StatusUnauthorized, "Yetkisiz erişim: kimlik bilgisi eksik ya da hatalı.")
		return
	}
	company := r.PathValue("companyID")
	if company != s.companyID {
		refuse(w, http.StatusNotFound, "Firma bulunamadı.")
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(raw) > maxBody {
		refuse(w, http.StatusBadRequest, "İstek gövdesi okunamadı.")
		return
	}
	var req struct{ Customer *Customer }
	if err := json.Unmarshal(raw, &req); err != nil {
		refuse(w, http.StatusBadRequest, decodeMessage(err))
		return
	}
	if ft.VendorError != "" {
		refuse(w, http.StatusOK, ft.VendorError)
		return
	}
	if req.Customer == nil {
		refuse(w, http.StatusOK, "Customer alanı zorunludur.")
		return
	}
	if msg := Check(req.Customer); msg != "" {
		refuse(w, http.StatusOK, msg)
		return
	}
	rec := Record{CustomerID: newGUID(), CompanyID: company, Customer: *req.Customer, Body: raw, Header: r.Header.Clone(), At: time.Now()}
	s.mu.Lock()
	s.accepted = append(s.accepted, rec)
	s.mu.Unlock()
	if sim.After(w, r, ft) {
		return
	}
	answer(w, http.StatusOK, envelope{Result: true, Message: SuccessMessage, Item: saveItem{CustomerID: rec.CustomerID}})
}

func decodeMessage(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Sprintf("İstek gövdesi okunamadı: %s alanının tipi hatalı.", te.Field)
	}
	return "İstek gövdesi okunamadı: geçerli bir JSON değil."
}

// newGUID returns a random (version 4) GUID in the doc's lower-case form.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
