package heat

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gophercloud/gophercloud/v2"
)

// Stack is what Heat says about one stack.
type Stack struct {
	ID           string
	Name         string
	Status       string
	StatusReason string
	CreationTime string
	UpdatedTime  string
	Tags         []string
	Parameters   map[string]string
	// Outputs maps output_key to output_value.
	Outputs map[string]any
}

// HasTag reports whether the stack carries tag.
func (s *Stack) HasTag(tag string) bool {
	for _, t := range s.Tags {
		if t == tag {
			return true
		}
	}
	return false
}

// Deleted reports whether the stack is gone or going.
func (s *Stack) Deleted() bool {
	return strings.HasPrefix(s.Status, "DELETE_") && s.Status != "DELETE_FAILED"
}

// InProgress reports whether Heat is still working on the stack.
func (s *Stack) InProgress() bool {
	return strings.HasSuffix(s.Status, "_IN_PROGRESS")
}

// CreateInput is everything Heat needs to create a stack.
type CreateInput struct {
	Name string
	// Template is the HOT template as text; Heat parses it.
	Template string
	// Files maps the names a template uses (nested templates, get_file
	// targets) to their contents.
	Files map[string]string
	// Environment is the environment file as text, or "".
	Environment     string
	Parameters      map[string]any
	TimeoutMins     int
	DisableRollback bool
	Tags            []string
}

// Size is the bytes of template, files and environment together.
func (in CreateInput) Size() int {
	n := len(in.Template) + len(in.Environment)
	for name, f := range in.Files {
		n += len(name) + len(f)
	}
	return n
}

type stackBody struct {
	ID           string            `json:"id"`
	Name         string            `json:"stack_name"`
	Status       string            `json:"stack_status"`
	StatusReason string            `json:"stack_status_reason"`
	CreationTime string            `json:"creation_time"`
	UpdatedTime  string            `json:"updated_time"`
	Tags         []string          `json:"tags"`
	Parameters   map[string]string `json:"parameters"`
	Outputs      []struct {
		Key   string `json:"output_key"`
		Value any    `json:"output_value"`
	} `json:"outputs"`
}

func (b stackBody) stack() *Stack {
	s := &Stack{ID: b.ID, Name: b.Name, Status: b.Status,
		StatusReason: b.StatusReason, CreationTime: b.CreationTime,
		UpdatedTime: b.UpdatedTime, Tags: b.Tags, Parameters: b.Parameters,
		Outputs: map[string]any{}}
	for _, o := range b.Outputs {
		s.Outputs[o.Key] = o.Value
	}
	return s
}

