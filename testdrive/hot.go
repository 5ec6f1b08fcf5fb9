package testdrive

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// What Heat accepts in a HOT template. Heat refuses a template that goes
// beyond these with a 400, so lint reports them as errors; the lists are
// those of Heat's own validation (Wallaby and later).
var (
	hotVersions = []string{"2013-05-23", "2014-10-16", "2015-04-30",
		"2015-10-15", "2016-04-08", "2016-10-14", "2017-02-24",
		"2017-09-01", "2018-03-02", "2018-08-31", "2021-04-16", "newton",
		"ocata", "pike", "queens", "rocky", "wallaby"}
	hotSections = []string{"heat_template_version", "description",
		"parameter_groups", "parameters", "resources", "outputs",
		"conditions"}
	paramTypes = []string{"string", "number", "json",
		"comma_delimited_list", "boolean"}
	paramKeys = []string{"type", "label", "description", "default",
		"hidden", "constraints", "immutable", "tags"}
	resourceKeys = []string{"type", "properties", "metadata", "depends_on",
		"update_policy", "deletion_policy", "external_id", "condition"}
	outputKeys = []string{"description", "value", "condition"}
)

// templateSuffixes are the endings that make Heat read a resource type as
// a template file rather than a type name.
var templateSuffixes = []string{".yaml", ".yml", ".template"}

// maxWalk caps the YAML nodes lint visits in one file, aliases expanded,
// so that an alias bomb makes a finding rather than a hang.
const maxWalk = 1_000_000

// hotTemplate is a Heat template of the package, as far as lint needs it.
type hotTemplate struct {
	// name is the template's path inside the package.
	name   string
	params []hotParam
}

// hotParam is one declared parameter.
type hotParam struct {
	name       string
	line       int
	hasDefault bool
	hidden     bool
}

// fileRef is a reference from a template or environment to a file that
// must be under files/.
type fileRef struct {
	// from is the path, inside the package, of the file that refers.
	from string
	line int
	// kind is how the file is used: "nested template", "get_file" or
	// "resource_registry entry".
	kind string
	// name is the file as written, relative to files/.
	name string
}

// isTemplateKind reports whether the referenced file is read by Heat as a
// template, and so should be checked as one.
func (r fileRef) isTemplateKind() bool { return r.kind != "get_file" }

// yamlLine picks the line out of yaml.v3's messages, which read
// "yaml: line 7: did not find expected key".
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parserProblems are the messages of yaml.v3's parser, as opposed to its
// scanner. For these, yaml.v3 gives the line counted from 0, and no line
// at all for the first, so lint adds one to show the line as counted
// everywhere else.
var parserProblems = []string{
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"did not find expected '-' indicator",
	"did not find expected <document start>",
	"did not find expected <stream-start>",
	"did not find expected key",
	"did not find expected node content",
	"found duplicate %TAG directive",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found undefined tag handle",
}

// parseYAML reads the package file name as one YAML document and gives
// its top node. A file that is not one valid YAML document is reported at
// level and gives nil; so does an empty one (or one of comments only),
// unless allowEmpty.
func (l *linter) parseYAML(name string, level Level,
	allowEmpty bool) *yaml.Node {
	return l.parseYAMLAt(l.path(name), l.files[name], level, allowEmpty)
}

// parseYAMLAt is parseYAML for a file given by its displayed path and
// content, such as the descriptor, which is outside the driver folder.
func (l *linter) parseYAMLAt(file string, data []byte, level Level,
	allowEmpty bool) *yaml.Node {
	empty := func() *yaml.Node {
		if !allowEmpty {
			l.addAt(file, 0, level, "the file is empty")
		}
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return empty()
		}
		l.yamlError(file, level, err)
		return nil
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		l.addAt(file, extra.Line, level, "a second YAML document starts "+
			"here; the file must hold exactly one")
		return nil
	case !errors.Is(err, io.EOF):
		l.yamlError(file, level, err)
		return nil
	}
	if len(doc.Content) == 0 {
		return empty()
	}
	return resolve(doc.Content[0])
}

