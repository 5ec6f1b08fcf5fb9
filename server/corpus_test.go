package server_test

// The hostile-request corpus: broken, malformed and malicious requests sent
// to the real HTTP API, wired as cmd/openstack-driver wires it (the real
// lifecycle engine, the real discovery service, real heat.Clients), but
// with a Kafka that only records and no OpenStack at all. Every request in
// the corpus must be refused with a 4xx and a JSON error body that names
// the problem, quickly, without touching Kafka, the job queue or the
// network, and without leaving goroutines behind.
//
// Each file testdata/corpus/*.json is one request:
//
//	{
//	  "about": "what makes this request hostile",
//	  "method": "POST",                  (default POST)
//	  "path": "/api/driver/lifecycle/execute",
//	  "contentType": "application/json", (default; "" sends none)
//	  "body": {...},                     (the request, as JSON) or
//	  "bodyRaw": "...",                  (the request's bytes, as text)
//	  "zip": [{"name": "heat.yaml", "body": "...", "mode": "symlink"}],
//	  "status": 400,
//	  "contains": ["text the localizedMessage must hold", ...],
//	  "notContains": ["text it must not hold", ...]
//	}
//
// In the body, "$ZIP" is replaced by the base64 of a zip of the "zip"
// entries (mode: "symlink", "fifo" or "dir"; otherwise a regular file), and
// "$DEAD" by 127.0.0.1 and a port nothing listens on. Requests that are too
// big or binary to keep as text are built in Go (generatedCases).

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tnco-drivers/openstack-driver/discovery"
	"github.com/tnco-drivers/openstack-driver/heat"
	"github.com/tnco-drivers/openstack-driver/jobs"
	"github.com/tnco-drivers/openstack-driver/kafka"
	"github.com/tnco-drivers/openstack-driver/lifecycle"
	"github.com/tnco-drivers/openstack-driver/resourcepkg"
	"github.com/tnco-drivers/openstack-driver/server"
)

// The small limits the hostile driver runs with.
const (
	hostileMaxBody    = 256 << 10
	hostileMaxPackage = 64 << 10
	hostileMaxEntries = 16
	// hostileAnswerTime bounds the answer to every corpus request.
	hostileAnswerTime = 5 * time.Second
)

// recordingBus is a Kafka that never fails and records what it is sent.
type recordingBus struct {
	mu        sync.Mutex
	published []publishedRecord
	pings     int
}

type publishedRecord struct {
	Topic, Key string
	Value      []byte
}

func (b *recordingBus) Publish(_ context.Context, topic, key string,
	value []byte, _ []kafka.Header) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.published = append(b.published, publishedRecord{topic, key,
		append([]byte(nil), value...)})
	return nil
}

func (b *recordingBus) Ping(context.Context) error {
	b.mu.Lock()
	b.pings++
	b.mu.Unlock()
	return nil
}

func (b *recordingBus) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.published)
}

// find gives the records published under key.
func (b *recordingBus) find(key string) []publishedRecord {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []publishedRecord
	for _, r := range b.published {
		if r.Key == key {
			out = append(out, r)
		}
	}
	return out
}

// take gives the records published so far and forgets them.
func (b *recordingBus) take() []publishedRecord {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.published
	b.published = nil
	return out
}

// recordingQueue is a job queue that never fails and counts its calls.
type recordingQueue struct {
	mu                     sync.Mutex
	enqueued, finished, dn int
}

func (q *recordingQueue) Enqueue(context.Context, string, []byte) error {
	q.mu.Lock()
	q.enqueued++
	q.mu.Unlock()
	return nil
}

func (q *recordingQueue) Finish(context.Context, string) error {
	q.mu.Lock()
	q.finished++
	q.mu.Unlock()
	return nil
}

func (q *recordingQueue) Done(context.Context, *jobs.Delivery) error {
	q.mu.Lock()
	q.dn++
	q.mu.Unlock()
	return nil
}

func (q *recordingQueue) enqueuedCount() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.enqueued
}

func (q *recordingQueue) calls() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.enqueued + q.finished + q.dn
}

