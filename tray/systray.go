package tray

import (
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/systray"
)

// The icon and menu go to fyne.io/systray directly rather than through
// Fyne's desktop.App: Fyne's tray opens a hidden window at start, so its
// OpenGL context (with a software renderer, Mesa and LLVM: 60 MiB) would
// be loaded all day although most days no window opens. This way OpenGL
// starts with the first window shown.

var (
	systrayOnce sync.Once
	systrayMu   sync.Mutex // guards systrayMenu
	systrayMenu *fyne.Menu // the menu to show once the tray is up
)

// startSystray registers the tray item on the session bus (only call it
// with one: systray dials it itself). Menu clicks run their action on
// Fyne's UI goroutine.
func startSystray(title string) {
	systrayOnce.Do(func() {
		start, _ := systray.RunWithExternalLoop(func() {
			systray.SetTitle(title) // some tray hosts fail on an item without one
			// Items added before the tray was up may not reach the host.
			systrayMu.Lock()
			m := systrayMenu
			systrayMu.Unlock()
			if m != nil {
				setSystrayMenu(m)
			}
		}, nil)
		start()
	})
}

// setSystrayMenu replaces the tray's menu. Safe from any goroutine.
func setSystrayMenu(m *fyne.Menu) {
	systrayMu.Lock()
	defer systrayMu.Unlock()
	systrayMenu = m
	systray.ResetMenu() // removing an item closes its ClickedCh, ending its goroutine
	addSystrayItems(m.Items, nil)
}

func addSystrayItems(items []*fyne.MenuItem, parent *systray.MenuItem) {
	for _, i := range items {
		if i.IsSeparator {
			if parent != nil {
				parent.AddSeparator()
			} else {
				systray.AddSeparator()
			}
			continue
		}
		var item *systray.MenuItem
		switch {
		case parent != nil && i.Checked:
			item = parent.AddSubMenuItemCheckbox(i.Label, "", true)
		case parent != nil:
			item = parent.AddSubMenuItem(i.Label, "")
		case i.Checked:
			item = systray.AddMenuItemCheckbox(i.Label, "", true)
		default:
			item = systray.AddMenuItem(i.Label, "")
		}
		if i.Disabled {
			item.Disable()
		}
		if i.ChildMenu != nil {
			addSystrayItems(i.ChildMenu.Items, item)
		}
		if act := i.Action; act != nil {
			go func() {
				for range item.ClickedCh {
					fyne.Do(act)
				}
			}()
		}
	}
}

// setSystrayIcon shows a PNG as the tray icon.
func setSystrayIcon(r fyne.Resource) {
	systray.SetIcon(r.Content())
}
