package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/jax-desktop/jax/app"
	"github.com/jax-desktop/jax/fuse/mountinfo"
)

// A check is one line of 'jax doctor': what was looked at, what was found
// and, when it is not OK, what to do about it.
type check struct {
	Name   string `json:"name"`
	Status string `json:"status"` // ok, warn, fail or skip
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

const (
	statusOK   = "ok"
	statusWarn = "warn" // works, but something a user may want is missing
	statusFail = "fail" // something Jax needs does not work
	statusSkip = "skip" // does not apply here
)

// errChecksFailed makes 'jax doctor' exit 1 once its report is printed.
var errChecksFailed = errors.New("some checks failed")

type doctorOpts struct {
	allowOther bool
	fuseDevice string // /dev/fuse; tests point it elsewhere
	mountinfo  string // /proc/self/mountinfo
}

func doctorCmd(g *globals) *cobra.Command {
	o := doctorOpts{fuseDevice: "/dev/fuse", mountinfo: "/proc/self/mountinfo"}
	c := &cobra.Command{
		Use:   "doctor",
		Short: "Check that this machine can run Jax, and say how to fix what cannot",
		Long: "Checks FUSE, the permission to mount, the desktop's tray and notification services, " +
			"the login entry, the data dir, the daemon and leftover dead mounts. One line each; " +
			"exits 1 if a check fails (warnings do not).",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			checks := runChecks(cmd.Context(), g, o)
			failed := 0
			for _, c := range checks {
				if c.Status == statusFail {
					failed++
				}
			}
			if g.json {
				if err := printJSON(cmd.OutOrStdout(), struct {
					OK     bool    `json:"ok"`
					Checks []check `json:"checks"`
				}{failed == 0, checks}); err != nil {
					return err
				}
			} else {
				printChecks(cmd.OutOrStdout(), checks)
			}
			if failed > 0 {
				return fmt.Errorf("%w (%d)", errChecksFailed, failed)
			}
			return nil
		},
	}
	jsonFlag(c, g)
	c.Flags().BoolVar(&o.allowOther, "allow-other", false, "also check that mounts may be opened by other users (user_allow_other)")
	return c
}

func printChecks(w io.Writer, checks []check) {
	for _, c := range checks {
		line := fmt.Sprintf("%-4s  %-13s %s", c.Status, c.Name, c.Detail)
		if c.Fix != "" {
			line += ". Fix: " + c.Fix
		}
		fmt.Fprintln(w, line)
	}
}

func runChecks(ctx context.Context, g *globals, o doctorOpts) []check {
	out := []check{checkFUSEDevice(o.fuseDevice)}
	out = append(out, checkFusermount()...)
	if o.allowOther {
		out = append(out, checkAllowOther("/etc/fuse.conf"))
	}
	out = append(out, checkSessionBus(ctx)...)
	out = append(out, checkAutostart(g.home))
	d, err := g.dirs()
	if err != nil {
		out = append(out, check{Name: "data dir", Status: statusFail, Detail: err.Error(), Fix: "set JAX_HOME or HOME"})
		return out
	}
	out = append(out, checkDataDir(d)...)
	out = append(out, checkDaemon(ctx, d))
	out = append(out, checkStaleMounts(o.mountinfo))
	return out
}

const installFUSE = "install fuse3 ('sudo apt install fuse3') and load the module ('sudo modprobe fuse')"