// noNetwork is the HTTP transport of every OpenStack client: it sends
// nothing anywhere, counts the attempts and fails each as a refused
// connection would, so that a request that gets as far as OpenStack is
// seen (and answered 503 by the driver) without any traffic leaving the
// process.
type noNetwork struct {
	mu       sync.Mutex
	attempts int
	hosts    []string
}

func (n *noNetwork) wrap(http.RoundTripper) http.RoundTripper { return n }

func (n *noNetwork) RoundTrip(req *http.Request) (*http.Response, error) {
	n.mu.Lock()
	n.attempts++
	n.hosts = append(n.hosts, req.URL.Host)
	n.mu.Unlock()
	if req.Body != nil {
		_ = req.Body.Close()
	}
	return nil, &net.OpError{Op: "dial", Net: "tcp",
		Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
}

func (n *noNetwork) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.attempts
}

// quietHealth is a Health whose dependencies all work.
type quietHealth struct{}

func (quietHealth) Kafka(context.Context) error { return nil }
func (quietHealth) Workers() bool               { return true }
func (quietHealth) JobQueue() error             { return nil }

// lockedBuffer collects log output from concurrent handlers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) Reset() {
	b.mu.Lock()
	b.buf.Reset()
	b.mu.Unlock()
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// hostileDriver is the driver under attack and what it touched.
type hostileDriver struct {
	api   *server.Server
	bus   *recordingBus
	queue *recordingQueue
	net   *noNetwork
	logs  *lockedBuffer
}

// newHostileDriver wires the API as cmd/openstack-driver does, with small
// limits, a recording Kafka and no network.
func newHostileDriver() *hostileDriver {
	d := &hostileDriver{bus: &recordingBus{}, queue: &recordingQueue{},
		net: &noNetwork{}, logs: &lockedBuffer{}}
	log := slog.New(slog.NewJSONHandler(d.logs,
		&slog.HandlerOptions{Level: slog.LevelDebug}))
	clients := heat.NewClients(heat.Options{Timeout: 2 * time.Second,
		IdleTTL: time.Minute, Transport: d.net.wrap})
	limits := resourcepkg.Limits{MaxBytes: hostileMaxPackage,
		MaxEntries: hostileMaxEntries}
	engine := lifecycle.NewEngine(lifecycle.Settings{
		EventsTopic:         "lm_vnfc_lifecycle_execution_events",
		ProgressTopic:       "openstack_driver_progress",
		ProgressInterval:    time.Second,
		PackageLimits:       limits,
		StackTimeoutMins:    60,
		DeadlineMargin:      5 * time.Minute,
		DisableRollback:     true,
		AdoptableStates:     []string{"CREATE_COMPLETE", "UPDATE_COMPLETE"},
		PollInterval:        time.Second,
		PollMaxInterval:     5 * time.Second,
		Workers:             2,
		DeleteRetries:       1,
		MaxHeatRequestBytes: 1 << 20,
		OpenStackTimeout:    2 * time.Second,
	}, clients, d.bus, d.queue, log)
	d.api = server.New(server.Options{MaxBodyBytes: hostileMaxBody}, engine,
		discovery.NewService(clients, limits), quietHealth{}, log)
	return d
}

// zipEntry is one member of a zip in a corpus file.
type zipEntry struct {
	Name string `json:"name"`
	Body string `json:"body"`
	Mode string `json:"mode"`
}

// corpusCase is one hostile request and the answer it must get.
type corpusCase struct {
	File        string          `json:"-"`
	About       string          `json:"about"`
	Method      string          `json:"method"`
	Path        string          `json:"path"`
	ContentType *string         `json:"contentType"`
	Body        json.RawMessage `json:"body"`
	BodyRaw     *string         `json:"bodyRaw"`
	Zip         []zipEntry      `json:"zip"`
	Status      int             `json:"status"`
	Contains    []string        `json:"contains"`
	NotContains []string        `json:"notContains"`

	// raw, when set, is the body as built in Go; unsized sends it
	// without a Content-Length (chunked).
	raw     []byte
	unsized bool
}

