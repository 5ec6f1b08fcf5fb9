// Package testdrive is the package designer's command line. Its lint
// checks a package folder offline; create, delete and find zip the folder
// as Brent would, send the request to a running driver and, for create
// and delete, follow the request's messages on Kafka until the final one.
// It talks to the driver only through its public API and topics.
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

// Exit codes of Main, also listed in the usage text.
const (
	// ExitOK: lint found no errors; the request completed; find found.
	ExitOK = 0
	// ExitFailed: lint found errors; the request FAILED; or the driver
	// refused the request (an answer other than 2xx).
	ExitFailed = 1
	// ExitUsage: a usage error, or the driver or Kafka could not be
	// reached.
	ExitUsage = 2
	// ExitNotFound: find found nothing.
	ExitNotFound = 3
)

// Main runs a testdrive subcommand and gives the process's exit code (see
// the Exit constants).
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return ExitUsage
	}
	var err error
	switch args[0] {
	case "create":
		err = run(args[1:], "Create", stdout, stderr)
	case "delete":
		err = run(args[1:], "Delete", stdout, stderr)
	case "lint":
		err = runLint(args[1:], stdout, stderr)
	case "find":
		err = runFind(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return ExitOK
	default:
		fmt.Fprintf(stderr, "testdrive: unknown command %q\n\n", args[0])
		usage(stderr)
		return ExitUsage
	}
	var failed *failedError
	var refused *refusedError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, errNotFound):
		return ExitNotFound
	case errors.Is(err, errLintErrors):
		return ExitFailed
	case errors.As(err, &failed), errors.As(err, &refused):
		fmt.Fprintln(stderr, err)
		return ExitFailed
	case errors.Is(err, flag.ErrHelp):
		// The flag set has printed the command's usage.
		return ExitOK
	default:
		fmt.Fprintln(stderr, "testdrive:", err)
		return ExitUsage
	}
}

const usageText = `Usage: openstack-driver testdrive COMMAND [flags] [PACKAGE_FOLDER]

Commands:
  lint    checks PACKAGE_FOLDER (default ".") offline: heat.yaml and the
          templates it nests parse and have Heat's shape, every nested
          template and get_file target is under files/, every parameter
          without a default gets a value from a property of the resource
          descriptor (Definitions/lm/resource.yaml) or a system_ property,
          and discover.yaml is valid; prints "file:line: level: message"
          per finding (level: error, warning or info)
  create  zips PACKAGE_FOLDER (its Lifecycle/openstack folder when it has
          one), sends a Create to a running driver and follows its
          messages to the end; prints STACK_ID=<id>
  delete  sends a Delete of --stack-id and follows it to the end
  find    zips PACKAGE_FOLDER, asks the driver to find --instance with its
          discover.yaml and prints the answer as JSON

PACKAGE_FOLDER is a package root (holding Lifecycle/openstack), its
Lifecycle/openstack folder, or a folder with heat.yaml or discover.yaml at
its root. Flags may come before or after it. Run
"openstack-driver testdrive COMMAND -h" for a command's flags.

Exit status:
  0  lint: no errors; create, delete: COMPLETE; find: found
  1  lint: errors; create, delete: FAILED; any: the driver refused the
     request (its message is printed)
  2  usage error, or the driver or Kafka could not be reached
  3  find: nothing found`

func usage(w io.Writer) {
	fmt.Fprintln(w, usageText)
}

// newFlagSet makes a command's flag set, whose -h prints what the command
// does before its flags.
func newFlagSet(command, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("testdrive "+command, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: openstack-driver testdrive %s %s\n",
			command, synopsis)
		flags := 0
		fs.VisitAll(func(*flag.Flag) { flags++ })
		if flags > 0 {
			fmt.Fprintln(stderr, "\nFlags (before or after the folder):")
			fs.PrintDefaults()
		}
	}
	return fs
}

// failedError is a request that ended FAILED.
type failedError struct{ status, detail string }

func (e *failedError) Error() string {
	return fmt.Sprintf("request %s: %s", e.status, e.detail)
}

// refusedError is an answer of the driver other than the one expected:
// the package, the location or the request is wrong, or the cloud said no.
type refusedError struct {
	status int
	text   string
}

func (e *refusedError) Error() string {
	return fmt.Sprintf("driver answered %d: %s", e.status, e.text)
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
	synopsis := "--location FILE [flags] PACKAGE_FOLDER"
	if lifecycle == "Delete" {
		synopsis = "--location FILE --stack-id ID [flags]"
	}
	fs := newFlagSet(strings.ToLower(lifecycle), synopsis, stderr)
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
	if err := parseInterspersed(fs, args); err != nil {
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
		if err := onePackage("create", fs.Args()); err != nil {
			return err
		}
		files, err = ZipFolder(fs.Arg(0))
		if err != nil {
			return err
		}
	case "Delete":
		if o.stackID == "" {
			return errors.New("delete needs --stack-id")
		}
		if fs.NArg() > 0 {
			return fmt.Errorf("delete takes no PACKAGE_FOLDER (%s)",
				strings.Join(fs.Args(), " "))
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
	// Read from a little before the request is sent, by record time, so
	// that no message can be missed however soon it comes, and a clock
	// of the driver's that is somewhat behind does not matter either.
	// Other requests' messages in that span are skipped by their key.
	since := time.Now().Add(-clockSlack).UnixMilli()
	consumer, err := kgo.NewClient(kgo.SeedBrokers(
		strings.Split(o.brokers, ",")...), kgo.ConsumeTopics(o.topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AfterMilli(since)))
	if err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	defer consumer.Close()
	if err := consumer.Ping(ctx); err != nil {
		return fmt.Errorf("kafka at %s: %w", o.brokers, err)
	}

	start := time.Now()
	reqID, err := post(ctx, o.driver, body, stdout)
	if err != nil {
		return err
	}
	return follow(ctx, consumer, reqID, start, stdout)
}

// onePackage checks that a command that sends a package was given one
// folder.
func onePackage(command string, args []string) error {
	switch len(args) {
	case 1:
		return nil
	case 0:
		return fmt.Errorf("%s needs a PACKAGE_FOLDER", command)
	}
	return fmt.Errorf("%s needs one PACKAGE_FOLDER, not %d (%s)", command,
		len(args), strings.Join(args, " "))
}

// clockSlack is how far back, by record time, create and delete start
// reading the events topic.
const clockSlack = time.Minute

func post(ctx context.Context, driver string, body any,
	stdout io.Writer) (string, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return "", fmt.Errorf("request: %w", err)
	}
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
	text, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("driver's answer: %w", err)
	}
	if resp.StatusCode != http.StatusAccepted {
		return "", &refusedError{status: resp.StatusCode,
			text: strings.TrimSpace(string(text))}
	}
	var answer struct {
		RequestID          string         `json:"requestId"`
		AssociatedTopology map[string]any `json:"associatedTopology"`
	}
	if err := json.Unmarshal(text, &answer); err != nil {
		return "", fmt.Errorf("driver answer: %w", err)
	}
	fmt.Fprintf(stdout, "accepted: request %s\n", answer.RequestID)
	topology := answer.AssociatedTopology
	if stack, ok := topology["InfrastructureStack"].(map[string]any); ok {
		fmt.Fprintf(stdout, "STACK_ID=%v\n", stack["id"])
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
		if d.Type()&fs.ModeSymlink != 0 {
			// The driver refuses links in a package; following one
			// here would send a file from outside the package.
			return fmt.Errorf("%s is a symbolic link; links are not "+
				"allowed in a package", path)
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
