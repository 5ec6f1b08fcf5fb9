package discovery

import (
	"fmt"
	"path"
	"sort"
	"strings"
)

// Kind is the kind of object a template discovers.
type Kind int

// The kinds of object discovery can find.
const (
	// KindStack finds a Heat stack.
	KindStack Kind = iota + 1
	// KindNetwork finds a Neutron network.
	KindNetwork
)

// String names the kind for logs and messages.
func (k Kind) String() string {
	switch k {
	case KindStack:
		return "stack"
	case KindNetwork:
		return "network"
	default:
		return fmt.Sprintf("Kind(%d)", int(k))
	}
}

// Node types discovery supports without a node_types declaration.
const (
	// StackNodeType is this driver's own node type for a Heat stack.
	StackNodeType = "os.nodes.heat.Stack"
	// NetworkNodeType is the TOSCA simple profile's network node type.
	NetworkNodeType = "tosca.nodes.network.Network"
)

// builtinTypes maps every node type name discovery knows by itself to the
// kind it finds. The os.* network names are the types the earlier Python
// driver shipped with its own type definitions, so templates written for it
// keep working without declaring them.
func builtinTypes() map[string]Kind {
	return map[string]Kind{
		StackNodeType:                         KindStack,
		NetworkNodeType:                       KindNetwork,
		"tosca.nodes.network.NetworkWithAttr": KindNetwork,
		"os.nodes.network.Network":            KindNetwork,
		"os.ext.nodes.network.Network":        KindNetwork,
	}
}

// The properties that select the object, per kind.
const (
	propStackName   = "stack_name"
	propStackID     = "stack_id"
	propNetworkName = "network_name"
	propNetworkID   = "network_id"
)

// InstanceNameInput is the one input the driver supplies: the name Brent
// gives the resource instance being found.
const InstanceNameInput = "instance_name"

// maxTypeChain caps derived_from chains so a long chain cannot stall Parse.
const maxTypeChain = 32

// isFunctionName reports whether name is one of TOSCA's intrinsic
// functions. A one-key mapping whose key is one of these (or starts with
// "get_", to catch misspellings) is read as a function call, anything else
// as data.
func isFunctionName(name string) bool {
	switch name {
	case "concat", "join", "token", "get_input", "get_property",
		"get_attribute", "get_operation_output", "get_nodes_of_type",
		"get_artifact":
		return true
	}
	return strings.HasPrefix(name, "get_")
}

// functionCall returns the function name and argument if n is a function
// call, or "" when it is plain data.
func functionCall(n *tnode) (string, *tnode) {
	if n == nil || n.kind != mapNode || len(n.keys) != 1 {
		return "", nil
	}
	if name := n.keys[0].text; isFunctionName(name) {
		return name, n.vals[0]
	}
	return "", nil
}

// Template is a parsed discovery template, ready to be resolved with Find.
// It is immutable after Parse and safe for concurrent use.
type Template struct {
	file     string
	nodeName string
	nodeType string
	kind     Kind
	// selector is the property that says which object to find.
	selector selector
	// defaults holds the default of every declared input that has one.
	defaults map[string]string
	outputs  []output
	// needsSubnets and needsResources say which extra cloud look-ups the
	// outputs call for, so Find makes only those.
	needsSubnets   bool
	needsResources bool
}

// File is the template's file name, as given to Parse.
func (t *Template) File() string { return t.file }

// NodeName is the name of the template's single node template.
func (t *Template) NodeName() string { return t.nodeName }

// NodeType is the node template's type as written in the template, which
// may be a type the template itself declares.
func (t *Template) NodeType() string { return t.nodeType }

// Kind is the kind of object the template finds.
func (t *Template) Kind() Kind { return t.kind }

// OutputNames lists the template's outputs in document order.
func (t *Template) OutputNames() []string {
	names := make([]string, len(t.outputs))
	for i, o := range t.outputs {
		names[i] = o.name
	}
	return names
}