// buildZip makes a zip of the entries, in order.
func buildZip(entries []zipEntry) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		fh := &zip.FileHeader{Name: e.Name, Method: zip.Deflate}
		switch e.Mode {
		case "":
		case "symlink":
			fh.SetMode(fs.ModeSymlink | 0o777)
		case "fifo":
			fh.SetMode(fs.ModeNamedPipe | 0o644)
		case "dir":
			fh.SetMode(fs.ModeDir | 0o755)
		default:
			return nil, fmt.Errorf("unknown mode %q", e.Mode)
		}
		w, err := zw.CreateHeader(fh)
		if err != nil {
			return nil, err
		}
		if _, err := io.WriteString(w, e.Body); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// deadAddress gives 127.0.0.1 and a port nothing listens on.
func deadAddress(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("no free port: %v", err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// loadCorpus reads testdata/corpus and makes each file's body.
func loadCorpus(t testing.TB, dead string) []*corpusCase {
	t.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", "corpus", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	var cases []*corpusCase
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		c := &corpusCase{File: filepath.Base(name)}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(c); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if c.Path == "" || c.Status == 0 || len(c.Contains) == 0 {
			t.Fatalf("%s: path, status and contains are required", name)
		}
		if (c.Body == nil) == (c.BodyRaw == nil) {
			t.Fatalf("%s: give exactly one of body and bodyRaw", name)
		}
		var body string
		if c.BodyRaw != nil {
			body = *c.BodyRaw
		} else {
			body = string(c.Body)
		}
		if c.Zip != nil {
			z, err := buildZip(c.Zip)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if !strings.Contains(body, `"$ZIP"`) {
				t.Fatalf("%s: has a zip but no \"$ZIP\" in its body", name)
			}
			body = strings.ReplaceAll(body, "$ZIP",
				base64.StdEncoding.EncodeToString(z))
		}
		body = strings.ReplaceAll(body, "$DEAD", dead)
		c.raw = []byte(body)
		cases = append(cases, c)
	}
	return cases
}

// execBody is a Create request holding the base64 text files, at a
// no-Keystone location on dead, that is otherwise well formed.
func execBody(files, dead string, requestProps string) []byte {
	if requestProps == "" {
		requestProps = "{}"
	}
	return []byte(fmt.Sprintf(`{"lifecycleName": "Create",
		"driverFiles": %q,
		"systemProperties": {"resourceId": "r-1", "resourceName": "web"},
		"resourceProperties": {"flavor": "m1.small"},
		"requestProperties": %s,
		"deploymentLocation": {"name": "dead", "type": "Openstack",
			"properties": {"os_api_url": "http://%s/v1/admin",
				"os_auth_enabled": false}}}`, files, requestProps, dead))
}

// findBody is a find request holding the base64 text files.
func findBody(files, dead string) []byte {
	return []byte(fmt.Sprintf(`{"instanceName": "web", "driverFiles": %q,
		"deploymentLocation": {"name": "dead", "properties": {
			"os_api_url": "http://%s/v1/admin", "os_auth_enabled": false}}}`,
		files, dead))
}

func b64zip(t testing.TB, entries ...zipEntry) string {
	t.Helper()
	z, err := buildZip(entries)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(z)
}

// bombZip is a small zip whose one entry name inflates to size zeros.
func bombZip(t testing.TB, name string, size int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	for written := 0; written < size; written += len(chunk) {
		if _, err := w.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rawZip writes one entry with a header made by hand: the sizes, CRC and
// method say whatever fh says, whatever data is.
func rawZip(t testing.TB, fh *zip.FileHeader, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateRaw(fh)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// deflated gives data compressed as a zip entry would hold it.
func deflated(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "x", Method: zip.Deflate})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := zr.File[0].OpenRaw()
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func laughsYAML(indent string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%sl0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
		indent)
	for i := 1; i < 9; i++ {
		refs := strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*l%d, ", i-1),
			9), ", ")
		fmt.Fprintf(&b, "%sl%d: &l%d [%s]\n", indent, i, i, refs)
	}
	return b.String()
}

const corpusHeat = "heat_template_version: 2018-08-31\nparameters:\n" +
	"  flavor: {type: string}\nresources: {}\n"

