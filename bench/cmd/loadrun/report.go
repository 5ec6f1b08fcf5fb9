package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/tnco-drivers/openstack-driver/bench/calls"
)

// section is one scenario's part of the report.
type section struct {
	title  string
	notes  []string
	rows   [][]string
	after  []string
	failed bool
}

func (s *section) note(format string, args ...any) {
	s.notes = append(s.notes, fmt.Sprintf(format, args...))
}

func (s *section) row(cells ...string) { s.rows = append(s.rows, cells) }

func (s *section) footer(format string, args ...any) {
	s.after = append(s.after, fmt.Sprintf(format, args...))
}

// fail marks the scenario failed with a reason.
func (s *section) fail(format string, args ...any) *section {
	s.failed = true
	s.footer("FAILED: "+format, args...)
	return s
}

func (s *section) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n== %s\n", s.title)
	for _, n := range s.notes {
		fmt.Fprintf(&b, "   %s\n", n)
	}
	if len(s.rows) > 0 {
		b.WriteString("\n")
		b.WriteString(table(s.rows))
	}
	if len(s.after) > 0 {
		b.WriteString("\n")
	}
	for _, n := range s.after {
		fmt.Fprintf(&b, "   %s\n", n)
	}
	return b.String()
}

// table aligns rows in columns: the first left-aligned, the others
// right-aligned.
func table(rows [][]string) string {
	var widths []int
	for _, r := range rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}
	var b strings.Builder
	for _, r := range rows {
		b.WriteString("   ")
		for i, c := range r {
			pad := strings.Repeat(" ", widths[i]-len([]rune(c)))
			if i == 0 {
				b.WriteString(c + pad)
			} else {
				b.WriteString("  " + pad + c)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// report is the run's header: the machine and the settings.
type report struct{ b strings.Builder }

func (r *report) take() string {
	s := r.b.String()
	r.b.Reset()
	return s
}

func (r *report) header(run *runner) {
	o := run.o
	fmt.Fprintf(&r.b, "loadrun: the OpenStack driver under load (%s)\n",
		time.Now().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&r.b, "   machine: %d CPUs (nproc), %s, %s RAM; %s; "+
		"driver %s\n", runtime.NumCPU(), cpuModel(), memTotal(),
		runtime.Version(), gitRev(run.repo))
	settings := "its defaults"
	if o.driverEnv != "" {
		settings = "its defaults but " + o.driverEnv
	}
	fmt.Fprintf(&r.b, "   simulated cloud: Heat latency %s per call, "+
		"Keystone login %s; package zip %d KiB; driver settings: %s\n",
		o.heatLatency, o.tokenLatency, o.packageKB, settings)
	fmt.Fprintf(&r.b, "   the harness, kfake and the simulated cloud run "+
		"in one process on the same CPUs as the driver\n")
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "CPU model unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok &&
			strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "CPU model unknown"
}

func memTotal() string {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return "?"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var kb int64
		if _, err := fmt.Sscanf(sc.Text(), "MemTotal: %d kB", &kb); err == nil {
			return fmt.Sprintf("%.0f GiB", float64(kb)/(1<<20))
		}
	}
	return "?"
}

// gitRev reads the commit checked out (read-only; says nothing of
// uncommitted changes).
func gitRev(repo string) string {
	cmd := exec.Command("git", "rev-parse", "--short", "HEAD")
	cmd.Dir = repo
	out, err := cmd.Output()
	if err != nil {
		return "(commit unknown)"
	}
	return "at commit " + strings.TrimSpace(string(out)) +
		" (plus any uncommitted changes)"
}

// Formatting.

func ms(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d < 0 && d > -time.Millisecond:
		return "0.0 ms"
	case d < 10*time.Millisecond && d > -10*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	case d < time.Second && d > -time.Second:
		return fmt.Sprintf("%.0f ms", float64(d)/1e6)
	case d < 100*time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	return fmt.Sprintf("%.0f s", d.Seconds())
}

func three(d durations) string {
	if len(d) == 0 {
		return "-"
	}
	return ms(d.pct(50)) + " / " + ms(d.pct(99)) + " / " + ms(d[len(d)-1])
}

func two(d durations) string {
	if len(d) == 0 {
		return "-"
	}
	return ms(d.pct(50)) + " / " + ms(d.pct(99))
}

// minus gives the durations less sub.
func minus(d durations, sub time.Duration) durations {
	out := make(durations, len(d))
	for i, x := range d {
		out[i] = x - sub
	}
	return out
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

func per(n int64, of int) string {
	if of == 0 {
		return "-"
	}
	v := float64(n) / float64(of)
	switch {
	case v == 0:
		return "0"
	case v < 0.01:
		return fmt.Sprintf("%.4f", v)
	case v < 10:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// callsByKind lists the non-zero kinds of kinds per request.
func callsByKind(c calls.Counts, kinds []calls.Kind, n int) string {
	var parts []string
	for _, k := range kinds {
		if c[k] != 0 {
			parts = append(parts, fmt.Sprintf("%s %s", k.Short(),
				per(c[k], n)))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// phaseRows puts phases side by side, one column each.
func phaseRows(s *section, ps ...*phase) {
	head := []string{""}
	for _, p := range ps {
		head = append(head, p.Name)
	}
	s.row(head...)
	line := func(label string, f func(p *phase) string) {
		r := []string{label}
		for _, p := range ps {
			r = append(r, f(p))
		}
		s.row(r...)
	}
	line("requests sent / accepted (202)", func(p *phase) string {
		return fmt.Sprintf("%d / %d", p.Sent, p.Accepted)
	})
	line("accepted requests/s", func(p *phase) string {
		return fmt.Sprintf("%.0f", p.Rate)
	})
	line("execute latency p50 / p99 / max", func(p *phase) string {
		return three(p.Exec)
	})
	line("  minus simulated Heat latency", func(p *phase) string {
		return three(minus(p.Exec, p.SimLatency))
	})
	line("final messages missing / FAILED", func(p *phase) string {
		n := 0
		for _, v := range p.Failed {
			n += v
		}
		return fmt.Sprintf("%d / %d", p.Missing, n)
	})
	line("detection delay p50 / p99 / max", func(p *phase) string {
		return three(p.Detect)
	})
	line("request start to final p50 / p99", func(p *phase) string {
		return two(p.EndToEnd)
	})
	line("Heat calls per request", func(p *phase) string {
		return per(p.Calls.Heat(), p.Accepted)
	})
	for _, k := range calls.HeatKinds {
		seen := false
		for _, p := range ps {
			seen = seen || p.Calls[k] != 0
		}
		if !seen {
			continue
		}
		line("  "+k.Short(), func(p *phase) string {
			return per(p.Calls[k], p.Accepted)
		})
	}
	line("Keystone logins (total)", func(p *phase) string {
		return fmt.Sprint(p.Calls[calls.TokenCreate])
	})
	line("Kafka records per request", func(p *phase) string {
		var n int64
		for _, v := range p.Kafka.Records {
			n += v
		}
		return per(n, p.Accepted)
	})
	for _, t := range []string{eventsTopic, jobsTopic, progressTopic} {
		line("  "+t, func(p *phase) string {
			return per(p.Kafka.Records[t], p.Accepted)
		})
	}
	line("  produce requests per request", func(p *phase) string {
		return per(p.Kafka.ProduceRequests, p.Accepted)
	})
	line("  offset commits (total)", func(p *phase) string {
		return fmt.Sprint(p.Kafka.OffsetCommits)
	})
	line("  metadata requests per request", func(p *phase) string {
		return per(p.Kafka.Requests["Metadata"], p.Accepted)
	})
	line("IN_PROGRESS messages per request", func(p *phase) string {
		return per(int64(p.InProgress), p.Accepted)
	})
	line("driver CPU s per 1,000 requests", func(p *phase) string {
		if p.Accepted == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f", p.CPU/float64(p.Accepted)*1000)
	})
	line("harness CPU s per 1,000 (load+kfake+cloud)", func(p *phase) string {
		if p.Accepted == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f", p.HarnessCPU/float64(p.Accepted)*1000)
	})
	line("most requests held at once", func(p *phase) string {
		return fmt.Sprint(p.PeakHeld)
	})
	line("  driver RSS then", func(p *phase) string {
		return mib(p.HeldRSS)
	})
	line("driver peak RSS (VmHWM) so far", func(p *phase) string {
		return mib(p.Usage.hwm)
	})
	line("driver threads, most sampled", func(p *phase) string {
		return fmt.Sprint(p.Usage.maxThreads)
	})
	line("phase wall time", func(p *phase) string {
		return ms(p.Wall)
	})
}
