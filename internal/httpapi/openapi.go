package httpapi

import (
	_ "embed"
	"net/http"
)

// openAPI is a copy of api/openapi.yaml (the source); TestOpenAPICopyIsCurrent keeps them equal.
//
//go:generate cp ../../api/openapi.yaml openapi.yaml
//go:embed openapi.yaml
var openAPI []byte

// RegisterOpenAPI serves the OpenAPI 3 document at GET /v1/openapi.yaml.
func RegisterOpenAPI(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/openapi.yaml", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(openAPI)
	})
}
