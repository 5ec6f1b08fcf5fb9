package lifecycle

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// DeclaredParameters reads the names of the parameters a Heat template
// declares. The template itself goes to Heat as text; it is parsed here
// only for this, and Heat remains the judge of whether it is valid.
func DeclaredParameters(template []byte) (map[string]bool, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(template, &doc); err != nil {
		return nil, fmt.Errorf("not valid YAML: %w", err)
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("the template is empty")
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("the template is not a mapping of "+
			"sections (line %d)", root.Line)
	}
	declared := map[string]bool{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "parameters" {
			continue
		}
		params := root.Content[i+1]
		if params.Kind == yaml.AliasNode && params.Alias != nil {
			params = params.Alias
		}
		if params.Kind == yaml.ScalarNode && params.Tag == "!!null" {
			return declared, nil
		}
		if params.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("the parameters section is not a "+
				"mapping (line %d)", params.Line)
		}
		for j := 0; j+1 < len(params.Content); j += 2 {
			declared[params.Content[j].Value] = true
		}
	}
	return declared, nil
}

// Parameters gives the values of the parameters a template declares, from
// the request's properties, as the earlier driver did:
//   - a resource property of the same name (a key property gives its key
//     name, and also NAME_public and NAME_private);
//   - a system property under a "system_" prefix (system_resourceId, ...).
//
// Request properties are not parameters. Values go as they came; Heat
// converts them to the declared types.
func Parameters(declared map[string]bool, resource,
	system Properties) map[string]any {
	values := map[string]any{}
	offer := func(name string, v any) {
		// A null value is left out so that the template's default
		// applies, rather than sending Heat a null it would refuse.
		if declared[name] && v != nil {
			if _, taken := values[name]; !taken {
				values[name] = v
			}
		}
	}
	for name, p := range resource {
		if p.IsKey() {
			offer(name, p.KeyName)
			// A part the key does not have is left out, so that the
			// template's default applies.
			if p.PublicKey != "" {
				offer(name+"_public", p.PublicKey)
			}
			if p.PrivateKey != "" {
				offer(name+"_private", p.PrivateKey)
			}
			continue
		}
		offer(name, p.Value)
	}
	for name, p := range system {
		if p.IsKey() {
			offer("system_"+name, p.KeyName)
			continue
		}
		offer("system_"+name, p.Value)
	}
	return values
}
