package integration

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	// demoPassword is recognisable, so that a test can look for it
	// wherever it must not be.
	demoPassword  = "Pw-4711-recognisable-ZQ"
	eventsTopic   = "lm_vnfc_lifecycle_execution_events"
	progressTopic = "openstack_driver_progress"
)

// cannotRun is a machine where the real Heat cannot be installed.
type cannotRun struct{ reason string }

func (c *cannotRun) Error() string { return c.reason }

// environment is everything the suite starts: Heat without Keystone,
// Keystone with a second Heat behind it, a kfake broker, the driver
// binary, and a consumer of the events topic.
type environment struct {
	repo    string
	workDir string

	heatURL        string // noauth Heat, with the project
	keystonePort   int
	keystoneHeat   string // Heat behind Keystone, base address
	stopOpenStack  []func()
	kafka          *kfake.Cluster
	brokers        []string
	driverURL      string
	driver         *exec.Cmd
	driverLog      *bytes.Buffer
	driverLogMu    sync.Mutex
	events         *eventLog
	consumer       *kgo.Client
	consumerCancel context.CancelFunc

	mu     sync.Mutex
	stacks map[string]bool
}

func startEnvironment() (*environment, error) {
	repo, err := filepath.Abs("../..")
	if err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "driver-it-")
	if err != nil {
		return nil, err
	}
	e := &environment{repo: repo, workDir: work, stacks: map[string]bool{},
		driverLog: &bytes.Buffer{}}
	ok := false
	defer func() {
		if !ok {
			e.stop()
		}
	}()

	if err := e.install(); err != nil {
		return nil, err
	}
	if err := e.startOpenStack(); err != nil {
		return nil, err
	}
	if err := e.startKafka(); err != nil {
		return nil, err
	}
	if err := e.startDriver(); err != nil {
		return nil, err
	}
	ok = true
	return e, nil
}

func (e *environment) script(name string) string {
	return filepath.Join(e.repo, "scripts", "openstack", name)
}

func (e *environment) install() error {
	cmd := exec.Command("bash", e.script("install.sh"))
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 3 {
		return &cannotRun{reason: strings.TrimSpace(string(out))}
	}
	if err != nil {
		return fmt.Errorf("installing Heat failed: %v\n%s", err, out)
	}
	return nil
}

// run starts one of the OpenStack scripts and reads its KEY=value lines.
func (e *environment) run(env []string, args ...string) (map[string]string,
	error) {
	cmd := exec.Command("bash", args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s: %v\n%s%s", strings.Join(args, " "), err,
			out, stderr.String())
	}
	vals := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			vals[k] = v
		}
	}
	return vals, nil
}

func (e *environment) startOpenStack() error {
	heatPort, ksPort, ksHeatPort := freePort(), freePort(), freePort()
	neutronPort := freePort()
	heatEnv := []string{fmt.Sprintf("HEAT_PORT=%d", heatPort),
		"HEAT_STATE_DIR=" + filepath.Join(e.workDir, "heat")}
	ksEnv := []string{fmt.Sprintf("KEYSTONE_PORT=%d", ksPort),
		fmt.Sprintf("HEAT_PORT=%d", ksHeatPort),
		fmt.Sprintf("NEUTRON_PORT=%d", neutronPort),
		"KEYSTONE_STATE_DIR=" + filepath.Join(e.workDir, "keystone"),
		"DEMO_PASSWORD=" + demoPassword,
		"HEAT_STATE_DIR=" + filepath.Join(e.workDir, "heat-ks")}

	// The two Heats and Keystone start side by side: each takes several
	// seconds of Python imports.
	type started struct {
		vals map[string]string
		err  error
	}
	noauth := make(chan started, 1)
	go func() {
		v, err := e.run(heatEnv, e.script("heat.sh"), "start")
		noauth <- started{v, err}
	}()
	// Stopping is registered whatever the start said: a start that timed
	// out may still have left a process, and stop is harmless without one.
	e.stopOpenStack = append(e.stopOpenStack, func() {
		_, _ = e.run(heatEnv, e.script("heat.sh"), "stop")
	}, func() {
		_, _ = e.run(ksEnv, e.script("keystone.sh"), "stop")
	}, func() {
		_, _ = e.run(ksEnv, e.script("heat.sh"), "stop")
	})
	_, ksErr := e.run(ksEnv, e.script("keystone.sh"), "start")
	var ksHeatErr error
	if ksErr == nil {
		_, ksHeatErr = e.run(ksEnv, e.script("heat.sh"), "start",
			"--keystone")
	}
	r := <-noauth
	if err := errors.Join(r.err, ksErr, ksHeatErr); err != nil {
		return err
	}
	e.heatURL = r.vals["HEAT_URL"]
	e.keystonePort = ksPort
	e.keystoneHeat = fmt.Sprintf("http://127.0.0.1:%d", ksHeatPort)
	return nil
}