// checkFUSEDevice looks for the FUSE character device (10:229 on Linux).
func checkFUSEDevice(dev string) check {
	c := check{Name: "fuse device"}
	if runtime.GOOS != "linux" {
		c.Status, c.Detail = statusSkip, "not Linux: mounts need macFUSE (https://osxfuse.github.io)"
		return c
	}
	var st unix.Stat_t
	if err := unix.Stat(dev, &st); err != nil {
		c.Status, c.Detail, c.Fix = statusFail, fmt.Sprintf("%s is missing", dev), installFUSE+"; in a container, pass --device /dev/fuse"
		return c
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(uint64(st.Rdev)) != 10 || unix.Minor(uint64(st.Rdev)) != 229 {
		c.Status, c.Detail, c.Fix = statusFail,
			fmt.Sprintf("%s is not the FUSE device (device %d:%d, want 10:229)", dev, unix.Major(uint64(st.Rdev)), unix.Minor(uint64(st.Rdev))),
			"remove it and load the fuse module ('sudo modprobe fuse')"
		return c
	}
	if os.Geteuid() == 0 {
		// Opening it is what a mount does; a missing module shows here.
		fd, err := unix.Open(dev, unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			c.Status, c.Detail, c.Fix = statusFail, fmt.Sprintf("cannot open %s: %v", dev, err), "load the fuse module ('sudo modprobe fuse')"
			return c
		}
		unix.Close(fd)
	}
	c.Status, c.Detail = statusOK, dev+" (10:229)"
	return c
}

// checkFusermount checks the setuid helper that mounts without root, and
// whether this user may mount at all.
func checkFusermount() []check {
	tool := check{Name: "fusermount3"}
	perm := check{Name: "mount allowed"}
	if runtime.GOOS != "linux" {
		tool.Status, tool.Detail = statusSkip, "not Linux"
		perm.Status, perm.Detail = statusSkip, "not Linux"
		return []check{tool, perm}
	}
	root := os.Geteuid() == 0
	path, err := exec.LookPath("fusermount3")
	setuid := false
	switch {
	case err != nil && root:
		tool.Status, tool.Detail, tool.Fix = statusWarn, "not installed (root mounts without it, but a user cannot)", "sudo apt install fuse3"
	case err != nil:
		tool.Status, tool.Detail, tool.Fix = statusFail, "not installed", "sudo apt install fuse3"
	default:
		var st unix.Stat_t
		if err := unix.Stat(path, &st); err != nil {
			tool.Status, tool.Detail = statusFail, err.Error()
			break
		}
		setuid = st.Mode&unix.S_ISUID != 0 && st.Uid == 0
		if setuid {
			tool.Status, tool.Detail = statusOK, path+" (setuid root)"
		} else {
			tool.Status, tool.Detail, tool.Fix = statusWarn, path+" is not setuid root", "sudo chown root "+path+" && sudo chmod u+s "+path
			if !root {
				tool.Status = statusFail
			}
		}
	}
	switch {
	case root:
		perm.Status, perm.Detail = statusOK, "running as root: mounts go straight to the kernel"
	case setuid:
		perm.Status, perm.Detail = statusOK, "through fusermount3"
	default:
		perm.Status, perm.Detail, perm.Fix = statusFail, "not root and no setuid fusermount3", "sudo apt install fuse3"
	}
	return []check{tool, perm}
}

// checkAllowOther: other users (a backup tool, a web server) may open a
// mount only if /etc/fuse.conf allows it, unless we are root.
func checkAllowOther(conf string) check {
	c := check{Name: "allow other"}
	if os.Geteuid() == 0 {
		c.Status, c.Detail = statusOK, "root may always let other users in"
		return c
	}
	b, err := os.ReadFile(conf)
	if err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.TrimSpace(l) == "user_allow_other" {
				c.Status, c.Detail = statusOK, "user_allow_other is set in "+conf
				return c
			}
		}
	}
	c.Status, c.Detail, c.Fix = statusFail, "user_allow_other is not set in "+conf, "add the line 'user_allow_other' to "+conf+" (as root)"
	return c
}

