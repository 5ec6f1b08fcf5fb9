package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// buildDriver builds the driver binary from the repository into dir.
func buildDriver(ctx context.Context, repo, dir string) (string, error) {
	bin := filepath.Join(dir, "openstack-driver")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin,
		"./cmd/openstack-driver")
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/openstack-driver: %v\n%s",
			err, out)
	}
	return bin, nil
}

// writeKeyFile writes a job-queue key file: base64 of 32 random bytes.
func writeKeyFile(dir string) (string, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "job-keys")
	return path, os.WriteFile(path, []byte(
		base64.StdEncoding.EncodeToString(key)+"\n"), 0o600)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// driverProc is one driver process started by the harness, with a
// sampler of its memory and threads.
type driverProc struct {
	cmd     *exec.Cmd
	pid     int
	url     string
	logPath string
	logFile *os.File
	exited  chan struct{}

	mu         sync.Mutex
	maxRSS     int64 // bytes, largest VmRSS sampled
	maxThreads int
	stopSample chan struct{}
	sampled    chan struct{}
}

// startDriver runs the driver binary with the given DRIVER_* settings on
// a free port of 127.0.0.1 and waits until it is ready.
func startDriver(ctx context.Context, bin, dir, name string,
	settings map[string]string) (*driverProc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	// The harness's own DRIVER_* variables (a DRIVER_CONFIG, say) are
	// left out: the run uses the driver's defaults and what it sets.
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DRIVER_") {
			env = append(env, kv)
		}
	}
	settings["DRIVER_LISTEN"] = fmt.Sprintf("127.0.0.1:%d", port)
	if settings["DRIVER_DATA_DIR"] == "" {
		settings["DRIVER_DATA_DIR"] = filepath.Join(dir, name+"-data")
	}
	for k, v := range settings {
		env = append(env, k+"="+v)
	}
	cmd := exec.Command(bin)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Should the harness die, the driver goes with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	d := &driverProc{cmd: cmd, pid: cmd.Process.Pid,
		url:     fmt.Sprintf("http://127.0.0.1:%d", port),
		logPath: logPath, logFile: logFile, exited: make(chan struct{}),
		stopSample: make(chan struct{}), sampled: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(d.exited) }()
	go d.sample()

	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		select {
		case <-d.exited:
			d.stop()
			return nil, fmt.Errorf("driver %s exited at start; its log "+
				"(%s) ends:\n%s", name, logPath, tail(logPath, 20))
		default:
		}
		resp, err := http.Get(d.url + "/management/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return d, nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	d.stop()
	return nil, fmt.Errorf("driver %s not ready in 60 s; its log (%s) "+
		"ends:\n%s", name, logPath, tail(logPath, 20))
}

// sample reads the process's VmRSS and Threads every 100 ms.
func (d *driverProc) sample() {
	defer close(d.sampled)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		st, err := readStatus(d.pid)
		if err == nil {
			d.mu.Lock()
			d.maxRSS = max(d.maxRSS, st.rss)
			d.maxThreads = max(d.maxThreads, st.threads)
			d.mu.Unlock()
		}
		select {
		case <-d.stopSample:
			return
		case <-d.exited:
			return
		case <-t.C:
		}
	}
}

// usage is the driver's resource use at one moment.
type usage struct {
	rss, hwm   int64 // bytes: VmRSS now, VmHWM (peak) so far
	threads    int
	cpuSeconds float64 // user + system
	maxRSS     int64   // largest VmRSS sampled
	maxThreads int
}

func (d *driverProc) usage() usage {
	st, _ := readStatus(d.pid)
	cpu, _ := readCPU(d.pid)
	d.mu.Lock()
	defer d.mu.Unlock()
	return usage{rss: st.rss, hwm: st.hwm, threads: st.threads,
		cpuSeconds: cpu, maxRSS: max(d.maxRSS, st.rss),
		maxThreads: max(d.maxThreads, st.threads)}
}

// stop sends SIGTERM to the driver (by its PID) and waits up to 40 s,
// then SIGKILL.
func (d *driverProc) stop() {
	select {
	case <-d.exited:
	default:
		_ = syscall.Kill(d.pid, syscall.SIGTERM)
		select {
		case <-d.exited:
		case <-time.After(40 * time.Second):
			_ = syscall.Kill(d.pid, syscall.SIGKILL)
			<-d.exited
		}
	}
	select {
	case <-d.stopSample:
	default:
		close(d.stopSample)
	}
	<-d.sampled
	d.logFile.Close()
}

type procStatus struct {
	rss, hwm int64
	threads  int
}

func readStatus(pid int) (procStatus, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return procStatus{}, err
	}
	defer f.Close()
	var st procStatus
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(fields[0], 10, 64)
		switch k {
		case "VmRSS":
			st.rss = n * 1024
		case "VmHWM":
			st.hwm = n * 1024
		case "Threads":
			st.threads = int(n)
		}
	}
	return st, sc.Err()
}

// clockTicks is the kernel's USER_HZ, the unit of /proc/PID/stat times.
var clockTicks = func() float64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(out))); err == nil &&
			n > 0 {
			return float64(n)
		}
	}
	return 100
}()

// readCPU gives the process's user + system CPU seconds.
func readCPU(pid int) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces; fields count from after it.
	s := string(data)
	s = s[strings.LastIndexByte(s, ')')+2:]
	f := strings.Fields(s)
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (ut + stime) / clockTicks, nil
}

func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "(no log)"
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
