package server

import (
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// CertReloader serves the certificate in a pair of PEM files and reads
// them again when they change, so that a renewed certificate (a rotated
// Kubernetes secret, say) is used without a restart.
type CertReloader struct {
	certFile, keyFile string
	// OnError, when set, is told of a changed pair that cannot be used.
	OnError func(error)

	mu      sync.Mutex
	cert    *tls.Certificate
	modTime time.Time
	checked time.Time
}

// NewCertReloader reads the pair once, failing when it cannot be used.
func NewCertReloader(certFile, keyFile string) (*CertReloader, error) {
	r := &CertReloader{certFile: certFile, keyFile: keyFile}
	if err := r.load(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *CertReloader) load() error {
	pair, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("TLS certificate %s and key %s: %w", r.certFile,
			r.keyFile, err)
	}
	r.cert = &pair
	r.modTime = r.newest()
	return nil
}

func (r *CertReloader) newest() time.Time {
	var t time.Time
	for _, f := range []string{r.certFile, r.keyFile} {
		if st, err := os.Stat(f); err == nil && st.ModTime().After(t) {
			t = st.ModTime()
		}
	}
	return t
}

// GetCertificate is for tls.Config: it looks at the files at most every
// ten seconds, and keeps the old certificate when a new one is broken.
func (r *CertReloader) GetCertificate(*tls.ClientHelloInfo) (
	*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Since(r.checked) > 10*time.Second {
		r.checked = time.Now()
		if r.newest().After(r.modTime) {
			old := r.cert
			if err := r.load(); err != nil {
				// Keep serving the old one; say so once per change.
				r.cert = old
				r.modTime = r.newest()
				if r.OnError != nil {
					r.OnError(err)
				}
			}
		}
	}
	return r.cert, nil
}

// TLSConfig builds the server's TLS settings: the reloaded certificate
// and, when clientCAFile is set, client certificates checked against it
// when given. Whether one is required is decided per path by
// RequireClientCert: Kubernetes probes cannot present one.
func TLSConfig(r *CertReloader, clientCAFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12,
		GetCertificate: r.GetCertificate}
	if clientCAFile != "" {
		pem, err := os.ReadFile(clientCAFile)
		if err != nil {
			return nil, fmt.Errorf("client CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("client CA file %s holds no PEM "+
				"certificate", clientCAFile)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return cfg, nil
}

// RequireClientCert lets a request to the driver API through only with a
// client certificate that the TLS handshake verified; the management
// endpoints stay open for probes and Prometheus.
func RequireClientCert(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasPrefix(req.URL.Path, "/api/") &&
			(req.TLS == nil || len(req.TLS.VerifiedChains) == 0) {
			writeJSON(w, http.StatusUnauthorized, Error{
				LocalizedMessage: "a client certificate signed by the " +
					"configured CA is required",
				Status: http.StatusUnauthorized})
			return
		}
		next.ServeHTTP(w, req)
	})
}

// ReadToken reads a bearer token from a file, without surrounding space.
func ReadToken(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("API token file: %w", err)
	}
	token := strings.TrimSpace(string(data))
	if token == "" {
		return "", errors.New("API token file " + path + " is empty")
	}
	return token, nil
}

// RequireToken lets a request to the driver API through only with the
// bearer token; the management endpoints (probes, metrics) stay open for
// Kubernetes and Prometheus.
func RequireToken(token string, next http.Handler) http.Handler {
	want := []byte(token)
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !strings.HasPrefix(req.URL.Path, "/api/") {
			next.ServeHTTP(w, req)
			return
		}
		// The scheme's name is case-insensitive (RFC 9110), the token not.
		scheme, got, _ := strings.Cut(req.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") ||
			subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)),
				want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="driver"`)
			writeJSON(w, http.StatusUnauthorized, Error{
				LocalizedMessage: "a valid bearer token is required " +
					"(Authorization: Bearer ...)",
				Status: http.StatusUnauthorized})
			return
		}
		next.ServeHTTP(w, req)
	})
}
