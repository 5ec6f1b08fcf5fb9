package simcloud

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tnco-drivers/openstack-driver/bench/calls"
)

const heatTime = "2006-01-02T15:04:05Z"

// heatError answers as Heat's fault middleware does.
func heatError(w http.ResponseWriter, code int, typ, msg string) {
	title := http.StatusText(code)
	writeJSON(w, code, map[string]any{
		"explanation": "The server could not comply with the request " +
			"since it is either malformed or otherwise incorrect.",
		"code":  code,
		"title": title,
		"error": map[string]any{"message": msg, "traceback": nil,
			"type": typ},
	})
}

// heat wraps a Heat handler: the simulated latency, the token check and
// the project check.
func (c *Cloud) heat(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(c.cfg.HeatLatency)
		if err := c.checkToken(r); err != nil {
			c.unauthorized.Add(calls.ClassifyHeat(r.Method, r.URL.Path))
			w.Header().Set("WWW-Authenticate",
				"Keystone uri=\""+c.base+"/v3\"")
			writeJSON(w, http.StatusUnauthorized, map[string]any{
				"error": map[string]any{"code": 401,
					"title":   "Unauthorized",
					"message": "The request you have made requires authentication."}})
			return
		}
		if r.PathValue("project") != c.cfg.ProjectID {
			heatError(w, http.StatusNotFound, "NotFound", fmt.Sprintf(
				"project %s not found", r.PathValue("project")))
			return
		}
		h(w, r)
	}
}

// countLocked counts a call against a stack; c.mu is held.
func countLocked(s *stack, r *http.Request) {
	if s.calls == nil {
		s.calls = map[calls.Kind]int{}
	}
	s.calls[calls.ClassifyHeat(r.Method, r.URL.Path)]++
}

type createBody struct {
	Name            string            `json:"stack_name"`
	Template        json.RawMessage   `json:"template"`
	TemplateURL     string            `json:"template_url"`
	Files           map[string]string `json:"files"`
	Parameters      map[string]any    `json:"parameters"`
	Environment     json.RawMessage   `json:"environment"`
	Tags            string            `json:"tags"`
	TimeoutMins     int               `json:"timeout_mins"`
	DisableRollback *bool             `json:"disable_rollback"`
}

// outputKeys reads the names of a template's outputs; a template that
// cannot be read is refused, as Heat would.
func outputKeys(raw json.RawMessage) ([]string, error) {
	var text string
	var tmpl struct {
		Version string         `yaml:"heat_template_version"`
		Outputs map[string]any `yaml:"outputs"`
	}
	if err := json.Unmarshal(raw, &text); err == nil {
		if err := yaml.Unmarshal([]byte(text), &tmpl); err != nil {
			return nil, err
		}
	} else if err := json.Unmarshal(raw, &tmpl); err != nil {
		return nil, err
	}
	if tmpl.Version == "" {
		return nil, fmt.Errorf("Template format version not found.")
	}
	keys := make([]string, 0, len(tmpl.Outputs))
	for k := range tmpl.Outputs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys, nil
}

func (c *Cloud) createStack(w http.ResponseWriter, r *http.Request) {
	var body createBody
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		heatError(w, 400, "HTTPBadRequest", "Malformed JSON: "+err.Error())
		return
	}
	if body.Name == "" {
		heatError(w, 400, "HTTPBadRequest",
			"No stack name specified")
		return
	}
	if len(body.Template) == 0 {
		heatError(w, 400, "HTTPBadRequest",
			"No template specified")
		return
	}
	keys, err := outputKeys(body.Template)
	if err != nil {
		heatError(w, 400, "StackValidationFailed", err.Error())
		return
	}
	now := time.Now()
	s := &stack{id: newID(), name: body.Name, outputKeys: keys,
		timeoutMins: body.TimeoutMins, created: now,
		params: map[string]string{}, disableRb: true}
	if body.DisableRollback != nil {
		s.disableRb = *body.DisableRollback
	}
	if body.Tags != "" {
		s.tags = strings.Split(body.Tags, ",")
	}
	for k, v := range body.Parameters {
		s.params[k] = fmt.Sprint(v)
	}
	s.completeAt = now.Add(c.cfg.CreateTime.draw())

	c.mu.Lock()
	if _, taken := c.live[body.Name]; taken {
		c.mu.Unlock()
		heatError(w, 409, "StackExists", fmt.Sprintf(
			"The Stack (%s) already exists.", body.Name))
		return
	}
	c.stacks[s.id] = s
	c.live[s.name] = s
	s.seq = len(c.order)
	c.order = append(c.order, s)
	countLocked(s, r)
	c.mu.Unlock()

	writeJSON(w, http.StatusCreated, map[string]any{"stack": map[string]any{
		"id": s.id, "links": []map[string]any{{"rel": "self",
			"href": c.stackURL(r, s, "")}}}})
}

