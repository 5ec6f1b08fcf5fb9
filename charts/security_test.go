package charts_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/tnco-drivers/openstack-driver/config"
	"github.com/tnco-drivers/openstack-driver/kafka"
	"github.com/tnco-drivers/openstack-driver/server"
)

// The Secrets the specs below name. The chart only ever sees these names;
// their contents exist only in the fake kubelet of podFiles.
const (
	apiTLSSecret   = "driver-tls"
	tokenSecret    = "driver-api-token"
	kafkaTLSSecret = "kafka-client-tls"
	saslSecret     = "kafka-sasl-password"
)

// The Secrets' contents, that no rendered object may hold.
const (
	apiToken     = "t0ken-0f-the-driver-api"
	saslPassword = "pa55w0rd-0f-the-kafka-user"
)

// allSecurity switches on every security value at once.
const allSecurity = `
tls: {existingSecret: driver-tls, clientCA: true}
apiToken: {existingSecret: driver-api-token}
kafka:
  tls: {enabled: true, existingSecret: kafka-client-tls, clientCert: true}
  sasl:
    mechanism: SCRAM-SHA-512
    username: openstack-driver
    existingSecret: kafka-sasl-password
serviceMonitor: {enabled: true}
`

// loadDriver runs the driver's own configuration loader as it starts in
// the rendered pod: the ConfigMap's file through DRIVER_CONFIG, and the
// container's environment (the values, not the valueFrom sources).
func loadDriver(m *manifest) *config.Config {
	GinkgoHelper()
	file := filepath.Join(GinkgoT().TempDir(), "driver.yaml")
	Expect(os.WriteFile(file, []byte(driverFile(m)), 0o600)).To(Succeed())
	env := map[string]string{}
	for name, value := range envOf(container(m)) {
		if !strings.HasPrefix(value, "valueFrom: ") {
			env[name] = value
		}
	}
	env["DRIVER_CONFIG"] = file
	c, err := config.Load(nil, func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	return c
}

// mountOf gives the container's mount of the volume called name, or nil.
func mountOf(c map[string]any, name string) map[string]any {
	mounts, _ := c["volumeMounts"].([]any)
	for _, mnt := range mounts {
		if mnt := mnt.(map[string]any); mnt["name"] == name {
			return mnt
		}
	}
	return nil
}

// volumeNames lists the pod's volumes by name.
func volumeNames(m *manifest) []string {
	vols, _ := dig(m.one("Deployment"), "spec", "template", "spec",
		"volumes").([]any)
	var out []string
	for _, v := range vols {
		out = append(out, v.(map[string]any)["name"].(string))
	}
	return out
}

// fromSecret tells which Secret and key the file at file comes from in
// the rendered pod: the volume mounted on its folder must be that
// Secret's, mounted read-only, with an item giving the file its name.
func fromSecret(m *manifest, file string) (secret, key string) {
	GinkgoHelper()
	Expect(file).To(HavePrefix("/"), "an absolute path")
	c := container(m)
	mounts, _ := c["volumeMounts"].([]any)
	for _, mnt := range mounts {
		mnt := mnt.(map[string]any)
		if mnt["mountPath"] != path.Dir(file) {
			continue
		}
		Expect(mnt).To(HaveKeyWithValue("readOnly", true), file)
		Expect(mnt).NotTo(HaveKey("subPath"),
			"a subPath mount never sees a renewed Secret")
		src, ok := volume(m, mnt["name"].(string))["secret"].(map[string]any)
		Expect(ok).To(BeTrue(), "%s comes from a Secret volume", file)
		for _, item := range src["items"].([]any) {
			item := item.(map[string]any)
			if item["path"] == path.Base(file) {
				return src["secretName"].(string), item["key"].(string)
			}
		}
		Fail("no item of the Secret volume is " + file)
	}
	Fail("nothing is mounted at " + path.Dir(file))
	return "", ""
}

// podFiles does what the kubelet would: under a temporary root, it lays
// out every file the container mounts from a Secret, taken from the
// Secrets given (name -> key -> contents). It fails when the pod asks for
// a Secret or a key that is not there, as the pod would not start.
func podFiles(m *manifest, secrets map[string]map[string][]byte) string {
	GinkgoHelper()
	root := GinkgoT().TempDir()
	c := container(m)
	for _, name := range volumeNames(m) {
		src, ok := volume(m, name)["secret"].(map[string]any)
		if !ok {
			continue
		}
		data, ok := secrets[src["secretName"].(string)]
		Expect(ok).To(BeTrue(), "the Secret %s exists", src["secretName"])
		dir := filepath.Join(root, mountPath(c, name))
		Expect(os.MkdirAll(dir, 0o700)).To(Succeed())
		for _, item := range src["items"].([]any) {
			item := item.(map[string]any)
			content, ok := data[item["key"].(string)]
			Expect(ok).To(BeTrue(), "the Secret %s has the key %s",
				src["secretName"], item["key"])
			Expect(os.WriteFile(filepath.Join(dir, item["path"].(string)),
				content, 0o400)).To(Succeed())
		}
	}
	return root
}

// selfSigned makes a certificate and its key, in PEM, good for a CA
// bundle and for a certificate to serve or present.
func selfSigned(name string) (certPEM, keyPEM []byte) {
	GinkgoHelper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	Expect(err).NotTo(HaveOccurred())
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		DNSNames:              []string{name},
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth,
			x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey,
		key)
	Expect(err).NotTo(HaveOccurred())
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	Expect(err).NotTo(HaveOccurred())
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
}

