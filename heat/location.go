// Package heat is the driver's way into OpenStack: it reads a deployment
// location, keeps one authenticated client per location, and speaks
// Heat's stack API (create, show, find by name, delete). Errors keep the
// HTTP status and OpenStack's own words so that callers can classify them.
package heat

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Location is a parsed deployment location: where the cloud is and how to
// log in. It holds secrets; its String method shows none of them.
type Location struct {
	// Name is the deployment location's name, for messages.
	Name string
	// APIURL is os_api_url: Keystone's base address, or Heat's own
	// endpoint (with the project) when AuthEnabled is false.
	APIURL string
	// AuthEnabled is false for a cloud without Keystone.
	AuthEnabled bool
	// IdentityURL is Keystone's versioned endpoint (os_api_url plus
	// os_auth_api).
	IdentityURL string

	Username, UserID, Password         string
	UserDomainName, UserDomainID       string
	ProjectName, ProjectID             string
	ProjectDomainName, ProjectDomainID string
	DomainName, DomainID               string
	TrustID                            string
	Unscoped                           bool

	// Region and Interface pick Heat's endpoint from the catalog.
	Region, Interface string

	// TLS is nil unless the location gives a CA bundle or a client
	// certificate.
	TLS *tls.Config

	key string
}

// LocationError is a deployment location that is malformed or incomplete.
type LocationError struct {
	// Property is the property at fault, when there is one.
	Property string
	// Problem says what is wrong; it never holds a secret's value.
	Problem string
}

func (e *LocationError) Error() string {
	if e.Property == "" {
		return "deployment location: " + e.Problem
	}
	return "deployment location property " + e.Property + ": " + e.Problem
}

// ParseLocation reads a deployment location's properties. Values may be
// plain or typed ({"type", "value"}), and booleans may be strings.
func ParseLocation(name string, props map[string]any) (*Location, error) {
	get := func(key string) (string, error) {
		v, ok := props[key]
		if !ok || v == nil {
			return "", nil
		}
		if m, ok := v.(map[string]any); ok {
			if inner, ok := m["value"]; ok {
				v = inner
			}
		}
		switch t := v.(type) {
		case string:
			return strings.TrimSpace(t), nil
		case bool:
			return fmt.Sprint(t), nil
		case json.Number:
			return t.String(), nil
		case float64:
			return fmt.Sprint(t), nil
		}
		return "", &LocationError{Property: key,
			Problem: "must be a string"}
	}
	var firstErr error
	must := func(key string) string {
		v, err := get(key)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return v
	}
	flag := func(key string, def bool) bool {
		v := must(key)
		if v == "" {
			return def
		}
		b, ok := parseBool(v)
		if !ok && firstErr == nil {
			firstErr = &LocationError{Property: key, Problem: fmt.Sprintf(
				"%q is not a boolean; use true or false", v)}
		}
		return b
	}

	loc := &Location{
		Name:              name,
		APIURL:            must("os_api_url"),
		AuthEnabled:       flag("os_auth_enabled", true),
		Username:          must("os_auth_username"),
		UserID:            must("os_auth_user_id"),
		Password:          must("os_auth_password"),
		UserDomainName:    must("os_auth_user_domain_name"),
		UserDomainID:      must("os_auth_user_domain_id"),
		ProjectName:       must("os_auth_project_name"),
		ProjectID:         must("os_auth_project_id"),
		ProjectDomainName: must("os_auth_project_domain_name"),
		ProjectDomainID:   must("os_auth_project_domain_id"),
		DomainName:        must("os_auth_domain_name"),
		DomainID:          must("os_auth_domain_id"),
		TrustID:           must("os_auth_trust_id"),
		Unscoped:          flag("os_auth_unscoped", false),
		Region:            must("os_region_name"),
		Interface:         strings.ToLower(must("os_interface")),
	}
	cacert, cert := must("os_cacert"), must("os_cert")
	key := must("os_key")
	if key == "" {
		key = must("os_keys")
	}
	authAPI := must("os_auth_api")
	if firstErr != nil {
		return nil, firstErr
	}

	if err := loc.checkURL(); err != nil {
		return nil, err
	}
	if loc.AuthEnabled {
		if err := loc.checkAuth(authAPI); err != nil {
			return nil, err
		}
	} else if err := loc.checkHeatURL(); err != nil {
		return nil, err
	}
	switch loc.Interface {
	case "":
		loc.Interface = "public"
	case "public", "internal", "admin":
	default:
		return nil, &LocationError{Property: "os_interface", Problem: fmt.
			Sprintf("%q is not one of public, internal, admin",
				loc.Interface)}
	}
	tlsConfig, err := buildTLS(cacert, cert, key)
	if err != nil {
		return nil, err
	}
	loc.TLS = tlsConfig
	loc.key = fingerprint(props)
	return loc, nil
}

