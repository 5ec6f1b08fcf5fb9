package integration

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// driverProc is one process of the driver binary, started by a test.
type driverProc struct {
	name string
	url  string
	cmd  *exec.Cmd
	env  []string

	// insecure probes readiness over TLS without checking certificates.
	insecure bool

	mu  sync.Mutex
	log bytes.Buffer
}

func (d *driverProc) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.log.Write(p)
}

func (d *driverProc) logText() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.log.String()
}

// startDriverProc starts another driver process with the suite's broker
// and the given extra settings (a consumer group and job topic of its own,
// usually), on a port of its own.
func (e *environment) startDriverProc(name string,
	extra ...string) (*driverProc, error) {
	port := freePort()
	d := &driverProc{name: name,
		url: fmt.Sprintf("http://127.0.0.1:%d", port)}
	d.env = append(e.driverEnv(port), extra...)
	return d, d.start(e.binary())
}

func (e *environment) binary() string {
	return filepath.Join(e.workDir, "openstack-driver")
}

func (d *driverProc) start(bin string) error {
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), d.env...)
	cmd.Stdout, cmd.Stderr = d, d
	if err := cmd.Start(); err != nil {
		return err
	}
	d.cmd = cmd
	client := http.DefaultClient
	if d.insecure {
		client = &http.Client{Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := client.Get(d.url + "/management/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("driver %s not ready; log:\n%s", d.name, d.logText())
}

// kill ends the process at once, as a crash or an OOM kill would.
func (d *driverProc) kill() {
	if d.cmd != nil && d.cmd.Process != nil {
		_ = d.cmd.Process.Kill()
		_ = d.cmd.Wait()
	}
}

// term asks the process to stop and waits for it.
func (d *driverProc) term() error {
	if d.cmd == nil || d.cmd.Process == nil {
		return nil
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- d.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(40 * time.Second):
		_ = d.cmd.Process.Kill()
		return fmt.Errorf("driver %s still running 40 s after SIGTERM",
			d.name)
	}
}

// restart starts the same process again after kill or term.
func (d *driverProc) restart(bin string) error {
	return d.start(bin)
}