// operatorSecrets are the Secrets an operator would have made for
// allSecurity, with the keys the chart documents.
func operatorSecrets() map[string]map[string][]byte {
	GinkgoHelper()
	apiCert, apiKey := selfSigned(fullname + "." + namespace + ".svc")
	kafkaCert, kafkaKey := selfSigned("openstack-driver")
	return map[string]map[string][]byte{
		"driver-job-keys": {"job-keys": []byte(
			"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n")},
		apiTLSSecret: {"tls.crt": apiCert, "tls.key": apiKey,
			"ca.crt": apiCert},
		tokenSecret:    {"token": []byte(apiToken + "\n")},
		kafkaTLSSecret: {"ca.crt": kafkaCert, "tls.crt": kafkaCert, "tls.key": kafkaKey},
		saslSecret:     {"password": []byte(saslPassword + "\n")},
	}
}

// probes gives the container's three probes by name.
func probes(c map[string]any) map[string]any {
	return map[string]any{"startup": c["startupProbe"],
		"liveness": c["livenessProbe"], "readiness": c["readinessProbe"]}
}

// securityEnv are the variables that carry the chart-owned security
// settings.
var securityEnv = []string{"DRIVER_TLS_CERT_FILE", "DRIVER_TLS_KEY_FILE",
	"DRIVER_TLS_CLIENT_CA_FILE", "DRIVER_API_TOKEN_FILE", "DRIVER_KAFKA_TLS",
	"DRIVER_KAFKA_CA_FILE", "DRIVER_KAFKA_CERT_FILE", "DRIVER_KAFKA_KEY_FILE",
	"DRIVER_KAFKA_SASL_MECHANISM", "DRIVER_KAFKA_SASL_USERNAME",
	"DRIVER_KAFKA_SASL_PASSWORD_FILE"}