func (loc *Location) checkURL() error {
	if loc.APIURL == "" {
		return &LocationError{Property: "os_api_url", Problem: "missing; " +
			"expected the cloud's address, e.g. http://10.0.0.5:5000"}
	}
	u, err := url.Parse(loc.APIURL)
	if err == nil && u.User != nil {
		return &LocationError{Property: "os_api_url", Problem: "must " +
			"not hold credentials; use the os_auth_* properties"}
	}
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") ||
		u.Hostname() == "" || !validPort(u.Port()) {
		// The address is not quoted back: a malformed one may still
		// carry something secret.
		return &LocationError{Property: "os_api_url", Problem: "is not " +
			"an http or https address with a host, e.g. " +
			"http://10.0.0.5:5000"}
	}
	return nil
}

// validPort accepts no port (the scheme's) or one in 1..65535.
func validPort(p string) bool {
	if p == "" {
		return true
	}
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535
}

// checkHeatURL makes sure that, without Keystone, os_api_url is Heat's
// own endpoint with the project: Heat's API lives under /v1/<project>.
func (loc *Location) checkHeatURL() error {
	u, _ := url.Parse(loc.APIURL)
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) < 2 || parts[len(parts)-2] != "v1" ||
		parts[len(parts)-1] == "" {
		return &LocationError{Property: "os_api_url", Problem: "without " +
			"Keystone (os_auth_enabled false) it must be Heat's endpoint " +
			"with the project, e.g. http://10.0.0.5:8004/v1/admin"}
	}
	return nil
}

func (loc *Location) checkAuth(authAPI string) error {
	if authAPI == "" {
		return &LocationError{Property: "os_auth_api", Problem: "missing; " +
			"expected Keystone's path under os_api_url, e.g. v3 (or set " +
			"os_auth_enabled to false for a cloud without Keystone)"}
	}
	api := strings.Trim(authAPI, "/")
	if strings.Contains(api, "v2.0") {
		return &LocationError{Property: "os_auth_api", Problem: "Keystone " +
			"v2.0 is not supported; use v3"}
	}
	loc.IdentityURL = strings.TrimRight(loc.APIURL, "/") + "/" + api + "/"
	if loc.Username == "" && loc.UserID == "" {
		return &LocationError{Property: "os_auth_username",
			Problem: "missing; give os_auth_username or os_auth_user_id"}
	}
	if loc.Password == "" {
		return &LocationError{Property: "os_auth_password",
			Problem: "missing"}
	}
	if loc.UserID == "" && loc.UserDomainName == "" &&
		loc.UserDomainID == "" {
		return &LocationError{Property: "os_auth_user_domain_name",
			Problem: "missing; a user given by name needs its domain " +
				"(os_auth_user_domain_name or os_auth_user_domain_id)"}
	}
	if loc.ProjectName != "" && loc.ProjectID == "" &&
		loc.ProjectDomainName == "" && loc.ProjectDomainID == "" {
		// Keystone needs the project's domain with a project name;
		// the user's own domain is what operators almost always mean.
		loc.ProjectDomainName = loc.UserDomainName
		loc.ProjectDomainID = loc.UserDomainID
	}
	return nil
}

func buildTLS(cacert, cert, key string) (*tls.Config, error) {
	if cacert == "" && cert == "" && key == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if cacert != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(cacert)) {
			return nil, &LocationError{Property: "os_cacert", Problem: "is " +
				"not PEM text of one or more certificates"}
		}
		cfg.RootCAs = pool
	}
	if (cert == "") != (key == "") {
		return nil, &LocationError{Property: "os_cert", Problem: "a " +
			"client certificate needs both os_cert and os_key"}
	}
	if cert != "" {
		pair, err := tls.X509KeyPair([]byte(cert), []byte(key))
		if err != nil {
			// The parser's words can quote the key; keep them out.
			return nil, &LocationError{Property: "os_cert", Problem: "os_cert " +
				"and os_key are not a matching PEM certificate and key"}
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

func parseBool(v string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "yes", "1", "on":
		return true, true
	case "false", "no", "0", "off":
		return false, true
	}
	return false, false
}

// fingerprint identifies a location by everything that reaches the cloud,
// so that two requests share a client only when URL and credentials match.
func fingerprint(props map[string]any) string {
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		v, _ := json.Marshal(props[k])
		fmt.Fprintf(h, "%q=%s\n", k, v)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Key identifies the location's URL and credentials; it is a hash and
// reveals neither.
func (loc *Location) Key() string { return loc.key }

// String names the location for logs and messages, without secrets.
func (loc *Location) String() string {
	if loc.Name != "" {
		return fmt.Sprintf("%s (%s)", loc.Name, loc.APIURL)
	}
	return loc.APIURL
}