func (e *environment) startKafka() error {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(freePort()))
	if err != nil {
		return fmt.Errorf("kfake: %w", err)
	}
	e.kafka = c
	e.brokers = c.ListenAddrs()
	return nil
}

// driverEnv is the configuration of the driver under test.
func (e *environment) driverEnv(port int) []string {
	keyFile := filepath.Join(e.workDir, "job-keys")
	if _, err := os.Stat(keyFile); err != nil {
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		_ = os.WriteFile(keyFile, []byte(
			base64.StdEncoding.EncodeToString(key)+"\n"), 0o600)
	}
	return []string{
		"DRIVER_JOB_KEY_FILE=" + keyFile,
		fmt.Sprintf("DRIVER_LISTEN=127.0.0.1:%d", port),
		"DRIVER_KAFKA_BROKERS=" + strings.Join(e.brokers, ","),
		"DRIVER_DATA_DIR=" + filepath.Join(e.workDir, "driver-data"),
		"DRIVER_LOG_LEVEL=debug",
		"DRIVER_POLL_INTERVAL=500ms",
		"DRIVER_TOPIC_PARTITIONS=3",
		"DRIVER_PROGRESS_INTERVAL=300ms",
	}
}

func (e *environment) startDriver() error {
	bin := e.binary()
	build := exec.Command("go", "build", "-o", bin, "./cmd/openstack-driver")
	build.Dir = e.repo
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	port := freePort()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), e.driverEnv(port)...)
	cmd.Stdout = e.logWriter()
	cmd.Stderr = e.logWriter()
	if err := cmd.Start(); err != nil {
		return err
	}
	e.driver = cmd
	e.driverURL = fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(e.driverURL + "/management/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return e.startConsumer()
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("driver not ready after 30 s; its log:\n%s",
		e.driverLogText())
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (e *environment) logWriter() io.Writer {
	return lockedWriter{mu: &e.driverLogMu, w: e.driverLog}
}

func (e *environment) driverLogText() string {
	e.driverLogMu.Lock()
	defer e.driverLogMu.Unlock()
	return e.driverLog.String()
}

func (e *environment) startConsumer() error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.brokers...),
		kgo.ConsumeTopics(eventsTopic, progressTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return err
	}
	e.consumer = cl
	e.events = newEventLog()
	ctx, cancel := context.WithCancel(context.Background())
	e.consumerCancel = cancel
	go func() {
		for ctx.Err() == nil {
			fetches := cl.PollFetches(ctx)
			fetches.EachRecord(e.events.add)
		}
	}()
	return nil
}

func (e *environment) stop() {
	if e.consumerCancel != nil {
		e.consumerCancel()
	}
	if e.consumer != nil {
		e.consumer.Close()
	}
	if e.driver != nil && e.driver.Process != nil {
		_ = e.driver.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = e.driver.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = e.driver.Process.Kill()
		}
	}
	for i := len(e.stopOpenStack) - 1; i >= 0; i-- {
		e.stopOpenStack[i]()
	}
	if e.kafka != nil {
		e.kafka.Close()
	}
	if os.Getenv("KEEP_TEST_STATE") == "" {
		_ = os.RemoveAll(e.workDir)
	}
}

func (e *environment) noteStack(id string) {
	e.mu.Lock()
	e.stacks[id] = true
	e.mu.Unlock()
}

func (e *environment) stacksCreated() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.stacks)
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// event is one message on the events topic with its Kafka key and headers.
type event struct {
	Topic   string
	Time    time.Time
	Key     string
	Headers map[string]string
	Raw     map[string]any
	Message struct {
		RequestID      string `json:"requestId"`
		Status         string `json:"status"`
		FailureDetails *struct {
			FailureCode string `json:"failureCode"`
			Description string `json:"description"`
		} `json:"failureDetails"`
		Outputs            map[string]any `json:"outputs"`
		AssociatedTopology map[string]struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		} `json:"associatedTopology"`
	}
}

