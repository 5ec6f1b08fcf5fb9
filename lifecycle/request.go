// Package lifecycle is the driver's domain: Brent's execute requests, the
// lifecycle transitions Create, Delete and Adopt, the jobs that follow a
// stack until it settles, and the messages that tell Brent how it ended.
// It uses heat/ to reach OpenStack and a Publisher to reach Kafka, and
// knows nothing of HTTP.
package lifecycle

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Transition is a lifecycle transition this driver performs.
type Transition string

// The transitions of this driver.
const (
	Create Transition = "Create"
	Delete Transition = "Delete"
	Adopt  Transition = "Adopt"
)

// Transitions lists the supported transitions, for messages.
var transitions = []Transition{Create, Delete, Adopt}

// ParseTransition reads a lifecycle name, ignoring case.
func ParseTransition(name string) (Transition, error) {
	for _, t := range transitions {
		if strings.EqualFold(name, string(t)) {
			return t, nil
		}
	}
	names := make([]string, len(transitions))
	for i, t := range transitions {
		names[i] = string(t)
	}
	return "", &RequestError{Field: "lifecycleName", Problem: fmt.Sprintf(
		"%q is not supported by the OpenStack driver; supported are %s",
		name, strings.Join(names, ", "))}
}

// StackEntry is the associatedTopology entry naming a request's stack.
// Brent stores it and later Delete requests read it back: keep the name.
const StackEntry = "InfrastructureStack"

// StackEntryType is the type of the stack entry.
const StackEntryType = "Openstack"

// TopologyEntry names one infrastructure object.
type TopologyEntry struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// Topology is an associatedTopology map.
type Topology map[string]TopologyEntry

// StackTopology is the topology holding just the stack with id.
func StackTopology(id string) Topology {
	return Topology{StackEntry: {ID: id, Type: StackEntryType}}
}

// UnmarshalJSON names the entry at fault, which encoding/json cannot do
// for map values.
func (t *Topology) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	if raw == nil {
		*t = nil
		return nil
	}
	out := make(Topology, len(raw))
	for name, msg := range raw {
		var e TopologyEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			return fmt.Errorf("associatedTopology.%s must be an object, "+
				"not %s", name, jsonKind(msg))
		}
		out[name] = e
	}
	*t = out
	return nil
}

// jsonKind names the kind of a JSON value for messages.
func jsonKind(msg json.RawMessage) string {
	text := strings.TrimSpace(string(msg))
	switch {
	case text == "":
		return "nothing"
	case text == "null":
		return "null"
	case text[0] == '"':
		return "string"
	case text[0] == '[':
		return "array"
	case text[0] == '{':
		return "an object with fields of the wrong type"
	case text == "true" || text == "false":
		return "bool"
	}
	return "number"
}

// DeploymentLocation is where the request is carried out.
type DeploymentLocation struct {
	Name       string         `json:"name"`
	Type       string         `json:"type"`
	Properties map[string]any `json:"properties"`
}

// ExecuteRequest is the body of POST /api/driver/lifecycle/execute.
type ExecuteRequest struct {
	LifecycleName      string              `json:"lifecycleName"`
	DriverFiles        *string             `json:"driverFiles"`
	SystemProperties   Properties          `json:"systemProperties"`
	ResourceProperties Properties          `json:"resourceProperties"`
	RequestProperties  Properties          `json:"requestProperties"`
	AssociatedTopology Topology            `json:"associatedTopology"`
	DeploymentLocation *DeploymentLocation `json:"deploymentLocation"`
}

