package testdrive

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tnco-drivers/openstack-driver/discovery"
)

// Level says how serious a lint finding is.
type Level string

// The levels of a finding.
const (
	// LevelError is a problem that makes the driver or Heat refuse the
	// package, or the stack fail.
	LevelError Level = "error"
	// LevelWarning is a likely mistake that may still work, such as a
	// parameter whose value lint cannot see a source for.
	LevelWarning Level = "warning"
	// LevelInfo says what lint could not check.
	LevelInfo Level = "info"
)

// Finding is one thing lint has to say about a package.
type Finding struct {
	// File is the file's path: the package folder as given, joined with
	// the file's path inside it.
	File string
	// Line is the 1-based line, or 0 when the finding has no single line
	// (a missing file, a missing section).
	Line int
	// Level says how serious it is.
	Level Level
	// Message says what is wrong and, where it can, how to fix it.
	Message string
}

// String formats the finding as compilers do, "file:line: level: message",
// so that editors can jump to it; the line is left out when unknown.
func (f Finding) String() string {
	if f.Line > 0 {
		return fmt.Sprintf("%s:%d: %s: %s", f.File, f.Line, f.Level,
			f.Message)
	}
	return fmt.Sprintf("%s: %s: %s", f.File, f.Level, f.Message)
}

// HasErrors reports whether any of the findings is an error.
func HasErrors(findings []Finding) bool {
	return slices.ContainsFunc(findings, func(f Finding) bool {
		return f.Level == LevelError
	})
}

// The file names the driver reads at the root of a package, in its order
// of preference.
var (
	heatNames      = []string{"heat.yaml", "heat.yml"}
	envNames       = []string{"environment.yaml", "env.yaml"}
	toscaNames     = []string{"tosca.yaml", "tosca.yml"}
	discoveryNames = []string{discovery.TemplateFileName,
		discovery.TemplateAltFileName}
	descriptorNames = []string{"resource.yaml", "resource.yml"}
)

// maxHeatRequest is Heat's default max_json_body_size: a template, its
// files and environment above it are refused unless the operator raised
// the limit on both Heat and the driver.
const maxHeatRequest = 1 << 20

// Lint checks a resource package offline, as far as it can without a
// cloud: that its Heat templates and environment parse and have the
// shape Heat wants, that every nested template and get_file target they
// name is under files/, that every parameter without a default gets a
// value from a descriptor property or a system property, and that its
// discovery template is one the driver accepts.
//
// dir is the package root (holding Lifecycle/openstack and, usually,
// Definitions/lm/resource.yaml), its Lifecycle/openstack folder, or a
// bare folder with heat.yaml at its root. The error is for a folder that
// cannot be read; everything about its content is a Finding. Findings
// are sorted by file and line.
func Lint(dir string) ([]Finding, error) {
	l, err := newLinter(dir)
	if err != nil {
		return nil, err
	}
	l.run()
	slices.SortStableFunc(l.findings, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line))
	})
	return l.findings, nil
}

// linter holds one package and the findings made so far.
type linter struct {
	// driverDir is the folder Brent zips: heat.yaml is at its root.
	driverDir string
	// descriptor is the path of the resource descriptor, "" when the
	// package has none that lint can find.
	descriptor string
	// files maps each file's slash path below driverDir to its content.
	files    map[string][]byte
	findings []Finding
	// templates holds every Heat template read, by package path, so that
	// one used twice is checked once.
	templates map[string]*hotTemplate
}

func newLinter(dir string) (*linter, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("package folder: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("package folder %s is not a folder", dir)
	}
	l := &linter{driverDir: dir, templates: map[string]*hotTemplate{}}
	root := ""
	if inner := filepath.Join(dir, "Lifecycle", "openstack"); isDir(inner) {
		l.driverDir, root = inner, dir
	} else if abs, err := filepath.Abs(dir); err == nil &&
		filepath.Base(abs) == "openstack" &&
		filepath.Base(filepath.Dir(abs)) == "Lifecycle" {
		root = filepath.Join(dir, "..", "..")
	}
	if root != "" {
		for _, n := range descriptorNames {
			p := filepath.Join(root, "Definitions", "lm", n)
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				l.descriptor = p
				break
			}
		}
	}
	l.files, err = readTree(l.driverDir)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// readTree reads every file below dir, keyed by its slash path relative
// to dir, as ZipFolder puts them in the zip.
func readTree(dir string) (map[string][]byte, error) {
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry,
		err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		files[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("package folder: %w", err)
	}
	return files, nil
}

// path gives the displayed path of a file inside the package.
func (l *linter) path(rel string) string {
	return filepath.Join(l.driverDir, filepath.FromSlash(rel))
}

// add records a finding about a file inside the package.
func (l *linter) add(rel string, line int, level Level, format string,
	args ...any) {
	l.addAt(l.path(rel), line, level, format, args...)
}

// addAt records a finding about a file given by its displayed path.
func (l *linter) addAt(file string, line int, level Level, format string,
	args ...any) {
	l.findings = append(l.findings, Finding{File: file, Line: line,
		Level: level, Message: fmt.Sprintf(format, args...)})
}

