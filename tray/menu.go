package tray

import (
	"fmt"

	"fyne.io/fyne/v2"
)

// Actions are what the menu's items do. Each runs on the UI goroutine and
// must not block it.
type Actions struct {
	Mount, Unmount, Open func(mountID string)
	Conflicts, Settings  func()
	StartAtLogin         func(on bool)
	Quit                 func()
}

// Menu builds the tray menu for a state.
func Menu(s State, act Actions) *fyne.Menu {
	status := fyne.NewMenuItem(s.StatusLine(), nil)
	status.Disabled = true
	items := []*fyne.MenuItem{status, fyne.NewMenuItemSeparator()}
	for _, m := range s.Mounts {
		id := m.ID
		var sub []*fyne.MenuItem
		if m.Error != "" {
			e := fyne.NewMenuItem(shorten(m.Error, 120), nil)
			e.Disabled = true
			sub = append(sub, e)
		}
		switch m.Status {
		case "running":
			sub = append(sub, fyne.NewMenuItem("Unmount", func() { act.Unmount(id) }))
		default:
			mount := fyne.NewMenuItem("Mount", func() { act.Mount(id) })
			mount.Disabled = m.Status == "starting" || m.Status == "stopping"
			sub = append(sub, mount)
		}
		open := fyne.NewMenuItem("Open folder", func() { act.Open(id) })
		open.Disabled = m.Status != "running"
		sub = append(sub, open)
		item := fyne.NewMenuItem(m.Label(), nil)
		item.ChildMenu = fyne.NewMenu("", sub...)
		items = append(items, item)
	}
	if len(s.Mounts) > 0 {
		items = append(items, fyne.NewMenuItemSeparator())
	}
	login := fyne.NewMenuItem("Start at login", func() { act.StartAtLogin(!s.Autostart) })
	login.Checked = s.Autostart
	quit := fyne.NewMenuItem("Quit", act.Quit)
	quit.IsQuit = true
	items = append(items,
		fyne.NewMenuItem(fmt.Sprintf("Conflicts (%d)…", s.Conflicts), act.Conflicts),
		fyne.NewMenuItem("Settings…", act.Settings),
		login,
		fyne.NewMenuItemSeparator(),
		quit)
	return fyne.NewMenu("Jax", items...)
}

func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
