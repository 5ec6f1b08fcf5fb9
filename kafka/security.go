package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Security is how the driver connects to the brokers: TLS and SASL.
type Security struct {
	TLS bool
	// CAFile, CertFile and KeyFile are PEM files; all optional.
	CAFile, CertFile, KeyFile string
	// Mechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; empty for none.
	Mechanism string
	Username  string
	// PasswordFile holds the SASL password (a mounted secret).
	PasswordFile string
}

// Options turns the settings into franz-go options, reading the files.
func (s Security) Options() ([]kgo.Opt, error) {
	var opts []kgo.Opt
	if s.TLS || s.CAFile != "" || s.CertFile != "" {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if s.CAFile != "" {
			pem, err := os.ReadFile(s.CAFile)
			if err != nil {
				return nil, fmt.Errorf("Kafka CA file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("Kafka CA file %s holds no PEM "+
					"certificate", s.CAFile)
			}
			cfg.RootCAs = pool
		}
		if (s.CertFile == "") != (s.KeyFile == "") {
			return nil, fmt.Errorf("Kafka client certificate needs both " +
				"a certificate and a key file")
		}
		if s.CertFile != "" {
			pair, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("Kafka client certificate: %w", err)
			}
			cfg.Certificates = []tls.Certificate{pair}
		}
		opts = append(opts, kgo.DialTLSConfig(cfg))
	}
	if s.Mechanism == "" {
		return opts, nil
	}
	if s.Username == "" || s.PasswordFile == "" {
		return nil, fmt.Errorf("SASL %s needs a username and a password "+
			"file", s.Mechanism)
	}
	data, err := os.ReadFile(s.PasswordFile)
	if err != nil {
		return nil, fmt.Errorf("Kafka password file: %w", err)
	}
	password := strings.TrimSpace(string(data))
	switch strings.ToUpper(s.Mechanism) {
	case "PLAIN":
		opts = append(opts, kgo.SASL(plain.Auth{User: s.Username,
			Pass: password}.AsMechanism()))
	case "SCRAM-SHA-256":
		opts = append(opts, kgo.SASL(scram.Auth{User: s.Username,
			Pass: password}.AsSha256Mechanism()))
	case "SCRAM-SHA-512":
		opts = append(opts, kgo.SASL(scram.Auth{User: s.Username,
			Pass: password}.AsSha512Mechanism()))
	default:
		return nil, fmt.Errorf("SASL mechanism %q is not one of PLAIN, "+
			"SCRAM-SHA-256, SCRAM-SHA-512", s.Mechanism)
	}
	return opts, nil
}
