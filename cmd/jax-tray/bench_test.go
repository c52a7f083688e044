package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jax-desktop/jax/app"
	"github.com/jax-desktop/jax/fuse/manager"
)

// BenchmarkLoginStart measures jax-tray started at login with 5 auto-mounts:
// process start to all 5 mounts in /proc/mounts (target < 1.5 s), then its
// idle RSS (target < 120 MiB) and idle CPU (target < 1%) over 5 s.
// Run without -race: go test -run XXX -bench LoginStart -benchtime 3x ./cmd/jax-tray/
func BenchmarkLoginStart(b *testing.B) {
	needDesktop(b)
	s := newSession(b)
	ownDesktop(b, s.bus, true)
	b.Setenv("HOME", s.home)
	dirs, _ := app.ResolveDirs(s.jaxHome)
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := app.FirstRun(ctx, dirs, nil); err != nil {
		b.Fatal(err)
	}
	a, err := app.Start(ctx, dirs, nil)
	if err != nil {
		b.Fatal(err)
	}
	mps := []string{}
	for i := 1; i <= 5; i++ {
		name := fmt.Sprintf("b%d", i)
		if _, err := a.Buckets.Create(ctx, name); err != nil {
			b.Fatal(err)
		}
		mp := filepath.Join(s.home, "Jax", name)
		set := manager.DefaultSettings(mp)
		set.AutoMount = true
		if _, err := a.Mounts.Create(ctx, name, set); err != nil {
			b.Fatal(err)
		}
		mps = append(mps, mp)
	}
	a.DB.SetSetting("first_run_mount", "") // only the five
	cancel()
	a.Serve(ctx)

	var rss, anon, cpu float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cmd := s.trayCmd("--autostart")
		start := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		for deadline := start.Add(30 * time.Second); ; time.Sleep(2 * time.Millisecond) {
			all := true
			for _, mp := range mps {
				all = all && mounted(b, mp)
			}
			if all {
				break
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				b.Fatal("5 mounts not up in 30 s")
			}
		}
		b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms-to-mounts")
		b.StopTimer()
		time.Sleep(3 * time.Second) // settle
		t0, c0 := time.Now(), cpuTicks(cmd.Process.Pid)
		time.Sleep(5 * time.Second)
		cpu = float64(cpuTicks(cmd.Process.Pid)-c0) / 100 / time.Since(t0).Seconds() * 100
		rss, anon = rssMiB(cmd.Process.Pid, "VmRSS"), rssMiB(cmd.Process.Pid, "RssAnon")
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		b.StartTimer()
	}
	b.ReportMetric(rss, "MiB-idle-rss")
	// RSS counts mapped libraries; under Xvfb that includes Mesa's software
	// OpenGL (llvmpipe), which a desktop with a GPU driver does not load.
	b.ReportMetric(anon, "MiB-idle-anon")
	b.ReportMetric(cpu, "%-idle-cpu")
}

func cpuTicks(pid int) int64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	u, _ := strconv.ParseInt(f[11], 10, 64) // utime, field 14
	s, _ := strconv.ParseInt(f[12], 10, 64) // stime, field 15
	return u + s
}

func rssMiB(pid int, field string) float64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, field+":") {
			kb, _ := strconv.ParseFloat(strings.Fields(line)[1], 64)
			return kb / 1024
		}
	}
	return 0
}
