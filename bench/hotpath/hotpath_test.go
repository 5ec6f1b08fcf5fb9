// Package hotpath benchmarks the driver's hot paths in one process, for
// CPU and allocation profiles: the execute path (HTTP handler, request
// decoding, package reading, job record, Heat's POST) and a look at a
// stack with its final message. Heat is bench/simcloud without latency;
// Kafka and the job queue are stand-ins that only encode what they get,
// so the figures are the driver's own work.
//
//	go test ./bench/hotpath -run X -bench . -benchmem \
//	    -cpuprofile cpu.out -memprofile mem.out
package hotpath

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tnco-drivers/openstack-driver/bench/simcloud"
	"github.com/tnco-drivers/openstack-driver/discovery"
	"github.com/tnco-drivers/openstack-driver/heat"
	"github.com/tnco-drivers/openstack-driver/jobs"
	"github.com/tnco-drivers/openstack-driver/kafka"
	"github.com/tnco-drivers/openstack-driver/lifecycle"
	"github.com/tnco-drivers/openstack-driver/resourcepkg"
	"github.com/tnco-drivers/openstack-driver/server"
)

// quietBus takes every message and keeps nothing.
type quietBus struct{}

func (quietBus) Publish(context.Context, string, string, []byte,
	[]kafka.Header) error {
	return nil
}
func (quietBus) Ping(context.Context) error { return nil }

// sealedQueue seals each record as the real queue does, and keeps none.
type sealedQueue struct{ s *jobs.Sealer }

func (q sealedQueue) Enqueue(_ context.Context, key string,
	payload []byte) error {
	_ = q.s.Seal(payload, []byte(key))
	return nil
}
func (sealedQueue) Finish(context.Context, string) error       { return nil }
func (sealedQueue) Done(context.Context, *jobs.Delivery) error { return nil }

type healthy struct{}

func (healthy) Kafka(context.Context) error { return nil }
func (healthy) Workers() bool               { return true }
func (healthy) JobQueue() error             { return nil }

// packageOf makes a package of about size bytes, as the load harness does.
func packageOf(size int) string {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("heat.yaml")
	_, _ = io.WriteString(w, "heat_template_version: 2018-08-31\n"+
		"parameters:\n  greeting: {type: string, default: hi}\n"+
		"resources:\n  r:\n    type: OS::Heat::RandomString\n"+
		"outputs:\n  out: {value: {get_attr: [r, value]}}\n")
	w, _ = zw.Create("files/script.sh")
	// Random-looking text compresses as real scripts do, not to nothing.
	for i := 0; buf.Len() < size && i < size; i++ {
		fmt.Fprintf(w, "echo step %d %x\n", i, i*2654435761)
	}
	_ = zw.Close()
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

func setup(b *testing.B) (http.Handler, *simcloud.Cloud, *lifecycle.Engine) {
	cloud, err := simcloud.Start(simcloud.Config{
		CreateTime: simcloud.Fixed(0), DeleteTime: simcloud.Fixed(0)}, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(cloud.Close)
	key := bytes.Repeat([]byte{7}, 32)
	sealer, _ := jobs.NewSealer([][]byte{key})
	log := slog.New(slog.DiscardHandler)
	clients := heat.NewClients(heat.Options{Timeout: 10 * time.Second})
	limits := resourcepkg.Limits{MaxBytes: 200 << 20, MaxEntries: 5000}
	engine := lifecycle.NewEngine(lifecycle.Settings{
		EventsTopic: "events", PackageLimits: limits,
		StackTimeoutMins: 60, DeadlineMargin: time.Minute,
		DisableRollback: true, AdoptableStates: []string{"CREATE_COMPLETE"},
		PollInterval:    500 * time.Millisecond,
		PollMaxInterval: 30 * time.Second, Workers: 4,
		MaxHeatRequestBytes: 1 << 20, OpenStackTimeout: 10 * time.Second,
	}, clients, quietBus{}, sealedQueue{s: sealer}, log)
	api := server.New(server.Options{MaxBodyBytes: 100 << 20}, engine,
		discovery.NewService(clients, limits), healthy{}, log)
	return api, cloud, engine
}

// BenchmarkExecuteCreate is one Create through the HTTP handler with a
// 20 KB package against a Heat that answers at once.
func BenchmarkExecuteCreate(b *testing.B) {
	api, cloud, _ := setup(b)
	files := packageOf(20 << 10)
	loc := map[string]any{"name": "sim", "properties": map[string]any{
		"os_api_url": cloud.URL(), "os_auth_api": "v3",
		"os_auth_username": "u", "os_auth_password": "p",
		"os_auth_user_domain_name": "Default",
		"os_auth_project_name":     "admin"}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		body, _ := json.Marshal(map[string]any{
			"lifecycleName": "Create", "driverFiles": files,
			"systemProperties": map[string]any{
				"resourceId": fmt.Sprintf("r-%d", i), "resourceName": "bench"},
			"resourceProperties": map[string]any{"greeting": "hello"},
			"deploymentLocation": loc})
		req := httptest.NewRequest(http.MethodPost,
			"/api/driver/lifecycle/execute", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		if rec.Code != http.StatusAccepted {
			b.Fatalf("answer %d: %s", rec.Code,
				strings.TrimSpace(rec.Body.String()))
		}
	}
}