// CreateStack asks Heat to create a stack and gives its id. The body is
// built here rather than with gophercloud's template helpers, which would
// re-parse the template as YAML 1.1 and try to fetch files themselves.
func (c *Cloud) CreateStack(ctx context.Context, in CreateInput) (string,
	error) {
	body := map[string]any{
		"stack_name":       in.Name,
		"template":         in.Template,
		"files":            in.Files,
		"parameters":       in.Parameters,
		"disable_rollback": in.DisableRollback,
	}
	if in.Files == nil {
		body["files"] = map[string]string{}
	}
	if in.Parameters == nil {
		body["parameters"] = map[string]any{}
	}
	if in.Environment != "" {
		body["environment"] = in.Environment
	}
	if in.TimeoutMins > 0 {
		body["timeout_mins"] = in.TimeoutMins
	}
	if len(in.Tags) > 0 {
		body["tags"] = strings.Join(in.Tags, ",")
	}
	var out struct {
		Stack struct {
			ID string `json:"id"`
		} `json:"stack"`
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	_, err := c.orchestration.Post(ctx, c.orchestration.ServiceURL("stacks"),
		body, &out, nil)
	if err != nil {
		return "", wrap("Heat", "create stack "+in.Name, err)
	}
	if out.Stack.ID == "" {
		return "", fmt.Errorf("Heat create stack %s: no id in the answer",
			in.Name)
	}
	return out.Stack.ID, nil
}

// GetStack reads a stack by name and id, or by id alone (one more round
// trip: Heat redirects to the full address).
func (c *Cloud) GetStack(ctx context.Context, name, id string) (*Stack,
	error) {
	path := "stacks/" + url.PathEscape(id)
	if name != "" {
		path = "stacks/" + url.PathEscape(name) + "/" + url.PathEscape(id)
	}
	return c.show(ctx, path, "show stack "+id)
}

// FindStack reads a stack by its name; a 404 means none has it.
func (c *Cloud) FindStack(ctx context.Context, name string) (*Stack, error) {
	return c.show(ctx, "stacks/"+url.PathEscape(name), "find stack "+name)
}

func (c *Cloud) show(ctx context.Context, path, op string) (*Stack, error) {
	var out struct {
		Stack stackBody `json:"stack"`
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	_, err := c.orchestration.Get(ctx, c.orchestration.ServiceURL(path),
		&out, nil)
	if err != nil {
		return nil, wrap("Heat", op, err)
	}
	if out.Stack.ID == "" || out.Stack.Status == "" {
		return nil, &APIError{Service: "Heat", Op: op, Status: 200,
			Message: "the answer is not a Heat stack: is os_api_url " +
				"the address of Heat (without Keystone) or of Keystone?"}
	}
	return out.Stack.stack(), nil
}

// DeleteStack asks Heat to delete a stack; Heat answers at once and the
// stack goes to DELETE_IN_PROGRESS.
func (c *Cloud) DeleteStack(ctx context.Context, name, id string) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	path := "stacks/" + url.PathEscape(name) + "/" + url.PathEscape(id)
	_, err := c.orchestration.Delete(ctx, c.orchestration.ServiceURL(path),
		&gophercloud.RequestOpts{OkCodes: []int{http.StatusNoContent,
			http.StatusAccepted, http.StatusOK}})
	return wrap("Heat", "delete stack "+id, err)
}

// Resource is one resource of a stack, as Heat lists it.
type Resource struct {
	Name         string
	Type         string
	Status       string
	StatusReason string
	PhysicalID   string
	// Nested is true for a resource that is itself a stack (a nested
	// template, a resource group): its own failure only repeats the
	// failure of a resource inside it.
	Nested bool
}

// Resources lists a stack's resources, those of its nested stacks
// included down to depth levels.
func (c *Cloud) Resources(ctx context.Context, name, id string,
	depth int) ([]Resource, error) {
	path := "stacks/" + url.PathEscape(name) + "/" + url.PathEscape(id) +
		"/resources"
	if depth > 0 {
		path += fmt.Sprintf("?nested_depth=%d", depth)
	}
	var out struct {
		Resources []struct {
			Name   string `json:"resource_name"`
			Type   string `json:"resource_type"`
			Status string `json:"resource_status"`
			Reason string `json:"resource_status_reason"`
			PhysID string `json:"physical_resource_id"`
			Links  []struct {
				Rel string `json:"rel"`
			} `json:"links"`
		} `json:"resources"`
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	_, err := c.orchestration.Get(ctx, c.orchestration.ServiceURL(path),
		&out, nil)
	if err != nil {
		return nil, wrap("Heat", "list resources of stack "+id, err)
	}
	res := make([]Resource, len(out.Resources))
	for i, r := range out.Resources {
		res[i] = Resource{Name: r.Name, Type: r.Type, Status: r.Status,
			StatusReason: r.Reason, PhysicalID: r.PhysID}
		for _, l := range r.Links {
			if l.Rel == "nested" {
				res[i].Nested = true
			}
		}
	}
	return res, nil
}

// FailedLeaves gives the failed resources that are not stacks themselves:
// where a failure started, however deep in nested stacks.
func FailedLeaves(resources []Resource) []Resource {
	var out []Resource
	for _, r := range resources {
		if strings.HasSuffix(r.Status, "_FAILED") && !r.Nested {
			out = append(out, r)
		}
	}
	return out
}

// StackStatus is a stack's id and status, as Heat's stack list gives them.
type StackStatus struct {
	ID     string
	Status string
}

// listPage is how many stacks one list call asks for.
const listPage = 1000

// ListStatuses gives the status of every stack that carries all of tags,
// in as few calls as Heat's paging allows: one call answers for many
// requests polling stacks of the same project.
func (c *Cloud) ListStatuses(ctx context.Context,
	tags []string) (map[string]string, error) {
	out := map[string]string{}
	marker := ""
	for {
		q := url.Values{}
		q.Set("limit", fmt.Sprint(listPage))
		if len(tags) > 0 {
			q.Set("tags", strings.Join(tags, ","))
		}
		if marker != "" {
			q.Set("marker", marker)
		}
		var page struct {
			Stacks []struct {
				ID     string `json:"id"`
				Status string `json:"stack_status"`
			} `json:"stacks"`
		}
		cctx, cancel := context.WithTimeout(ctx, c.timeout)
		_, err := c.orchestration.Get(cctx,
			c.orchestration.ServiceURL("stacks")+"?"+q.Encode(), &page, nil)
		cancel()
		if err != nil {
			return nil, wrap("Heat", "list stacks", err)
		}
		for _, s := range page.Stacks {
			out[s.ID] = s.Status
		}
		if len(page.Stacks) < listPage {
			return out, nil
		}
		marker = page.Stacks[len(page.Stacks)-1].ID
	}
}
