package discovery_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/gophercloud/gophercloud/v2"
	. "github.com/onsi/gomega"
)

// loadJSON reads a fixture from testdata into a generic value.
func loadJSON(name string) map[string]any {
	data, err := os.ReadFile(filepath.Join("testdata", name))
	Expect(err).NotTo(HaveOccurred())
	var v map[string]any
	Expect(json.Unmarshal(data, &v)).To(Succeed())
	return v
}

// fakeAPI is an httptest server on 127.0.0.1 that records the requests it
// gets, so tests can check which calls discovery made.
type fakeAPI struct {
	server *httptest.Server
	mu     sync.Mutex
	paths  []string
	// failWith, when set, answers every request with that status.
	failWith int
}

func (f *fakeAPI) record(r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.paths = append(f.paths, r.Method+" "+r.URL.RequestURI())
}

// requests returns the requests seen so far.
func (f *fakeAPI) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.paths...)
}

func (f *fakeAPI) close() { f.server.Close() }

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// serviceClient points a gophercloud client at a fake.
func serviceClient(endpoint, resourceBase string) *gophercloud.ServiceClient {
	return &gophercloud.ServiceClient{
		ProviderClient: &gophercloud.ProviderClient{TokenID: "fake-token"},
		Endpoint:       endpoint,
		ResourceBase:   resourceBase,
	}
}

// newNeutron serves GET /v2.0/networks (name and id filters),
// /v2.0/networks/{id} and /v2.0/subnets?network_id= from the fixtures,
// answering unknown ids the way Neutron does.
func newNeutron() *fakeAPI {
	nets := loadJSON("neutron-networks.json")["networks"].([]any)
	subs := loadJSON("neutron-subnets.json")["subnets"].([]any)
	f := &fakeAPI{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2.0/networks", func(w http.ResponseWriter,
		r *http.Request) {
		out := []any{}
		for _, n := range nets {
			if matches(n.(map[string]any), r, "name", "id") {
				out = append(out, n)
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"networks": out})
	})
	mux.HandleFunc("GET /v2.0/networks/{id}", func(w http.ResponseWriter,
		r *http.Request) {
		for _, n := range nets {
			if n.(map[string]any)["id"] == r.PathValue("id") {
				writeJSON(w, http.StatusOK, map[string]any{"network": n})
				return
			}
		}
		writeJSON(w, http.StatusNotFound, map[string]any{
			"NeutronError": map[string]any{
				"type": "NetworkNotFound",
				"message": fmt.Sprintf("Network %s could not be found.",
					r.PathValue("id")),
				"detail": "",
			},
		})
	})
	mux.HandleFunc("GET /v2.0/subnets", func(w http.ResponseWriter,
		r *http.Request) {
		out := []any{}
		for _, s := range subs {
			if matches(s.(map[string]any), r, "network_id") {
				out = append(out, s)
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"subnets": out})
	})
	f.server = httptest.NewServer(f.wrap(mux))
	return f
}

// wrap records each request and applies failWith.
func (f *fakeAPI) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.record(r)
		// No Expect here: this runs on the server's goroutine.
		if r.Header.Get("X-Auth-Token") != "fake-token" {
			writeJSON(w, http.StatusUnauthorized,
				map[string]any{"error": "no token"})
			return
		}
		if f.failWith != 0 {
			writeJSON(w, f.failWith, map[string]any{"error": "injected"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// matches applies exact-match query filters, as Neutron and Heat do.
func matches(obj map[string]any, r *http.Request, fields ...string) bool {
	q := r.URL.Query()
	for _, field := range fields {
		key := field
		if field == "name" && obj["stack_name"] != nil {
			key = "stack_name"
		}
		if want, ok := q[field]; ok && obj[key] != want[0] {
			return false
		}
	}
	return true
}

func (f *fakeAPI) neutronClient() *gophercloud.ServiceClient {
	return serviceClient(f.server.URL+"/", f.server.URL+"/v2.0/")
}

const heatTenant = "7e1c0d9a4b6f4d8e9a2b3c4d5e6f7081"

// newHeat serves Heat's stack list (name and id filters, deleted stacks
// hidden as Heat hides them), GET /stacks/{name}/{id} and its resources.
// Stacks without a detail fixture are answered from their list entry with
// no parameters or outputs.
func newHeat() *fakeAPI {
	listed := loadJSON("heat-stacks.json")["stacks"].([]any)
	details := map[string]any{}
	resources := map[string]any{}
	web := loadJSON("heat-stack-web-app.json")["stack"].(map[string]any)
	details[web["id"].(string)] = web
	resources[web["id"].(string)] =
		loadJSON("heat-resources-web-app.json")["resources"]

	find := func(name, id string) map[string]any {
		for _, s := range listed {
			m := s.(map[string]any)
			if m["id"] == id && m["stack_name"] == name {
				if d, ok := details[id]; ok {
					return d.(map[string]any)
				}
				d := map[string]any{"outputs": []any{},
					"parameters": map[string]any{}}
				for k, v := range m {
					d[k] = v
				}
				return d
			}
		}
		return nil
	}
	notFound := func(w http.ResponseWriter, what string) {
		writeJSON(w, http.StatusNotFound, map[string]any{
			"code": 404, "title": "Not Found",
			"explanation": "The resource could not be found.",
			"error": map[string]any{
				"type": "EntityNotFound", "traceback": nil,
				"message": what + " could not be found.",
			},
		})
	}

	f := &fakeAPI{}
	prefix := "/v1/" + heatTenant
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+prefix+"/stacks", func(w http.ResponseWriter,
		r *http.Request) {
		out := []any{}
		showDeleted := r.URL.Query().Get("show_deleted") == "true"
		for _, s := range listed {
			m := s.(map[string]any)
			if m["stack_status"] == "DELETE_COMPLETE" && !showDeleted {
				continue
			}
			if matches(m, r, "name", "id") {
				out = append(out, s)
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"stacks": out})
	})
	mux.HandleFunc("GET "+prefix+"/stacks/{name}/{id}",
		func(w http.ResponseWriter, r *http.Request) {
			d := find(r.PathValue("name"), r.PathValue("id"))
			if d == nil {
				notFound(w, "The Stack ("+r.PathValue("name")+")")
				return
			}
			writeJSON(w, http.StatusOK, map[string]any{"stack": d})
		})
	mux.HandleFunc("GET "+prefix+"/stacks/{name}/{id}/resources",
		func(w http.ResponseWriter, r *http.Request) {
			if find(r.PathValue("name"), r.PathValue("id")) == nil {
				notFound(w, "The Stack ("+r.PathValue("name")+")")
				return
			}
			res, ok := resources[r.PathValue("id")]
			if !ok {
				res = []any{}
			}
			writeJSON(w, http.StatusOK, map[string]any{"resources": res})
		})
	f.server = httptest.NewServer(f.wrap(mux))
	return f
}

func (f *fakeAPI) heatClient() *gophercloud.ServiceClient {
	return serviceClient(f.server.URL+"/v1/"+heatTenant+"/", "")
}

// countPrefix counts recorded requests starting with prefix.
func countPrefix(reqs []string, prefix string) int {
	n := 0
	for _, r := range reqs {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}