// stackURL is the canonical address of a stack (plus a suffix such as
// "/resources"), on the host the client used.
func (c *Cloud) stackURL(r *http.Request, s *stack, suffix string) string {
	return "http://" + r.Host + "/heat/v1/" + c.cfg.ProjectID + "/stacks/" +
		url.PathEscape(s.name) + "/" + s.id + suffix
}

// find gives the stack named by ident: an id first, then a live name;
// c.mu is held.
func (c *Cloud) findLocked(ident string) *stack {
	if s := c.stacks[ident]; s != nil {
		return s
	}
	return c.live[ident]
}

// lookupStack redirects /stacks/{name or id}[/resources] to the stack's
// canonical address, as Heat does.
func (c *Cloud) lookupStack(w http.ResponseWriter, r *http.Request) {
	ident := r.PathValue("ident")
	c.mu.Lock()
	s := c.findLocked(ident)
	if s != nil {
		countLocked(s, r)
	}
	c.mu.Unlock()
	if s == nil {
		heatError(w, 404, "EntityNotFound", fmt.Sprintf(
			"The Stack (%s) could not be found.", ident))
		return
	}
	suffix := ""
	if strings.HasSuffix(r.URL.Path, "/resources") {
		suffix = "/resources"
	}
	loc := c.stackURL(r, s, suffix)
	if r.URL.RawQuery != "" {
		loc += "?" + r.URL.RawQuery
	}
	w.Header().Set("Location", loc)
	writeJSON(w, http.StatusFound, map[string]any{"location": loc})
}

// byNameID finds the stack at /stacks/{name}/{id}; c.mu is held.
func (c *Cloud) byNameIDLocked(r *http.Request) *stack {
	s := c.stacks[r.PathValue("id")]
	if s == nil || s.name != r.PathValue("name") {
		return nil
	}
	return s
}

func (c *Cloud) notFound(w http.ResponseWriter, r *http.Request) {
	heatError(w, 404, "EntityNotFound", fmt.Sprintf(
		"The Stack (%s) could not be found.", r.PathValue("name")))
}

// summary is a stack as Heat lists it; showStack adds to it.
func (c *Cloud) summary(r *http.Request, s *stack,
	now time.Time) map[string]any {
	status, reason := s.status(now)
	var updated, deleted any
	if !s.deleteAt.IsZero() {
		updated = s.deleteAt.UTC().Format(heatTime)
		if status == "DELETE_COMPLETE" {
			deleted = s.deleteDone.UTC().Format(heatTime)
		}
	} else if status == "CREATE_COMPLETE" {
		updated = nil
	}
	var tags any
	if len(s.tags) > 0 {
		tags = s.tags
	}
	return map[string]any{
		"creation_time":         s.created.UTC().Format(heatTime),
		"deletion_time":         deleted,
		"description":           "simulated stack",
		"id":                    s.id,
		"links":                 []map[string]any{{"rel": "self", "href": c.stackURL(r, s, "")}},
		"parent":                nil,
		"stack_name":            s.name,
		"stack_owner":           nil,
		"stack_status":          status,
		"stack_status_reason":   reason,
		"stack_user_project_id": "sup-" + c.cfg.ProjectID[:8],
		"tags":                  tags,
		"updated_time":          updated,
	}
}

