package jobs

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Sealer encrypts job records with AES-256-GCM, so that the credentials a
// job carries never sit on Kafka in clear. The first key seals; every key
// opens, which lets operators rotate keys without losing queued jobs.
type Sealer struct {
	current keyEntry
	byID    map[[8]byte]cipher.AEAD
}

type keyEntry struct {
	id   [8]byte
	aead cipher.AEAD
}

// sealVersion is the first byte of every sealed record.
const sealVersion = 1

// NewSealer makes a Sealer from raw 32-byte keys, the first current.
func NewSealer(keys [][]byte) (*Sealer, error) {
	if len(keys) == 0 {
		return nil, errors.New("no job-queue key")
	}
	s := &Sealer{byID: map[[8]byte]cipher.AEAD{}}
	for i, k := range keys {
		if len(k) != 32 {
			return nil, fmt.Errorf("job-queue key %d is %d bytes, not 32",
				i+1, len(k))
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		e := keyEntry{id: keyID(k), aead: aead}
		if i == 0 {
			s.current = e
		}
		s.byID[e.id] = aead
	}
	return s, nil
}

// keyID names a key without revealing it: the start of its SHA-256.
func keyID(k []byte) [8]byte {
	sum := sha256.Sum256(append([]byte("openstack-driver job key\x00"), k...))
	var id [8]byte
	copy(id[:], sum[:8])
	return id
}

// Seal encrypts plain, bound to the record key aad.
func (s *Sealer) Seal(plain, aad []byte) []byte {
	nonce := make([]byte, s.current.aead.NonceSize())
	_, _ = rand.Read(nonce)
	out := make([]byte, 0, 1+8+len(nonce)+len(plain)+16)
	out = append(out, sealVersion)
	out = append(out, s.current.id[:]...)
	out = append(out, nonce...)
	return s.current.aead.Seal(out, nonce, plain, aad)
}

// ErrUnknownKey is a record sealed with a key this Sealer does not have:
// another replica may have it.
var ErrUnknownKey = errors.New("job record sealed with unknown key")

// Open decrypts a sealed record.
func (s *Sealer) Open(sealed, aad []byte) ([]byte, error) {
	if len(sealed) < 1+8+12+16 || sealed[0] != sealVersion {
		return nil, errors.New("not a sealed job record")
	}
	var id [8]byte
	copy(id[:], sealed[1:9])
	aead, ok := s.byID[id]
	if !ok {
		return nil, fmt.Errorf("%w %x", ErrUnknownKey, id)
	}
	nonce := sealed[9 : 9+aead.NonceSize()]
	plain, err := aead.Open(nil, nonce, sealed[9+aead.NonceSize():], aad)
	if err != nil {
		return nil, errors.New("job record does not open with its key")
	}
	return plain, nil
}

// ReadKeyFile reads base64 keys, one per line; blank lines and lines
// starting with # are skipped.
func ReadKeyFile(path string) ([][]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("job key file: %w", err)
	}
	var keys [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		k, err := base64.StdEncoding.DecodeString(text)
		if err != nil || len(k) != 32 {
			// The line itself is a secret: say where, never what.
			return nil, fmt.Errorf("job key file %s line %d is not the "+
				"base64 text of 32 bytes", path, line)
		}
		keys = append(keys, k)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("job key file %s cannot be read after "+
			"line %d: %w", path, line, err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("job key file %s holds no key", path)
	}
	return keys, nil
}

// EnsureKeyFile gives the keys of path, creating the file with one new
// random key when it does not exist. It is for the embedded broker only;
// with a real broker the key must come from the operator.
func EnsureKeyFile(path string) ([][]byte, bool, error) {
	if _, err := os.Stat(path); err == nil {
		keys, err := ReadKeyFile(path)
		return keys, false, err
	}
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, fmt.Errorf("job key file: %w", err)
	}
	text := base64.StdEncoding.EncodeToString(k) + "\n"
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		return nil, false, fmt.Errorf("job key file: %w", err)
	}
	return [][]byte{k}, true, nil
}
