package tray

import (
	"runtime"

	"github.com/godbus/dbus/v5"
)

// NoTrayHint is shown in the window when no tray can show the icon.
const NoTrayHint = "No system tray was found, so Jax shows this window instead. Your folders stay mounted while it is open; closing it quits Jax and unmounts them. On GNOME, the AppIndicator extension adds a tray."

// Host reports whether a session bus is reachable and whether a tray can
// show the icon. On Linux and the BSDs the tray is a StatusNotifierWatcher
// on the session bus (KDE; GNOME with the AppIndicator extension); macOS
// and Windows always have one.
func Host() (bus, tray bool) {
	if runtime.GOOS == "darwin" || runtime.GOOS == "windows" {
		return true, true
	}
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		return false, false
	}
	defer conn.Close()
	var has bool
	err = conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, "org.kde.StatusNotifierWatcher").Store(&has)
	return true, err == nil && has
}
