package discovery

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Limits on what Parse accepts. Discovery templates are a few dozen lines;
// the limits are far above that and only there so a hostile package cannot
// make the driver spend unbounded memory or time.
const (
	// MaxTemplateSize is the largest template, in bytes, Parse reads.
	MaxTemplateSize = 256 << 10
	// MaxTemplateNodes caps the YAML nodes of a template, counted after
	// aliases are expanded, which is what stops "billion laughs" documents.
	MaxTemplateNodes = 10000
	// MaxTemplateDepth caps how deeply YAML collections may nest.
	MaxTemplateDepth = 64
)

// tkind is the shape of a tnode.
type tkind int

const (
	scalarNode tkind = iota
	mapNode
	seqNode
)

// tnode is a YAML node with aliases and merge keys already resolved, so the
// template reader never sees them, and with the line kept for messages.
type tnode struct {
	kind tkind
	line int
	// tag is the resolved short tag of a scalar, e.g. "!!str" or "!!int".
	tag string
	// text is a scalar's text, or a key's text for map entries.
	text string
	// raw is the scalar's yaml.v3 node, kept to decode typed values.
	raw *yaml.Node
	// keys and vals hold a mapping's entries in document order.
	keys []*tnode
	vals []*tnode
	// items holds a sequence's entries.
	items []*tnode
}

// get returns the value stored under key in a mapping, or nil.
func (n *tnode) get(key string) *tnode {
	if n == nil || n.kind != mapNode {
		return nil
	}
	for i, k := range n.keys {
		if k.text == key {
			return n.vals[i]
		}
	}
	return nil
}

// isNull reports whether n is absent or an explicit YAML null.
func (n *tnode) isNull() bool {
	return n == nil || (n.kind == scalarNode && n.tag == "!!null")
}

// describe names a node's shape for error messages.
func (n *tnode) describe() string {
	switch {
	case n == nil:
		return "nothing"
	case n.kind == mapNode:
		return "a mapping"
	case n.kind == seqNode:
		return "a list"
	case n.tag == "!!null":
		return "null"
	default:
		return fmt.Sprintf("%q", n.text)
	}
}

// yamlLineRE picks the line out of yaml.v3's syntax error messages, which
// read "yaml: line 7: did not find expected key".
var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// loadTree checks data for the size and encoding limits, parses it as one
// YAML document and converts it to a tnode tree.
func loadTree(file string, data []byte) (*tnode, error) {
	fail := func(line int, format string, args ...any) error {
		return &TemplateError{
			File: file, Line: line, Problem: fmt.Sprintf(format, args...),
		}
	}
	if len(data) > MaxTemplateSize {
		return nil, fail(0, "the file is %d bytes, more than the %d bytes "+
			"a discovery template may have", len(data), MaxTemplateSize)
	}
	if !utf8.Valid(data) {
		line, col := firstInvalidUTF8(data)
		return nil, fail(line, "the file is not valid UTF-8 (bad byte at "+
			"column %d); save it as UTF-8", col)
	}
	// A byte order mark is legal but yaml.v3 would read it as content.
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))

	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fail(0, "the file is empty")
		}
		return nil, yamlError(file, err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, fail(extra.Line, "the file holds more than one YAML "+
			"document; a discovery template is a single document")
	case !errors.Is(err, io.EOF):
		return nil, yamlError(file, err)
	}

	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	c := converter{file: file}
	tree, err := c.convert(root, 0)
	if err != nil {
		return nil, err
	}
	if tree.kind != mapNode {
		return nil, fail(tree.line, "the document is %s, but a discovery "+
			"template must be a mapping with tosca_definitions_version and "+
			"topology_template", tree.describe())
	}
	return tree, nil
}

// yamlError turns a yaml.v3 error into a TemplateError, lifting the line
// number out of the message where the parser gives one.
func yamlError(file string, err error) error {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &TemplateError{
			File: file, Line: line, Problem: "not valid YAML: " + m[2],
		}
	}
	if len(msg) > 6 && msg[:6] == "yaml: " {
		msg = msg[6:]
	}
	return &TemplateError{File: file, Problem: "not valid YAML: " + msg}
}

// firstInvalidUTF8 gives the 1-based line and column (in bytes) of the first
// byte that is not part of valid UTF-8.
func firstInvalidUTF8(data []byte) (line, col int) {
	line, col = 1, 1
	for len(data) > 0 {
		r, size := utf8.DecodeRune(data)
		if r == utf8.RuneError && size <= 1 {
			return line, col
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col += size
		}
		data = data[size:]
	}
	return line, col
}

// converter builds a tnode tree and counts the nodes it makes, aliases
// expanded, so an alias bomb fails fast instead of being expanded.
type converter struct {
	file  string
	nodes int
}

func (c *converter) fail(line int, format string, args ...any) error {
	return &TemplateError{
		File: c.file, Line: line, Problem: fmt.Sprintf(format, args...),
	}
}