func (l *linter) yamlError(file string, level Level, err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	if slices.Contains(parserProblems, msg) {
		line++
	}
	l.addAt(file, line, level, "not valid YAML: %s", msg)
}

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// isNull reports whether n is absent or an explicit YAML null.
func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// entries gives a mapping's key and value nodes, aliases resolved, and
// warns about keys written twice: YAML readers differ on which copy
// counts (Heat's keeps the last).
func (l *linter) entries(name string, m *yaml.Node) [][2]*yaml.Node {
	var out [][2]*yaml.Node
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], resolve(m.Content[i+1])
		if first, dup := seen[k.Value]; dup && k.Kind == yaml.ScalarNode {
			l.add(name, k.Line, LevelWarning, "%q is written twice in "+
				"this mapping (first on line %d); Heat keeps only the "+
				"last", k.Value, first)
		}
		seen[k.Value] = k.Line
		out = append(out, [2]*yaml.Node{k, v})
	}
	return out
}

// template checks the Heat template at name (once), then the files it
// refers to, following nested templates. It gives nil when the template
// could not be read.
func (l *linter) template(name string) *hotTemplate {
	if t, done := l.templates[name]; done {
		return t
	}
	// Recorded before the checks, so that a template that nests itself
	// is not followed for ever.
	l.templates[name] = nil
	root := l.parseYAML(name, LevelError, false)
	if root == nil {
		return nil
	}
	if root.Kind != yaml.MappingNode {
		l.add(name, root.Line, LevelError, "a Heat template is a mapping "+
			"of sections (heat_template_version, parameters, resources, "+
			"outputs), not %s", describe(root))
		return nil
	}
	t := &hotTemplate{name: name}
	l.templates[name] = t
	l.checkSections(t, root)
	for _, ref := range l.fileRefs(name, root) {
		if l.checkFileRef(ref) && ref.isTemplateKind() {
			l.template("files/" + ref.name)
		}
	}
	return t
}

// checkSections checks the template's top-level shape and reads its
// parameters.
func (l *linter) checkSections(t *hotTemplate, root *yaml.Node) {
	sections := map[string]*yaml.Node{}
	for _, kv := range l.entries(t.name, root) {
		k, v := kv[0], kv[1]
		sections[k.Value] = v
		switch {
		case k.Value == "AWSTemplateFormatVersion" ||
			k.Value == "HeatTemplateFormatVersion":
			l.add(t.name, k.Line, LevelInfo, "a CloudFormation-format "+
				"template: lint checks only HOT templates "+
				"(heat_template_version)")
			return
		case !slices.Contains(hotSections, k.Value):
			l.add(t.name, k.Line, LevelError, "Heat does not know the "+
				"section %q (it knows %s)", k.Value,
				strings.Join(hotSections, ", "))
		}
	}
	if v, ok := sections["heat_template_version"]; !ok {
		l.add(t.name, root.Line, LevelError, "no heat_template_version: "+
			"Heat refuses a template without one (e.g. "+
			"heat_template_version: 2018-08-31)")
	} else if v.Kind != yaml.ScalarNode ||
		!slices.Contains(hotVersions, v.Value) {
		l.add(t.name, v.Line, LevelWarning, "heat_template_version %s is "+
			"not one Heat is known to accept (%s)", describe(v),
			strings.Join(hotVersions, ", "))
	}
	l.checkParameters(t, sections["parameters"])
	if res, ok := sections["resources"]; !ok || isNull(res) ||
		(res.Kind == yaml.MappingNode && len(res.Content) == 0) {
		l.add(t.name, root.Line, LevelWarning, "no resources: the "+
			"stack will create nothing")
	} else {
		l.checkResources(t.name, res)
	}
	if out, ok := sections["outputs"]; ok && !isNull(out) {
		l.checkOutputs(t.name, out)
	}
}

func (l *linter) checkParameters(t *hotTemplate, params *yaml.Node) {
	if isNull(params) {
		return
	}
	if params.Kind != yaml.MappingNode {
		l.add(t.name, params.Line, LevelError, "parameters must be a "+
			"mapping of parameter names to definitions, not %s",
			describe(params))
		return
	}
	for _, kv := range l.entries(t.name, params) {
		k, v := kv[0], kv[1]
		if v.Kind != yaml.MappingNode {
			l.add(t.name, v.Line, LevelError, "parameter %s must be a "+
				"mapping with at least a type, not %s", k.Value,
				describe(v))
			continue
		}
		p := hotParam{name: k.Value, line: k.Line}
		typ := ""
		for _, e := range l.entries(t.name, v) {
			switch e[0].Value {
			case "type":
				typ = e[1].Value
				if !slices.Contains(paramTypes, typ) {
					l.add(t.name, e[1].Line, LevelError, "parameter %s: "+
						"Heat has no type %s (it has %s)", p.name,
						describe(e[1]), strings.Join(paramTypes, ", "))
				}
			case "default":
				p.hasDefault = true
			case "hidden":
				p.hidden = e[1].Value == "true" || e[1].Value == "True"
			default:
				if !slices.Contains(paramKeys, e[0].Value) {
					l.add(t.name, e[0].Line, LevelError, "parameter %s: "+
						"Heat does not know the key %q (it knows %s)",
						p.name, e[0].Value, strings.Join(paramKeys, ", "))
				}
			}
		}
		if typ == "" {
			l.add(t.name, k.Line, LevelError, "parameter %s has no type: "+
				"Heat refuses it", p.name)
		}
		t.params = append(t.params, p)
	}
}

