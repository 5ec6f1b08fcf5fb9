package discovery

import "strings"

// output is one template output and how to compute it.
type output struct {
	name  string
	line  int
	value *expr
}

// exprKind says what an expr computes.
type exprKind int

const (
	constExpr exprKind = iota
	attrExpr
	mapExpr
	listExpr
)

// expr is an output value: a constant, an attribute of the found object, or
// a mapping or list holding attributes somewhere inside.
type expr struct {
	kind     exprKind
	constant any
	attr     *attrRef
	keys     []string
	vals     []*expr
	items    []*expr
}

// attrRef is a compiled get_attribute call.
type attrRef struct {
	output string
	line   int
	// spelled is the attribute path as the author wrote it, for messages.
	spelled string
	// group is the attribute itself for plain attributes, or one of
	// "parameters", "outputs" and "resources" for the stack's maps.
	group string
	// name is the parameter, output or resource name within group; empty
	// means the whole map.
	name string
	// rest is a path into an output's value (map keys, list indexes).
	rest []*tnode
}

// networkAttributes lists the attributes a network node offers. The last
// six come from the network's first subnet.
func networkAttributes() []string {
	return []string{
		"network_name", "network_id", "segmentation_id", "network_type",
		"physical_network", "ip_version", "cidr", "start_ip", "end_ip",
		"gateway_ip", "dhcp_enabled",
	}
}

// stackAttributes lists the attributes a stack node offers besides
// parameters, outputs, resources and bare output keys.
func stackAttributes() []string {
	return []string{
		"id", "stack_name", "stack_status", "stack_status_reason",
		"creation_time",
	}
}

func isSubnetAttribute(name string) bool {
	switch name {
	case "ip_version", "cidr", "start_ip", "end_ip", "gateway_ip",
		"dhcp_enabled":
		return true
	}
	return false
}

// outputs compiles every output in document order.
func (p *parser) outputs(n *tnode) error {
	if n.isNull() {
		return nil
	}
	if n.kind != mapNode {
		return p.fail(n.line, "topology_template.outputs must be a mapping, "+
			"not %s", n.describe())
	}
	for i, k := range n.keys {
		def := n.vals[i]
		var value *tnode
		switch fn, _ := functionCall(def); {
		case fn != "":
			// A bare function is taken as the output's value, a common
			// shorthand for { value: ... }.
			value = def
		case def.kind == mapNode && def.get("value") != nil:
			value = def.get("value")
		default:
			return p.fail(def.line, "output %q has no value; write it as "+
				"%s: { value: ... }", k.text, k.text)
		}
		e, err := p.compile(k.text, value)
		if err != nil {
			return err
		}
		p.t.outputs = append(p.t.outputs,
			output{name: k.text, line: k.line, value: e})
	}
	return nil
}

// compile compiles an output value, resolving get_attribute calls anywhere in
// it and refusing every other function.
func (p *parser) compile(out string, n *tnode) (*expr, error) {
	fn, arg := functionCall(n)
	switch fn {
	case "get_attribute":
		ref, err := p.attribute(out, n.line, arg)
		if err != nil {
			return nil, err
		}
		return &expr{kind: attrExpr, attr: ref}, nil
	case "":
	default:
		hint := ""
		if fn == "get_property" {
			hint = "; use get_attribute to read what was found"
		}
		return nil, p.fail(n.line, "output %q uses function %s, which "+
			"discovery does not support in outputs (only get_attribute)%s",
			out, fn, hint)
	}
	if !hasFunction(n) {
		v, err := plainValue(p.file, n)
		if err != nil {
			return nil, err
		}
		return &expr{kind: constExpr, constant: v}, nil
	}
	if n.kind == mapNode {
		e := &expr{kind: mapExpr}
		for i, k := range n.keys {
			sub, err := p.compile(out, n.vals[i])
			if err != nil {
				return nil, err
			}
			e.keys = append(e.keys, k.text)
			e.vals = append(e.vals, sub)
		}
		return e, nil
	}
	e := &expr{kind: listExpr}
	for _, item := range n.items {
		sub, err := p.compile(out, item)
		if err != nil {
			return nil, err
		}
		e.items = append(e.items, sub)
	}
	return e, nil
}

// hasFunction reports whether a function call appears anywhere in n.
func hasFunction(n *tnode) bool {
	if fn, _ := functionCall(n); fn != "" {
		return true
	}
	for _, v := range n.vals {
		if hasFunction(v) {
			return true
		}
	}
	for _, v := range n.items {
		if hasFunction(v) {
			return true
		}
	}
	return false
}

