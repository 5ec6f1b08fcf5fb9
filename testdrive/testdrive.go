// Package testdrive is the package designer's command line: it zips a
// package folder as Brent would, sends a Create or Delete to a running
// driver, and follows the request's messages on Kafka until the final
// one. It talks to the driver only through its public API and topics.
package testdrive

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"gopkg.in/yaml.v3"
)

// Main runs a testdrive subcommand and gives the process's exit code: 0
// when the request completed, 1 when it failed, 2 for a usage error.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	var err error
	switch args[0] {
	case "create":
		err = run(args[1:], "Create", stdout, stderr)
	case "delete":
		err = run(args[1:], "Delete", stdout, stderr)
	default:
		usage(stderr)
		return 2
	}
	var failed *failedError
	switch {
	case errors.As(err, &failed):
		fmt.Fprintln(stderr, err)
		return 1
	case errors.Is(err, flag.ErrHelp):
		return 2
	case err != nil:
		fmt.Fprintln(stderr, "testdrive:", err)
		return 2
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprintln(w, `Usage: openstack-driver testdrive create|delete [flags] [PACKAGE_FOLDER]

  create  zips PACKAGE_FOLDER (its Lifecycle/openstack folder when it has
          one), sends a Create and follows its messages to the end
  delete  sends a Delete of --stack-id and follows it to the end

Run "openstack-driver testdrive create -h" for the flags.`)
}

type failedError struct{ status, detail string }

func (e *failedError) Error() string {
	return fmt.Sprintf("request %s: %s", e.status, e.detail)
}

type options struct {
	driver, brokers, topic, location string
	resourceName, resourceID         string
	stackID                          string
	props                            propFlags
	timeout                          time.Duration
}

type propFlags map[string]string

func (p propFlags) String() string { return "" }
func (p propFlags) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok {
		return fmt.Errorf("want NAME=VALUE, not %q", v)
	}
	p[k] = val
	return nil
}

func run(args []string, lifecycle string, stdout, stderr io.Writer) error {
	o := options{props: propFlags{}}
	fs := flag.NewFlagSet("testdrive "+strings.ToLower(lifecycle),
		flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.driver, "driver", "http://127.0.0.1:8292",
		"address of the running driver")
	fs.StringVar(&o.brokers, "kafka-brokers", "127.0.0.1:9092",
		"Kafka brokers the driver publishes to")
	fs.StringVar(&o.topic, "events-topic",
		"lm_vnfc_lifecycle_execution_events", "the driver's events topic")
	fs.StringVar(&o.location, "location", "",
		"YAML file of the deployment location (name, type, properties)")
	fs.StringVar(&o.resourceName, "resource-name", "testdrive",
		"the resource's name (part of the stack name)")
	fs.StringVar(&o.resourceID, "resource-id", "",
		"the resource's id (default: a new random one)")
	fs.StringVar(&o.stackID, "stack-id", "",
		"the stack to delete (delete only)")
	fs.Var(o.props, "prop", "a resource property NAME=VALUE (repeatable)")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Minute,
		"how long to wait for the final message")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.location == "" {
		return errors.New("--location is required")
	}
	loc, err := readLocation(o.location)
	if err != nil {
		return err
	}
	if o.resourceID == "" {
		o.resourceID = randomID()
	}

	var files string
	topology := map[string]any{}
	switch lifecycle {
	case "Create":
		if fs.NArg() != 1 {
			return errors.New("create needs one PACKAGE_FOLDER")
		}
		files, err = ZipFolder(fs.Arg(0))
		if err != nil {
			return err
		}
	case "Delete":
		if o.stackID == "" {
			return errors.New("delete needs --stack-id")
		}
		files, _ = zipMap(map[string][]byte{})
		topology["InfrastructureStack"] = map[string]string{
			"id": o.stackID, "type": "Openstack"}
	}
	props := map[string]any{}
	for k, v := range o.props {
		props[k] = v
	}
	body := map[string]any{
		"lifecycleName": lifecycle,
		"driverFiles":   files,
		"systemProperties": map[string]any{"resourceId": o.resourceID,
			"resourceName": o.resourceName},
		"resourceProperties": props,
		"requestProperties":  map[string]any{},
		"associatedTopology": topology,
		"deploymentLocation": loc,
	}

	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	// Listen before asking, so that no message can be missed.
	consumer, err := kgo.NewClient(kgo.SeedBrokers(
		strings.Split(o.brokers, ",")...), kgo.ConsumeTopics(o.topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()))
	if err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	defer consumer.Close()
	if err := consumer.Ping(ctx); err != nil {
		return fmt.Errorf("kafka at %s: %w", o.brokers, err)
	}
	// Make the consumer take its starting offsets now.
	pollCtx, pollCancel := context.WithTimeout(ctx, 500*time.Millisecond)
	consumer.PollFetches(pollCtx)
	pollCancel()

	start := time.Now()
	reqID, err := post(ctx, o.driver, body, stdout)
	if err != nil {
		return err
	}
	return follow(ctx, consumer, reqID, start, stdout)
}