func (l *linter) checkResources(name string, res *yaml.Node) {
	l.checkEntries(name, res, section{plural: "resources", one: "resource",
		names: "resource names", must: "type", keys: resourceKeys})
}

func (l *linter) checkOutputs(name string, outs *yaml.Node) {
	l.checkEntries(name, outs, section{plural: "outputs", one: "output",
		names: "output names", must: "value", keys: outputKeys})
}

// section describes a template section whose entries are mappings with
// one key they must have and a fixed set of keys they may have.
type section struct {
	plural, one, names string
	must               string
	keys               []string
}

func (l *linter) checkEntries(name string, node *yaml.Node, sec section) {
	if node.Kind != yaml.MappingNode {
		l.add(name, node.Line, LevelError, "%s must be a mapping of %s "+
			"to definitions, not %s", sec.plural, sec.names, describe(node))
		return
	}
	for _, kv := range l.entries(name, node) {
		k, v := kv[0], kv[1]
		if v.Kind != yaml.MappingNode {
			l.add(name, v.Line, LevelError, "%s %s must be a mapping "+
				"with a %s, not %s", sec.one, k.Value, sec.must, describe(v))
			continue
		}
		has := false
		for _, e := range l.entries(name, v) {
			switch {
			case e[0].Value == sec.must:
				has = true
			case !slices.Contains(sec.keys, e[0].Value):
				l.add(name, e[0].Line, LevelError, "%s %s: Heat does not "+
					"know the key %q (it knows %s)", sec.one, k.Value,
					e[0].Value, strings.Join(sec.keys, ", "))
			}
		}
		if !has {
			l.add(name, k.Line, LevelError, "%s %s has no %s", sec.one,
				k.Value, sec.must)
		}
	}
}

// fileRefs walks a template for the files it needs from files/: nested
// templates (a type ending in .yaml, .yml or .template, wherever it is,
// so that a ResourceGroup's resource_def counts too) and get_file
// targets. Targets computed at run time (get_file of a get_param) cannot
// be checked and are skipped.
func (l *linter) fileRefs(name string, root *yaml.Node) []fileRef {
	var refs []fileRef
	visited := 0
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		n = resolve(n)
		visited++
		if n == nil || visited > maxWalk {
			return
		}
		switch n.Kind {
		case yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], resolve(n.Content[i+1])
				switch {
				case k.Value == "get_file" && isString(v):
					refs = append(refs, fileRef{from: name, line: v.Line,
						kind: "get_file", name: v.Value})
				case k.Value == "type" && isString(v) &&
					isTemplateName(v.Value):
					refs = append(refs, fileRef{from: name, line: v.Line,
						kind: "nested template", name: v.Value})
				default:
					walk(v)
				}
			}
		}
	}
	walk(root)
	if visited > maxWalk {
		l.add(name, 0, LevelError, "more than %d YAML nodes once aliases "+
			"are expanded; not read further", maxWalk)
	}
	return refs
}

// isTemplateName reports whether Heat reads a resource type as a template
// file. Addresses (http://...) are fetched by Heat itself, not from
// files/, and are not checked.
func isTemplateName(typ string) bool {
	if strings.Contains(typ, "://") {
		return false
	}
	for _, s := range templateSuffixes {
		if strings.HasSuffix(typ, s) {
			return true
		}
	}
	return false
}

func isString(n *yaml.Node) bool {
	return n != nil && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str"
}

// describe names a node's shape for messages.
func describe(n *yaml.Node) string {
	switch {
	case n == nil:
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case isNull(n):
		return "null"
	default:
		return strconv.Quote(n.Value)
	}
}