// checkSessionBus looks for the desktop services the tray app uses. It
// never starts a bus: with no DBUS_SESSION_BUS_ADDRESS it says so.
func checkSessionBus(ctx context.Context) []check {
	tray := check{Name: "tray host"}
	notes := check{Name: "notifications"}
	addr := os.Getenv("DBUS_SESSION_BUS_ADDRESS")
	if addr == "" {
		const d = "no session bus (DBUS_SESSION_BUS_ADDRESS is not set): not in a desktop session"
		tray.Status, tray.Detail = statusWarn, d+"; 'jax daemon' works without one"
		notes.Status, notes.Detail = statusWarn, d
		return []check{tray, notes}
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	conn, err := dbus.Connect(addr, dbus.WithContext(ctx))
	if err != nil {
		tray.Status, tray.Detail = statusWarn, "cannot reach the session bus: "+err.Error()
		notes.Status, notes.Detail = statusWarn, tray.Detail
		return []check{tray, notes}
	}
	defer conn.Close()
	owned := func(name string) (bool, error) {
		var has bool
		err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, name).Store(&has)
		return has, err
	}
	const watcher = "org.kde.StatusNotifierWatcher"
	if has, err := owned(watcher); err != nil {
		tray.Status, tray.Detail = statusWarn, "cannot ask the session bus: "+err.Error()
	} else if has {
		tray.Status, tray.Detail = statusOK, watcher+" is on the session bus"
	} else {
		tray.Status, tray.Detail, tray.Fix = statusWarn, "no tray host ("+watcher+") on the session bus: jax-tray shows a window instead of a tray icon",
			"on GNOME, install and enable the AppIndicator extension (gnome-shell-extension-appindicator)"
	}
	const server = "org.freedesktop.Notifications"
	has, err := owned(server)
	if err == nil && !has {
		// A server that the bus starts on first use counts too.
		var names []string
		if conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.ListActivatableNames", 0).Store(&names) == nil {
			for _, n := range names {
				has = has || n == server
			}
		}
	}
	switch {
	case err != nil:
		notes.Status, notes.Detail = statusWarn, "cannot ask the session bus: "+err.Error()
	case has:
		notes.Status, notes.Detail = statusOK, server+" is on the session bus"
	default:
		notes.Status, notes.Detail, notes.Fix = statusWarn, "no notification server ("+server+"): conflicts are shown only in the tray menu",
			"install a notification daemon (e.g. 'sudo apt install dunst') or use a desktop that has one"
	}
	return []check{tray, notes}
}

// checkAutostart reports whether jax-tray starts at login.
func checkAutostart(home string) check {
	c := check{Name: "autostart"}
	a, err := app.NewAutostart(home)
	if err != nil {
		c.Status, c.Detail = statusWarn, err.Error()
		return c
	}
	if !a.Enabled() {
		c.Status, c.Detail = statusOK, "off (turn on with 'Start at login' in the tray menu)"
		return c
	}
	c.Status, c.Detail = statusOK, "on: "+a.Path
	if exe := autostartProgram(a.Path); exe != "" {
		if _, err := os.Stat(exe); err != nil {
			c.Status, c.Detail, c.Fix = statusWarn, fmt.Sprintf("%s starts %s, which is gone", a.Path, exe),
				"turn 'Start at login' off and on again in the tray menu, or remove "+a.Path
		}
	}
	return c
}

// autostartProgram returns the absolute program path in an entry's Exec
// line, or "" (a bare name is looked up in PATH at login).
func autostartProgram(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "Exec="); ok {
			rest = strings.TrimSpace(rest)
			if strings.HasPrefix(rest, `"`) {
				if end := strings.Index(rest[1:], `"`); end >= 0 {
					rest = rest[1 : end+1]
				}
			} else if f := strings.Fields(rest); len(f) > 0 {
				rest = f[0]
			}
			if filepath.IsAbs(rest) {
				return rest
			}
		}
	}
	return ""
}

// checkDataDir: the data dir holds the device's private key, so it must be
// the user's alone.
func checkDataDir(d app.Dirs) []check {
	var out []check
	for _, p := range []struct{ name, path string }{{"data dir", d.Data}, {"config dir", d.Config}} {
		c := check{Name: p.name}
		fi, err := os.Stat(p.path)
		switch {
		case errors.Is(err, os.ErrNotExist):
			c.Status, c.Detail, c.Fix = statusWarn, p.path+" does not exist yet", "run 'jax init' or start jax-tray"
		case err != nil:
			c.Status, c.Detail = statusFail, err.Error()
		case !fi.IsDir():
			c.Status, c.Detail, c.Fix = statusFail, p.path+" is not a directory", "move it away; Jax makes the directory"
		default:
			st := fi.Sys().(*syscall.Stat_t)
			uid := os.Getuid()
			switch {
			case int(st.Uid) != uid:
				c.Status, c.Detail, c.Fix = statusFail, fmt.Sprintf("%s is owned by uid %d, not you (uid %d)", p.path, st.Uid, uid),
					fmt.Sprintf("sudo chown -R %d %s", uid, p.path)
			case fi.Mode().Perm()&0o077 != 0:
				c.Status, c.Detail, c.Fix = statusFail, fmt.Sprintf("%s has mode %04o: other users can read it", p.path, fi.Mode().Perm()),
					"chmod 700 "+p.path
			default:
				c.Status, c.Detail = statusOK, fmt.Sprintf("%s (%04o, yours)", p.path, fi.Mode().Perm())
			}
		}
		out = append(out, c)
	}
	return out
}