// generatedCases are the hostile requests too big or too binary to keep
// as text.
func generatedCases(t testing.TB, dead string) []*corpusCase {
	t.Helper()
	const exec = "/api/driver/lifecycle/execute"
	const find = "/api/driver/references/find"
	enc := base64.StdEncoding.EncodeToString
	heatPkg := zipEntry{Name: "heat.yaml", Body: corpusHeat}
	limitMsg := fmt.Sprintf("more than the limit of %d bytes",
		hostileMaxPackage)
	var cases []*corpusCase
	add := func(name, path string, body []byte, status int,
		contains ...string) *corpusCase {
		c := &corpusCase{File: "gen/" + name, Path: path, raw: body,
			Status: status, Contains: contains}
		cases = append(cases, c)
		return c
	}

	huge := execBody(strings.Repeat("A", hostileMaxBody), dead, "")
	add("huge-body", exec, huge, 413, "larger than the limit of 262144 bytes")
	add("huge-body-chunked", exec, huge, 413,
		"larger than the limit of 262144 bytes").unsized = true
	add("huge-body-find", find, findBody(strings.Repeat("A",
		hostileMaxBody), dead), 413, "larger than the limit")
	add("deep-json", exec, []byte(strings.Repeat("[", 100000)), 400,
		"not valid JSON")
	add("deep-json-in-property", exec, []byte(`{"resourceProperties": {"x": `+
		strings.Repeat("[", 20000)+strings.Repeat("]", 20000)+`}}`), 400,
		"not valid JSON")
	add("non-utf8-lifecycle", exec, []byte("{\"lifecycleName\": \"Cr\xffeate\"}"),
		400, "lifecycleName", "not supported")

	add("zip-bomb", exec, execBody(enc(bombZip(t, "heat.yaml", 16<<20)),
		dead, ""), 400, "driverFiles", limitMsg)
	spread := []zipEntry{heatPkg}
	for i := 0; i < 10; i++ {
		spread = append(spread, zipEntry{Name: fmt.Sprintf("files/f%d", i),
			Body: strings.Repeat("x", 8<<10)})
	}
	add("zip-bomb-spread", exec, execBody(b64zip(t, spread...), dead, ""), 400,
		"driverFiles", limitMsg)
	add("zip-bomb-find", find, findBody(enc(bombZip(t, "discover.yaml",
		16<<20)), dead), 400, "driverFiles", limitMsg)

	// The headers say 10 bytes; the data inflates to 1 MiB.
	big := bytes.Repeat([]byte("heat_template_version: 2018-08-31\n"), 30000)
	bigZ := deflated(t, big)
	add("zip-lying-size", exec, execBody(enc(rawZip(t, &zip.FileHeader{
		Name: "heat.yaml", Method: zip.Deflate, CRC32: crc32.ChecksumIEEE(big),
		CompressedSize64: uint64(len(bigZ)), UncompressedSize64: 10,
	}, bigZ)), dead, ""), 400, "driverFiles", "heat.yaml")
	plain := []byte(corpusHeat)
	add("zip-bad-crc", exec, execBody(enc(rawZip(t, &zip.FileHeader{
		Name: "heat.yaml", Method: zip.Store, CRC32: 12345,
		CompressedSize64:   uint64(len(plain)),
		UncompressedSize64: uint64(len(plain)),
	}, plain)), dead, ""), 400, "driverFiles", "heat.yaml", "checksum")
	add("zip-unknown-method", exec, execBody(enc(rawZip(t, &zip.FileHeader{
		Name: "heat.yaml", Method: 99, CRC32: crc32.ChecksumIEEE(plain),
		CompressedSize64:   uint64(len(plain)),
		UncompressedSize64: uint64(len(plain)),
	}, plain)), dead, ""), 400, "driverFiles", "heat.yaml",
		"unsupported compression")

	many := []zipEntry{heatPkg}
	for i := 0; i < hostileMaxEntries; i++ {
		many = append(many, zipEntry{Name: fmt.Sprintf("files/f%d", i)})
	}
	add("zip-too-many-entries", exec, execBody(b64zip(t, many...), dead, ""),
		400, "driverFiles", "17 entries", "limit of 16")
	var dirs []zipEntry
	for i := 0; i < 2000; i++ {
		dirs = append(dirs, zipEntry{Name: fmt.Sprintf("d%d/", i)})
	}
	add("zip-many-folders", exec, execBody(b64zip(t, dirs...), dead, ""), 400,
		"driverFiles", "2000 entries")
	add("zip-many-folders-find", find, findBody(b64zip(t, dirs...), dead),
		400, "driverFiles", "2000 entries")

	whole, err := buildZip([]zipEntry{heatPkg})
	if err != nil {
		t.Fatal(err)
	}
	add("zip-truncated", exec, execBody(enc(whole[:len(whole)/2]), dead, ""),
		400, "driverFiles", "not a zip archive")
	// An end-of-central-directory record claiming 65535 entries, and
	// nothing else.
	eocd := make([]byte, 22)
	binary.LittleEndian.PutUint32(eocd[0:], 0x06054b50)
	binary.LittleEndian.PutUint16(eocd[8:], 0xffff)
	binary.LittleEndian.PutUint16(eocd[10:], 0xffff)
	binary.LittleEndian.PutUint32(eocd[12:], 0xffffff)
	add("zip-eocd-lies", exec, execBody(enc(eocd), dead, ""), 400,
		"driverFiles")

	add("zip-non-utf8-name", exec, execBody(b64zip(t, heatPkg,
		zipEntry{Name: "files/\xff\xfe.sh", Body: "x"}), dead, ""), 400,
		"driverFiles", "not UTF-8")
	add("heat-non-utf8", exec, execBody(b64zip(t, zipEntry{Name: "heat.yaml",
		Body: "heat_template_version: 2018-08-31\ndescription: \xff\xfe\n"}),
		dead, ""), 400, "heat.yaml", "not valid YAML")
	add("heat-deep-nesting", exec, execBody(b64zip(t, zipEntry{
		Name: "heat.yaml", Body: "a: " + strings.Repeat("[", 60000)}),
		dead, ""), 400, "heat.yaml", "not valid YAML")
	add("heat-laughs-more", exec, execBody(b64zip(t, zipEntry{
		Name: "heat.yaml", Body: "heat_template_version: 2018-08-31\n" +
			laughsYAML("") + "parameters: {a: *l8}\n"}), dead,
		`{"disable_rollback": "perhaps"}`), 400,
		"requestProperties.disable_rollback", `"perhaps"`)
	add("discover-non-utf8", find, findBody(b64zip(t, zipEntry{
		Name: "discover.yaml", Body: "tosca_definitions_version: " +
			"tosca_simple_yaml_1_0\ndescription: \xc3\x28\n"}), dead), 400,
		"discover.yaml", "not valid UTF-8")
	add("discover-deep", find, findBody(b64zip(t, zipEntry{
		Name: "discover.yaml", Body: "a: " + strings.Repeat("[", 200) +
			strings.Repeat("]", 200) + "\n"}), dead), 400, "discover.yaml",
		"nest more than")
	return cases
}