func (c *Cloud) showStack(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	c.mu.Lock()
	s := c.byNameIDLocked(r)
	if s == nil {
		c.mu.Unlock()
		c.notFound(w, r)
		return
	}
	countLocked(s, r)
	body := c.summary(r, s, now)
	status := body["stack_status"].(string)
	params := map[string]string{"OS::project_id": c.cfg.ProjectID,
		"OS::stack_id": s.id, "OS::stack_name": s.name}
	for k, v := range s.params {
		params[k] = v
	}
	outputs := []map[string]any{}
	if status != "CREATE_IN_PROGRESS" {
		for _, k := range s.outputKeys {
			outputs = append(outputs, map[string]any{"output_key": k,
				"output_value": k + "-" + s.id[:8],
				"description":  "No description given"})
		}
	}
	c.mu.Unlock()
	body["capabilities"] = []any{}
	body["disable_rollback"] = s.disableRb
	body["notification_topics"] = []any{}
	body["outputs"] = outputs
	body["parameters"] = params
	body["template_description"] = "simulated stack"
	body["timeout_mins"] = nilIfZero(s.timeoutMins)
	writeJSON(w, http.StatusOK, map[string]any{"stack": body})
}

func nilIfZero(n int) any {
	if n == 0 {
		return nil
	}
	return n
}

// listStacks answers GET /stacks with Heat's filters name, status, id,
// tags (all of them) and tags_any, its paging (limit, marker: the id of
// the last stack of the page before) and its default order, newest
// first; deleted stacks only with show_deleted. The answer is written by
// hand: a driver that lists often makes this the simulator's hottest
// path, and the simulator shares the CPUs with the driver.
func (c *Cloud) listStacks(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	now := time.Now()
	showDeleted, _ := strconv.ParseBool(q.Get("show_deleted"))
	limit, _ := strconv.Atoi(q.Get("limit"))
	split := func(key string) []string {
		var out []string
		for _, v := range q[key] {
			for p := range strings.SplitSeq(v, ",") {
				if p != "" {
					out = append(out, p)
				}
			}
		}
		return out
	}
	tags, tagsAny := split("tags"), split("tags_any")
	buf := make([]byte, 0, 4096)
	buf = append(buf, `{"stacks": [`...)
	listed := 0
	c.mu.Lock()
	from := len(c.order) - 1
	if m := q.Get("marker"); m != "" {
		s := c.stacks[m]
		if s == nil {
			c.mu.Unlock()
			heatError(w, 404, "EntityNotFound", fmt.Sprintf(
				"The Stack (%s) could not be found.", m))
			return
		}
		from = s.seq - 1
	}
	for i := from; i >= 0; i-- {
		s := c.order[i]
		status, reason := s.status(now)
		switch {
		case status == "DELETE_COMPLETE" && !showDeleted:
			continue
		case len(q["name"]) > 0 && !slices.Contains(q["name"], s.name):
			continue
		case len(q["id"]) > 0 && !slices.Contains(q["id"], s.id):
			continue
		case len(q["status"]) > 0 && !slices.ContainsFunc(q["status"],
			func(st string) bool { return strings.HasSuffix(status, st) }):
			continue
		}
		ok := true
		for _, t := range tags {
			ok = ok && slices.Contains(s.tags, t)
		}
		if len(tagsAny) > 0 && !slices.ContainsFunc(tagsAny,
			func(t string) bool { return slices.Contains(s.tags, t) }) {
			ok = false
		}
		if !ok {
			continue
		}
		if listed > 0 {
			buf = append(buf, ", "...)
		}
		buf = c.appendSummary(buf, r, s, status, reason)
		listed++
		if limit > 0 && listed == limit {
			break
		}
	}
	c.mu.Unlock()
	buf = append(buf, "]}"...)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(buf)))
	_, _ = w.Write(buf)
}

