package heat

import (
	"net/http"
	"strings"
)

// Operation names an OpenStack call by its service and what it does, from
// its method and path, for metrics: the names form a small fixed set, so
// they can be labels, unlike the paths themselves.
func Operation(req *http.Request) (service, op string) {
	path := req.URL.Path
	switch {
	case strings.HasSuffix(path, "/auth/tokens"):
		return "keystone", strings.ToLower(req.Method) + "_token"
	case strings.Contains(path, "/v3/") && !strings.Contains(path, "/stacks"):
		return "keystone", "other"
	case strings.Contains(path, "/v2.0/"):
		resource := path[strings.LastIndex(path, "/v2.0/")+len("/v2.0/"):]
		resource, _, _ = strings.Cut(resource, "/")
		return "neutron", strings.ToLower(req.Method) + "_" + resource
	}
	i := strings.Index(path, "/stacks")
	if i < 0 {
		return "heat", "other"
	}
	rest := strings.Trim(path[i+len("/stacks"):], "/")
	parts := strings.Split(rest, "/")
	switch {
	case rest == "" && req.Method == http.MethodPost:
		return "heat", "create_stack"
	case rest == "":
		return "heat", "list_stacks"
	case len(parts) >= 3 && parts[2] == "resources":
		return "heat", "list_resources"
	case len(parts) >= 3 && parts[2] == "events":
		return "heat", "list_events"
	case req.Method == http.MethodDelete:
		return "heat", "delete_stack"
	case len(parts) == 1:
		return "heat", "find_stack"
	case len(parts) == 2:
		return "heat", "get_stack"
	}
	return "heat", "other"
}
