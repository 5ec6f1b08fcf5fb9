package main

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strings"
)

// loadTemplate is the heat.yaml of the load packages: parameters filled
// from resource and system properties, a nested template and a get_file
// target under files/, and outputs.
const loadTemplate = `heat_template_version: 2018-08-31
description: Load-test stack of bench/cmd/loadrun.
parameters:
  system_resourceId:
    type: string
  system_resourceName:
    type: string
  flavor:
    type: string
    default: m1.small
  image:
    type: string
    default: cirros
  replicas:
    type: number
    default: 2
resources:
  config:
    type: OS::Heat::Value
    properties:
      type: string
      value: {get_file: scripts/user_data.sh}
  group:
    type: OS::Heat::ResourceGroup
    properties:
      count: {get_param: replicas}
      resource_def:
        type: nested/server.yaml
        properties:
          flavor: {get_param: flavor}
          image: {get_param: image}
outputs:
  resource_id:
    value: {get_param: system_resourceId}
  server_ips:
    value: {get_attr: [group, ip]}
  config_size:
    value: {str_split: [' ', {get_attr: [config, value]}]}
`

const nestedTemplate = `heat_template_version: 2018-08-31
parameters:
  flavor:
    type: string
  image:
    type: string
resources:
  server:
    type: OS::Heat::TestResource
    properties:
      value: {list_join: ['-', [{get_param: flavor}, {get_param: image}]]}
outputs:
  ip:
    value: {get_attr: [server, output]}
`

// slowTemplate is the package of the anchor runs against real Heat: one
// resource that takes the given seconds to create.
const slowTemplate = `heat_template_version: 2018-08-31
description: Anchor stack of bench/cmd/loadrun.
parameters:
  secs:
    type: number
    default: 20
  system_resourceId:
    type: string
resources:
  slow:
    type: OS::Heat::TestResource
    properties:
      value: slow-done
      action_wait_secs:
        create: {get_param: secs}
outputs:
  out:
    value: {get_attr: [slow, output]}
  resource_id:
    value: {get_param: system_resourceId}
`

// loadPackage zips heat.yaml, a nested template and a user-data script
// made up to size bytes of zip (deflated, as Brent sends it); it gives
// the base64 text and the zip's size.
func loadPackage(size int) (string, int, error) {
	rng := rand.New(rand.NewPCG(1, 2))
	filler := func(n int) string {
		// Base64 text of random bytes: it deflates to about 3/4.
		raw := make([]byte, n*3/4+1)
		for i := range raw {
			raw[i] = byte(rng.UintN(256))
		}
		text := base64.StdEncoding.EncodeToString(raw)[:n]
		var b strings.Builder
		b.WriteString("#!/bin/sh\n# generated filler\ncat <<'EOF'\n")
		for len(text) > 76 {
			b.WriteString(text[:76] + "\n")
			text = text[76:]
		}
		b.WriteString(text + "\nEOF\n")
		return b.String()
	}
	build := func(fill int) ([]byte, error) {
		return zipFiles(map[string]string{
			"heat.yaml":                  loadTemplate,
			"files/nested/server.yaml":   nestedTemplate,
			"files/scripts/user_data.sh": filler(fill),
		})
	}
	fill := size
	for range 20 {
		z, err := build(fill)
		if err != nil {
			return "", 0, err
		}
		diff := size - len(z)
		if diff >= -64 && diff <= 64 || fill+diff*4/3 < 0 {
			return base64.StdEncoding.EncodeToString(z), len(z), nil
		}
		fill += diff * 4 / 3
	}
	return "", 0, fmt.Errorf("could not make a package of %d bytes", size)
}

