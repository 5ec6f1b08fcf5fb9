package resourcepkg_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"runtime"
	"strings"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/tnco-drivers/openstack-driver/resourcepkg"
)

// entry is one member of a zip built by a test.
type entry struct {
	name string
	body string
	mode fs.FileMode // 0 means a regular file (or a folder for "x/")
}

// zipOf builds a zip of the entries, in order.
func zipOf(entries ...entry) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		fh := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		if e.mode != 0 {
			fh.SetMode(e.mode)
		}
		w, err := zw.CreateHeader(fh)
		Expect(err).NotTo(HaveOccurred())
		_, err = w.Write([]byte(e.body))
		Expect(err).NotTo(HaveOccurred())
	}
	Expect(zw.Close()).To(Succeed())
	return buf.Bytes()
}

func b64(raw []byte) string { return base64.StdEncoding.EncodeToString(raw) }

// roomy limits do not get in the way of a test about something else.
var roomy = resourcepkg.Limits{MaxBytes: 1 << 20, MaxEntries: 100}

const heatTemplate = "heat_template_version: 2018-08-31\n"

// bombSize is what the zip bomb unzips to: far beyond any test limit.
const bombSize = 300 << 20

var (
	bombOnce sync.Once
	bombZip  []byte // a zip holding heat.yaml of bombSize zeros
	bombRaw  []byte // the deflated bombSize zeros on their own
)

// zipBomb builds, once, a small zip that unzips to bombSize bytes. It is
// written through streaming writers so that building it stays cheap.
func zipBomb() ([]byte, []byte) {
	bombOnce.Do(func() {
		chunk := make([]byte, 1<<20)

		var zbuf bytes.Buffer
		zw := zip.NewWriter(&zbuf)
		w, err := zw.Create("heat.yaml")
		Expect(err).NotTo(HaveOccurred())
		for written := 0; written < bombSize; written += len(chunk) {
			_, err = w.Write(chunk)
			Expect(err).NotTo(HaveOccurred())
		}
		Expect(zw.Close()).To(Succeed())
		bombZip = zbuf.Bytes()

		var rbuf bytes.Buffer
		fw, err := flate.NewWriter(&rbuf, flate.DefaultCompression)
		Expect(err).NotTo(HaveOccurred())
		for written := 0; written < bombSize; written += len(chunk) {
			_, err = fw.Write(chunk)
			Expect(err).NotTo(HaveOccurred())
		}
		Expect(fw.Close()).To(Succeed())
		bombRaw = rbuf.Bytes()
	})
	return bombZip, bombRaw
}

