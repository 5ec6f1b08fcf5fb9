package jobs

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// newKey returns 32 random bytes.
func newKey() []byte {
	k := make([]byte, 32)
	_, err := rand.Read(k)
	Expect(err).NotTo(HaveOccurred())
	return k
}

func mustSealer(keys ...[]byte) *Sealer {
	s, err := NewSealer(keys)
	Expect(err).NotTo(HaveOccurred())
	return s
}

// leaksKey says whether text holds key k in any usual spelling.
func leaksKey(text string, k []byte) bool {
	return strings.Contains(text, base64.StdEncoding.EncodeToString(k)) ||
		strings.Contains(strings.ToLower(text), hex.EncodeToString(k)) ||
		strings.Contains(text, string(k))
}

var _ = Describe("Sealer", func() {
	const secret = `{"username":"admin","password":"s3cr3t-Pa55w0rd!"}`

	It("opens what it sealed, with the same record key", func() {
		s := mustSealer(newKey())
		sealed := s.Seal([]byte(secret), []byte("req-1"))
		Expect(sealed[0]).To(Equal(byte(sealVersion)))
		Expect(sealed).To(HaveLen(1 + 8 + 12 + len(secret) + 16))
		plain, err := s.Open(sealed, []byte("req-1"))
		Expect(err).NotTo(HaveOccurred())
		Expect(string(plain)).To(Equal(secret))
	})

	It("seals an empty payload to a record that opens to an empty payload",
		func() {
			s := mustSealer(newKey())
			sealed := s.Seal(nil, []byte("k"))
			Expect(sealed).NotTo(BeNil())
			plain, err := s.Open(sealed, []byte("k"))
			Expect(err).NotTo(HaveOccurred())
			Expect(plain).To(BeEmpty())
		})

	It("uses a fresh nonce each time", func() {
		s := mustSealer(newKey())
		a := s.Seal([]byte(secret), []byte("k"))
		b := s.Seal([]byte(secret), []byte("k"))
		Expect(a).NotTo(Equal(b))
		Expect(a[9:21]).NotTo(Equal(b[9:21]))
	})

	It("never puts the plaintext on the wire", func() {
		s := mustSealer(newKey())
		sealed := s.Seal([]byte(secret), []byte("req-1"))
		Expect(bytes.Contains(sealed, []byte("s3cr3t-Pa55w0rd!"))).To(BeFalse())
		Expect(bytes.Contains(sealed, []byte("password"))).To(BeFalse())
		Expect(bytes.Contains(sealed, []byte("admin"))).To(BeFalse())
	})

	It("binds a record to its key: another record key does not open it",
		func() {
			s := mustSealer(newKey())
			sealed := s.Seal([]byte(secret), []byte("req-1"))
			plain, err := s.Open(sealed, []byte("req-2"))
			Expect(err).To(MatchError("job record does not open with its key"))
			Expect(plain).To(BeNil())
			_, err = s.Open(sealed, nil)
			Expect(err).To(HaveOccurred())
		})

	It("does not open a record sealed with a key it does not hold", func() {
		k1, k2 := newKey(), newKey()
		sealed := mustSealer(k1).Seal([]byte(secret), []byte("req-1"))
		plain, err := mustSealer(k2).Open(sealed, []byte("req-1"))
		Expect(err).To(HaveOccurred())
		Expect(plain).To(BeNil())
		id := keyID(k1)
		Expect(err.Error()).To(Equal(
			"job record sealed with unknown key " + hex.EncodeToString(id[:])))
		// The message names the key by its id only, never by its bytes.
		Expect(leaksKey(err.Error(), k1)).To(BeFalse())
		Expect(leaksKey(err.Error(), k2)).To(BeFalse())
		Expect(err.Error()).NotTo(ContainSubstring("s3cr3t"))
	})

	It("names keys by an id that is not a prefix of the key", func() {
		k := newKey()
		id := keyID(k)
		Expect(id[:]).NotTo(Equal(k[:8]))
		Expect(keyID(k)).To(Equal(id))
		Expect(keyID(newKey())).NotTo(Equal(id))
	})

	It("opens records sealed with an older key after rotation", func() {
		oldKey, newK := newKey(), newKey()
		before := mustSealer(oldKey)
		sealedOld := before.Seal([]byte(secret), []byte("req-old"))

		after := mustSealer(newK, oldKey)
		plain, err := after.Open(sealedOld, []byte("req-old"))
		Expect(err).NotTo(HaveOccurred())
		Expect(string(plain)).To(Equal(secret))

		// The first key seals from now on.
		sealedNew := after.Seal([]byte("x"), []byte("req-new"))
		newID := keyID(newK)
		Expect(sealedNew[1:9]).To(Equal(newID[:]))
		// ... so a replica still on the old key list cannot open it.
		_, err = before.Open(sealedNew, []byte("req-new"))
		Expect(err).To(MatchError(ContainSubstring("unknown key")))
		// ... and once the old key is retired, old records no longer open.
		_, err = mustSealer(newK).Open(sealedOld, []byte("req-old"))
		Expect(err).To(MatchError(ContainSubstring("unknown key")))
	})

	It("refuses a record with any single byte changed", func() {
		s := mustSealer(newKey())
		sealed := s.Seal([]byte(secret), []byte("req-1"))
		for i := range sealed {
			bad := bytes.Clone(sealed)
			bad[i] ^= 0x01
			plain, err := s.Open(bad, []byte("req-1"))
			Expect(err).To(HaveOccurred(), "byte %d changed", i)
			Expect(plain).To(BeNil(), "byte %d changed", i)
		}
		// The original still opens: Open did not modify it.
		_, err := s.Open(sealed, []byte("req-1"))
		Expect(err).NotTo(HaveOccurred())
	})

	It("refuses truncated, empty and foreign records", func() {
		s := mustSealer(newKey())
		sealed := s.Seal([]byte(secret), []byte("req-1"))
		for _, bad := range [][]byte{nil, {}, {sealVersion},
			sealed[:1+8+12+15], sealed[:len(sealed)-1],
			[]byte(`{"plain":"json record"}`)} {
			_, err := s.Open(bad, []byte("req-1"))
			Expect(err).To(HaveOccurred(), "record %q", bad)
		}
		_, err := s.Open(sealed[:10], []byte("req-1"))
		Expect(err).To(MatchError("not a sealed job record"))
	})

	Describe("NewSealer", func() {
		It("needs at least one key", func() {
			_, err := NewSealer(nil)
			Expect(err).To(MatchError("no job-queue key"))
			_, err = NewSealer([][]byte{})
			Expect(err).To(MatchError("no job-queue key"))
		})

		It("rejects keys that are not 32 bytes, naming which and never what",
			func() {
				short := []byte("0123456789abcdef") // 16 bytes: AES-128
				_, err := NewSealer([][]byte{newKey(), short})
				Expect(err).To(MatchError("job-queue key 2 is 16 bytes, not 32"))
				Expect(err.Error()).NotTo(ContainSubstring("0123456789"))

				for _, n := range []int{0, 1, 24, 31, 33, 64} {
					_, err := NewSealer([][]byte{make([]byte, n)})
					Expect(err).To(HaveOccurred(), "%d bytes", n)
				}
			})

		It("accepts a list of 32-byte keys", func() {
			s, err := NewSealer([][]byte{newKey(), newKey(), newKey()})
			Expect(err).NotTo(HaveOccurred())
			Expect(s.byID).To(HaveLen(3))
		})
	})

	Describe("ReadKeyFile", func() {
		var dir string
		BeforeEach(func() { dir = GinkgoT().TempDir() })

		write := func(name, text string) string {
			p := filepath.Join(dir, name)
			Expect(os.WriteFile(p, []byte(text), 0o600)).To(Succeed())
			return p
		}
		b64 := base64.StdEncoding.EncodeToString

		It("reads keys in order, skipping comments and blank lines", func() {
			k1, k2 := newKey(), newKey()
			p := write("keys", "# job-queue keys, newest first\n\n"+
				"   "+b64(k1)+"  \n"+
				"\t# retired next month\n"+
				b64(k2)+"\r\n\n")
			keys, err := ReadKeyFile(p)
			Expect(err).NotTo(HaveOccurred())
			Expect(keys).To(Equal([][]byte{k1, k2}))
		})

		It("reads the sample file in testdata", func() {
			keys, err := ReadKeyFile(filepath.Join("testdata", "keys.txt"))
			Expect(err).NotTo(HaveOccurred())
			Expect(keys).To(HaveLen(2))
			Expect(keys[0]).To(Equal(bytes.Repeat([]byte{0x01}, 32)))
			Expect(keys[1]).To(Equal(bytes.Repeat([]byte{0x02}, 32)))
			_, err = NewSealer(keys)
			Expect(err).NotTo(HaveOccurred())
		})

		It("names the bad line by number, never by content", func() {
			p := write("keys", "# comment\n"+b64(newKey())+"\n\n"+
				"TOPSECRET-not-base64\n")
			_, err := ReadKeyFile(p)
			Expect(err).To(MatchError(ContainSubstring("line 4 ")))
			Expect(err.Error()).To(ContainSubstring(p))
			Expect(err.Error()).NotTo(ContainSubstring("TOPSECRET"))
		})

		It("refuses valid base64 of the wrong length, without quoting it",
			func() {
				k16 := b64([]byte("0123456789abcdef"))
				p := write("keys", k16+"\n")
				_, err := ReadKeyFile(p)
				Expect(err).To(MatchError(ContainSubstring("line 1 ")))
				Expect(err.Error()).NotTo(ContainSubstring(k16))
				Expect(err.Error()).NotTo(ContainSubstring("0123456789"))
			})

		It("refuses a file with no key", func() {
			p := write("keys", "# nothing yet\n\n")
			_, err := ReadKeyFile(p)
			Expect(err).To(MatchError(ContainSubstring("holds no key")))
			p = write("empty", "")
			_, err = ReadKeyFile(p)
			Expect(err).To(MatchError(ContainSubstring("holds no key")))
		})

		It("reports a missing file", func() {
			_, err := ReadKeyFile(filepath.Join(dir, "absent"))
			Expect(err).To(MatchError(os.ErrNotExist))
			Expect(err.Error()).To(HavePrefix("job key file: "))
		})

		It("does not stop silently at a line too long to scan", func() {
			// A key after an overlong line must not be lost without a word.
			k1, k2 := newKey(), newKey()
			p := write("keys", b64(k1)+"\n"+
				strings.Repeat("A", 70*1024)+"\n"+b64(k2)+"\n")
			keys, err := ReadKeyFile(p)
			Expect(err).To(HaveOccurred(),
				"ReadKeyFile returned %d key(s) and no error", len(keys))
			Expect(err.Error()).NotTo(ContainSubstring("AAAAAAAA"))
		})
	})

	Describe("EnsureKeyFile", func() {
		It("creates a private file with one key, then reads it back", func() {
			dir := GinkgoT().TempDir()
			p := filepath.Join(dir, "state", "jobs", "key")

			keys, created, err := EnsureKeyFile(p)
			Expect(err).NotTo(HaveOccurred())
			Expect(created).To(BeTrue())
			Expect(keys).To(HaveLen(1))
			Expect(keys[0]).To(HaveLen(32))
			Expect(keys[0]).NotTo(Equal(make([]byte, 32)))

			fi, err := os.Stat(p)
			Expect(err).NotTo(HaveOccurred())
			Expect(fi.Mode().Perm()).To(Equal(os.FileMode(0o600)))
			di, err := os.Stat(filepath.Dir(p))
			Expect(err).NotTo(HaveOccurred())
			Expect(di.Mode().Perm()).To(Equal(os.FileMode(0o700)))
			text, err := os.ReadFile(p)
			Expect(err).NotTo(HaveOccurred())
			Expect(string(text)).To(Equal(
				base64.StdEncoding.EncodeToString(keys[0]) + "\n"))

			again, created, err := EnsureKeyFile(p)
			Expect(err).NotTo(HaveOccurred())
			Expect(created).To(BeFalse())
			Expect(again).To(Equal(keys))

			// The key works.
			s := mustSealer(again...)
			plain, err := s.Open(mustSealer(keys...).Seal([]byte("x"),
				[]byte("k")), []byte("k"))
			Expect(err).NotTo(HaveOccurred())
			Expect(string(plain)).To(Equal("x"))
		})

		It("makes a different key each time it creates a file", func() {
			dir := GinkgoT().TempDir()
			a, _, err := EnsureKeyFile(filepath.Join(dir, "a"))
			Expect(err).NotTo(HaveOccurred())
			b, _, err := EnsureKeyFile(filepath.Join(dir, "b"))
			Expect(err).NotTo(HaveOccurred())
			Expect(a[0]).NotTo(Equal(b[0]))
		})

		It("leaves an existing bad file alone and reports it", func() {
			dir := GinkgoT().TempDir()
			p := filepath.Join(dir, "key")
			Expect(os.WriteFile(p, []byte("not a key\n"), 0o600)).To(Succeed())
			keys, created, err := EnsureKeyFile(p)
			Expect(err).To(MatchError(ContainSubstring("line 1 ")))
			Expect(created).To(BeFalse())
			Expect(keys).To(BeNil())
			text, err := os.ReadFile(p)
			Expect(err).NotTo(HaveOccurred())
			Expect(string(text)).To(Equal("not a key\n"))
		})
	})
})
