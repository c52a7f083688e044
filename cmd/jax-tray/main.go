// Command jax-tray is the Jax tray app: the same instance as `jax daemon`
// (data dir lock, mounts, control socket, so the jax command works against
// it) with a tray menu, a settings window and desktop notifications.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"

	"github.com/jax-desktop/jax/app"
	"github.com/jax-desktop/jax/assets"
	"github.com/jax-desktop/jax/tray"
)

var version = "dev"

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "jax-tray:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fl := flag.NewFlagSet("jax-tray", flag.ContinueOnError)
	home := fl.String("home", "", "keep all data under this folder (default: $JAX_HOME, else the XDG folders)")
	login := fl.Bool("autostart", false, "started at login: bring up the auto-mounts and open no window")
	verbose := fl.Bool("v", false, "log debug detail")
	showVersion := fl.Bool("version", false, "print the version and exit")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *showVersion {
		fmt.Println("jax-tray", version)
		return nil
	}
	if *home == "" {
		*home = os.Getenv("JAX_HOME") // so the login entry starts this same instance
	}
	dirs, err := app.ResolveDirs(*home)
	if err != nil {
		return err
	}
	// One instance per data dir: a second launch raises the first's window.
	if shown, err := showRunning(dirs); shown || err != nil {
		return err
	}
	log, closeLog := openLog(dirs, *verbose)
	defer closeLog()

	// SIGINT/SIGTERM quit like the menu's Quit: mounts first, then the UI.
	// (Fyne quits its loop on them too; the mounts are still stopped before
	// the process ends.)
	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	// The instance lives until Quit: its network and mounts hang off this.
	serveCtx, stopServe := context.WithCancel(context.Background())
	defer stopServe()
	started := time.Now()
	created, err := app.FirstRun(ctx, dirs, log)
	if err != nil {
		return err
	}
	a, err := app.Start(serveCtx, dirs, log)
	if errors.Is(err, app.ErrRunning) {
		if shown, err := showRunning(dirs); shown || err != nil {
			return err
		}
	}
	if err != nil {
		return err
	}
	log.Info("jax-tray started", "version", version, "device", a.Buckets.DeviceName(), "data", dirs.Data,
		"first_run", created, "autostart", *login, "mounts_up_in", time.Since(started).Round(time.Millisecond))

	fa := fyneapp.NewWithID("io.jaxdesktop.jax")
	fa.SetIcon(fyne.NewStaticResource("jax.png", assets.Icon))
	auto, err := app.NewAutostart(*home)
	if err != nil {
		log.Warn("start at login unavailable", "err", err)
	}

	served := make(chan struct{})
	// Quit unmounts everything (Serve's ending) before the UI goes away.
	quit := sync.OnceFunc(func() {
		stopServe()
		<-served
		fyne.Do(func() {
			// Fyne may be ending already (it quits on SIGTERM itself); it
			// then runs this at once and its quit fails: nothing is lost.
			defer func() { recover() }()
			fa.Quit()
		})
		// Fyne's Run can wait forever on an event queued as it shut down.
		// Everything is unmounted and saved by now: exit regardless.
		time.AfterFunc(5*time.Second, func() {
			log.Warn("the window system did not stop; exiting")
			log.Info("jax-tray stopped")
			os.Exit(0)
		})
	})
	var t *tray.Tray
	n := app.NewNotifier(log, func() { fyne.Do(t.ShowConflicts) })
	n.SetEnabled(a.NotificationsEnabled())
	defer n.Close()
	t = tray.New(fa, a, tray.Options{Autostart: auto, Notifier: n, Log: log, Quit: quit})
	a.HandleFunc("POST /v1/ui/show", func(w http.ResponseWriter, r *http.Request) {
		t.Wake()
		fyne.Do(t.ShowSettings)
		w.WriteHeader(http.StatusNoContent)
	})
	go func() {
		defer close(served)
		if err := a.Serve(serveCtx); err != nil {
			log.Error("control socket", "err", err)
		}
	}()

	fa.Lifecycle().SetOnStarted(func() {
		// On the main thread once the UI runs, where Fyne started its own
		// tray (macOS needs both). The tray is an item on the session bus;
		// without a bus, systray would start one with dbus-launch.
		if tray.SessionBus() {
			t.Install()
		}
		go t.Run(serveCtx)
		go t.Idle(serveCtx)
		if !*login {
			t.ShowSettings()
		}
		go func() {
			wait := time.Duration(0)
			if *login {
				wait = 10 * time.Second // the panel may not be up yet
			}
			if !tray.WaitHost(wait) {
				log.Warn("no system tray (no StatusNotifierWatcher on the session bus); showing the window")
				fyne.Do(func() {
					t.SetHint(tray.NoTrayHint)
					t.ShowSettings()
				})
			}
		}()
		go func() {
			m, err := a.FinishFirstRun(serveCtx)
			switch {
			case err != nil:
				log.Error("first run", "err", err)
				n.Info("Jax could not set up your folder", err.Error())
			case m != nil:
				n.Info("Your Jax folder is ready", "Files you put in "+m.MountPoint+" are encrypted, versioned and synced to your devices.")
			}
			t.Refresh()
		}()
	})
	if ctx.Err() != nil { // a signal during start-up
		stopServe()
		<-served
		return nil
	}
	go func() {
		<-ctx.Done()
		quit()
	}()
	fa.Run()
	// The UI ended (Quit, or the window system went away): stop the mounts.
	stopServe()
	<-served
	log.Info("jax-tray stopped")
	return nil
}

// showRunning asks a running instance of the data dir to show its window.
func showRunning(dirs app.Dirs) (bool, error) {
	c, err := app.Dial(dirs)
	if err != nil {
		return false, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Do(ctx, "POST", "/v1/ui/show", nil, nil); err != nil {
		// A headless `jax daemon` has no window to show.
		return false, fmt.Errorf("a jax daemon already runs for this data dir (%s); stop it to use jax-tray (%v)", dirs.Data, err)
	}
	return true, nil
}

// openLog logs to stderr and to jax-tray.log in the state folder (the
// folder Settings › General opens).
func openLog(dirs app.Dirs, verbose bool) (*slog.Logger, func()) {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	var w io.Writer = os.Stderr
	closer := func() {}
	if err := os.MkdirAll(dirs.State, 0o700); err == nil {
		if f, err := os.OpenFile(filepath.Join(dirs.State, "jax-tray.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err == nil {
			w = io.MultiWriter(os.Stderr, f)
			closer = func() { f.Close() }
		}
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})), closer
}
