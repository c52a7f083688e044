// Package packaging holds the desktop integration files (the menu entry, the
// login autostart entry, the macOS LaunchAgent), embedded so the app writes
// the same files that packages install.
package packaging

import _ "embed"

// DesktopEntry is the application's menu entry (freedesktop .desktop).
//
//go:embed jax-tray.desktop
var DesktopEntry string

// AutostartEntry is a text/template of the XDG autostart entry; it takes
// .Exec, the command line, already quoted for a desktop entry.
//
//go:embed autostart.desktop.tmpl
var AutostartEntry string

// LaunchAgent is a text/template of the macOS LaunchAgent plist; it takes
// .Label and .Args; the template escapes them with its "xml" function.
//
//go:embed launchagent.plist.tmpl
var LaunchAgent string
