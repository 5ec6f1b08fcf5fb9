package integration

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// selfSigned writes a certificate for 127.0.0.1 and its key, and gives
// their paths and the certificate itself.
func selfSigned(dir, name string) (string, string, *x509.Certificate) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	Expect(err).NotTo(HaveOccurred())
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:     pkix.Name{CommonName: name},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:   time.Now().Add(-time.Hour),
		NotAfter:    time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth,
			x509.ExtKeyUsageClientAuth},
		IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey,
		key)
	Expect(err).NotTo(HaveOccurred())
	cert, _ := x509.ParseCertificate(der)
	keyDER, err := x509.MarshalECPrivateKey(key)
	Expect(err).NotTo(HaveOccurred())
	certFile := filepath.Join(dir, name+".crt")
	keyFile := filepath.Join(dir, name+".key")
	Expect(os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{
		Type: "CERTIFICATE", Bytes: der}), 0o600)).To(Succeed())
	Expect(os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{
		Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)).To(Succeed())
	return certFile, keyFile, cert
}

var _ = Describe("HTTPS and access", func() {
	It("serves HTTPS, requires the bearer token on the API, checks "+
		"client certificates, and leaves the probes open", func() {
		dir := GinkgoT().TempDir()
		certFile, keyFile, serverCert := selfSigned(dir, "server")
		clientCert, clientKey, clientCA := selfSigned(dir, "client")
		tokenFile := filepath.Join(dir, "token")
		Expect(os.WriteFile(tokenFile, []byte("t0ken-42\n"), 0o600)).
			To(Succeed())

		d, err := env.startDriverProcTLS("https",
			"DRIVER_TLS_CERT_FILE="+certFile,
			"DRIVER_TLS_KEY_FILE="+keyFile,
			"DRIVER_TLS_CLIENT_CA_FILE="+clientCert,
			"DRIVER_API_TOKEN_FILE="+tokenFile,
			"DRIVER_CONSUMER_GROUP=https-group",
			"DRIVER_JOBS_TOPIC=https_jobs")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { _ = d.term() })
		_ = clientCA

		roots := x509.NewCertPool()
		roots.AddCert(serverCert)
		pair, err := tls.LoadX509KeyPair(clientCert, clientKey)
		Expect(err).NotTo(HaveOccurred())
		withCert := &http.Client{Timeout: 10 * time.Second,
			Transport: &http.Transport{TLSClientConfig: &tls.Config{
				RootCAs: roots, Certificates: []tls.Certificate{pair}}}}
		noCert := &http.Client{Timeout: 10 * time.Second,
			Transport: &http.Transport{TLSClientConfig: &tls.Config{
				RootCAs: roots}}}

		ping := func(c *http.Client, token string) (int, error) {
			body, _ := json.Marshal(map[string]any{
				"deploymentLocation": noauthLocation()})
			req, _ := http.NewRequest(http.MethodPost,
				d.url+"/api/os/ping", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := c.Do(req)
			if err != nil {
				return 0, err
			}
			resp.Body.Close()
			return resp.StatusCode, nil
		}
		Expect(ping(withCert, "t0ken-42")).To(Equal(200))
		Expect(ping(withCert, "wrong")).To(Equal(401))
		Expect(ping(withCert, "")).To(Equal(401))
		Expect(ping(noCert, "t0ken-42")).To(Equal(401),
			"a client without a certificate is refused")

		resp, err := noCert.Get(d.url + "/management/live")
		Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(200),
			"probes need neither token nor certificate")
	})
})

// startDriverProcTLS starts a driver process that serves HTTPS; readiness
// is checked over TLS without verifying, as a probe would.
func (e *environment) startDriverProcTLS(name string,
	extra ...string) (*driverProc, error) {
	port := freePort()
	d := &driverProc{name: name,
		url: fmt.Sprintf("https://127.0.0.1:%d", port)}
	d.env = append(e.driverEnv(port), extra...)
	d.insecure = true
	return d, d.start(e.binary())
}
