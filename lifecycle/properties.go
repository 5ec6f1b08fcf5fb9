package lifecycle

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
)

// Property is one value of a property map. Brent sends each value either
// plain ("flavor": "m1.small") or typed ("flavor": {"type": "string",
// "value": "m1.small"}); a key pair always comes typed as "key".
type Property struct {
	// Type is the declared type; empty for a plain value.
	Type string
	// Value is the value as decoded from JSON (string, json.Number,
	// bool, nil, []any or map[string]any).
	Value any
	// KeyName, PublicKey and PrivateKey are set for a "key" property.
	// PrivateKey is a secret.
	KeyName, PublicKey, PrivateKey string
}

// IsKey reports whether p is a key pair.
func (p Property) IsKey() bool { return p.Type == "key" }

// String gives the value as text: strings as they are, numbers as
// written, other values as JSON.
func (p Property) String() string { return textOf(p.Value) }

// Properties is a property map: systemProperties, resourceProperties or
// requestProperties.
type Properties map[string]Property

// UnmarshalJSON accepts both shapes, mixed freely in one map.
func (ps *Properties) UnmarshalJSON(data []byte) error {
	if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		*ps = nil
		return nil
	}
	var raw map[string]json.RawMessage
	if err := strictDecode(data, &raw); err != nil {
		return err
	}
	out := make(Properties, len(raw))
	for name, msg := range raw {
		p, err := decodeProperty(msg)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		out[name] = p
	}
	*ps = out
	return nil
}

// decodeProperty tells the typed shape from a plain object by its "type"
// member: an object with a string "type" and a "value" (or type "key") is
// typed; any other value, objects included, is plain.
func decodeProperty(msg json.RawMessage) (Property, error) {
	var v any
	if err := strictDecode(msg, &v); err != nil {
		return Property{}, err
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return Property{Value: v}, nil
	}
	typ, ok := obj["type"].(string)
	if !ok {
		return Property{Value: v}, nil
	}
	if typ == "key" {
		p := Property{Type: typ}
		for field, dst := range map[string]*string{
			"keyName": &p.KeyName, "publicKey": &p.PublicKey,
			"privateKey": &p.PrivateKey,
		} {
			if raw, present := obj[field]; present && raw != nil {
				s, ok := raw.(string)
				if !ok {
					return Property{}, fmt.Errorf("a key's %s must "+
						"be a string", field)
				}
				*dst = s
			}
		}
		if v, present := obj["value"]; present {
			p.Value = v
		} else {
			p.Value = p.KeyName
		}
		return p, nil
	}
	value, present := obj["value"]
	if !present && len(obj) > 1 {
		// An object that merely has a "type" member among others is a
		// plain value; {"type": "string"} alone is a typed value that
		// has none.
		return Property{Value: v}, nil
	}
	return Property{Type: typ, Value: value}, nil
}

// String gives the text of the named property, or "" when it is absent.
func (ps Properties) String(name string) string {
	p, ok := ps[name]
	if !ok {
		return ""
	}
	return p.String()
}

// Names gives the property names in order.
func (ps Properties) Names() []string {
	names := make([]string, 0, len(ps))
	for n := range ps {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// strictDecode decodes JSON keeping numbers as written, so that 12 stays
// 12 and 1e400 does not become +Inf on its way to Heat.
func strictDecode(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("unexpected data after the JSON value")
	}
	return nil
}

func textOf(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case json.Number:
		return t.String()
	case bool:
		return strconv.FormatBool(t)
	default:
		b, err := json.Marshal(t)
		if err != nil {
			return fmt.Sprint(t)
		}
		return string(b)
	}
}