func (c *converter) convert(n *yaml.Node, depth int) (*tnode, error) {
	c.nodes++
	if c.nodes > MaxTemplateNodes {
		return nil, c.fail(n.Line, "the document has more than %d YAML "+
			"nodes once aliases are expanded; a discovery template needs "+
			"far fewer (is it an alias bomb?)", MaxTemplateNodes)
	}
	if depth > MaxTemplateDepth {
		return nil, c.fail(n.Line, "collections nest more than %d levels "+
			"deep", MaxTemplateDepth)
	}
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, c.fail(n.Line, "alias *%s has no anchor", n.Value)
		}
		return c.convert(n.Alias, depth+1)
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return &tnode{kind: scalarNode, tag: "!!null", line: n.Line}, nil
		}
		return c.convert(n.Content[0], depth)
	case yaml.ScalarNode:
		return &tnode{
			kind: scalarNode, line: n.Line, tag: n.ShortTag(),
			text: n.Value, raw: n,
		}, nil
	case yaml.SequenceNode:
		out := &tnode{kind: seqNode, line: n.Line}
		for _, item := range n.Content {
			v, err := c.convert(item, depth+1)
			if err != nil {
				return nil, err
			}
			out.items = append(out.items, v)
		}
		return out, nil
	case yaml.MappingNode:
		out := &tnode{kind: mapNode, line: n.Line}
		if err := c.fillMap(out, n, depth, map[string]bool{}); err != nil {
			return nil, err
		}
		return out, nil
	default:
		return nil, c.fail(n.Line, "unexpected YAML node kind %d", n.Kind)
	}
}

// fillMap adds a mapping's entries to out. Merge keys ("<<") are resolved
// here: entries written in the mapping itself win over merged ones, as YAML
// specifies, and a key written twice is an error since readers disagree on
// which copy counts.
func (c *converter) fillMap(
	out *tnode, n *yaml.Node, depth int, seen map[string]bool,
) error {
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		key, err := c.convert(k, depth+1)
		if err != nil {
			return err
		}
		if key.kind != scalarNode {
			return c.fail(k.Line, "mapping keys must be plain values, "+
				"not %s", key.describe())
		}
		if seen[key.text] {
			return c.fail(k.Line, "key %q appears twice in the same "+
				"mapping", key.text)
		}
		seen[key.text] = true
		val, err := c.convert(v, depth+1)
		if err != nil {
			return err
		}
		out.keys = append(out.keys, key)
		out.vals = append(out.vals, val)
	}
	for _, m := range merges {
		if err := c.merge(out, m, depth, seen); err != nil {
			return err
		}
	}
	return nil
}

// merge adds the entries of a "<<" value that out does not already have.
func (c *converter) merge(
	out *tnode, m *yaml.Node, depth int, seen map[string]bool,
) error {
	c.nodes++
	if c.nodes > MaxTemplateNodes {
		return c.fail(m.Line, "the document has more than %d YAML nodes "+
			"once aliases are expanded", MaxTemplateNodes)
	}
	if depth > MaxTemplateDepth {
		return c.fail(m.Line, "merge keys nest more than %d levels deep",
			MaxTemplateDepth)
	}
	for m.Kind == yaml.AliasNode && m.Alias != nil {
		m = m.Alias
	}
	switch m.Kind {
	case yaml.MappingNode:
		tmp := &tnode{kind: mapNode, line: m.Line}
		if err := c.fillMap(tmp, m, depth+1, map[string]bool{}); err != nil {
			return err
		}
		for i, k := range tmp.keys {
			if !seen[k.text] {
				seen[k.text] = true
				out.keys = append(out.keys, k)
				out.vals = append(out.vals, tmp.vals[i])
			}
		}
		return nil
	case yaml.SequenceNode:
		for _, item := range m.Content {
			if err := c.merge(out, item, depth+1, seen); err != nil {
				return err
			}
		}
		return nil
	default:
		return c.fail(m.Line, "a merge key (<<) must be given a mapping or "+
			"a list of mappings")
	}
}

// plainValue turns a tnode into a value encoding/json can write: mappings
// become map[string]any, lists []any, and scalars the Go value of their
// YAML type. Timestamps stay the text the author wrote, since JSON has no
// time type and the text is what the author expects to see back.
func plainValue(file string, n *tnode) (any, error) {
	switch n.kind {
	case mapNode:
		m := make(map[string]any, len(n.keys))
		for i, k := range n.keys {
			v, err := plainValue(file, n.vals[i])
			if err != nil {
				return nil, err
			}
			m[k.text] = v
		}
		return m, nil
	case seqNode:
		l := make([]any, 0, len(n.items))
		for _, item := range n.items {
			v, err := plainValue(file, item)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		return l, nil
	}
	switch n.tag {
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		if err := n.raw.Decode(&b); err == nil {
			return b, nil
		}
	case "!!int":
		var i int64
		if err := n.raw.Decode(&i); err == nil {
			return i, nil
		}
		var u uint64
		if err := n.raw.Decode(&u); err == nil {
			return u, nil
		}
		// Too large for 64 bits: keep the digits rather than lose them.
		return n.text, nil
	case "!!float":
		var f float64
		if err := n.raw.Decode(&f); err == nil {
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, &TemplateError{File: file, Line: n.line,
					Problem: fmt.Sprintf("the value %s cannot be written "+
						"as JSON", n.text)}
			}
			return f, nil
		}
	}
	return n.text, nil
}