func zipFiles(files map[string]string) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range sortedKeys(files) {
		w, err := zw.Create(name)
		if err != nil {
			return nil, err
		}
		if _, err := io.WriteString(w, files[name]); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// body is an execute request made once as JSON with placeholders, into
// which each request's values are spliced without copying the package.
type body struct {
	parts [][]byte
	// slots[i] is the value that goes after parts[i].
	slots []int
	size  int
}

// placeholder i stands for the i-th value of a request.
func placeholder(i int) string { return fmt.Sprintf("@@V%d@@", i) }

// newBody marshals req; wherever its strings hold placeholder(i), each
// request's i-th value goes.
func newBody(req any) (*body, error) {
	data, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	b := &body{}
	rest := data
	for {
		at := bytes.Index(rest, []byte("@@V"))
		if at < 0 {
			break
		}
		end := bytes.Index(rest[at+3:], []byte("@@"))
		if end < 0 {
			return nil, fmt.Errorf("unterminated placeholder")
		}
		var slot int
		if _, err := fmt.Sscanf(string(rest[at+3:at+3+end]), "%d",
			&slot); err != nil {
			return nil, fmt.Errorf("placeholder: %w", err)
		}
		b.parts = append(b.parts, rest[:at])
		b.slots = append(b.slots, slot)
		rest = rest[at+3+end+2:]
	}
	b.parts = append(b.parts, rest)
	for _, p := range b.parts {
		b.size += len(p)
	}
	return b, nil
}

// reader gives the body with values spliced in (values must need no
// JSON escaping), and its length.
func (b *body) reader(values ...string) (io.Reader, int64) {
	rs := make([]io.Reader, 0, 2*len(b.parts))
	n := b.size
	for i, p := range b.parts {
		rs = append(rs, bytes.NewReader(p))
		if i < len(b.slots) {
			v := values[b.slots[i]]
			rs = append(rs, strings.NewReader(v))
			n += len(v)
		}
	}
	return io.MultiReader(rs...), int64(n)
}

// createRequest is a Create of resource placeholder(0) named
// placeholder(1); props are its resource properties.
func createRequest(files string, loc map[string]any,
	props map[string]any) map[string]any {
	return map[string]any{
		"lifecycleName": "Create",
		"driverFiles":   files,
		"systemProperties": map[string]any{
			"resourceId": map[string]any{"type": "string",
				"value": placeholder(0)},
			"resourceName":       placeholder(1),
			"requestId":          "brent-" + placeholder(2),
			"resourceManagerId":  "brent",
			"deploymentLocation": loc["name"],
			"metricKey":          "bench",
			"resourceType":       "resource::bench::1.0",
		},
		"resourceProperties": props,
		"requestProperties":  map[string]any{},
		"associatedTopology": map[string]any{},
		"deploymentLocation": loc,
	}
}

// deleteRequest is a Delete of resource placeholder(0) named
// placeholder(1) whose stack is placeholder(2).
func deleteRequest(files string, loc map[string]any) map[string]any {
	return map[string]any{
		"lifecycleName": "Delete",
		"driverFiles":   files,
		"systemProperties": map[string]any{
			"resourceId":         placeholder(0),
			"resourceName":       placeholder(1),
			"requestId":          "brent-del-" + placeholder(0),
			"resourceManagerId":  "brent",
			"deploymentLocation": loc["name"],
			"resourceType":       "resource::bench::1.0",
		},
		"resourceProperties": map[string]any{},
		"requestProperties":  map[string]any{},
		"associatedTopology": map[string]any{
			"InfrastructureStack": map[string]any{"id": placeholder(2),
				"type": "Openstack"}},
		"deploymentLocation": loc,
	}
}

// keystoneLocation is a deployment location with Keystone at url.
func keystoneLocation(name, url string) map[string]any {
	return map[string]any{"name": name, "type": "Openstack",
		"properties": map[string]any{
			"os_api_url":                  url,
			"os_auth_api":                 "v3",
			"os_auth_username":            "demo",
			"os_auth_password":            "demopass",
			"os_auth_user_domain_name":    "Default",
			"os_auth_project_name":        "admin",
			"os_auth_project_domain_name": "Default",
		}}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
