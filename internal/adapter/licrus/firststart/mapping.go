package firststart

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // the appointment is written in Turkish time; scratch images have no zoneinfo
)

// CreateRequest is the body of POST /OperationForms/ServiceForm/Create, as the doc prints it.
type CreateRequest struct {
	AutoClose   bool   `json:"AutoClose"`
	Form        Form   `json:"Form"`
	AuthTicket  string `json:"AuthTicket"`
	AppSource   string `json:"AppSource"`
	AppPlatform int    `json:"AppPlatform"`
	AppCulture  string `json:"AppCulture"`
	Culture     string `json:"Culture"`
}

// Form is the service form.
type Form struct {
	RequestReason               IntRef       `json:"RequestReason"`
	ServiceType                 IntRef       `json:"ServiceType"`
	Description                 string       `json:"Description"`
	AppointmentDateTimeAsString *string      `json:"AppointmentDateTimeAsString"` // "d.M.yyyy HH:mm"; null when the event has none
	Customer                    FormCustomer `json:"Customer"`
	ProductMainGroup            IntRef       `json:"ProductMainGroup"`
	ProductSerialNumber1        string       `json:"ProductSerialNumber1"`
	GasSafeCertificateNumber    string       `json:"GasSafeCertificateNumber"`
}

// IntRef is a reference by numeric id: {"Id": 220}.
type IntRef struct {
	ID int `json:"Id"`
}

// StringRef is a reference by textual id: {"Id": "35"} (cities and districts).
type StringRef struct {
	ID string `json:"Id"`
}

// FormCustomer is the customer of the form.
type FormCustomer struct {
	FirstName    string        `json:"FirstName"`
	LastName     string        `json:"LastName"`
	ContactInfos []ContactInfo `json:"ContactInfos"`
	Addresses    []FormAddress `json:"Addresses"`
}

// ContactInfo is one phone: Prefix is the operator or area code, Content the rest.
type ContactInfo struct {
	Prefix          string `json:"Prefix"`
	Content         string `json:"Content"`
	IsPrimary       bool   `json:"IsPrimary"`
	ContactInfoType IntRef `json:"ContactInfoType"`
}

// FormAddress is the customer's address.
type FormAddress struct {
	IsPrimary        bool      `json:"IsPrimary"`
	City             StringRef `json:"City"`
	District         StringRef `json:"District"`
	NeighborhoodName string    `json:"NeighborhoodName"`
	MainStreet       string    `json:"MainStreet"`
	StreetName       string    `json:"StreetName"`
	Building         string    `json:"Building"`
	ApartmentNo      string    `json:"ApartmentNo"`
	Number           string    `json:"Number"`
	Latitude         *float64  `json:"Latitude"`
	Longitude        *float64  `json:"Longitude"`
}

// AppointmentLayout is Go's spelling of the doc's "d.M.yyyy HH:mm" ("11.2.2025 09:00").
const AppointmentLayout = "2.1.2006 15:04"

// ids are the Licrus ids the resolver found for the names of an event.
type ids struct {
	City, District string
	MainGroup      int
}

// checked is an event whose fields satisfy the route's rules, phones already split.
type checked struct {
	data        Data
	phones      []ContactInfo
	appointment *string
}

