package leansoft

// Body is the CustomerSave request body, {"Customer":{…}}.
type Body struct {
	Customer Customer `json:"Customer"`
}

// Customer is the Customer object of CustomerSave, field for field as the vendor doc names them and in
// its order. Empty optional fields are omitted.
//
// Wire types follow the doc's example request where it and the doc's table disagree:
// CustomerOrganizationType is sent as a string of one digit ("0"–"8") and CustomerCurrencyCode as a
// string ("TRY"), although the table says integer for both. CustomerRecordType and the numeric user
// fields are JSON numbers, as in the example.
type Customer struct {
	CustomerName                            string         `json:"CustomerName"`
	CustomerRecordType                      int            `json:"CustomerRecordType"`
	CustomerOrganizationType                string         `json:"CustomerOrganizationType,omitempty"`
	CustomerReferenceGroupCode              string         `json:"CustomerReferenceGroupCode"`
	CustomerCurrencyCode                    string         `json:"CustomerCurrencyCode"`
	CustomerCountryName                     string         `json:"CustomerCountryName"`
	CustomerCityName                        string         `json:"CustomerCityName"`
	CustomerDistrictName                    string         `json:"CustomerDistrictName"`
	CustomerNeighborhood                    string         `json:"CustomerNeighborhood"`
	CustomerStreet1                         string         `json:"CustomerStreet1,omitempty"`
	CustomerStreet2                         string         `json:"CustomerStreet2,omitempty"`
	CustomerBuildingName                    string         `json:"CustomerBuildingName,omitempty"`
	CustomerBuildingNumber                  string         `json:"CustomerBuildingNumber,omitempty"`
	CustomerApartmentNumber                 string         `json:"CustomerApartmentNumber,omitempty"`
	CustomerPostalCode                      string         `json:"CustomerPostalCode,omitempty"`
	CustomerPhone1                          string         `json:"CustomerPhone1,omitempty"`
	CustomerPhone2                          string         `json:"CustomerPhone2,omitempty"`
	CustomerEmail                           string         `json:"CustomerEmail,omitempty"`
	CustomerTaxNo                           string         `json:"CustomerTaxNo"`
	CustomerTaxOffice                       string         `json:"CustomerTaxOffice,omitempty"`
	CustomerElectronicArchiveBillEmail      string         `json:"CustomerElectronicArchiveBillEmail,omitempty"`
	CustomerUserText1                       string         `json:"CustomerUserText1,omitempty"`
	CustomerUserText2                       string         `json:"CustomerUserText2,omitempty"`
	CustomerUserText3                       string         `json:"CustomerUserText3,omitempty"`
	CustomerUserNumeric1                    *int64         `json:"CustomerUserNumeric1,omitempty"`
	CustomerUserNumeric2                    *int64         `json:"CustomerUserNumeric2,omitempty"`
	CustomerUserNumeric3                    *int64         `json:"CustomerUserNumeric3,omitempty"`
	CustomerIntegrationCompanyCode          string         `json:"CustomerIntegrationCompanyCode,omitempty"`
	CustomerTradeRegistrationNumber         string         `json:"CustomerTradeRegistrationNumber,omitempty"`
	CustomerCentralRegistrationSystemNumber string         `json:"CustomerCentralRegistrationSystemNumber,omitempty"`
	CustomerChamberRegistrationNumber       string         `json:"CustomerChamberRegistrationNumber,omitempty"`
	CustomerBranchCode                      string         `json:"CustomerBranchCode,omitempty"`
	CustomerUsers                           []CustomerUser `json:"CustomerUsers,omitempty"`
}

// CustomerUser is one element of CustomerUsers.
type CustomerUser struct {
	CustomerUserName                 string `json:"CustomerUserName"`
	CustomerUserSurname              string `json:"CustomerUserSurname"`
	CustomerUserPosition             string `json:"CustomerUserPosition,omitempty"`
	CustomerUserIdentityCardNumber   string `json:"CustomerUserIdentityCardNumber"`
	CustomerUserEmail                string `json:"CustomerUserEmail,omitempty"`
	CustomerUserCellPhone            string `json:"CustomerUserCellPhone,omitempty"`
	CustomerUserPhone                string `json:"CustomerUserPhone,omitempty"`
	CustomerUserInternalNumber       string `json:"CustomerUserInternalNumber,omitempty"`
	CustomerUserDepartmentName       string `json:"CustomerUserDepartmentName,omitempty"`
	CustomerUserDrivingLicenseNumber string `json:"CustomerUserDrivingLicenseNumber,omitempty"`
	CustomerUserText1                string `json:"CustomerUserText1,omitempty"`
	CustomerUserText2                string `json:"CustomerUserText2,omitempty"`
	CustomerUserText3                string `json:"CustomerUserText3,omitempty"`
	CustomerUserNumeric1             *int64 `json:"CustomerUserNumeric1,omitempty"`
	CustomerUserNumeric2             *int64 `json:"CustomerUserNumeric2,omitempty"`
	CustomerUserNumeric3             *int64 `json:"CustomerUserNumeric3,omitempty"`
	CustomerUserExplanation          string `json:"CustomerUserExplanation,omitempty"`
}