// send posts c to base and checks the answer.
func (c *corpusCase) send(t *testing.T, client *http.Client, base string) {
	t.Helper()
	method := c.Method
	if method == "" {
		method = http.MethodPost
	}
	var body io.Reader = bytes.NewReader(c.raw)
	if c.unsized {
		body = io.MultiReader(bytes.NewReader(c.raw))
	}
	req, err := http.NewRequest(method, base+c.Path, body)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case c.ContentType == nil:
		req.Header.Set("Content-Type", "application/json")
	case *c.ContentType != "":
		req.Header.Set("Content-Type", *c.ContentType)
	}
	req.Header.Set("X-Tracectx-TransactionId", "corpus-"+c.File)
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("no answer within %s: %v", hostileAnswerTime, err)
	}
	data, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	took := time.Since(start)
	if err != nil {
		t.Fatalf("answer not read: %v", err)
	}
	if took > hostileAnswerTime {
		t.Errorf("answered after %s, more than %s", took, hostileAnswerTime)
	}
	if resp.StatusCode != c.Status {
		t.Errorf("status %d, want %d; body %s", resp.StatusCode, c.Status,
			data)
	}
	if resp.StatusCode < 400 || resp.StatusCode >= 500 {
		t.Errorf("status %d is not a 4xx", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		t.Fatalf("the body is not a JSON object: %v: %s", err, data)
	}
	if len(fields) != 2 || fields["localizedMessage"] == nil ||
		fields["status"] == nil {
		t.Errorf("the body must hold localizedMessage and status only: %s",
			data)
	}
	var e struct {
		LocalizedMessage string `json:"localizedMessage"`
		Status           int    `json:"status"`
	}
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatalf("the error body has the wrong types: %v: %s", err, data)
	}
	t.Logf("%d %s (%s)", resp.StatusCode, e.LocalizedMessage, took)
	if e.Status != resp.StatusCode {
		t.Errorf("body status %d, answer %d", e.Status, resp.StatusCode)
	}
	for _, want := range c.Contains {
		if !strings.Contains(e.LocalizedMessage, want) {
			t.Errorf("message %q does not contain %q", e.LocalizedMessage,
				want)
		}
	}
	for _, not := range c.NotContains {
		if strings.Contains(e.LocalizedMessage, not) {
			t.Errorf("message %q contains %q", e.LocalizedMessage, not)
		}
	}
}