// attribute compiles the arguments of get_attribute.
func (p *parser) attribute(out string, line int, arg *tnode) (*attrRef,
	error) {
	if arg == nil || arg.kind != seqNode || len(arg.items) < 2 {
		return nil, p.fail(line, "get_attribute in output %q needs a list "+
			"of the node name and the attribute, as in "+
			"{ get_attribute: [%s, %s] }", out, p.t.nodeName,
			p.exampleAttribute())
	}
	for _, item := range arg.items {
		if item.kind != scalarNode || item.tag == "!!null" {
			return nil, p.fail(item.line, "get_attribute in output %q "+
				"takes plain names, not %s", out, item.describe())
		}
	}
	node := arg.items[0].text
	if node != p.t.nodeName {
		return nil, p.fail(arg.items[0].line, "output %q reads an "+
			"attribute of %q, but the only node template is %q", out, node,
			p.t.nodeName)
	}
	words := make([]string, 0, len(arg.items)-1)
	for _, item := range arg.items[1:] {
		words = append(words, item.text)
	}
	ref := &attrRef{
		output: out, line: arg.items[1].line,
		spelled: strings.Join(words, ", "),
	}
	if p.t.kind == KindNetwork {
		return ref, p.networkAttribute(ref, arg.items[1:])
	}
	return ref, p.stackAttribute(ref, arg.items[1:])
}

func (p *parser) exampleAttribute() string {
	if p.t.kind == KindNetwork {
		return "network_id"
	}
	return "id"
}

func (p *parser) networkAttribute(ref *attrRef, path []*tnode) error {
	name := path[0].text
	if !contains(networkAttributes(), name) {
		return p.fail(ref.line, "output %q reads attribute %q, which "+
			"networks do not have; they have %s", ref.output, name,
			strings.Join(networkAttributes(), ", "))
	}
	if len(path) > 1 {
		return p.fail(ref.line, "output %q reads into network attribute "+
			"%q, which is a single value", ref.output, name)
	}
	ref.group = name
	if isSubnetAttribute(name) {
		p.t.needsSubnets = true
	}
	return nil
}

// stackAttribute sorts a stack attribute path into its group. Paths may be
// given as a list ([outputs, key]) or with the first words dotted
// ("outputs.key"); both spellings mean the same.
func (p *parser) stackAttribute(ref *attrRef, path []*tnode) error {
	path = expandDotted(path)
	first := path[0].text
	rest := path[1:]
	switch {
	case contains(stackAttributes(), first):
		if len(rest) > 0 {
			return p.fail(ref.line, "output %q reads into stack attribute "+
				"%q, which is a single value", ref.output, first)
		}
		ref.group = first
	case first == "parameters":
		if len(rest) > 1 {
			return p.fail(ref.line, "output %q reads into a stack "+
				"parameter; parameters are single values", ref.output)
		}
		ref.group = first
		if len(rest) == 1 {
			ref.name = rest[0].text
		}
	case first == "outputs":
		ref.group = first
		if len(rest) > 0 {
			ref.name, ref.rest = rest[0].text, rest[1:]
		}
	case first == "resources":
		p.t.needsResources = true
		ref.group = first
		switch {
		case len(rest) == 0:
		case len(rest) == 2 && rest[1].text == "physical_resource_id":
			ref.name = rest[0].text
		default:
			return p.fail(ref.line, "output %q reads [%s]; the one "+
				"resource attribute discovery offers is "+
				"resources.<name>.physical_resource_id", ref.output,
				ref.spelled)
		}
	default:
		// Anything else is the key of a stack output.
		ref.group, ref.name, ref.rest = "outputs", first, rest
	}
	return nil
}

// expandDotted rewrites a first word such as "outputs.key",
// "parameters.name" or "resources.name.physical_resource_id" into separate
// path words. Only the group prefix and the resource attribute suffix are
// split off, so names holding dots stay whole.
func expandDotted(path []*tnode) []*tnode {
	first := path[0]
	group, name, ok := splitDotted(first.text)
	if !ok {
		return path
	}
	word := func(text string) *tnode {
		return &tnode{kind: scalarNode, tag: "!!str", text: text,
			line: first.line}
	}
	out := []*tnode{word(group)}
	const suffix = ".physical_resource_id"
	if trimmed, cut := strings.CutSuffix(name, suffix); group ==
		"resources" && cut && trimmed != "" {
		out = append(out, word(trimmed), word(suffix[1:]))
	} else {
		out = append(out, word(name))
	}
	return append(out, path[1:]...)
}

// splitDotted splits "parameters.x", "outputs.x" and "resources.x..." into
// the group and the rest.
func splitDotted(word string) (group, name string, ok bool) {
	for _, g := range []string{"parameters", "outputs", "resources"} {
		if rest, found := strings.CutPrefix(word, g+"."); found &&
			rest != "" {
			return g, rest, true
		}
	}
	return "", "", false
}
