package discovery_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tnco-drivers/openstack-driver/discovery"
)

// FuzzParse feeds arbitrary bytes to Parse. It must never panic, every
// error must be a *TemplateError, and a template it accepts must resolve
// against a small in-memory cloud without panicking, failing only with the
// error types the server maps to 400.
func FuzzParse(f *testing.F) {
	for _, name := range []string{
		filepath.Join("testdata", "neutron-network.yaml"),
		filepath.Join("..", "docs", "examples", "stack-discovery",
			"discover.yaml"),
		filepath.Join("..", "docs", "examples", "network-discovery",
			"discover.yaml"),
	} {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(stackTemplate))
	f.Add([]byte(netTemplate))
	f.Add([]byte(allStackAttributes))
	f.Add([]byte("a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n"))
	f.Add([]byte("x: {<<: [{a: 1}, {b: 2}], c: 3}\n"))
	f.Add([]byte("\xff\xfe\x00"))

	cloud := &memoryCloud{
		stacks: []discovery.Stack{{
			ID: "s1", Name: "x", Status: "CREATE_COMPLETE",
			Parameters: map[string]string{"p": "v"},
			Outputs: map[string]any{
				"o": map[string]any{"k": []any{1.0, "two"}},
			},
		}},
		networks: []discovery.Network{{ID: "n1", Name: "x"}},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tmpl, err := discovery.Parse("discover.yaml", data)
		if err != nil {
			var te *discovery.TemplateError
			if !errors.As(err, &te) {
				t.Fatalf("error is %T, not *TemplateError: %v", err, err)
			}
			if tmpl != nil {
				t.Fatalf("template returned with error %v", err)
			}
			return
		}
		for _, instance := range []string{"x", "s1", "n1", ""} {
			_, err := tmpl.Find(context.Background(), cloud, instance)
			if err == nil {
				continue
			}
			var te *discovery.TemplateError
			var amb *discovery.AmbiguousError
			if !errors.As(err, &te) && !errors.As(err, &amb) {
				t.Fatalf("Find error is %T: %v", err, err)
			}
		}
	})
}
