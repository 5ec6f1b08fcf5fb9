// Package resourcepkg reads the driver files of a resource package: the
// base64 text of a zip of the package's Lifecycle/openstack/ folder, as
// Brent sends it in driverFiles. The zip becomes an in-memory tree of
// regular files; nothing touches the disk.
//
// A package comes from whoever built it, so the reader is defensive: it
// caps the number of entries and the total unzipped size (checked while
// inflating, not trusted from the zip's headers), and refuses entries that
// would leave the package root, links, and names that are not UTF-8.
package resourcepkg

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"unicode/utf8"
)

// Limits bound what a package may hold.
type Limits struct {
	// MaxBytes is the largest total unzipped size.
	MaxBytes int64
	// MaxEntries is the most entries (files and folders) in the zip.
	MaxEntries int
}

// Package is a resource package's driver files, by slash-separated path
// relative to the zip root.
type Package struct {
	Files map[string][]byte
}

// Error is a problem with the package that the sender must fix.
type Error struct {
	// Problem says what is wrong, for a person.
	Problem string
}

func (e *Error) Error() string { return "driverFiles: " + e.Problem }

func problem(format string, args ...any) *Error {
	return &Error{Problem: fmt.Sprintf(format, args...)}
}

// Decode reads the base64 text of a zip into a Package.
func Decode(b64 string, lim Limits) (*Package, error) {
	text := strings.TrimSpace(b64)
	if text == "" {
		return nil, problem("empty; expected the base64 text of a zip " +
			"of the package's Lifecycle/openstack folder")
	}
	raw, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		// Some senders wrap lines; accept any standard base64 with
		// whitespace inside before giving up.
		raw, err = base64.StdEncoding.DecodeString(stripSpace(text))
		if err != nil {
			return nil, problem("not valid base64: %v", err)
		}
	}
	return Unzip(raw, lim)
}

// Unzip reads zip bytes into a Package.
func Unzip(raw []byte, lim Limits) (*Package, error) {
	zr, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		return nil, problem("not a zip archive: %v", err)
	}
	if len(zr.File) > lim.MaxEntries {
		return nil, problem("the zip has %d entries, more than the "+
			"limit of %d", len(zr.File), lim.MaxEntries)
	}

	pkg := &Package{Files: make(map[string][]byte)}
	var total int64
	for _, f := range zr.File {
		name, isDir, err := cleanName(f)
		if err != nil {
			return nil, err
		}
		if isDir {
			continue
		}
		if _, dup := pkg.Files[name]; dup {
			return nil, problem("entry %q appears twice", name)
		}
		data, err := readEntry(f, lim.MaxBytes-total, lim.MaxBytes)
		if err != nil {
			return nil, err
		}
		total += int64(len(data))
		pkg.Files[name] = data
	}
	return pkg, nil
}

// cleanName checks an entry's name and mode and gives its clean path.
func cleanName(f *zip.File) (string, bool, error) {
	name := f.Name
	if !utf8.ValidString(name) {
		return "", false, problem("an entry name is not UTF-8 (%q)", name)
	}
	if strings.ContainsRune(name, 0) {
		return "", false, problem("entry name %q holds a NUL", name)
	}
	slashed := strings.ReplaceAll(name, `\`, "/")
	if strings.HasPrefix(slashed, "/") || hasDrive(slashed) {
		return "", false, problem("entry %q has an absolute path", name)
	}
	for _, part := range strings.Split(slashed, "/") {
		if part == ".." {
			return "", false, problem("entry %q leaves the package "+
				"root", name)
		}
	}
	mode := f.Mode()
	if mode&fs.ModeSymlink != 0 {
		return "", false, problem("entry %q is a symbolic link; "+
			"links are not allowed in a package", name)
	}
	isDir := mode.IsDir() || strings.HasSuffix(slashed, "/")
	if !isDir && !mode.IsRegular() {
		return "", false, problem("entry %q is not a regular file", name)
	}
	clean := path.Clean(slashed)
	if clean == "." {
		return "", true, nil
	}
	return clean, isDir, nil
}

func hasDrive(p string) bool {
	return len(p) >= 2 && p[1] == ':' &&
		(p[0] >= 'a' && p[0] <= 'z' || p[0] >= 'A' && p[0] <= 'Z')
}

// readEntry inflates one entry, stopping as soon as it passes budget so
// that a zip bomb costs at most the budget.
func readEntry(f *zip.File, budget, limit int64) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, problem("entry %q cannot be read: %v", f.Name, err)
	}
	defer rc.Close()
	// The header's size is a hint only (it may lie), so it is believed
	// up to 1 MiB; the budget is what is enforced. Sizing the buffer from
	// it saves regrowing it for the usual small files.
	var buf bytes.Buffer
	buf.Grow(int(min(int64(f.UncompressedSize64), budget+1, 1<<20)))
	n, err := io.Copy(&buf, io.LimitReader(rc, budget+1))
	if err != nil {
		return nil, problem("entry %q cannot be read: %v", f.Name, err)
	}
	if n > budget {
		return nil, problem("the package unzips to more than the "+
			"limit of %d bytes", limit)
	}
	return buf.Bytes(), nil
}

func stripSpace(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\n', '\r', '\t':
			return -1
		}
		return r
	}, s)
}

// Size is the package's unzipped size.
func (p *Package) Size() int {
	n := 0
	for _, data := range p.Files {
		n += len(data)
	}
	return n
}

// File gives the content of the first of names that the package holds.
func (p *Package) File(names ...string) (string, []byte, bool) {
	for _, n := range names {
		if data, ok := p.Files[n]; ok {
			return n, data, true
		}
	}
	return "", nil, false
}

// Under gives the files below folder dir, keyed by their path relative
// to it, as Heat's files map wants them.
func (p *Package) Under(dir string) map[string]string {
	prefix := strings.TrimSuffix(dir, "/") + "/"
	out := map[string]string{}
	for name, data := range p.Files {
		if rel, ok := strings.CutPrefix(name, prefix); ok {
			out[rel] = string(data)
		}
	}
	return out
}

// Names lists the package's file paths in order, for messages.
func (p *Package) Names() []string {
	names := make([]string, 0, len(p.Files))
	for n := range p.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// IsError reports whether err is a problem with the package itself.
func IsError(err error) bool {
	var e *Error
	return errors.As(err, &e)
}
