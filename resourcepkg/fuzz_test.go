package resourcepkg_test

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"errors"
	"io/fs"
	"path"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tnco-drivers/openstack-driver/resourcepkg"
)

// fuzzLimits are small, so that the fuzzer reaches them often.
var fuzzLimits = resourcepkg.Limits{MaxBytes: 4096, MaxEntries: 8}

// fuzzZip builds a zip for the seeds: name, body, and optionally a mode.
func fuzzZip(f *testing.F, method uint16, entries ...any) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := 0; i+1 < len(entries); i += 2 {
		fh := &zip.FileHeader{Name: entries[i].(string), Method: method}
		body := entries[i+1].(string)
		if mode, ok := strings.CutPrefix(body, "mode:"); ok {
			switch mode {
			case "symlink":
				fh.SetMode(fs.ModeSymlink | 0o777)
			case "dir":
				fh.SetMode(fs.ModeDir | 0o755)
			case "fifo":
				fh.SetMode(fs.ModeNamedPipe | 0o644)
			}
			body = "x"
		}
		w, err := zw.CreateHeader(fh)
		if err != nil {
			f.Fatal(err)
		}
		if fh.Mode().IsDir() || strings.HasSuffix(fh.Name, "/") {
			continue
		}
		if _, err := w.Write([]byte(body)); err != nil {
			f.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		f.Fatal(err)
	}
	return buf.Bytes()
}

// FuzzPackage feeds arbitrary bytes to Unzip with small limits. It must
// never panic; an error must be a *resourcepkg.Error (not wrapped, so
// that the server's errors.As and resourcepkg.IsError agree) with no
// package; a package must keep within both limits and hold only clean,
// relative, UTF-8 paths that stay below the root; and Decode of the same
// zip as base64, wrapped over lines or not, must give the same answer.
func FuzzPackage(f *testing.F) {
	heat := "heat_template_version: 2018-08-31\n"
	f.Add(fuzzZip(f, zip.Deflate, "heat.yaml", heat, "files/", "mode:dir",
		"files/a.sh", "#!/bin/sh\n"))
	f.Add(fuzzZip(f, zip.Store, "heat.yaml", heat, "env.yaml", "{}"))
	f.Add(fuzzZip(f, zip.Deflate, "../heat.yaml", heat))
	f.Add(fuzzZip(f, zip.Deflate, "a\\..\\..\\b", heat))
	f.Add(fuzzZip(f, zip.Deflate, "/etc/passwd", "x", "C:/x", "y"))
	f.Add(fuzzZip(f, zip.Deflate, "link", "mode:symlink"))
	f.Add(fuzzZip(f, zip.Deflate, "fifo", "mode:fifo"))
	f.Add(fuzzZip(f, zip.Deflate, "a", "1", "./a", "2"))
	f.Add(fuzzZip(f, zip.Deflate, "\xff\xfe", "x"))
	f.Add(fuzzZip(f, zip.Deflate, "big", strings.Repeat("0", 64<<10)))
	f.Add(fuzzZip(f, zip.Deflate, "1", "a", "2", "b", "3", "c", "4", "d",
		"5", "e", "6", "f", "7", "g", "8", "h", "9", "i"))
	f.Add([]byte("PK\x05\x06" + strings.Repeat("\x00", 18)))
	f.Add([]byte("not a zip"))

	f.Fuzz(func(t *testing.T, raw []byte) {
		pkg, err := resourcepkg.Unzip(raw, fuzzLimits)
		checkUnzipped(t, pkg, err)

		text := base64.StdEncoding.EncodeToString(raw)
		var wrapped strings.Builder
		for len(text) > 76 {
			wrapped.WriteString(text[:76] + "\r\n")
			text = text[76:]
		}
		wrapped.WriteString(text)
		for _, b64 := range []string{
			base64.StdEncoding.EncodeToString(raw), wrapped.String(),
		} {
			again, err2 := resourcepkg.Decode(b64, fuzzLimits)
			if len(raw) == 0 {
				// Empty text is refused before it is unzipped.
				if err2 == nil || !resourcepkg.IsError(err2) {
					t.Fatalf("empty driverFiles: %v", err2)
				}
				continue
			}
			checkUnzipped(t, again, err2)
			if (err == nil) != (err2 == nil) ||
				(err != nil && err.Error() != err2.Error()) {
				t.Fatalf("Unzip says %v, Decode of its base64 says %v",
					err, err2)
			}
			if err == nil && !samePackage(pkg, again) {
				t.Fatalf("Unzip and Decode give different packages: %v, %v",
					pkg.Names(), again.Names())
			}
		}
	})
}

func checkUnzipped(t *testing.T, pkg *resourcepkg.Package, err error) {
	t.Helper()
	if err != nil {
		if _, ok := err.(*resourcepkg.Error); !ok {
			t.Fatalf("error is %T, not *resourcepkg.Error: %v", err, err)
		}
		var pe *resourcepkg.Error
		if !errors.As(err, &pe) || !resourcepkg.IsError(err) {
			t.Fatalf("error %v is not recognised as a package error", err)
		}
		if !strings.HasPrefix(err.Error(), "driverFiles: ") ||
			strings.TrimSpace(pe.Problem) == "" {
			t.Fatalf("error %q does not say what is wrong with driverFiles",
				err)
		}
		if pkg != nil {
			t.Fatalf("a package came with the error %v", err)
		}
		return
	}
	if pkg == nil || pkg.Files == nil {
		t.Fatal("no package and no error")
	}
	if len(pkg.Files) > fuzzLimits.MaxEntries {
		t.Fatalf("%d files, more than the %d entries allowed",
			len(pkg.Files), fuzzLimits.MaxEntries)
	}
	var total int64
	for name, data := range pkg.Files {
		total += int64(len(data))
		switch {
		case !utf8.ValidString(name):
			t.Fatalf("name %q is not UTF-8", name)
		case name == "" || name == "." || path.Clean(name) != name:
			t.Fatalf("name %q is not a clean path", name)
		case strings.HasPrefix(name, "/") || strings.ContainsAny(name, "\\\x00"):
			t.Fatalf("name %q is absolute or holds a backslash or NUL", name)
		case len(name) >= 2 && name[1] == ':':
			t.Fatalf("name %q has a drive letter", name)
		case name == ".." || strings.HasPrefix(name, "../"):
			t.Fatalf("name %q leaves the root", name)
		}
	}
	if total > fuzzLimits.MaxBytes {
		t.Fatalf("%d bytes unzipped, more than the limit of %d", total,
			fuzzLimits.MaxBytes)
	}
}

func samePackage(a, b *resourcepkg.Package) bool {
	if len(a.Files) != len(b.Files) {
		return false
	}
	for name, data := range a.Files {
		if other, ok := b.Files[name]; !ok || !bytes.Equal(data, other) {
			return false
		}
	}
	return true
}
