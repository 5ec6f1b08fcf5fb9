package testdrive

import (
	"os"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// systemProperties are the system properties Brent sends with every
// request; the driver gives each to the parameter system_<name>.
var systemProperties = []string{"resourceId", "resourceName", "requestId",
	"resourceManagerId", "deploymentLocation", "metricKey", "resourceType"}

// envSections are the sections Heat accepts in an environment.
var envSections = []string{"parameters", "parameter_defaults",
	"resource_registry", "encrypted_param_names", "event_sinks",
	"parameter_merge_strategies"}

// hotEnv is the package's Heat environment, as far as lint needs it.
type hotEnv struct {
	name string
	// values holds the parameters the environment gives a value.
	values map[string]bool
}

// lintEnvironment checks environment.yaml (or env.yaml) and the templates
// its resource_registry names. It gives nil when the package has none or
// it cannot be read.
func (l *linter) lintEnvironment() *hotEnv {
	name, ok := l.first(envNames)
	if !ok {
		return nil
	}
	root := l.parseYAML(name, LevelError, false)
	if root == nil {
		return nil
	}
	if root.Kind != yaml.MappingNode {
		l.add(name, root.Line, LevelError, "a Heat environment is a "+
			"mapping of sections (parameter_defaults, resource_registry, "+
			"...), not %s", describe(root))
		return nil
	}
	env := &hotEnv{name: name, values: map[string]bool{}}
	for _, kv := range l.entries(name, root) {
		k, v := kv[0], kv[1]
		switch k.Value {
		case "parameters", "parameter_defaults":
			if v.Kind == yaml.MappingNode {
				for _, p := range l.entries(name, v) {
					env.values[p[0].Value] = true
				}
			}
		case "resource_registry":
			for _, ref := range registryRefs(name, v) {
				if l.checkFileRef(ref) {
					l.template("files/" + ref.name)
				}
			}
		default:
			if !slices.Contains(envSections, k.Value) {
				l.add(name, k.Line, LevelError, "Heat does not know the "+
					"environment section %q (it knows %s)", k.Value,
					strings.Join(envSections, ", "))
			}
		}
	}
	return env
}

// registryRefs finds the templates a resource_registry maps types to,
// including those under its per-resource "resources" mapping.
func registryRefs(name string, reg *yaml.Node) []fileRef {
	var refs []fileRef
	var walk func(n *yaml.Node, depth int)
	walk = func(n *yaml.Node, depth int) {
		n = resolve(n)
		if n == nil || n.Kind != yaml.MappingNode || depth > 8 {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			v := resolve(n.Content[i+1])
			if isString(v) && isTemplateName(v.Value) {
				refs = append(refs, fileRef{from: name, line: v.Line,
					kind: "resource_registry entry", name: v.Value})
			}
			walk(v, depth+1)
		}
	}
	walk(reg, 0)
	return refs
}

// descriptor is the resource descriptor's properties: name to type.
type descriptor struct {
	props map[string]string
}

// readDescriptor reads the properties of the resource descriptor, when
// the package has one.
func (l *linter) readDescriptor() *descriptor {
	if l.descriptor == "" {
		return nil
	}
	data, err := os.ReadFile(l.descriptor)
	if err != nil {
		l.addAt(l.descriptor, 0, LevelError, "cannot read it: %v", err)
		return nil
	}
	root := l.parseYAMLAt(l.descriptor, data, LevelError, false)
	if root == nil {
		return nil
	}
	if root.Kind != yaml.MappingNode {
		l.addAt(l.descriptor, root.Line, LevelError, "a resource "+
			"descriptor is a mapping (name, properties, lifecycle, ...), "+
			"not %s", describe(root))
		return nil
	}
	d := &descriptor{props: map[string]string{}}
	var props *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "properties" {
			props = resolve(root.Content[i+1])
		}
	}
	switch {
	case isNull(props):
		l.addAt(l.descriptor, root.Line, LevelWarning, "no properties: "+
			"no template parameter can get a value from the resource")
		return d
	case props.Kind != yaml.MappingNode:
		l.addAt(l.descriptor, props.Line, LevelError, "properties must "+
			"be a mapping of property names to definitions, not %s",
			describe(props))
		return d
	}
	for i := 0; i+1 < len(props.Content); i += 2 {
		name, def := props.Content[i].Value, resolve(props.Content[i+1])
		typ := "string"
		if def != nil && def.Kind == yaml.MappingNode {
			for j := 0; j+1 < len(def.Content); j += 2 {
				if def.Content[j].Value == "type" {
					typ = def.Content[j+1].Value
				}
			}
		}
		d.props[name] = typ
	}
	return d
}

