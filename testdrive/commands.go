package testdrive

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// errLintErrors ends lint with ExitFailed once the findings are printed.
var errLintErrors = errors.New("lint found errors")

// errNotFound ends find with ExitNotFound once the answer is printed.
var errNotFound = errors.New("nothing found")

// runLint lints each folder given (the working folder when none) and
// prints one line per finding on stdout and a count per folder on stderr.
func runLint(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("lint", "[PACKAGE_FOLDER...]", stderr)
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	dirs := fs.Args()
	if len(dirs) == 0 {
		dirs = []string{"."}
	}
	failed := false
	for _, dir := range dirs {
		findings, err := Lint(dir)
		if err != nil {
			return err
		}
		counts := map[Level]int{}
		for _, f := range findings {
			fmt.Fprintln(stdout, f)
			counts[f.Level]++
		}
		fmt.Fprintf(stderr, "lint %s: %d errors, %d warnings\n", dir,
			counts[LevelError], counts[LevelWarning])
		failed = failed || HasErrors(findings)
	}
	if failed {
		return errLintErrors
	}
	return nil
}

// runFind sends a find request with the package's discovery template and
// prints the driver's answer.
func runFind(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("find", "--location FILE --instance NAME [flags] "+
		"PACKAGE_FOLDER", stderr)
	driver := fs.String("driver", "http://127.0.0.1:8292",
		"address of the running driver")
	location := fs.String("location", "",
		"YAML file of the deployment location (name, type, properties)")
	instance := fs.String("instance", "",
		"the instance name to find (the stack or network name, for the "+
			"usual discover.yaml)")
	timeout := fs.Duration("timeout", 2*time.Minute,
		"how long to wait for the answer")
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	switch {
	case *location == "":
		return errors.New("--location is required")
	case strings.TrimSpace(*instance) == "":
		return errors.New("--instance is required")
	}
	if err := onePackage("find", fs.Args()); err != nil {
		return err
	}
	loc, err := readLocation(*location)
	if err != nil {
		return err
	}
	files, err := ZipFolder(fs.Arg(0))
	if err != nil {
		return err
	}
	body, err := json.Marshal(map[string]any{"instanceName": *instance,
		"driverFiles": files, "deploymentLocation": loc})
	if err != nil {
		return fmt.Errorf("find request: %w", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		strings.TrimRight(*driver, "/")+"/api/driver/references/find",
		bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("find request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("driver: %w", err)
	}
	defer resp.Body.Close()
	text, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("driver's answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return &refusedError{status: resp.StatusCode,
			text: strings.TrimSpace(string(text))}
	}
	var answer struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(text, &answer); err != nil {
		return fmt.Errorf("driver's answer is not the JSON expected: %w",
			err)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, text, "", "  "); err != nil {
		return fmt.Errorf("driver's answer: %w", err)
	}
	fmt.Fprintln(stdout, strings.TrimSpace(pretty.String()))
	if len(answer.Result) == 0 || string(answer.Result) == "null" {
		fmt.Fprintf(stderr, "find: nothing named %q found\n", *instance)
		return errNotFound
	}
	return nil
}