// UnmarshalJSON decodes the request, naming the property map of a
// property that cannot be read.
func (r *ExecuteRequest) UnmarshalJSON(data []byte) error {
	// The property maps are read apart, so that an error in one can
	// name it; encoding/json cannot say which map a bad entry is in.
	var raw struct {
		LifecycleName      string              `json:"lifecycleName"`
		DriverFiles        *string             `json:"driverFiles"`
		SystemProperties   json.RawMessage     `json:"systemProperties"`
		ResourceProperties json.RawMessage     `json:"resourceProperties"`
		RequestProperties  json.RawMessage     `json:"requestProperties"`
		AssociatedTopology Topology            `json:"associatedTopology"`
		DeploymentLocation *DeploymentLocation `json:"deploymentLocation"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	*r = ExecuteRequest{LifecycleName: raw.LifecycleName,
		DriverFiles:        raw.DriverFiles,
		AssociatedTopology: raw.AssociatedTopology,
		DeploymentLocation: raw.DeploymentLocation}
	for _, m := range []struct {
		name string
		raw  json.RawMessage
		dst  *Properties
	}{
		{"systemProperties", raw.SystemProperties, &r.SystemProperties},
		{"resourceProperties", raw.ResourceProperties,
			&r.ResourceProperties},
		{"requestProperties", raw.RequestProperties, &r.RequestProperties},
	} {
		if len(m.raw) == 0 {
			continue
		}
		if err := m.dst.UnmarshalJSON(m.raw); err != nil {
			var typeErr *json.UnmarshalTypeError
			if errors.As(err, &typeErr) {
				return fmt.Errorf("%s must be an object, not %s", m.name,
					jsonKind(m.raw))
			}
			return fmt.Errorf("%s.%w", m.name, err)
		}
	}
	return nil
}

// RequestError is a request Brent must correct; it becomes a 400.
type RequestError struct {
	// Field is where the problem is, e.g. "systemProperties.resourceId".
	Field string
	// Problem says what is wrong.
	Problem string
}

func (e *RequestError) Error() string {
	if e.Field == "" {
		return e.Problem
	}
	return e.Field + ": " + e.Problem
}

// Validate checks what every transition needs.
func (r *ExecuteRequest) Validate() (Transition, error) {
	if r.LifecycleName == "" {
		return "", &RequestError{Field: "lifecycleName",
			Problem: "missing; expected Create, Delete or Adopt"}
	}
	t, err := ParseTransition(r.LifecycleName)
	if err != nil {
		return "", err
	}
	if r.DriverFiles == nil {
		return "", &RequestError{Field: "driverFiles", Problem: "missing; " +
			"expected the base64 text of a zip of Lifecycle/openstack"}
	}
	if r.SystemProperties == nil {
		return "", &RequestError{Field: "systemProperties",
			Problem: "missing"}
	}
	for _, name := range []string{"resourceId", "resourceName"} {
		switch r.SystemProperties[name].Value.(type) {
		case nil, string, json.Number:
		default:
			return "", &RequestError{Field: "systemProperties." + name,
				Problem: "must be a string"}
		}
	}
	if t == Create {
		for _, name := range []string{"resourceId", "resourceName"} {
			if strings.TrimSpace(r.SystemProperties.String(name)) == "" {
				return "", &RequestError{
					Field: "systemProperties." + name,
					Problem: "missing or empty; a Create needs it to " +
						"name the stack"}
			}
		}
	}
	if r.DeploymentLocation == nil {
		return "", &RequestError{Field: "deploymentLocation",
			Problem: "missing"}
	}
	if typ := r.DeploymentLocation.Type; typ != "" &&
		!strings.EqualFold(typ, StackEntryType) {
		return "", &RequestError{Field: "deploymentLocation.type",
			Problem: fmt.Sprintf("%q is not a location for the OpenStack "+
				"driver, whose locations are of type Openstack", typ)}
	}
	if r.DeploymentLocation.Properties == nil {
		return "", &RequestError{Field: "deploymentLocation.properties",
			Problem: "missing"}
	}
	for name, e := range r.AssociatedTopology {
		if strings.TrimSpace(e.ID) == "" {
			return "", &RequestError{Field: "associatedTopology." + name,
				Problem: "has no id"}
		}
	}
	return t, nil
}

// Status is a request's state in a message.
type Status string

// The statuses of a message.
const (
	InProgress Status = "IN_PROGRESS"
	Complete   Status = "COMPLETE"
	Failed     Status = "FAILED"
)

// FailureDetails says why a request failed.
type FailureDetails struct {
	FailureCode string `json:"failureCode"`
	Description string `json:"description"`
}

// Message is a lifecycle execution event, as Brent reads it from the
// events topic. No other fields are allowed in it.
type Message struct {
	RequestID          string          `json:"requestId"`
	Status             Status          `json:"status"`
	FailureDetails     *FailureDetails `json:"failureDetails,omitempty"`
	Outputs            map[string]any  `json:"outputs"`
	AssociatedTopology Topology        `json:"associatedTopology"`
}

// MarshalJSON makes outputs and associatedTopology {} rather than null.
func (m Message) MarshalJSON() ([]byte, error) {
	type plain Message
	if m.Outputs == nil {
		m.Outputs = map[string]any{}
	}
	if m.AssociatedTopology == nil {
		m.AssociatedTopology = Topology{}
	}
	return json.Marshal(plain(m))
}

// sortedKeys gives a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
