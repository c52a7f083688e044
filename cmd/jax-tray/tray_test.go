package main

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jax-desktop/jax/app"
	"github.com/jax-desktop/jax/app/dbustest"
	"github.com/jax-desktop/jax/fuse/manager"
)

// The test binary doubles as jax-tray: run with JAX_TRAY_TEST_MAIN=1 it is
// the app, so the end-to-end test runs the real program in its own process
// without building it a second time.
func TestMain(m *testing.M) {
	if os.Getenv("JAX_TRAY_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// session is one user's desktop session with jax-tray in it.
type session struct {
	t       testing.TB
	x       xserver
	bus     string
	home    string // $HOME
	jaxHome string
	logs    *logBuffer
	proc    *exec.Cmd
	done    chan struct{} // closed when proc has ended
	raceDir string
}

// logBuffer collects the app's output while the test reads it.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newSession(t testing.TB) *session {
	home := t.TempDir()
	return &session{t: t, x: startXvfb(t), bus: dbustest.Start(t), home: home, jaxHome: filepath.Join(home, "jax"),
		logs: &logBuffer{}, raceDir: t.TempDir()}
}

func (s *session) env(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "DISPLAY", k == "WAYLAND_DISPLAY", k == "DBUS_SESSION_BUS_ADDRESS", k == "HOME", k == "JAX_HOME",
			strings.HasPrefix(k, "XDG_"), k == "LANG", k == "LC_ALL", k == "LANGUAGE":
			continue
		}
		env = append(env, kv)
	}
	return append(append(env, "DISPLAY="+s.x.display, "DBUS_SESSION_BUS_ADDRESS="+s.bus, "HOME="+s.home,
		"JAX_HOME="+s.jaxHome, "XDG_CONFIG_HOME="+filepath.Join(s.home, ".config"), "JAX_NETWORK=loopback",
		"LANG=en_US.UTF-8", "LIBGL_ALWAYS_SOFTWARE=1"), extra...)
}

func (s *session) trayCmd(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = s.env("JAX_TRAY_TEST_MAIN=1", "GORACE=exitcode=0 log_path="+filepath.Join(s.raceDir, "race"))
	return cmd
}

// ourRace tells whether either access of a race report is made by this
// module's code (the frame right under "Read at"/"Write at"), not only
// reached from it.
func ourRace(report string) bool {
	lines := strings.Split(report, "\n")
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if (strings.HasPrefix(l, "Read at") || strings.HasPrefix(l, "Write at") ||
			strings.HasPrefix(l, "Previous read at") || strings.HasPrefix(l, "Previous write at")) && i+1 < len(lines) {
			if strings.HasPrefix(strings.TrimSpace(lines[i+1]), "github.com/jax-desktop/jax") {
				return true
			}
		}
	}
	return false
}

// checkRaces fails the test on a data race reported by the app (when the
// tests run with -race) in this module's code. fyne.io/systray has races of
// its own (menu version, icon pixels against D-Bus handlers); those are
// only logged.
func (s *session) checkRaces() {
	files, _ := filepath.Glob(filepath.Join(s.raceDir, "race*"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, report := range strings.Split(string(b), "==================") {
			if !strings.Contains(report, "DATA RACE") {
				continue
			}
			if ourRace(report) {
				s.t.Errorf("data race in jax-tray:\n%s", report)
			} else {
				s.t.Logf("data race outside this module (not ours to fix):\n%s", report)
			}
		}
	}
}

// start runs jax-tray as if started at login.
func (s *session) start() {
	s.t.Helper()
	s.proc = s.trayCmd("--autostart")
	s.proc.Stderr = s.logs
	s.proc.Stdout = s.logs
	if err := s.proc.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.done = make(chan struct{})
	go func() { s.proc.Wait(); close(s.done) }()
	s.t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			sig := syscall.SIGTERM
			if s.t.Failed() {
				sig = syscall.SIGQUIT // a hang: log every goroutine
			}
			s.proc.Process.Signal(sig)
			select {
			case <-s.done:
			case <-time.After(30 * time.Second):
				s.proc.Process.Kill()
				<-s.done
			}
		}
		s.checkRaces()
		if s.t.Failed() {
			s.t.Logf("jax-tray log:\n%s", s.logs.String())
		}
		// A killed app leaves a dead mount behind.
		if mp := filepath.Join(s.home, "Jax", "Personal"); mounted(s.t, mp) {
			syscall.Unmount(mp, syscall.MNT_DETACH)
		}
	})
}