var _ = Describe("The chart's security values", func() {

	Context("left at their defaults", func() {
		var m *manifest

		BeforeEach(func() { m = mustRender(required()) })

		It("mounts no other Secret than the job keys' and sets no "+
			"security setting", func() {
			Expect(volumeNames(m)).To(Equal([]string{"config", "job-key",
				"data"}))
			env := envOf(container(m))
			for _, name := range securityEnv {
				Expect(env).NotTo(HaveKey(name))
			}
			c := loadDriver(m)
			Expect(c.TLSCertFile).To(BeEmpty())
			Expect(c.APITokenFile).To(BeEmpty())
			Expect(c.KafkaTLS).To(BeFalse())
			Expect(c.KafkaSASLMechanism).To(BeEmpty())
		})

		It("probes over plain HTTP and gives Brent an http URL", func() {
			for name, p := range probes(container(m)) {
				Expect(dig(p, "httpGet", "scheme")).To(Equal("HTTP"), name)
			}
			Expect(m.notes).To(ContainSubstring(
				"URL:                  http://" + fullname))
			Expect(dig(m.one("Service"), "spec", "ports", 0)).NotTo(
				HaveKey("appProtocol"))
		})

		It("scrapes metrics over plain HTTP", func() {
			sm := mustRender(with("serviceMonitor: {enabled: true}")).
				one("ServiceMonitor")
			ep := dig(sm, "spec", "endpoints", 0)
			Expect(ep).NotTo(HaveKey("scheme"))
			Expect(ep).NotTo(HaveKey("tlsConfig"))
		})
	})

	Context("with tls.existingSecret", func() {
		var m *manifest

		BeforeEach(func() {
			m = mustRender(with("tls: {existingSecret: driver-tls}"))
		})

		It("points tls_cert_file and tls_key_file at tls.crt and tls.key "+
			"of the Secret, mounted read-only", func() {
			c := loadDriver(m)
			secret, key := fromSecret(m, c.TLSCertFile)
			Expect([]string{secret, key}).To(Equal([]string{apiTLSSecret,
				"tls.crt"}))
			secret, key = fromSecret(m, c.TLSKeyFile)
			Expect([]string{secret, key}).To(Equal([]string{apiTLSSecret,
				"tls.key"}))
			Expect(c.TLSClientCAFile).To(BeEmpty())
		})

		It("gives the files to the driver's group only", func() {
			Expect(dig(volume(m, "tls"), "secret", "defaultMode")).To(
				BeNumerically("==", 0o440))
		})

		It("mounts only tls.crt and tls.key: no client CA is asked for",
			func() {
				var keys []any
				for _, item := range dig(volume(m, "tls"), "secret",
					"items").([]any) {
					keys = append(keys, dig(item, "key"))
				}
				Expect(keys).To(ConsistOf("tls.crt", "tls.key"))
			})

		It("switches the three probes to HTTPS, on the same paths and "+
			"port, with no header", func() {
			c := container(m)
			for name, p := range probes(c) {
				Expect(dig(p, "httpGet", "scheme")).To(Equal("HTTPS"), name)
				Expect(dig(p, "httpGet", "port")).To(Equal("http"), name)
				Expect(dig(p, "httpGet")).NotTo(HaveKey("httpHeaders"), name)
			}
			Expect(dig(c, "livenessProbe", "httpGet", "path")).To(
				Equal("/management/live"))
			Expect(dig(c, "readinessProbe", "httpGet", "path")).To(
				Equal("/management/ready"))
		})

		It("gives Brent an https URL and says HTTPS on the Service port",
			func() {
				Expect(m.notes).To(ContainSubstring(
					"URL:                  https://" + fullname))
				Expect(dig(m.one("Service"), "spec", "ports", 0,
					"appProtocol")).To(Equal("https"))
			})

		It("scrapes metrics over HTTPS, checking the certificate against "+
			"ca.crt of the Secret for the Service's name", func() {
			sm := mustRender(with(`
tls: {existingSecret: driver-tls}
serviceMonitor: {enabled: true}
`)).one("ServiceMonitor")
			ep := dig(sm, "spec", "endpoints", 0)
			Expect(dig(ep, "scheme")).To(Equal("https"))
			Expect(dig(ep, "tlsConfig", "insecureSkipVerify")).To(BeFalse())
			Expect(dig(ep, "tlsConfig", "serverName")).To(Equal(
				fullname + "." + namespace + ".svc"))
			Expect(dig(ep, "tlsConfig", "ca", "secret")).To(Equal(
				map[string]any{"name": apiTLSSecret, "key": "ca.crt"}))
		})

		It("asks for client certificates signed by ca.crt of the same "+
			"Secret with tls.clientCA, the probes staying as they are",
			func() {
				m := mustRender(with(
					"tls: {existingSecret: driver-tls, clientCA: true}"))
				c := loadDriver(m)
				secret, key := fromSecret(m, c.TLSClientCAFile)
				Expect([]string{secret, key}).To(Equal([]string{
					apiTLSSecret, "ca.crt"}))
				Expect(c.TLSCertFile).NotTo(BeEmpty())
				for name, p := range probes(container(m)) {
					Expect(dig(p, "httpGet", "scheme")).To(Equal("HTTPS"),
						name)
					Expect(dig(p, "httpGet")).NotTo(HaveKey("httpHeaders"),
						name)
				}
			})
	})

	Context("with apiToken.existingSecret", func() {
		It("points api_token_file at the token key of the Secret, "+
			"mounted read-only", func() {
			m := mustRender(with("apiToken: {existingSecret: driver-api-token}"))
			c := loadDriver(m)
			secret, key := fromSecret(m, c.APITokenFile)
			Expect([]string{secret, key}).To(Equal([]string{tokenSecret,
				"token"}))
			Expect(dig(volume(m, "api-token"), "secret", "defaultMode")).To(
				BeNumerically("==", 0o440))
		})

		It("takes the token from another key when told to", func() {
			m := mustRender(with(
				"apiToken: {existingSecret: driver-api-token, secretKey: bearer}"))
			secret, key := fromSecret(m, loadDriver(m).APITokenFile)
			Expect([]string{secret, key}).To(Equal([]string{tokenSecret,
				"bearer"}))
		})

		It("leaves the probes without a token: the driver does not ask "+
			"for one on /management", func() {
			m := mustRender(with("apiToken: {existingSecret: driver-api-token}"))
			for name, p := range probes(container(m)) {
				Expect(dig(p, "httpGet")).NotTo(HaveKey("httpHeaders"), name)
			}
		})

		It("warns that the token crosses the network in clear without tls",
			func() {
				m := mustRender(with("apiToken: {existingSecret: driver-api-token}"))
				Expect(m.notes).To(ContainSubstring("without tls"))
				m = mustRender(with(`
apiToken: {existingSecret: driver-api-token}
tls: {existingSecret: driver-tls}
`))
				Expect(m.notes).NotTo(ContainSubstring("WARNING"))
			})
	})

	Context("with kafka.tls", func() {
		It("connects over TLS with the image's CAs when no Secret is "+
			"given", func() {
			m := mustRender(with("kafka: {tls: {enabled: true}}"))
			c := loadDriver(m)
			Expect(c.KafkaTLS).To(BeTrue())
			Expect(c.KafkaCAFile).To(BeEmpty())
			Expect(c.KafkaCertFile).To(BeEmpty())
			Expect(volumeNames(m)).NotTo(ContainElement("kafka-tls"))
		})

		It("points kafka_ca_file at ca.crt of the Secret, mounted "+
			"read-only", func() {
			m := mustRender(with(
				"kafka: {tls: {enabled: true, existingSecret: kafka-client-tls}}"))
			c := loadDriver(m)
			Expect(c.KafkaTLS).To(BeTrue())
			secret, key := fromSecret(m, c.KafkaCAFile)
			Expect([]string{secret, key}).To(Equal([]string{kafkaTLSSecret,
				"ca.crt"}))
			Expect(c.KafkaCertFile).To(BeEmpty())
			Expect(c.KafkaKeyFile).To(BeEmpty())
			Expect(dig(volume(m, "kafka-tls"), "secret", "defaultMode")).To(
				BeNumerically("==", 0o440))
		})

		It("presents tls.crt and tls.key of the same Secret with "+
			"kafka.tls.clientCert", func() {
			m := mustRender(with(`kafka: {tls: {enabled: true,
  existingSecret: kafka-client-tls, clientCert: true}}`))
			c := loadDriver(m)
			secret, key := fromSecret(m, c.KafkaCertFile)
			Expect([]string{secret, key}).To(Equal([]string{kafkaTLSSecret,
				"tls.crt"}))
			secret, key = fromSecret(m, c.KafkaKeyFile)
			Expect([]string{secret, key}).To(Equal([]string{kafkaTLSSecret,
				"tls.key"}))
		})
	})

	Context("with kafka.sasl", func() {
		DescribeTable("passes the mechanism and user on and points "+
			"kafka_sasl_password_file at the Secret's password",
			func(mechanism string) {
				m := mustRender(with(`
kafka:
  sasl:
    mechanism: ` + mechanism + `
    username: openstack-driver
    existingSecret: kafka-sasl-password
`))
				c := loadDriver(m)
				Expect(c.KafkaSASLMechanism).To(Equal(mechanism))
				Expect(c.KafkaSASLUsername).To(Equal("openstack-driver"))
				secret, key := fromSecret(m, c.KafkaSASLPassword)
				Expect([]string{secret, key}).To(Equal([]string{saslSecret,
					"password"}))
				Expect(dig(volume(m, "kafka-sasl"), "secret",
					"defaultMode")).To(BeNumerically("==", 0o440))
			},
			Entry("PLAIN", "PLAIN"),
			Entry("SCRAM-SHA-256", "SCRAM-SHA-256"),
			Entry("SCRAM-SHA-512", "SCRAM-SHA-512"),
		)

		It("takes the password from another key when told to", func() {
			m := mustRender(with(`kafka: {sasl: {mechanism: SCRAM-SHA-256,
  username: u, existingSecret: kafka-sasl-password, passwordKey: user.password}}`))
			secret, key := fromSecret(m, loadDriver(m).KafkaSASLPassword)
			Expect([]string{secret, key}).To(Equal([]string{saslSecret,
				"user.password"}))
		})

		It("warns that PLAIN without kafka.tls sends the password in clear",
			func() {
				plain := `kafka: {sasl: {mechanism: PLAIN, username: u,
  existingSecret: kafka-sasl-password}`
				Expect(mustRender(with(plain + "}")).notes).To(
					ContainSubstring("password crosses the network in clear"))
				Expect(mustRender(with(plain + ", tls: {enabled: true}}")).
					notes).NotTo(ContainSubstring("WARNING"))
			})

		DescribeTable("accepts only the mechanisms the driver knows, "+
			"spelt as it documents them",
			func(mechanism string) {
				_, err := render(with(`kafka: {sasl: {mechanism: "` +
					mechanism + `", username: u, existingSecret: s}}`))
				Expect(err).To(MatchError(SatisfyAll(
					ContainSubstring("/kafka/sasl/mechanism"),
					ContainSubstring("SCRAM-SHA-512"))))
			},
			Entry("lower case", "scram-sha-256"),
			Entry("Kerberos", "GSSAPI"),
			Entry("OAuth", "OAUTHBEARER"),
			Entry("SCRAM with SHA-1", "SCRAM-SHA-1"),
		)
	})

	Context("all switched on together", func() {
		var m *manifest

		BeforeEach(func() { m = mustRender(with(allSecurity)) })

		It("gives the driver files it accepts: the HTTPS certificate, the "+
			"client CA, the token, the Kafka TLS and SASL settings",
			func() {
				c := loadDriver(m)
				root := podFiles(m, operatorSecrets())
				at := func(p string) string { return filepath.Join(root, p) }

				certs, err := server.NewCertReloader(at(c.TLSCertFile),
					at(c.TLSKeyFile))
				Expect(err).NotTo(HaveOccurred())
				tlsConfig, err := server.TLSConfig(certs,
					at(c.TLSClientCAFile))
				Expect(err).NotTo(HaveOccurred())
				Expect(tlsConfig.ClientCAs).NotTo(BeNil())

				token, err := server.ReadToken(at(c.APITokenFile))
				Expect(err).NotTo(HaveOccurred())
				Expect(token).To(Equal(apiToken))

				opts, err := kafka.Security{TLS: c.KafkaTLS,
					CAFile: at(c.KafkaCAFile), CertFile: at(c.KafkaCertFile),
					KeyFile: at(c.KafkaKeyFile), Mechanism: c.KafkaSASLMechanism,
					Username:     c.KafkaSASLUsername,
					PasswordFile: at(c.KafkaSASLPassword)}.Options()
				Expect(err).NotTo(HaveOccurred())
				Expect(opts).To(HaveLen(2), "a TLS dialer and SASL")
			})

		It("inlines no secret: no Secret object, no secret in the "+
			"environment, only Secrets' names", func() {
			Expect(m.kinds()).NotTo(ContainElement("Secret"))
			all := strings.Join(m.raw, "\n---\n") + m.notes
			for _, s := range []string{apiToken, saslPassword, "BEGIN",
				"secretKeyRef", "envFrom"} {
				Expect(all).NotTo(ContainSubstring(s))
			}
			// The settings are the environment's; the file has none.
			Expect(driverFile(m)).NotTo(MatchRegexp(
				`(?m)^(tls_|api_token|kafka_(tls|ca|cert|key|sasl))`))
		})

		It("mounts every Secret read-only, whole, for the driver's group "+
			"only", func() {
			c := container(m)
			for _, name := range []string{"job-key", "tls", "api-token",
				"kafka-tls", "kafka-sasl"} {
				mnt := mountOf(c, name)
				Expect(mnt).To(HaveKeyWithValue("readOnly", true), name)
				Expect(mnt).NotTo(HaveKey("subPath"), name)
				Expect(dig(volume(m, name), "secret", "defaultMode")).To(
					BeNumerically("==", 0o440), name)
			}
		})

		It("renders objects whose every field Kubernetes knows", func() {
			Expect(yaml.UnmarshalStrict([]byte(m.rawOf("Deployment")),
				&appsv1.Deployment{})).To(Succeed())
			Expect(yaml.UnmarshalStrict([]byte(m.rawOf("Service")),
				&corev1.Service{})).To(Succeed())
		})

		It("passes helm lint", func() {
			kube, err := common.ParseKubeVersion("v1.30.0")
			Expect(err).NotTo(HaveOccurred())
			res := lint.RunAll(chartDir, with(allSecurity), namespace,
				lint.WithKubeVersion(kube))
			for _, msg := range res.Messages {
				if msg.Severity >= support.WarningSev {
					Fail(msg.Error())
				}
			}
		})
	})

	Context("when the values do not fit together", func() {
		DescribeTable("stops the install and says what to set",
			func(valuesYAML string, want ...string) {
				_, err := render(with(valuesYAML))
				for _, w := range want {
					Expect(err).To(MatchError(ContainSubstring(w)))
				}
			},
			Entry("SASL without the password's Secret",
				"kafka: {sasl: {mechanism: SCRAM-SHA-256, username: u}}",
				"kafka.sasl.existingSecret is empty",
				"create a Secret holding the SASL password",
				"takes no password in its values"),
			Entry("SASL without a user name",
				"kafka: {sasl: {mechanism: PLAIN, existingSecret: s}}",
				"kafka.sasl.username is empty"),
			Entry("a SASL Secret without a mechanism",
				"kafka: {sasl: {username: u, existingSecret: s}}",
				"kafka.sasl.mechanism is empty"),
			Entry("client certificates without HTTPS",
				"tls: {clientCA: true}",
				"tls.clientCA is true but tls.existingSecret is empty"),
			Entry("a Kafka TLS Secret with Kafka TLS off",
				"kafka: {tls: {existingSecret: kafka-client-tls}}",
				"kafka.tls.enabled is false"),
			Entry("a Kafka client certificate without its Secret",
				"kafka: {tls: {enabled: true, clientCert: true}}",
				"kafka.tls.existingSecret is empty"),
		)
	})

	Context("refusing secrets in the values", func() {
		const secret = "s3cr3t-Pa55w0rd"

		DescribeTable("refuses a clear-text secret wherever it is put, "+
			"without repeating it",
			func(valuesYAML string) {
				files, err := render(with(strings.ReplaceAll(valuesYAML,
					"SECRET", secret)))
				Expect(err).To(HaveOccurred())
				Expect(err.Error()).NotTo(ContainSubstring(secret))
				Expect(files).To(BeEmpty())
			},
			Entry("the SASL password", "kafka: {sasl: {password: SECRET}}"),
			Entry("the SASL password beside a mechanism",
				`kafka: {sasl: {mechanism: PLAIN, username: u,
  existingSecret: s, password: SECRET}}`),
			Entry("the SASL password as a file setting",
				"config: {kafka_sasl_password_file: SECRET}"),
			Entry("the SASL password as the driver's field name",
				"config: {kafka_sasl_password: SECRET}"),
			Entry("a Kafka client key", "kafka: {tls: {key: SECRET}}"),
			Entry("a Kafka CA bundle", "kafka: {tls: {ca: SECRET}}"),
			Entry("a password beside the brokers", "kafka: {password: SECRET}"),
			Entry("the API token", "apiToken: {token: SECRET}"),
			Entry("the API token as a value", "apiToken: {value: SECRET}"),
			Entry("the API token as a file setting",
				"config: {api_token_file: SECRET}"),
			Entry("the HTTPS key", "tls: {key: SECRET}"),
			Entry("the HTTPS certificate", "tls: {crt: SECRET}"),
			Entry("the HTTPS key as a file setting",
				"config: {tls_key_file: SECRET}"),
			Entry("a password in the service monitor",
				"serviceMonitor: {basicAuth: {password: SECRET}}"),
			Entry("a password at the top", "password: SECRET"),
			Entry("a password where a Secret's name goes",
				"kafka: {sasl: {existingSecret: 'SECRET'}}"),
			Entry("a private key where a Secret's name goes",
				"tls: {existingSecret: '-----BEGIN PRIVATE KEY----- SECRET'}"),
			Entry("a token where a Secret's name goes",
				"apiToken: {existingSecret: 'Bearer SECRET'}"),
			Entry("a password where a Kafka Secret's name goes",
				"kafka: {tls: {enabled: true, existingSecret: 'SECRET'}}"),
			Entry("a password where a key name goes",
				"apiToken: {existingSecret: t, secretKey: 'SECRET !'}"),
		)

		It("leaves no object of the values schema open to keys it does "+
			"not list, but the Kubernetes objects passed through", func() {
			// Free-form because they are Kubernetes' own objects (or
			// string maps); everything else must list its keys.
			passThrough := []string{"/global", "/resources",
				"/podSecurityContext", "/securityContext", "/updateStrategy",
				"/affinity", "/tolerations/items",
				"/topologySpreadConstraints/items",
				"/networkPolicy/ingressFrom/items",
				"/networkPolicy/egress/items", "/podAnnotations",
				"/podLabels", "/nodeSelector", "/service/annotations",
				"/serviceAccount/annotations", "/serviceMonitor/labels"}
			var schema map[string]any
			data, err := os.ReadFile(filepath.Join(chartDir,
				"values.schema.json"))
			Expect(err).NotTo(HaveOccurred())
			Expect(json.Unmarshal(data, &schema)).To(Succeed())
			var open []string
			var walk func(at string, node map[string]any)
			walk = func(at string, node map[string]any) {
				if node["type"] == "object" &&
					node["additionalProperties"] != false &&
					!slices.Contains(passThrough, at) {
					open = append(open, at)
				}
				props, _ := node["properties"].(map[string]any)
				for name, p := range props {
					walk(at+"/"+name, p.(map[string]any))
				}
				if items, ok := node["items"].(map[string]any); ok {
					walk(at+"/items", items)
				}
			}
			walk("", schema)
			Expect(open).To(BeEmpty(), "objects that take any key")
		})
	})
})