// appendSummary writes the JSON of a stack as Heat lists it; c.mu is
// held.
func (c *Cloud) appendSummary(b []byte, r *http.Request, s *stack,
	status, reason string) []byte {
	str := func(key, v string) {
		b = append(b, '"')
		b = append(b, key...)
		b = append(b, `": `...)
		b = strconv.AppendQuote(b, v)
		b = append(b, ", "...)
	}
	b = append(b, '{')
	str("creation_time", s.created.UTC().Format(heatTime))
	if status == "DELETE_COMPLETE" {
		str("deletion_time", s.deleteDone.UTC().Format(heatTime))
	} else {
		b = append(b, `"deletion_time": null, `...)
	}
	str("description", "simulated stack")
	str("id", s.id)
	b = append(b, `"links": [{"href": `...)
	b = strconv.AppendQuote(b, c.stackURL(r, s, ""))
	b = append(b, `, "rel": "self"}], "parent": null, `...)
	str("stack_name", s.name)
	b = append(b, `"stack_owner": null, `...)
	str("stack_status", status)
	str("stack_status_reason", reason)
	str("stack_user_project_id", "sup-"+c.cfg.ProjectID[:8])
	if len(s.tags) == 0 {
		b = append(b, `"tags": null, `...)
	} else {
		b = append(b, `"tags": [`...)
		for i, t := range s.tags {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = strconv.AppendQuote(b, t)
		}
		b = append(b, "], "...)
	}
	if s.deleteAt.IsZero() {
		b = append(b, `"updated_time": null}`...)
	} else {
		b = append(b, `"updated_time": `...)
		b = strconv.AppendQuote(b, s.deleteAt.UTC().Format(heatTime))
		b = append(b, '}')
	}
	return b
}

func (c *Cloud) deleteStack(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	c.mu.Lock()
	s := c.byNameIDLocked(r)
	if s == nil {
		c.mu.Unlock()
		c.notFound(w, r)
		return
	}
	countLocked(s, r)
	if status, _ := s.status(now); status == "DELETE_COMPLETE" {
		c.mu.Unlock()
		c.notFound(w, r)
		return
	}
	if s.deleteAt.IsZero() {
		s.deleteAt = now
		s.deleteDone = now.Add(c.cfg.DeleteTime.draw())
		if c.live[s.name] == s {
			delete(c.live, s.name)
		}
	}
	c.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// listResources gives the stack's resources, done in proportion to the
// time its create has run.
func (c *Cloud) listResources(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	c.mu.Lock()
	s := c.byNameIDLocked(r)
	if s == nil {
		c.mu.Unlock()
		c.notFound(w, r)
		return
	}
	countLocked(s, r)
	status, _ := s.status(now)
	n := c.cfg.ResourcesPerStack
	done := n
	if status == "CREATE_IN_PROGRESS" {
		total := s.completeAt.Sub(s.created)
		done = int(float64(n) * float64(now.Sub(s.created)) /
			float64(max(total, 1)))
	}
	res := make([]map[string]any, 0, n)
	for i := range n {
		rs := "CREATE_COMPLETE"
		switch {
		case strings.HasPrefix(status, "DELETE"):
			rs = status
		case i == done:
			rs = "CREATE_IN_PROGRESS"
		case i > done:
			rs = "INIT_COMPLETE"
		}
		name := fmt.Sprintf("res%d", i)
		res = append(res, map[string]any{
			"creation_time": s.created.UTC().Format(heatTime),
			"links": []map[string]any{
				{"rel": "self", "href": c.stackURL(r, s, "/resources/"+name)},
				{"rel": "stack", "href": c.stackURL(r, s, "")}},
			"logical_resource_id":    name,
			"physical_resource_id":   s.id[:8] + "-" + name,
			"required_by":            []string{},
			"resource_name":          name,
			"resource_status":        rs,
			"resource_status_reason": "state changed",
			"resource_type":          "OS::Heat::TestResource",
			"updated_time":           s.created.UTC().Format(heatTime),
		})
	}
	c.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"resources": res})
}
