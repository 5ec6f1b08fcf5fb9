package simcloud

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/tnco-drivers/openstack-driver/bench/calls"
)

// routes wires Keystone and Heat; every call is counted by kind first.
func (c *Cloud) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v3/auth/tokens", c.issueToken)
	mux.HandleFunc("GET /v3/auth/tokens", c.validateToken)
	mux.HandleFunc("HEAD /v3/auth/tokens", c.validateToken)
	mux.HandleFunc("GET /v3", c.versionV3)
	mux.HandleFunc("GET /v3/{$}", c.versionV3)

	h := "/heat/v1/{project}/stacks"
	mux.HandleFunc("POST "+h, c.heat(c.createStack))
	mux.HandleFunc("GET "+h, c.heat(c.listStacks))
	mux.HandleFunc("GET "+h+"/{ident}", c.heat(c.lookupStack))
	mux.HandleFunc("GET "+h+"/{ident}/resources", c.heat(c.lookupStack))
	mux.HandleFunc("GET "+h+"/{name}/{id}", c.heat(c.showStack))
	mux.HandleFunc("DELETE "+h+"/{name}/{id}", c.heat(c.deleteStack))
	mux.HandleFunc("GET "+h+"/{name}/{id}/resources",
		c.heat(c.listResources))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		heatError(w, http.StatusNotFound, "NotFound",
			"The resource could not be found.")
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.URL.Path) >= 5 && r.URL.Path[:5] == "/heat" {
			c.calls.Add(calls.ClassifyHeat(r.Method, r.URL.Path))
		} else {
			c.calls.Add(calls.ClassifyKeystone(r.Method, r.URL.Path))
		}
		mux.ServeHTTP(w, r)
	})
}

type tokenRequest struct {
	Auth struct {
		Identity struct {
			Methods  []string `json:"methods"`
			Password struct {
				User struct {
					ID       string `json:"id"`
					Name     string `json:"name"`
					Password string `json:"password"`
				} `json:"user"`
			} `json:"password"`
		} `json:"identity"`
	} `json:"auth"`
}

func keystoneError(w http.ResponseWriter, code int, title, msg string) {
	writeJSON(w, code, map[string]any{"error": map[string]any{
		"code": code, "title": title, "message": msg}})
}

// issueToken is a password login: a new token scoped to the project,
// with the catalog.
func (c *Cloud) issueToken(w http.ResponseWriter, r *http.Request) {
	time.Sleep(c.cfg.TokenLatency)
	var req tokenRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		keystoneError(w, 400, "Bad Request", "Malformed JSON: "+err.Error())
		return
	}
	u := req.Auth.Identity.Password.User
	if u.Password == "" || (c.cfg.Password != "" &&
		(u.Password != c.cfg.Password ||
			(u.Name != c.cfg.Username && u.ID != c.cfg.Username))) {
		keystoneError(w, 401, "Unauthorized",
			"The request you have made requires authentication.")
		return
	}
	now := time.Now().UTC()
	exp := now.Add(c.cfg.TokenTTL)
	tok := "gAAAAA" + newID() + newID()
	c.mu.Lock()
	c.tokens[tok] = exp
	c.mu.Unlock()

	name := u.Name
	if name == "" {
		name = "demo"
	}
	domain := map[string]any{"id": "default", "name": "Default"}
	endpoint := func(kind, url string) map[string]any {
		var eps []map[string]any
		for _, iface := range []string{"public", "internal", "admin"} {
			eps = append(eps, map[string]any{"id": newID(),
				"interface": iface, "region": "RegionOne",
				"region_id": "RegionOne", "url": url})
		}
		return map[string]any{"id": newID(), "type": kind,
			"name": map[string]string{"orchestration": "heat",
				"identity": "keystone"}[kind], "endpoints": eps}
	}
	body := map[string]any{"token": map[string]any{
		"methods": []string{"password"},
		"user": map[string]any{"domain": domain, "id": "u-" + name,
			"name": name, "password_expires_at": nil},
		"audit_ids":  []string{newID()[:22]},
		"expires_at": exp.Format("2006-01-02T15:04:05.000000Z"),
		"issued_at":  now.Format("2006-01-02T15:04:05.000000Z"),
		"project": map[string]any{"domain": domain,
			"id": c.cfg.ProjectID, "name": c.cfg.ProjectName},
		"is_domain": false,
		"roles": []map[string]any{{"id": "r-member", "name": "member"},
			{"id": "r-hso", "name": "heat_stack_owner"}},
		"catalog": []map[string]any{
			endpoint("orchestration", c.HeatURL()),
			endpoint("identity", c.base+"/v3/"),
		},
	}}
	w.Header().Set("X-Subject-Token", tok)
	writeJSON(w, http.StatusCreated, body)
}

// validateToken answers whether X-Subject-Token is live, as Keystone
// does for services that check tokens.
func (c *Cloud) validateToken(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	exp, ok := c.tokens[r.Header.Get("X-Subject-Token")]
	c.mu.Unlock()
	if !ok || time.Now().After(exp) {
		keystoneError(w, 404, "Not Found", "Could not find token.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"token": map[string]any{
		"expires_at": exp.Format("2006-01-02T15:04:05.000000Z")}})
}

func (c *Cloud) versionV3(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"version": map[string]any{
		"id": "v3.14", "status": "stable",
		"links": []map[string]any{{"rel": "self",
			"href": c.base + "/v3/"}}}})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}