// check validates d beyond its schema (the adapter must refuse what it cannot map even if the worker
// skipped validation) and prepares phones and the appointment. Every failure is ClassInvalid.
func check(d Data, cfg Config, loc *time.Location) (checked, error) {
	var missing []string
	need := func(v, field string) {
		if strings.TrimSpace(v) == "" {
			missing = append(missing, field)
		}
	}
	need(d.SerialNumber, "serialNumber")
	need(d.Description, "description")
	need(d.Customer.FirstName, "customer.firstName")
	need(d.Customer.LastName, "customer.lastName")
	if len(d.Customer.Phones) == 0 {
		missing = append(missing, "customer.phones")
	}
	if strings.TrimSpace(d.Customer.Address.City) == "" && strings.TrimSpace(string(d.Customer.Address.CityID)) == "" {
		missing = append(missing, "customer.address.city|cityId")
	}
	if strings.TrimSpace(d.Customer.Address.District) == "" && strings.TrimSpace(string(d.Customer.Address.DistrictID)) == "" {
		missing = append(missing, "customer.address.district|districtId")
	}
	if strings.TrimSpace(d.ProductMainGroup) == "" && strings.TrimSpace(string(d.ProductMainGroupID)) == "" {
		missing = append(missing, "productMainGroup|productMainGroupId")
	}
	need(d.GasSafeCertificateNumber, "gasSafeCertificateNumber")
	if len(missing) > 0 {
		return checked{}, errorInvalid("missing required field(s): %s", strings.Join(missing, ", "))
	}
	if err := checkFormCodes(d, cfg); err != nil {
		return checked{}, err
	}

	c := checked{data: d}
	primary := -1
	for i, p := range d.Customer.Phones {
		field := fmt.Sprintf("customer.phones[%d].number", i)
		if strings.TrimSpace(p.Number) == "" {
			return checked{}, errorInvalid("%s is empty", field)
		}
		ph, err := ParsePhone(field, p.Number)
		if err != nil {
			return checked{}, err
		}
		typ := strings.TrimSpace(string(p.Type))
		if typ == "" {
			// ASSUMPTION: an untyped number is a mobile when its code is an operator's (5xx), else a home line.
			typ = PhoneHome
			if ph.isMobile() {
				typ = PhoneMobile
			}
		}
		id, ok := contactTypeID(cfg, typ)
		if !ok {
			return checked{}, errorInvalid("customer.phones[%d].type %q is not mobile, work or home, nor a configured ContactInfoType id", i, string(p.Type))
		}
		if p.Primary && primary < 0 {
			primary = i
		}
		c.phones = append(c.phones, ContactInfo{Prefix: ph.Prefix, Content: ph.Content, ContactInfoType: IntRef{ID: id}})
	}
	if primary < 0 {
		primary = 0 // no phone marked primary: the first one is
	}
	c.phones[primary].IsPrimary = true // exactly one primary: the first marked

	if a := strings.TrimSpace(d.Appointment); a != "" {
		t, err := time.Parse(time.RFC3339, a)
		if err != nil {
			return checked{}, errorInvalid("appointment %q is not an RFC 3339 time", a)
		}
		s := t.In(loc).Format(AppointmentLayout)
		c.appointment = &s
	}
	if id := strings.TrimSpace(string(d.ProductMainGroupID)); id != "" {
		if n, err := strconv.Atoi(id); err != nil || n <= 0 {
			return checked{}, errorInvalid("productMainGroupId %q is not a positive integer", id)
		}
	}
	return c, nil
}

// build is the pure mapping: a checked event and its resolved ids → the documented body.
func build(c checked, id ids, cfg Config) CreateRequest {
	d := c.data
	a := d.Customer.Address
	return CreateRequest{
		AutoClose: cfg.AutoClose,
		Form: Form{
			RequestReason:               IntRef{ID: cfg.RequestReasonID},
			ServiceType:                 IntRef{ID: cfg.ServiceTypeID},
			Description:                 strings.TrimSpace(d.Description),
			AppointmentDateTimeAsString: c.appointment,
			Customer: FormCustomer{
				FirstName:    strings.TrimSpace(d.Customer.FirstName),
				LastName:     strings.TrimSpace(d.Customer.LastName),
				ContactInfos: c.phones,
				Addresses: []FormAddress{{
					IsPrimary:        true,
					City:             StringRef{ID: id.City},
					District:         StringRef{ID: id.District},
					NeighborhoodName: strings.TrimSpace(a.Neighborhood),
					MainStreet:       strings.TrimSpace(a.MainStreet),
					StreetName:       strings.TrimSpace(a.Street),
					Building:         strings.TrimSpace(a.Building),
					ApartmentNo:      strings.TrimSpace(a.ApartmentNo),
					Number:           strings.TrimSpace(a.Number),
					Latitude:         a.Latitude,
					Longitude:        a.Longitude,
				}},
			},
			ProductMainGroup:         IntRef{ID: id.MainGroup},
			ProductSerialNumber1:     strings.TrimSpace(d.SerialNumber),
			GasSafeCertificateNumber: strings.TrimSpace(d.GasSafeCertificateNumber),
		},
		AuthTicket:  cfg.AuthTicket,
		AppSource:   cfg.AppSource,
		AppPlatform: cfg.AppPlatform,
		AppCulture:  cfg.AppCulture,
		Culture:     cfg.Culture,
	}
}

var locations sync.Map // zone name → *time.Location

func loadLocation(name string) (*time.Location, error) {
	if l, ok := locations.Load(name); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	locations.Store(name, l)
	return l, nil
}
