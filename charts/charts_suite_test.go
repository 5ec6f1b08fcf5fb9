// Package charts_test checks what ships the driver: the Helm chart in
// openstack-driver/ (rendered with Helm's own Go library, as `helm
// install` would) and the container image's build (the Dockerfile at the
// repository root and the static binary it relies on).
package charts_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	"sigs.k8s.io/yaml"
)

// TestCharts runs the Ginkgo specs of the chart and the image.
func TestCharts(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Chart and Image Suite")
}

// chartDir is the chart, relative to this package.
const chartDir = "openstack-driver"

// The release every spec installs, as `helm install driver ... -n tnco`.
const (
	releaseName = "driver"
	namespace   = "tnco"
	fullname    = "driver-openstack-driver"
)

// loadChart reads the chart from its folder, as `helm install ./chart`.
func loadChart() *chart.Chart {
	GinkgoHelper()
	c, err := loader.Load(chartDir)
	Expect(err).NotTo(HaveOccurred())
	return c
}

// required are the values without which the chart refuses to render: an
// outside Kafka and the Secret with the job-queue keys.
func required() map[string]any {
	return map[string]any{
		"kafka": map[string]any{
			"brokers": []any{"kafka-0.kafka:9092", "kafka-1.kafka:9092"},
		},
		"jobKey": map[string]any{"existingSecret": "driver-job-keys"},
	}
}

// with gives required() with more values laid over it, given as YAML the
// way an operator writes a values file.
func with(valuesYAML string) map[string]any {
	GinkgoHelper()
	var extra map[string]any
	Expect(yaml.Unmarshal([]byte(valuesYAML), &extra)).To(Succeed())
	return util.MergeTables(extra, required())
}

// render renders the chart with the user's values, checking them against
// values.schema.json first, exactly as `helm template` does. It gives the
// rendered files by template name, without the empty ones.
func render(values map[string]any) (map[string]string, error) {
	c, err := loader.Load(chartDir)
	if err != nil {
		return nil, err
	}
	top, err := util.ToRenderValues(c, values, common.ReleaseOptions{
		Name: releaseName, Namespace: namespace, Revision: 1,
		IsInstall: true}, nil)
	if err != nil {
		return nil, err
	}
	files, err := engine.Render(c, top)
	if err != nil {
		return nil, err
	}
	for name, text := range files {
		if strings.TrimSpace(text) == "" {
			delete(files, name)
		}
	}
	return files, nil
}

// object is one rendered Kubernetes object, as parsed YAML.
type object map[string]any

// Kind is the object's kind.
func (o object) Kind() string { s, _ := o["kind"].(string); return s }

// Name is the object's metadata.name.
func (o object) Name() string {
	s, _ := dig(o, "metadata", "name").(string)
	return s
}

// manifest is a rendered release: its objects and its NOTES.txt.
type manifest struct {
	objects []object
	// raw holds each object's YAML text, for typed decoding.
	raw   []string
	notes string
}

// mustRender renders the chart and parses every object in it.
func mustRender(values map[string]any) *manifest {
	GinkgoHelper()
	files, err := render(values)
	Expect(err).NotTo(HaveOccurred())
	m := &manifest{}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if strings.HasSuffix(name, "NOTES.txt") {
			m.notes = files[name]
			continue
		}
		for _, doc := range strings.Split(files[name], "\n---") {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			var o object
			Expect(yaml.Unmarshal([]byte(doc), &o)).To(Succeed(),
				"%s is not YAML:\n%s", name, doc)
			if o == nil {
				continue
			}
			m.objects = append(m.objects, o)
			m.raw = append(m.raw, doc)
		}
	}
	return m
}

// kinds lists the kinds of the objects, sorted.
func (m *manifest) kinds() []string {
	var out []string
	for _, o := range m.objects {
		out = append(out, o.Kind())
	}
	sort.Strings(out)
	return out
}

// one gives the single object of kind, failing when there is not exactly
// one.
func (m *manifest) one(kind string) object {
	GinkgoHelper()
	var found []object
	for _, o := range m.objects {
		if o.Kind() == kind {
			found = append(found, o)
		}
	}
	Expect(found).To(HaveLen(1), "objects of kind %s", kind)
	return found[0]
}

// rawOf gives the YAML text of the single object of kind.
func (m *manifest) rawOf(kind string) string {
	GinkgoHelper()
	for i, o := range m.objects {
		if o.Kind() == kind {
			return m.raw[i]
		}
	}
	Fail("no object of kind " + kind)
	return ""
}

// dig walks parsed YAML by map keys and list indexes.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				if o, isObj := v.(object); isObj {
					m, ok = map[string]any(o), true
				}
			}
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		default:
			panic(fmt.Sprintf("dig: bad path element %v", p))
		}
	}
	return v
}

// repoFile reads a file at the repository root.
func repoFile(name string) string {
	GinkgoHelper()
	data, err := os.ReadFile(filepath.Join("..", name))
	Expect(err).NotTo(HaveOccurred())
	return string(data)
}