// has gives the first of names the package holds at its root.
func (l *linter) has(names []string) (string, bool) {
	for _, n := range names {
		if _, ok := l.files[n]; ok {
			return n, true
		}
	}
	return "", false
}

// first is has for files of which the driver reads the first it finds:
// it warns about the others, which the driver ignores.
func (l *linter) first(names []string) (string, bool) {
	found := ""
	for _, n := range names {
		if _, ok := l.files[n]; !ok {
			continue
		}
		if found == "" {
			found = n
			continue
		}
		l.add(n, 0, LevelWarning, "ignored: the driver reads %s when "+
			"both are present; remove one of them", found)
	}
	return found, found != ""
}

// run makes every check that applies to what the package holds: a
// package may be for Create (heat.yaml), for find (discover.yaml), or
// both.
func (l *linter) run() {
	heatName, hasHeat := l.first(heatNames)
	// Both discovery names at once are refused by discovery itself.
	_, hasDiscovery := l.has(discoveryNames)
	toscaName, hasTosca := l.has(toscaNames)
	switch {
	case !hasHeat && hasTosca:
		l.add(toscaName, 0, LevelError, "TOSCA Create templates are not "+
			"supported by the OpenStack driver; put a Heat template in "+
			"heat.yaml")
	case !hasHeat && !hasDiscovery &&
		isDir(filepath.Join(l.driverDir, "Lifecycle")):
		l.addAt(filepath.Join(l.driverDir, "Lifecycle"), 0, LevelError,
			"no openstack folder: the driver's files go in "+
				"Lifecycle/openstack")
	case !hasHeat && !hasDiscovery:
		l.addAt(l.driverDir, 0, LevelError, "no heat.yaml (or heat.yml) "+
			"and no discover.yaml: this is not an OpenStack driver "+
			"package (give the package root, its Lifecycle/openstack "+
			"folder, or a folder with heat.yaml at its root)")
	}
	if hasHeat {
		l.lintHeat(heatName)
	}
	if hasDiscovery {
		l.lintDiscovery()
	}
	l.lintOtherYAML()
}

// lintHeat checks the Create template, the templates and files it
// reaches, the environment, and the parameters against the descriptor.
func (l *linter) lintHeat(heatName string) {
	main := l.template(heatName)
	env := l.lintEnvironment()
	if main != nil {
		l.lintParameters(main, env)
	}

	size := 0
	for name, data := range l.files {
		if name == heatName || strings.HasPrefix(name, "files/") ||
			(env != nil && name == env.name) {
			size += len(data)
		}
	}
	if size > maxHeatRequest {
		l.add(heatName, 0, LevelWarning, "the template, files/ and the "+
			"environment come to %d bytes; Heat takes at most %d in one "+
			"request unless its max_json_body_size (and the driver's "+
			"max_heat_request_bytes) are raised", size, maxHeatRequest)
	}
}

// lintDiscovery parses the discovery template as the driver's find does.
func (l *linter) lintDiscovery() {
	_, err := discovery.ReadPackage(l.files)
	if err == nil {
		return
	}
	var te *discovery.TemplateError
	if errors.As(err, &te) {
		l.add(te.File, te.Line, LevelError, "%s", te.Problem)
		return
	}
	l.add(discovery.TemplateFileName, 0, LevelError, "%v", err)
}

// checkFileRef reports a nested template, get_file target or registry
// entry that is not under files/. Heat matches the name exactly against
// the keys of its files map, which the driver makes from the paths below
// files/, whichever template the reference is in.
func (l *linter) checkFileRef(ref fileRef) bool {
	if _, ok := l.files["files/"+ref.name]; ok {
		return true
	}
	hint := ""
	clean := strings.TrimPrefix(path.Clean("/"+ref.name), "/")
	switch {
	case strings.Contains(ref.name, "://"):
		hint = "; the driver passes Heat only the files under files/, " +
			"keyed by their path below files/"
	case clean != ref.name && l.files["files/"+clean] != nil:
		hint = fmt.Sprintf("; write it as %q: Heat matches the name "+
			"exactly", clean)
	case strings.HasPrefix(ref.name, "files/") &&
		l.files[ref.name] != nil:
		hint = fmt.Sprintf("; write it as %q: names are relative to "+
			"files/", strings.TrimPrefix(ref.name, "files/"))
	case l.files[clean] != nil:
		hint = fmt.Sprintf("; %s is at the package root: move it to "+
			"files/%s", clean, clean)
	case strings.HasPrefix(ref.from, "files/"):
		// A template under files/ may have meant a name relative to its
		// own folder, as the heat command line would read it.
		sibling := path.Join(path.Dir(ref.from), ref.name)
		if l.files[sibling] != nil {
			hint = fmt.Sprintf("; names are relative to files/, not to "+
				"the folder of the template: write it as %q",
				strings.TrimPrefix(sibling, "files/"))
		}
	}
	l.add(ref.from, ref.line, LevelError, "%s %q: no files/%s in the "+
		"package%s", ref.kind, ref.name, ref.name, hint)
	return false
}