// checkDaemon asks the data dir's control socket for the daemon's status.
func checkDaemon(ctx context.Context, d app.Dirs) check {
	c := check{Name: "daemon"}
	cl, err := app.Dial(d)
	if errors.Is(err, app.ErrNoDaemon) {
		c.Status, c.Detail, c.Fix = statusWarn, "not running: nothing is mounted",
			"start jax-tray, or 'systemctl --user enable --now jax' for the headless daemon"
		return c
	}
	if err != nil {
		c.Status, c.Detail = statusFail, err.Error()
		return c
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var st app.Status
	if err := cl.Do(ctx, "GET", "/v1/status", nil, &st); err != nil {
		c.Status, c.Detail, c.Fix = statusFail, "the control socket does not answer: "+err.Error(), "restart it ('systemctl --user restart jax', or quit and start jax-tray)"
		return c
	}
	running := 0
	for _, m := range st.Mounts {
		if m.Status == "running" {
			running++
		}
	}
	c.Status, c.Detail = statusOK, fmt.Sprintf("running (pid %d), %d of %d mounts up", st.PID, running, len(st.Mounts))
	return c
}

// checkStaleMounts finds Jax mounts whose process died ("transport
// endpoint is not connected"); they block the folder until unmounted.
func checkStaleMounts(mountinfo string) check {
	c := check{Name: "stale mounts"}
	if runtime.GOOS != "linux" {
		c.Status, c.Detail = statusSkip, "not Linux"
		return c
	}
	mps, err := jaxMounts(mountinfo)
	if err != nil {
		c.Status, c.Detail = statusWarn, "cannot read "+mountinfo+": "+err.Error()
		return c
	}
	var dead []string
	for _, mp := range mps {
		if err := statTimeout(mp, 2*time.Second); errors.Is(err, syscall.ENOTCONN) || errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, os.ErrDeadlineExceeded) {
			dead = append(dead, mp)
		}
	}
	if len(dead) > 0 {
		q := make([]string, len(dead))
		for i, p := range dead {
			q[i] = shellQuote(p)
		}
		c.Status, c.Detail, c.Fix = statusFail, "dead: "+strings.Join(dead, ", "), "fusermount3 -uz "+strings.Join(q, " ")
		return c
	}
	c.Status, c.Detail = statusOK, fmt.Sprintf("none (%d live)", len(mps))
	return c
}

// jaxMounts lists the mount points of FUSE filesystems named "jax": all of
// them for root, else this user's (others' are not ours to clear).
func jaxMounts(table string) ([]string, error) {
	mine := fmt.Sprintf("user_id=%d", os.Getuid())
	ms, err := mountinfo.Read(table)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range ms {
		isJax := m.FSType == "fuse.jax" || strings.HasPrefix(m.FSType, "fuse") && m.Source == "jax"
		if isJax && (os.Getuid() == 0 || slices.Contains(m.SuperOpts, mine)) {
			out = append(out, m.Point)
		}
	}
	return out, nil
}

// statTimeout stats p; a FUSE server that hangs would block stat forever,
// so past the timeout it gives up (the goroutine stays blocked).
func statTimeout(p string, d time.Duration) error {
	done := make(chan error, 1)
	go func() {
		_, err := os.Stat(p)
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		return os.ErrDeadlineExceeded
	}
}

func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`!*?[]{}()<>|&;#~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
