package tray

import (
	"context"
	"runtime"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/jax-desktop/jax/app"
)

// busTimeout bounds each exchange with the session bus: one that does not
// answer must not hold up start-up.
const busTimeout = 3 * time.Second

// NoTrayHint is shown in the window when no tray can show the icon.
const NoTrayHint = "No system tray was found, so Jax shows this window instead. Your folders stay mounted while it is open; closing it quits Jax and unmounts them. On GNOME, the AppIndicator extension adds a tray."

const watcherName = "org.kde.StatusNotifierWatcher"

// SessionBus reports whether a session bus is reachable (the tray needs
// one on Linux and the BSDs).
func SessionBus() bool {
	if runtime.GOOS == "darwin" || runtime.GOOS == "windows" {
		return true
	}
	conn, err := app.DialSessionBus(busTimeout)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// WaitHost reports whether a tray can show the icon, waiting up to wait for
// one to appear (at login the panel may start after us). On Linux and the
// BSDs the tray is a StatusNotifierWatcher on the session bus (KDE; GNOME
// with the AppIndicator extension); macOS and Windows always have one.
func WaitHost(wait time.Duration) bool {
	if runtime.GOOS == "darwin" || runtime.GOOS == "windows" {
		return true
	}
	conn, err := app.DialSessionBus(busTimeout)
	if err != nil {
		return false
	}
	defer conn.Close()
	// Listen before asking, so an owner arriving in between is not missed.
	if err := conn.AddMatchSignal(dbus.WithMatchInterface("org.freedesktop.DBus"), dbus.WithMatchMember("NameOwnerChanged"),
		dbus.WithMatchArg(0, watcherName)); err != nil {
		return false
	}
	sigs := make(chan *dbus.Signal, 4)
	conn.Signal(sigs)
	var has bool
	ctx, cancel := context.WithTimeout(context.Background(), busTimeout)
	defer cancel()
	if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, watcherName).Store(&has); err != nil {
		return false
	}
	timeout := time.After(wait)
	for !has {
		select {
		case s := <-sigs:
			if s != nil && len(s.Body) == 3 {
				owner, _ := s.Body[2].(string)
				has = owner != ""
			}
		case <-timeout:
			return false
		}
	}
	return true
}
