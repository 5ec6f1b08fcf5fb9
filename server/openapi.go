package server

import (
	"bytes"
	_ "embed" // for the OpenAPI document
	"net/http"
	"strconv"
)

// OpenAPIPath is where the driver serves its OpenAPI document.
const OpenAPIPath = "/api/driver/openapi.yaml"

// openAPIDocument is the OpenAPI 3.0 description of the driver's HTTP API
// and of its Kafka messages (the LifecycleEvent schema).
//
//go:embed openapi.yaml
var openAPIDocument []byte

// OpenAPIDocument gives a copy of the driver's OpenAPI document, in YAML.
func OpenAPIDocument() []byte { return bytes.Clone(openAPIDocument) }

// OpenAPIHandler serves the OpenAPI document as application/yaml. Route it
// for GET at [OpenAPIPath].
func OpenAPIHandler() http.HandlerFunc {
	size := strconv.Itoa(len(openAPIDocument))
	return func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/yaml")
		h.Set("Content-Length", size)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(openAPIDocument)
	}
}
