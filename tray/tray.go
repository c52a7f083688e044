package tray

import (
	"context"
	"log/slog"
	"path/filepath"
	"reflect"
	"sync"
	"sync/atomic"

	"fyne.io/fyne/v2"

	"github.com/jax-desktop/jax/app"
	"github.com/jax-desktop/jax/store/db"
)

// Options are what the tray needs besides the app.
type Options struct {
	Autostart app.Autostart
	Notifier  *app.Notifier
	Log       *slog.Logger
	// Quit stops the app (unmounting everything) and ends the UI. It is
	// called on its own goroutine.
	Quit func()
}

// Tray is the tray icon and menu of a running app, and its windows.
type Tray struct {
	fa  fyne.App
	a   *app.App
	opt Options
	log *slog.Logger

	kick chan struct{} // asks the refresh loop for a new menu
	wake chan struct{} // ends Idle's nap
	open atomic.Int32  // windows open (Idle naps only at 0)
	naps atomic.Int64  // naps Idle took

	mu      sync.Mutex // guards syncing
	syncing int

	// Touched on the UI goroutine only.
	settings                    *Settings
	conflicts                   *ConflictList
	hint                        string
	installed                   bool      // the tray shows our menu
	icon                        IconState // the icon it shows
	shown                       State     // the state the menu shows
	settingsOpen, conflictsOpen bool
}

// New returns the tray of a running app. Call Run to show and update it.
func New(fa fyne.App, a *app.App, opt Options) *Tray {
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Notifier == nil {
		opt.Notifier = app.NewNotifier(opt.Log, nil)
	}
	if opt.Quit == nil {
		opt.Quit = fa.Quit
	}
	return &Tray{fa: fa, a: a, opt: opt, log: opt.Log, kick: make(chan struct{}, 1), wake: make(chan struct{}, 1)}
}

// Run keeps the menu in step with the app until ctx ends: it rebuilds it
// on each event the mount manager sends, coalescing bursts.
func (t *Tray) Run(ctx context.Context) {
	events, stop := t.a.Mounts.Subscribe()
	defer stop()
	go t.watchSync(ctx)
	t.Refresh()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			if ev.Kind == "conflict" {
				t.opt.Notifier.Conflict(app.NoteOf(ev))
			}
			t.Refresh()
		case <-t.kick:
			t.apply()
		}
	}
}

// Refresh asks for the menu to be rebuilt; safe from any goroutine.
func (t *Tray) Refresh() {
	select {
	case t.kick <- struct{}{}:
	default:
	}
}

// SetSyncing is the hook for sync: how many files are in flight.
func (t *Tray) SetSyncing(n int) {
	t.mu.Lock()
	t.syncing = n
	t.mu.Unlock()
	t.Refresh()
}

// State reads the app's current state.
func (t *Tray) State() State {
	var s State
	names := map[string]string{}
	if bs, err := t.a.DB.Buckets(); err == nil {
		for _, b := range bs {
			names[b.ID] = b.Name
		}
	}
	ms, err := t.a.Mounts.List()
	if err != nil {
		t.log.Error("list mounts", "err", err)
	}
	for _, m := range ms {
		name := names[m.BucketID]
		if name == "" {
			name = filepath.Base(m.MountPoint)
		}
		s.Mounts = append(s.Mounts, MountView{ID: m.ID, Bucket: name, MountPoint: m.MountPoint, Status: m.Status, Error: m.ErrorMessage})
	}
	s.Conflicts = len(openConflicts(t.a))
	s.Autostart = t.opt.Autostart.Path != "" && t.opt.Autostart.Enabled()
	t.mu.Lock()
	s.Syncing = t.syncing
	t.mu.Unlock()
	return s
}

// openConflicts lists the unresolved conflicts that made a copy.
func openConflicts(a *app.App) []db.Conflict {
	cs, err := a.DB.Conflicts("", true)
	if err != nil {
		return nil
	}
	out := cs[:0]
	for _, c := range cs {
		if c.CopyPath != "" {
			out = append(out, c)
		}
	}
	return out
}

// Install puts the icon and menu in the tray. Call it once, on the UI
// goroutine once the app runs, and on Linux only with a session bus.
func (t *Tray) Install() {
	s := t.State()
	t.icon = s.Icon()
	t.shown = s
	t.installed = true
	setSystrayIcon(Icon(t.icon))
	setSystrayMenu(Menu(s, t.actions()))
	title := t.fa.Metadata().Name
	if title == "" {
		title = t.fa.UniqueID()
	}
	startSystray(title)
}

func (t *Tray) apply() {
	s := t.State()
	menu := Menu(s, t.actions())
	fyne.Do(func() {
		// The menu is rebuilt only when what it shows changed: a reset makes
		// tray hosts reload it.
		if t.installed && !reflect.DeepEqual(s, t.shown) {
			t.shown = s
			setSystrayMenu(menu)
			if s.Icon() != t.icon {
				t.icon = s.Icon()
				setSystrayIcon(Icon(t.icon))
			}
		}
		if t.conflicts != nil {
			t.conflicts.reload()
		}
		if t.settings != nil {
			t.settings.mountsChanged()
			t.settings.autostartChanged(s.Autostart)
		}
	})
}

func (t *Tray) actions() Actions {
	// Mounting and unmounting wait on the kernel: never on the UI goroutine.
	return Actions{
		Mount: func(id string) {
			go func() {
				if err := t.a.Mounts.Start(context.Background(), id); err != nil {
					t.log.Warn("mount from the tray", "mount", id, "err", err)
				}
			}()
		},
		Unmount: func(id string) {
			go func() {
				if err := t.a.Mounts.Stop(context.Background(), id); err != nil {
					t.log.Warn("unmount from the tray", "mount", id, "err", err)
				}
			}()
		},
		Open: func(id string) {
			if m, err := t.a.Mounts.Get(id); err == nil {
				go func() { // a D-Bus call: off the UI goroutine
					if err := t.opt.Notifier.ShowFolder(m.MountPoint); err != nil {
						t.log.Warn("open folder", "err", err)
					}
				}()
			}
		},
		Conflicts:    t.ShowConflicts,
		Settings:     t.ShowSettings,
		StartAtLogin: func(on bool) { t.SetAutostart(on) },
		Quit:         func() { go t.opt.Quit() },
	}
}

// SetAutostart writes or removes the login entry.
func (t *Tray) SetAutostart(on bool) error {
	err := t.opt.Autostart.Set(on)
	if err != nil {
		t.log.Error("start at login", "err", err)
	}
	t.Refresh()
	return err
}

// SetHint shows a line at the top of the settings window, e.g. that no
// tray is available; closing the window then quits. UI goroutine only.
func (t *Tray) SetHint(h string) {
	t.hint = h
	if t.settings != nil {
		t.settings.setHint(h)
	}
}

// ShowSettings opens (or raises) the settings window. UI goroutine only.
func (t *Tray) ShowSettings() {
	if t.settings == nil {
		t.settings = newSettings(t)
	}
	t.opened(&t.settingsOpen)
	t.settings.w.Show()
	t.settings.w.RequestFocus()
}

// ShowConflicts opens (or raises) the conflict list. UI goroutine only.
func (t *Tray) ShowConflicts() {
	if t.conflicts == nil {
		t.conflicts = newConflictList(t)
	}
	t.conflicts.reload()
	t.opened(&t.conflictsOpen)
	t.conflicts.w.Show()
	t.conflicts.w.RequestFocus()
}