// TestHostileCorpus sends every corpus request to the real API and then
// checks that the driver touched nothing, logged no panic and no secret,
// and left no goroutine behind.
func TestHostileCorpus(t *testing.T) {
	dead := deadAddress(t)
	cases := loadCorpus(t, dead)
	fromFiles := len(cases)
	cases = append(cases, generatedCases(t, dead)...)
	if fromFiles < 60 {
		t.Errorf("the corpus has %d files; it must keep at least 60",
			fromFiles)
	}
	t.Logf("corpus: %d files and %d generated requests", fromFiles,
		len(cases)-fromFiles)

	d := newHostileDriver()
	ts := httptest.NewServer(d.api)
	defer ts.Close()
	client := &http.Client{Timeout: hostileAnswerTime,
		Transport: &http.Transport{MaxIdleConnsPerHost: 4}}

	// The baseline is taken with the server up and idle, after one
	// request has warmed up whatever starts lazily.
	live, err := client.Get(ts.URL + "/management/live")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, live.Body)
	_ = live.Body.Close()
	client.CloseIdleConnections()
	ts.CloseClientConnections()
	baseline := settledGoroutines(0, 2*time.Second)

	for _, c := range cases {
		t.Run(c.File, func(t *testing.T) {
			netBefore, busBefore, queueBefore := d.net.count(),
				d.bus.count(), d.queue.calls()
			c.send(t, client, ts.URL)
			if n := d.net.count() - netBefore; n > 0 {
				t.Errorf("the driver tried to reach OpenStack %d times for "+
					"a request it must refuse before any call", n)
			}
			if n := d.bus.count() - busBefore; n > 0 {
				t.Errorf("the driver published %d Kafka messages for a "+
					"refused request", n)
			}
			if n := d.queue.calls() - queueBefore; n > 0 {
				t.Errorf("the driver touched the job queue %d times for a "+
					"refused request", n)
			}
		})
	}

	logs := d.logs.String()
	if strings.Contains(logs, "panic") {
		t.Errorf("a request made the driver panic; the log says:\n%s",
			linesWith(logs, "panic"))
	}
	if strings.Contains(logs, "SECRET") {
		t.Errorf("a secret of the corpus reached the log:\n%s",
			linesWith(logs, "SECRET"))
	}

	client.CloseIdleConnections()
	ts.CloseClientConnections()
	const slack = 3
	if n := settledGoroutines(baseline+slack, 5*time.Second); n >
		baseline+slack {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Errorf("%d goroutines after the corpus, %d before (slack %d):\n%s",
			n, baseline, slack, buf)
	}
}

// settledGoroutines waits up to wait for the goroutine count to fall to
// target (0: to stop changing) and gives the last count.
func settledGoroutines(target int, wait time.Duration) int {
	deadline := time.Now().Add(wait)
	last := runtime.NumGoroutine()
	for time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		n := runtime.NumGoroutine()
		if target > 0 && n <= target {
			return n
		}
		if target == 0 && n == last {
			return n
		}
		last = n
	}
	return last
}

func linesWith(text, word string) string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, word) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