// lintParameters checks that every parameter of the Create template gets
// a value: from its default, the environment, a descriptor property of
// the same name (for NAME_public and NAME_private, a key property NAME),
// or a system property (system_NAME). Heat refuses a stack with a
// parameter that has none, so this is where most first runs fail.
func (l *linter) lintParameters(t *hotTemplate, env *hotEnv) {
	desc := l.readDescriptor()
	var unchecked []string
	for _, p := range t.params {
		if isSecretName(p.name) && !p.hidden {
			l.add(t.name, p.line, LevelWarning, "parameter %s looks like "+
				"it receives a secret: mark it hidden: true so that Heat "+
				"keeps it out of the stack's details", p.name)
		}
		if p.hasDefault || (env != nil && env.values[p.name]) {
			continue
		}
		if sys, ok := strings.CutPrefix(p.name, "system_"); ok {
			if !slices.Contains(systemProperties, sys) {
				l.add(t.name, p.line, LevelWarning, "parameter %s has no "+
					"default, and %s is not a system property Brent is "+
					"known to send (%s)", p.name, sys,
					strings.Join(systemProperties, ", "))
			}
			continue
		}
		if desc == nil {
			if l.descriptor == "" {
				unchecked = append(unchecked, p.name)
			}
			continue
		}
		if _, ok := desc.props[p.name]; ok {
			continue
		}
		if base, ok := keyPart(p.name); ok {
			switch typ, has := desc.props[base]; {
			case has && typ == "key":
				continue
			case has:
				l.add(t.name, p.line, LevelWarning, "parameter %s has no "+
					"default and gets a value only from a property %s of "+
					"type key, but %s is of type %s", p.name, base, base,
					typ)
				continue
			}
		}
		l.add(t.name, p.line, LevelWarning, "parameter %s has no default "+
			"and no source: the descriptor has no property %s (and it is "+
			"not system_<property>); Heat refuses the stack unless a "+
			"value is given", p.name, p.name)
	}
	if len(unchecked) > 0 {
		sort.Strings(unchecked)
		l.add(t.name, 0, LevelInfo, "no resource descriptor found "+
			"(Definitions/lm/resource.yaml beside Lifecycle/), so lint "+
			"cannot tell whether these parameters without a default get "+
			"a value from properties: %s", strings.Join(unchecked, ", "))
	}
}

// keyPart gives the key property a NAME_public or NAME_private parameter
// takes its value from.
func keyPart(param string) (string, bool) {
	if base, ok := strings.CutSuffix(param, "_public"); ok {
		return base, true
	}
	return strings.CutSuffix(param, "_private")
}

// isSecretName reports whether a parameter's name says it carries a
// private key or a password.
func isSecretName(name string) bool {
	lower := strings.ToLower(name)
	return strings.HasSuffix(lower, "_private") ||
		strings.Contains(lower, "password") ||
		strings.Contains(lower, "secret")
}

// lintOtherYAML checks the YAML files under files/ that no template
// refers to by name: a Heat template among them is checked as one (it
// may be used through a parameter or an environment given elsewhere);
// any other YAML file (a cloud-init user_data, say) only has to parse,
// and a problem there is a warning, since Heat passes it on unread.
func (l *linter) lintOtherYAML() {
	names := make([]string, 0, len(l.files))
	for n := range l.files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !strings.HasPrefix(n, "files/") ||
			!(strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")) {
			continue
		}
		if _, done := l.templates[n]; done {
			continue
		}
		root := l.parseYAML(n, LevelWarning, true)
		if root == nil || root.Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i < len(root.Content); i += 2 {
			if root.Content[i].Value == "heat_template_version" {
				l.template(n)
				break
			}
		}
	}
}