// exited waits for jax-tray to end and returns its exit code.
func (s *session) exited(timeout time.Duration) int {
	s.t.Helper()
	select {
	case <-s.done:
		return s.proc.ProcessState.ExitCode()
	case <-time.After(timeout):
		s.t.Fatalf("jax-tray still running after %s", timeout)
	}
	return -1
}

// buildJax builds the jax command for the second device and the CLI checks.
func buildJax(t testing.TB) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "jax")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "github.com/jax-desktop/jax/cmd/jax")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build jax: %v\n%s", err, b)
	}
	return out
}

type jaxCLI struct {
	t       testing.TB
	bin     string
	env     []string
	jaxHome string
}

func (c jaxCLI) run(stdin string, args ...string) string {
	c.t.Helper()
	out, err := c.try(stdin, args...)
	if err != nil {
		c.t.Fatalf("jax %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func (c jaxCLI) try(stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Env = append(c.env, "JAX_HOME="+c.jaxHome)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%w: %s", err, errb.String())
	}
	return out.String(), nil
}

// cat reads a file of the bucket, "" if it cannot.
func (c jaxCLI) cat(p string) string {
	out, _ := c.try("", "bucket", "cat", "Personal", p)
	return out
}

func TestTrayEndToEnd(t *testing.T) {
	needDesktop(t)
	jax := buildJax(t)
	s := newSession(t)
	d := ownDesktop(t, s.bus, true)
	s.start()

	// Registered with the tray host; the first run made and mounted a folder
	// and said so.
	d.wait(t, "RegisterStatusNotifierItem", 60*time.Second, func() bool { return len(d.items) > 0 })
	menu := d.menu(t, d.items[0])
	mp := filepath.Join(s.home, "Jax", "Personal")
	d.wait(t, "the first-run notification", 30*time.Second, func() bool {
		for _, n := range d.notes {
			if strings.Contains(n.Summary, "folder is ready") && strings.Contains(n.Body, mp) {
				return true
			}
		}
		return false
	})
	eventually(t, "first folder mounted", 10*time.Second, func() bool { return mounted(t, mp) })
	menu.waitItem(t, "1 bucket mounted · up to date")
	menu.waitItem(t, "Personal — mounted")
	idleIcon := d.icon(t, d.items[0])
	// Started at login: no window.
	if n := colours(s.x.screenshot(t), 16); n > 2 {
		t.Errorf("a window is shown after a login start (%d colours on screen)", n)
	}
	// Nor OpenGL, which starts with the first window (under a software
	// renderer it is most of the memory the app uses).
	if lib := glDriver(t, s.proc.Process.Pid); lib != "" {
		t.Errorf("OpenGL loaded after a login start with no window: %s", lib)
	}

	// The jax command talks to the tray app's instance.
	cli := jaxCLI{t: t, bin: jax, env: s.env(), jaxHome: s.jaxHome}
	if out := cli.run("", "status"); !strings.Contains(out, mp) || !strings.Contains(out, "running") {
		t.Fatalf("jax status against jax-tray:\n%s", out)
	}

	// Unmount and Mount from the menu really unmount and mount.
	menu.click(t, "Personal — mounted", "Unmount")
	eventually(t, "unmounted from the menu", 20*time.Second, func() bool { return !mounted(t, mp) })
	menu.waitItem(t, "Personal — not mounted")
	menu.waitItem(t, "Nothing mounted")
	menu.click(t, "Personal — not mounted", "Mount")
	eventually(t, "mounted from the menu", 20*time.Second, func() bool { return mounted(t, mp) })
	menu.waitItem(t, "Personal — mounted")

	// Open folder shows the mount in the file manager.
	menu.click(t, "Personal — mounted", "Open folder")
	d.wait(t, "ShowFolders", 20*time.Second, func() bool { return len(d.folders) > 0 })
	d.mu.Lock()
	folders := d.folders[0]
	d.mu.Unlock()
	if want := (&url.URL{Scheme: "file", Path: mp}).String(); len(folders) != 1 || folders[0] != want {
		t.Fatalf("ShowFolders %q, want %q", folders, want)
	}

	// Start at login writes and removes the autostart entry.
	entry := filepath.Join(s.home, ".config", "autostart", "jax-tray.desktop")
	menu.click(t, "Start at login")
	eventually(t, "autostart entry written", 10*time.Second, func() bool {
		b, err := os.ReadFile(entry)
		return err == nil && strings.Contains(string(b), "--autostart")
	})
	if it := menu.waitItem(t, "Start at login"); it.Toggle != 1 {
		eventually(t, "Start at login checked", 10*time.Second, func() bool { return menu.waitItem(t, "Start at login").Toggle == 1 })
	}
	menu.click(t, "Start at login")
	eventually(t, "autostart entry removed", 10*time.Second, func() bool {
		_, err := os.Stat(entry)
		return os.IsNotExist(err)
	})

	// A conflict through a second device: a notification with actions; its
	// click shows the copy in the file manager.
	os.WriteFile(filepath.Join(mp, "report.txt"), []byte("base"), 0o644)
	eventually(t, "base saved", 20*time.Second, func() bool { return cli.cat("/report.txt") == "base" })
	desk := jaxCLI{t: t, bin: jax, env: s.env(), jaxHome: filepath.Join(t.TempDir(), "desktop")}
	desk.run("", "init", "--name", "desktop")
	cli.run("", "device", "add", strings.TrimSpace(desk.run("", "device", "card")))
	cli.run("", "bucket", "share", "Personal", "desktop")
	exp := filepath.Join(t.TempDir(), "personal.jax")
	cli.run("", "bucket", "export", "Personal", exp)
	desk.run("", "bucket", "import", exp)
	desk.run("desktop edit", "bucket", "add", "Personal", "-", "/report.txt")
	os.WriteFile(filepath.Join(mp, "report.txt"), []byte("laptop edit"), 0o644)
	eventually(t, "laptop edit saved", 20*time.Second, func() bool {
		return cli.cat("/report.txt") == "laptop edit"
	})
	desk.run("", "bucket", "export", "Personal", exp)
	cli.run("", "bucket", "import", exp)

	var conflict notification
	d.wait(t, "a conflict notification", 30*time.Second, func() bool {
		for _, n := range d.notes {
			if strings.Contains(n.Summary, "report.txt") {
				conflict = n
				return true
			}
		}
		return false
	})
	if !strings.Contains(conflict.Body, "desktop") || len(conflict.Actions) < 4 || conflict.Actions[0] != "default" {
		t.Fatalf("conflict notification: %+v", conflict)
	}
	var copyPath string
	ents, _ := os.ReadDir(mp)
	for _, e := range ents {
		if strings.Contains(e.Name(), "(conflict from") {
			copyPath = filepath.Join(mp, e.Name())
		}
	}
	if copyPath == "" {
		t.Fatalf("no conflict copy in %s: %v", mp, ents)
	}
	menu.waitItem(t, "Conflicts (1)…")
	menu.waitItem(t, "1 bucket mounted · up to date · 1 conflict")
	if bytes.Equal(d.icon(t, d.items[0]), idleIcon) {
		t.Error("the tray icon does not change for a conflict")
	}
	if err := d.conn.Emit("/org/freedesktop/Notifications", "org.freedesktop.Notifications.ActionInvoked", conflict.ID, "default"); err != nil {
		t.Fatal(err)
	}
	want := (&url.URL{Scheme: "file", Path: copyPath}).String()
	d.wait(t, "ShowItems for the copy", 20*time.Second, func() bool { return len(d.shown) > 0 })
	d.mu.Lock()
	got := d.shown[0]
	d.mu.Unlock()
	if len(got) != 1 || got[0] != want {
		t.Fatalf("ShowItems %q, want %q", got, want)
	}

	// The notification's second action opens the conflict list.
	if err := d.conn.Emit("/org/freedesktop/Notifications", "org.freedesktop.Notifications.ActionInvoked", conflict.ID, "list"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the conflict list drawn", 20*time.Second, func() bool { return colours(s.x.screenshot(t), 64) > 8 })
	time.Sleep(time.Second) // let it finish drawing
	artifact(t, "jax-tray-conflicts.png", s.x.screenshot(t))
	if glDriver(t, s.proc.Process.Pid) == "" {
		t.Error("no OpenGL driver mapped while a window is drawn")
	}

	// A second launch shows the running one's settings window and exits 0.
	second := s.trayCmd()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	second = exec.CommandContext(ctx, second.Path, second.Args[1:]...)
	second.Env = s.env("JAX_TRAY_TEST_MAIN=1")
	if out, err := second.CombinedOutput(); err != nil {
		t.Fatalf("second launch: %v\n%s", err, out)
	}
	var shot int
	eventually(t, "the settings window drawn", 20*time.Second, func() bool {
		shot = colours(s.x.screenshot(t), 64)
		return shot > 8
	})
	time.Sleep(time.Second) // let it finish drawing
	artifact(t, "jax-tray-settings.png", s.x.screenshot(t))

	// Quit unmounts cleanly and exits 0.
	menu.click(t, "Quit")
	if code := s.exited(30 * time.Second); code != 0 {
		t.Fatalf("jax-tray exited %d after Quit", code)
	}
	if mounted(t, mp) {
		t.Fatal("still mounted after Quit")
	}
	if !strings.Contains(s.logs.String(), "jax-tray stopped") {
		t.Fatalf("no clean stop in the log:\n%s", s.logs.String())
	}
}

// With no tray host the app shows its window (with a hint) instead of
// running invisibly, and still serves its mounts.
func TestNoTrayHostShowsWindow(t *testing.T) {
	needDesktop(t)
	s := newSession(t)
	d := ownDesktop(t, s.bus, false)
	s.start()
	mp := filepath.Join(s.home, "Jax", "Personal")
	eventually(t, "first folder mounted", 60*time.Second, func() bool { return mounted(t, mp) })
	eventually(t, "the window drawn", 30*time.Second, func() bool { return colours(s.x.screenshot(t), 64) > 8 })
	if !strings.Contains(s.logs.String(), "no system tray") {
		t.Fatalf("no tray host not noticed:\n%s", s.logs.String())
	}
	d.mu.Lock()
	items := len(d.items)
	d.mu.Unlock()
	if items != 0 {
		t.Fatal("registered with a tray host that does not exist")
	}
	artifact(t, "jax-tray-no-tray.png", s.x.screenshot(t))
	s.proc.Process.Signal(syscall.SIGTERM)
	s.exited(30 * time.Second)
	if mounted(t, mp) {
		t.Fatal("still mounted after SIGTERM")
	}
}

// A mount that cannot come up at login shows in the menu with its error;
// the others come up.
func TestLoginWithABrokenMount(t *testing.T) {
	needDesktop(t)
	s := newSession(t)
	d := ownDesktop(t, s.bus, true)
	t.Setenv("HOME", s.home) // the first folder goes under it
	dirs, _ := app.ResolveDirs(s.jaxHome)
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := app.FirstRun(ctx, dirs, nil); err != nil {
		t.Fatal(err)
	}
	a, err := app.Start(ctx, dirs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.FinishFirstRun(ctx); err != nil {
		t.Fatal(err)
	}
	a.Buckets.Create(ctx, "photos")
	bad := filepath.Join(s.home, "photos")
	set := manager.DefaultSettings(bad)
	set.AutoMount = true
	if _, err := a.Mounts.Create(ctx, "photos", set); err != nil {
		t.Fatal(err)
	}
	cancel()
	a.Serve(ctx)
	os.WriteFile(filepath.Join(bad, "in the way.txt"), []byte("x"), 0o644) // now it cannot mount there

	s.start()
	d.wait(t, "RegisterStatusNotifierItem", 60*time.Second, func() bool { return len(d.items) > 0 })
	menu := d.menu(t, d.items[0])
	menu.waitItem(t, "1 mount failed")
	menu.waitItem(t, "photos — failed", "mount point is not empty: "+bad)
	menu.waitItem(t, "Personal — mounted")
	if !mounted(t, filepath.Join(s.home, "Jax", "Personal")) || mounted(t, bad) {
		t.Fatal("the good mount should be up and the bad one not")
	}
}

// At login the panel may come up after the app: a tray host appearing within
// a few seconds gets the icon, and no window opens.
func TestTrayHostLateAtLogin(t *testing.T) {
	needDesktop(t)
	s := newSession(t)
	d := ownDesktop(t, s.bus, false)
	s.start()
	mp := filepath.Join(s.home, "Jax", "Personal")
	eventually(t, "first folder mounted", 60*time.Second, func() bool { return mounted(t, mp) })
	time.Sleep(time.Second)
	d.ownWatcher(t)
	d.wait(t, "RegisterStatusNotifierItem", 30*time.Second, func() bool { return len(d.items) > 0 })
	d.menu(t, d.items[0]).waitItem(t, "Personal — mounted")
	time.Sleep(11 * time.Second) // past the wait for a tray host
	if n := colours(s.x.screenshot(t), 16); n > 2 || strings.Contains(s.logs.String(), "no system tray") {
		t.Fatalf("a window opened though a tray host came (%d colours):\n%s", n, s.logs.String())
	}
}