// allocatedDuring reports how many bytes f allocated.
func allocatedDuring(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// expectRefused checks that err is a package problem mentioning every
// one of the fragments.
func expectRefused(err error, fragments ...string) {
	GinkgoHelper()
	Expect(err).To(HaveOccurred())
	Expect(resourcepkg.IsError(err)).To(BeTrue(),
		"want a *resourcepkg.Error, got %T: %v", err, err)
	Expect(err.Error()).To(HavePrefix("driverFiles: "))
	for _, f := range fragments {
		Expect(err.Error()).To(ContainSubstring(f))
	}
}

var _ = Describe("Reading a resource package's driverFiles", func() {

	Context("when the package is well formed", func() {
		It("unzips the base64 text into files keyed by their path in the zip", func() {
			raw := zipOf(
				entry{name: "heat.yaml", body: heatTemplate},
				entry{name: "files/"},
				entry{name: "files/scripts/"},
				entry{name: "files/scripts/init.sh", body: "#!/bin/sh\necho hi\n"},
			)

			pkg, err := resourcepkg.Decode(b64(raw), roomy)

			Expect(err).NotTo(HaveOccurred())
			Expect(pkg.Files).To(Equal(map[string][]byte{
				"heat.yaml":             []byte(heatTemplate),
				"files/scripts/init.sh": []byte("#!/bin/sh\necho hi\n"),
			}), "folders are not files; only the two files remain")
		})

		It("accepts base64 text wrapped over several lines, with surrounding space", func() {
			text := b64(zipOf(entry{name: "heat.yaml", body: heatTemplate}))
			var wrapped strings.Builder
			wrapped.WriteString("  \n")
			for len(text) > 76 {
				wrapped.WriteString(text[:76] + "\r\n")
				text = text[76:]
			}
			wrapped.WriteString(text + "\n\t")

			pkg, err := resourcepkg.Decode(wrapped.String(), roomy)

			Expect(err).NotTo(HaveOccurred())
			Expect(pkg.Files).To(HaveKeyWithValue("heat.yaml", []byte(heatTemplate)))
		})

		It("treats backslashes in entry names as folder separators", func() {
			raw := zipOf(entry{name: `files\boot.sh`, body: "echo"})

			pkg, err := resourcepkg.Unzip(raw, roomy)

			Expect(err).NotTo(HaveOccurred())
			Expect(pkg.Names()).To(Equal([]string{"files/boot.sh"}))
		})

		It("lists the file paths in sorted order", func() {
			raw := zipOf(
				entry{name: "heat.yaml", body: heatTemplate},
				entry{name: "files/b.txt", body: "b"},
				entry{name: "files/a.txt", body: "a"},
			)

			pkg, err := resourcepkg.Unzip(raw, roomy)

			Expect(err).NotTo(HaveOccurred())
			Expect(pkg.Names()).To(Equal([]string{
				"files/a.txt", "files/b.txt", "heat.yaml"}))
		})
	})

	Context("when the text is not a zip in base64", func() {
		It("refuses empty text, saying a zip was expected", func() {
			_, err := resourcepkg.Decode("  \n ", roomy)
			expectRefused(err, "empty", "base64", "zip")
		})

		It("refuses text that is not base64", func() {
			_, err := resourcepkg.Decode("this is *not* base64!", roomy)
			expectRefused(err, "not valid base64")
		})

		It("refuses base64 of something that is not a zip", func() {
			_, err := resourcepkg.Decode(b64([]byte("heat_template_version: 2018-08-31")), roomy)
			expectRefused(err, "not a zip archive")
		})
	})

	Context("when an entry could escape the package or is not a plain file", func() {
		DescribeTable("refuses an entry that leaves the package root",
			func(name string) {
				raw := zipOf(
					entry{name: "heat.yaml", body: heatTemplate},
					entry{name: name, body: "pwned"},
				)
				_, err := resourcepkg.Unzip(raw, roomy)
				expectRefused(err, "leaves the package root")
			},
			Entry("../ at the start", "../evil.sh"),
			Entry("../ in the middle", "files/../../evil.sh"),
			Entry("a bare ..", "files/.."),
			Entry("..\\ with Windows separators", `..\evil.sh`),
		)

		DescribeTable("refuses an entry with an absolute path",
			func(name string) {
				raw := zipOf(entry{name: name, body: "pwned"})
				_, err := resourcepkg.Unzip(raw, roomy)
				expectRefused(err, "absolute path")
			},
			Entry("a Unix root", "/etc/cron.d/evil"),
			Entry("a Windows root", `\Windows\evil.bat`),
			Entry("a Windows drive", `C:\evil.bat`),
			Entry("a lower-case Windows drive", "c:/evil.bat"),
		)

		It("refuses a symbolic link", func() {
			raw := zipOf(
				entry{name: "heat.yaml", body: heatTemplate},
				entry{name: "files/passwd", body: "/etc/passwd", mode: fs.ModeSymlink | 0o777},
			)

			_, err := resourcepkg.Unzip(raw, roomy)

			expectRefused(err, "files/passwd", "symbolic link")
		})

		It("refuses an entry that is neither a file nor a folder", func() {
			raw := zipOf(entry{name: "files/fifo", mode: fs.ModeNamedPipe | 0o644})

			_, err := resourcepkg.Unzip(raw, roomy)

			expectRefused(err, "files/fifo", "not a regular file")
		})

		It("refuses an entry name that is not UTF-8", func() {
			raw := zipOf(entry{name: "files/caf\xe9.txt", body: "latin-1 name"})

			_, err := resourcepkg.Unzip(raw, roomy)

			expectRefused(err, "not UTF-8")
		})

		It("refuses a file that appears twice", func() {
			raw := zipOf(
				entry{name: "heat.yaml", body: heatTemplate},
				entry{name: "heat.yaml", body: "a second template"},
			)

			_, err := resourcepkg.Unzip(raw, roomy)

			expectRefused(err, `"heat.yaml"`, "twice")
		})
	})

	Context("when the package is larger than the limits", func() {
		It("refuses more entries than the limit, counting folders as entries", func() {
			raw := zipOf(
				entry{name: "files/"},
				entry{name: "files/a.txt", body: "a"},
				entry{name: "files/b.txt", body: "b"},
				entry{name: "heat.yaml", body: heatTemplate},
			)

			_, err := resourcepkg.Unzip(raw, resourcepkg.Limits{MaxBytes: 1 << 20, MaxEntries: 3})

			expectRefused(err, "4 entries", "limit of 3")
		})

		It("accepts exactly the limit of entries", func() {
			raw := zipOf(
				entry{name: "files/"},
				entry{name: "files/a.txt", body: "a"},
				entry{name: "heat.yaml", body: heatTemplate},
			)

			pkg, err := resourcepkg.Unzip(raw, resourcepkg.Limits{MaxBytes: 1 << 20, MaxEntries: 3})

			Expect(err).NotTo(HaveOccurred())
			Expect(pkg.Files).To(HaveLen(2))
		})

		It("refuses files whose sizes add up to more than the limit", func() {
			raw := zipOf(
				entry{name: "a.txt", body: "12345"},
				entry{name: "b.txt", body: "123456"},
			)

			_, err := resourcepkg.Unzip(raw, resourcepkg.Limits{MaxBytes: 10, MaxEntries: 10})

			expectRefused(err, "limit of 10 bytes")
		})

		It("accepts files whose sizes add up to exactly the limit", func() {
			raw := zipOf(
				entry{name: "a.txt", body: "12345"},
				entry{name: "b.txt", body: "67890"},
			)

			pkg, err := resourcepkg.Unzip(raw, resourcepkg.Limits{MaxBytes: 10, MaxEntries: 10})

			Expect(err).NotTo(HaveOccurred())
			Expect(pkg.Files).To(HaveKeyWithValue("b.txt", []byte("67890")))
		})

		It("stops a zip bomb while inflating it, without unzipping all of it", func() {
			bomb, _ := zipBomb()
			Expect(len(bomb)).To(BeNumerically("<", 2<<20),
				"the bomb is small on the wire")
			lim := resourcepkg.Limits{MaxBytes: 1 << 20, MaxEntries: 10}

			var err error
			allocated := allocatedDuring(func() {
				_, err = resourcepkg.Decode(b64(bomb), lim)
			})

			expectRefused(err, "more than the limit of 1048576 bytes")
			Expect(allocated).To(BeNumerically("<", 64<<20),
				"reading should stop near the 1 MiB limit, not inflate 300 MB")
		})

		It("stops a zip bomb whose headers understate its size", func() {
			_, deflated := zipBomb()
			var buf bytes.Buffer
			zw := zip.NewWriter(&buf)
			w, err := zw.CreateRaw(&zip.FileHeader{
				Name:               "heat.yaml",
				Method:             zip.Deflate,
				CRC32:              crc32.ChecksumIEEE([]byte("small")),
				CompressedSize64:   uint64(len(deflated)),
				UncompressedSize64: 5,
			})
			Expect(err).NotTo(HaveOccurred())
			_, err = w.Write(deflated)
			Expect(err).NotTo(HaveOccurred())
			Expect(zw.Close()).To(Succeed())
			lim := resourcepkg.Limits{MaxBytes: 1 << 20, MaxEntries: 10}

			var pkg *resourcepkg.Package
			allocated := allocatedDuring(func() {
				pkg, err = resourcepkg.Unzip(buf.Bytes(), lim)
			})

			expectRefused(err, "heat.yaml")
			Expect(pkg).To(BeNil())
			Expect(allocated).To(BeNumerically("<", 64<<20))
		})
	})
})

var _ = Describe("Finding files in a package", func() {
	var pkg *resourcepkg.Package

	BeforeEach(func() {
		var err error
		pkg, err = resourcepkg.Unzip(zipOf(
			entry{name: "heat.yml", body: "from heat.yml"},
			entry{name: "files/init.sh", body: "init"},
			entry{name: "files/conf/app.ini", body: "ini"},
			entry{name: "files-old/stale.sh", body: "stale"},
			entry{name: "other/files/nested.sh", body: "nested"},
		), roomy)
		Expect(err).NotTo(HaveOccurred())
	})

	It("gives the files under files/ keyed relative to files/, as Heat's files map wants", func() {
		Expect(pkg.Under("files")).To(Equal(map[string]string{
			"init.sh":      "init",
			"conf/app.ini": "ini",
		}))
	})

	It("gives the same files when the folder is named with a trailing slash", func() {
		Expect(pkg.Under("files/")).To(Equal(pkg.Under("files")))
	})

	It("gives an empty map for a folder the package does not have", func() {
		Expect(pkg.Under("templates")).To(BeEmpty())
	})

	It("picks heat.yml when the package has no heat.yaml", func() {
		name, data, ok := pkg.File("heat.yaml", "heat.yml")

		Expect(ok).To(BeTrue())
		Expect(name).To(Equal("heat.yml"))
		Expect(string(data)).To(Equal("from heat.yml"))
	})

	It("prefers heat.yaml when the package has both", func() {
		both, err := resourcepkg.Unzip(zipOf(
			entry{name: "heat.yml", body: "from heat.yml"},
			entry{name: "heat.yaml", body: "from heat.yaml"},
		), roomy)
		Expect(err).NotTo(HaveOccurred())

		name, data, ok := both.File("heat.yaml", "heat.yml")

		Expect(ok).To(BeTrue())
		Expect(name).To(Equal("heat.yaml"))
		Expect(string(data)).To(Equal("from heat.yaml"))
	})

	It("reports when the package has none of the names", func() {
		name, data, ok := pkg.File("heat.yaml", "template.yaml")

		Expect(ok).To(BeFalse())
		Expect(name).To(BeEmpty())
		Expect(data).To(BeNil())
	})
})

var _ = Describe("Telling package problems from other errors", func() {
	It("recognises a package problem, even when wrapped", func() {
		_, err := resourcepkg.Decode("", roomy)
		Expect(err).To(HaveOccurred())

		Expect(resourcepkg.IsError(fmt.Errorf("execute: %w", err))).To(BeTrue())
	})

	It("does not take another error for a package problem", func() {
		Expect(resourcepkg.IsError(errors.New("driverFiles: lookalike"))).To(BeFalse())
		Expect(resourcepkg.IsError(nil)).To(BeFalse())
	})
})