// selector is the property that picks the object: its name (stack_name,
// network_id, ...) and where its value comes from.
type selector struct {
	property string
	byID     bool
	line     int
	// literal is the value when the template writes it out.
	literal string
	// input is the input name when the value is { get_input: name }.
	input string
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// The package file names ReadPackage looks for, in order of preference.
const (
	TemplateFileName    = "discover.yaml"
	TemplateAltFileName = "discover.yml"
)

// ReadPackage finds the discovery template at the root of a driver package
// and parses it. files maps each path in the package (as stored in its zip)
// to the file's content. A missing template is a TemplateError naming the
// files looked for.
func ReadPackage(files map[string][]byte) (*Template, error) {
	found := map[string]string{}
	var nested []string
	for p := range files {
		clean := strings.TrimPrefix(path.Clean("/"+p), "/")
		base := path.Base(clean)
		if base != TemplateFileName && base != TemplateAltFileName {
			continue
		}
		if clean == base {
			found[base] = p
		} else {
			nested = append(nested, clean)
		}
	}
	yamlPath, hasYAML := found[TemplateFileName]
	ymlPath, hasYML := found[TemplateAltFileName]
	switch {
	case hasYAML && hasYML:
		return nil, &TemplateError{File: TemplateFileName,
			Problem: "the package holds both discover.yaml and " +
				"discover.yml; keep only one"}
	case hasYAML:
		return Parse(TemplateFileName, files[yamlPath])
	case hasYML:
		return Parse(TemplateAltFileName, files[ymlPath])
	}
	problem := "the driver package has no discover.yaml or discover.yml " +
		"at its root"
	if len(nested) > 0 {
		sort.Strings(nested)
		problem += fmt.Sprintf(" (found %s, which is not at the root)",
			strings.Join(nested, ", "))
	}
	return nil, &TemplateError{File: TemplateFileName, Problem: problem}
}

// topLevelKeys are the keys a TOSCA service template may have. Discovery
// reads only some; the others are accepted and ignored so templates shared
// with other tools still load, while a misspelt section name is caught.
func isTopLevelKey(k string) bool {
	switch k {
	case "tosca_definitions_version", "namespace", "description",
		"metadata", "dsl_definitions", "repositories", "imports",
		"artifact_types", "data_types", "capability_types",
		"interface_types", "relationship_types", "node_types",
		"group_types", "policy_types", "topology_template":
		return true
	}
	return false
}

func isTopologyKey(k string) bool {
	switch k {
	case "description", "inputs", "node_templates", "outputs",
		"relationship_templates", "groups", "policies",
		"substitution_mappings", "workflows":
		return true
	}
	return false
}

func isNodeTemplateKey(k string) bool {
	switch k {
	case "type", "description", "metadata", "directives", "properties",
		"attributes", "requirements", "capabilities", "interfaces",
		"artifacts", "node_filter", "copy":
		return true
	}
	return false
}

// parser carries the file name and the template being built.
type parser struct {
	file string
	t    *Template
	// declared holds every declared input, with or without a default.
	declared map[string]*tnode
}

func (p *parser) fail(line int, format string, args ...any) error {
	return &TemplateError{
		File: p.file, Line: line, Problem: fmt.Sprintf(format, args...),
	}
}

// Parse reads a discovery template. fileName is used in error messages
// only. Every error is a *TemplateError.
func Parse(fileName string, data []byte) (*Template, error) {
	root, err := loadTree(fileName, data)
	if err != nil {
		return nil, err
	}
	p := &parser{
		file:     fileName,
		t:        &Template{file: fileName, defaults: map[string]string{}},
		declared: map[string]*tnode{},
	}
	if err := p.parseRoot(root); err != nil {
		return nil, err
	}
	return p.t, nil
}

func (p *parser) parseRoot(root *tnode) error {
	for _, k := range root.keys {
		if !isTopLevelKey(k.text) {
			return p.fail(k.line, "unknown top-level key %q", k.text)
		}
	}
	version := root.get("tosca_definitions_version")
	if version.isNull() {
		return p.fail(0, "tosca_definitions_version is missing; start the "+
			"template with tosca_definitions_version: tosca_simple_yaml_1_0")
	}
	if version.kind != scalarNode ||
		!strings.HasPrefix(version.text, "tosca_") {
		return p.fail(version.line, "tosca_definitions_version is %s, "+
			"expected a TOSCA version such as tosca_simple_yaml_1_0",
			version.describe())
	}
	types, err := p.nodeTypes(root.get("node_types"))
	if err != nil {
		return err
	}
	topo := root.get("topology_template")
	if topo.isNull() {
		return p.fail(0, "topology_template is missing")
	}
	if topo.kind != mapNode {
		return p.fail(topo.line, "topology_template must be a mapping, "+
			"not %s", topo.describe())
	}
	for _, k := range topo.keys {
		if !isTopologyKey(k.text) {
			return p.fail(k.line, "unknown key %q in topology_template",
				k.text)
		}
	}
	if err := p.inputs(topo.get("inputs")); err != nil {
		return err
	}
	if err := p.nodeTemplate(topo, types); err != nil {
		return err
	}
	return p.outputs(topo.get("outputs"))
}

// nodeTypes reads the template's own node_types into a map from type name
// to the name it derives from.
func (p *parser) nodeTypes(n *tnode) (map[string]string, error) {
	types := map[string]string{}
	if n.isNull() {
		return types, nil
	}
	if n.kind != mapNode {
		return nil, p.fail(n.line, "node_types must be a mapping, not %s",
			n.describe())
	}
	for i, k := range n.keys {
		def := n.vals[i]
		if def.isNull() {
			types[k.text] = ""
			continue
		}
		if def.kind != mapNode {
			return nil, p.fail(def.line, "node type %q must be a mapping, "+
				"not %s", k.text, def.describe())
		}
		parent := def.get("derived_from")
		switch {
		case parent.isNull():
			types[k.text] = ""
		case parent.kind != scalarNode:
			return nil, p.fail(parent.line, "derived_from of node type %q "+
				"must be a type name, not %s", k.text, parent.describe())
		default:
			types[k.text] = parent.text
		}
	}
	return types, nil
}

// resolveType follows derived_from from name until it reaches a type
// discovery supports.
func (p *parser) resolveType(
	name string, line int, types map[string]string,
) (Kind, error) {
	builtins := builtinTypes()
	chain := []string{name}
	current := name
	for {
		if kind, ok := builtins[current]; ok {
			return kind, nil
		}
		parent, declared := types[current]
		if !declared || parent == "" {
			return 0, p.fail(line, "%s; discovery supports %s, and types "+
				"derived from them in this template's node_types",
				unsupportedType(chain, declared), supportedTypes())
		}
		for _, seen := range chain {
			if seen == parent {
				return 0, p.fail(line, "node type %q derives from itself "+
					"(%s -> %s)", name, strings.Join(chain, " -> "), parent)
			}
		}
		if len(chain) >= maxTypeChain {
			return 0, p.fail(line, "node type %q has a derived_from chain "+
				"longer than %d types", name, maxTypeChain)
		}
		chain = append(chain, parent)
		current = parent
	}
}

// unsupportedType describes why a type chain ends without a supported
// type, naming the type as the author wrote it.
func unsupportedType(chain []string, declared bool) string {
	last := chain[len(chain)-1]
	if len(chain) == 1 {
		if declared {
			return fmt.Sprintf("node type %q is declared in node_types "+
				"but derives from no supported type", last)
		}
		return fmt.Sprintf("unknown node type %q (types from imports are "+
			"not loaded)", last)
	}
	how := strings.Join(chain, " -> ")
	if declared {
		return fmt.Sprintf("node type %q (%s) derives from no supported "+
			"type", chain[0], how)
	}
	return fmt.Sprintf("node type %q derives from unknown type %q (%s)",
		chain[0], last, how)
}

func supportedTypes() string {
	names := make([]string, 0, len(builtinTypes()))
	for name := range builtinTypes() {
		names = append(names, name)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// inputs records declared inputs and their defaults.
func (p *parser) inputs(n *tnode) error {
	if n.isNull() {
		return nil
	}
	if n.kind != mapNode {
		return p.fail(n.line, "topology_template.inputs must be a mapping, "+
			"not %s", n.describe())
	}
	for i, k := range n.keys {
		def := n.vals[i]
		if def.isNull() {
			p.declared[k.text] = def
			continue
		}
		if def.kind != mapNode {
			return p.fail(def.line, "input %q must be a mapping (with type "+
				"and optionally default), not %s", k.text, def.describe())
		}
		p.declared[k.text] = def
		d := def.get("default")
		if d.isNull() {
			continue
		}
		if d.kind != scalarNode {
			return p.fail(d.line, "the default of input %q must be a plain "+
				"value, not %s", k.text, d.describe())
		}
		p.t.defaults[k.text] = d.text
	}
	return nil
}

// nodeTemplate reads the single node template and its selecting property.
func (p *parser) nodeTemplate(topo *tnode, types map[string]string) error {
	nodes := topo.get("node_templates")
	if nodes.isNull() {
		return p.fail(topo.line, "topology_template.node_templates is "+
			"missing; a discovery template has exactly one node template")
	}
	if nodes.kind != mapNode {
		return p.fail(nodes.line, "node_templates must be a mapping, not %s",
			nodes.describe())
	}
	switch len(nodes.keys) {
	case 0:
		return p.fail(nodes.line, "node_templates is empty; a discovery "+
			"template has exactly one node template")
	case 1:
	default:
		names := make([]string, len(nodes.keys))
		for i, k := range nodes.keys {
			names[i] = k.text
		}
		return p.fail(nodes.keys[1].line, "node_templates has %d node "+
			"templates (%s); a discovery template has exactly one",
			len(names), strings.Join(names, ", "))
	}
	name, node := nodes.keys[0], nodes.vals[0]
	p.t.nodeName = name.text
	if node.kind != mapNode {
		return p.fail(node.line, "node template %q must be a mapping, "+
			"not %s", name.text, node.describe())
	}
	for _, k := range node.keys {
		if !isNodeTemplateKey(k.text) {
			return p.fail(k.line, "unknown key %q in node template %q",
				k.text, name.text)
		}
	}
	typ := node.get("type")
	if typ.isNull() || typ.kind != scalarNode || typ.text == "" {
		return p.fail(node.line, "node template %q has no type", name.text)
	}
	p.t.nodeType = typ.text
	kind, err := p.resolveType(typ.text, typ.line, types)
	if err != nil {
		return err
	}
	p.t.kind = kind
	return p.parseSelector(name.text, node)
}

// parseSelector reads the one property that picks the object to find.
func (p *parser) parseSelector(nodeName string, node *tnode) error {
	byName, byID := propStackName, propStackID
	if p.t.kind == KindNetwork {
		byName, byID = propNetworkName, propNetworkID
	}
	props := node.get("properties")
	if props.isNull() {
		return p.fail(node.line, "node template %q needs a %s or a %s "+
			"property to say what to find", nodeName, byName, byID)
	}
	if props.kind != mapNode {
		return p.fail(props.line, "properties of node template %q must be "+
			"a mapping, not %s", nodeName, props.describe())
	}
	var chosen *tnode
	for i, k := range props.keys {
		switch k.text {
		case byName, byID:
		default:
			return p.fail(k.line, "property %q is not supported on %s "+
				"nodes; discovery finds them by exactly one of %s and %s",
				k.text, p.t.kind, byName, byID)
		}
		if chosen != nil {
			return p.fail(k.line, "node template %q sets both %s and %s; "+
				"set exactly one of them", nodeName, byName, byID)
		}
		chosen = k
		sel := selector{property: k.text, byID: k.text == byID, line: k.line}
		if err := p.selectorValue(&sel, props.vals[i]); err != nil {
			return err
		}
		p.t.selector = sel
	}
	if chosen == nil {
		return p.fail(props.line, "node template %q needs a %s or a %s "+
			"property to say what to find", nodeName, byName, byID)
	}
	return nil
}

// selectorValue reads a property value: a plain value or a get_input call.
func (p *parser) selectorValue(sel *selector, v *tnode) error {
	if v.isNull() {
		return p.fail(sel.line, "property %s has no value", sel.property)
	}
	if v.kind == scalarNode {
		if v.text == "" {
			return p.fail(v.line, "property %s is empty", sel.property)
		}
		sel.literal = v.text
		return nil
	}
	fn, arg := functionCall(v)
	switch fn {
	case "":
		return p.fail(v.line, "property %s must be a plain value or "+
			"{ get_input: name }, not %s", sel.property, v.describe())
	case "get_input":
	default:
		return p.fail(v.line, "property %s uses function %s; only "+
			"get_input is supported in properties", sel.property, fn)
	}
	name := arg
	if arg != nil && arg.kind == seqNode && len(arg.items) == 1 {
		name = arg.items[0]
	}
	if name.isNull() || name.kind != scalarNode || name.text == "" {
		return p.fail(v.line, "get_input in property %s must name one "+
			"input, as in { get_input: instance_name }", sel.property)
	}
	sel.input = name.text
	if sel.input == InstanceNameInput {
		// The driver always supplies it, declared or not.
		return nil
	}
	if _, ok := p.declared[sel.input]; !ok {
		return p.fail(v.line, "property %s reads input %q, which is not "+
			"declared in topology_template.inputs", sel.property, sel.input)
	}
	if _, ok := p.t.defaults[sel.input]; !ok {
		return p.fail(v.line, "property %s reads input %q, which has no "+
			"default; the driver supplies only %s, so give %q a default",
			sel.property, sel.input, InstanceNameInput, sel.input)
	}
	return nil
}