func post(ctx context.Context, driver string, body any,
	stdout io.Writer) (string, error) {
	data, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		strings.TrimRight(driver, "/")+"/api/driver/lifecycle/execute",
		bytes.NewReader(data))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("driver: %w", err)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusAccepted {
		return "", fmt.Errorf("driver answered %d: %s", resp.StatusCode,
			strings.TrimSpace(string(text)))
	}
	var answer struct {
		RequestID          string         `json:"requestId"`
		AssociatedTopology map[string]any `json:"associatedTopology"`
	}
	if err := json.Unmarshal(text, &answer); err != nil {
		return "", fmt.Errorf("driver answer: %w", err)
	}
	fmt.Fprintf(stdout, "accepted: request %s\n", answer.RequestID)
	if st, ok := answer.AssociatedTopology["InfrastructureStack"].(map[string]any); ok {
		fmt.Fprintf(stdout, "STACK_ID=%v\n", st["id"])
	}
	return answer.RequestID, nil
}

func follow(ctx context.Context, consumer *kgo.Client, reqID string,
	start time.Time, stdout io.Writer) error {
	for {
		fetches := consumer.PollFetches(ctx)
		if ctx.Err() != nil {
			return fmt.Errorf("no final message for request %s in time",
				reqID)
		}
		var final error
		done := false
		fetches.EachRecord(func(r *kgo.Record) {
			if string(r.Key) != reqID || done {
				return
			}
			var msg struct {
				Status         string `json:"status"`
				FailureDetails *struct {
					FailureCode string `json:"failureCode"`
					Description string `json:"description"`
				} `json:"failureDetails"`
			}
			_ = json.Unmarshal(r.Value, &msg)
			fmt.Fprintf(stdout, "[%5.1fs] message on %s: %s\n",
				time.Since(start).Seconds(), r.Topic, r.Value)
			switch msg.Status {
			case "COMPLETE":
				done = true
			case "FAILED":
				done = true
				detail := ""
				if msg.FailureDetails != nil {
					detail = msg.FailureDetails.FailureCode + ": " +
						msg.FailureDetails.Description
				}
				final = &failedError{status: "FAILED", detail: detail}
			}
		})
		if done {
			return final
		}
	}
}

func readLocation(path string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("deployment location: %w", err)
	}
	var loc map[string]any
	if err := yaml.Unmarshal(data, &loc); err != nil {
		return nil, fmt.Errorf("deployment location %s: %w", path, err)
	}
	if _, ok := loc["properties"].(map[string]any); !ok {
		return nil, fmt.Errorf("deployment location %s has no properties",
			path)
	}
	return loc, nil
}

// ZipFolder zips a package folder as Brent sends it: the contents of
// Lifecycle/openstack when the folder has one, else the folder itself.
func ZipFolder(dir string) (string, error) {
	if inner := filepath.Join(dir, "Lifecycle", "openstack"); isDir(inner) {
		dir = inner
	}
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry,
		err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		files[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		return "", fmt.Errorf("package folder: %w", err)
	}
	return zipMap(files)
}

func zipMap(files map[string][]byte) (string, error) {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			return "", err
		}
		if _, err := w.Write(files[n]); err != nil {
			return "", err
		}
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10],
		b[10:])
}