type eventLog struct {
	mu     sync.Mutex
	byID   map[string][]event
	notify chan struct{}
}

func newEventLog() *eventLog {
	return &eventLog{byID: map[string][]event{}, notify: make(chan struct{})}
}

func (l *eventLog) add(r *kgo.Record) {
	ev := event{Topic: r.Topic, Time: r.Timestamp, Key: string(r.Key),
		Headers: map[string]string{}}
	for _, h := range r.Headers {
		ev.Headers[h.Key] = string(h.Value)
	}
	_ = json.Unmarshal(r.Value, &ev.Raw)
	if err := json.Unmarshal(r.Value, &ev.Message); err != nil {
		return
	}
	l.mu.Lock()
	l.byID[ev.Message.RequestID] = append(l.byID[ev.Message.RequestID], ev)
	close(l.notify)
	l.notify = make(chan struct{})
	l.mu.Unlock()
}

func (l *eventLog) of(id string) []event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]event(nil), l.byID[id]...)
}

// final waits for the first COMPLETE or FAILED message of a request.
func (l *eventLog) final(id string, timeout time.Duration) (event, error) {
	deadline := time.After(timeout)
	for {
		l.mu.Lock()
		for _, ev := range l.byID[id] {
			if ev.Topic != eventsTopic {
				continue
			}
			if ev.Message.Status == "COMPLETE" ||
				ev.Message.Status == "FAILED" {
				l.mu.Unlock()
				return ev, nil
			}
		}
		wait := l.notify
		l.mu.Unlock()
		select {
		case <-wait:
		case <-deadline:
			return event{}, fmt.Errorf("no final message for request "+
				"%s within %s", id, timeout)
		}
	}
}

// finalForStack waits for a final message that names the stack.
func (l *eventLog) finalForStack(stackID string,
	timeout time.Duration) (event, error) {
	deadline := time.After(timeout)
	for {
		l.mu.Lock()
		wait := l.notify
		l.mu.Unlock()
		if evs := l.ofStack(stackID); len(evs) > 0 {
			return evs[0], nil
		}
		select {
		case <-wait:
		case <-deadline:
			return event{}, fmt.Errorf("no final message for stack %s "+
				"within %s", stackID, timeout)
		}
	}
}

// ofStack gives the final messages that name the stack.
func (l *eventLog) ofStack(stackID string) []event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []event
	for _, evs := range l.byID {
		for _, ev := range evs {
			if ev.Topic == eventsTopic && ev.Message.AssociatedTopology["InfrastructureStack"].ID == stackID &&
				ev.Message.Status != "IN_PROGRESS" {
				out = append(out, ev)
			}
		}
	}
	return out
}

// zipPackage zips a folder of testdata (or docs/examples) as Brent does
// with a package's Lifecycle/openstack folder, and gives its base64.
func zipPackage(dir string) string {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry,
		err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		w, err := zw.Create(filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	})
	if err != nil {
		panic(err)
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

// zipFiles zips the given name -> content map.
func zipFiles(files map[string]string) string {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range files {
		w, err := zw.Create(name)
		if err != nil {
			panic(err)
		}
		_, _ = w.Write([]byte(content))
	}
	_ = zw.Close()
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

// answer is the driver's HTTP answer.
type answer struct {
	Status int
	Body   map[string]any
	Text   string
}

func (e *environment) post(path string, body any,
	headers ...string) answer {
	data, err := json.Marshal(body)
	if err != nil {
		panic(err)
	}
	return e.postRaw(path, data, headers...)
}

func (e *environment) postRaw(path string, data []byte,
	headers ...string) answer {
	return postURL(e.driverURL+path, data, headers...)
}

// postURL posts JSON bytes to a driver's address.
func postURL(address string, data []byte, headers ...string) answer {
	req, err := http.NewRequest(http.MethodPost, address,
		bytes.NewReader(data))
	if err != nil {
		panic(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	client := http.Client{Timeout: 60 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return answer{Status: 0, Text: err.Error()}
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(bufio.NewReader(resp.Body))
	a := answer{Status: resp.StatusCode, Text: string(text)}
	_ = json.Unmarshal(text, &a.Body)
	return a
}

// heatGet reads a path of the noauth Heat.
func (e *environment) heatGet(path string) (int, map[string]any) {
	resp, err := http.Get(e.heatURL + path)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}
