package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/gen2brain/beeep"
	"github.com/godbus/dbus/v5"

	"github.com/jax-desktop/jax/fuse/manager"
)

// Desktop notifications. On Linux they go to org.freedesktop.Notifications
// on the notifier's own session-bus connection, so a click (an action) comes
// back to us: a conflict notification's click shows the conflict copy in the
// file manager, its second action opens the conflict list. Elsewhere beeep
// shows plain ones. With no notification server the app keeps working; the
// notifier logs that once.

const (
	notifyName      = "org.freedesktop.Notifications"
	notifyPath      = "/org/freedesktop/Notifications"
	fileManagerName = "org.freedesktop.FileManager1"
	fileManagerPath = "/org/freedesktop/FileManager1"

	// Notification action keys; "default" is a click on the notification.
	ActionShow = "default"
	ActionList = "list"
)

// ConflictNote is one conflict copy to tell the user about.
type ConflictNote struct {
	Path     string // absolute, in the mount: the file that kept its name
	CopyPath string // absolute, in the mount: the conflict copy
	Device   string // the other device's name, if known
}

// Notifier shows desktop notifications. Its methods are safe to call from
// any goroutine.
type Notifier struct {
	log    *slog.Logger
	onList func() // asked for the conflict list; may be nil

	// Bursts: conflicts arriving within Window of the first are held and,
	// when more than BurstMax, shown as one summary.
	window   time.Duration
	burstMax int

	mu      sync.Mutex // guards the fields below
	sent    *sync.Cond // on mu: a Notify call with actions returned
	sending int        // Notify calls with actions in flight
	conn    *dbus.Conn
	enabled bool
	warned  bool                    // the missing server was logged
	clicks  map[uint32]ConflictNote // shown conflict notifications by id; empty CopyPath: a summary
	pending []ConflictNote
	timer   *time.Timer
	closed  bool
}

// NewNotifier returns a notifier. onList, if not nil, opens the conflict
// list; it runs on the notifier's own goroutine.
func NewNotifier(log *slog.Logger, onList func()) *Notifier {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n := &Notifier{log: log, onList: onList, window: 1500 * time.Millisecond, burstMax: 3,
		enabled: true, clicks: map[uint32]ConflictNote{}}
	n.sent = sync.NewCond(&n.mu)
	return n
}

// SetEnabled turns notifications on or off.
func (n *Notifier) SetEnabled(on bool) {
	n.mu.Lock()
	n.enabled = on
	n.mu.Unlock()
}

// Close drops the bus connection and anything not yet shown.
func (n *Notifier) Close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.closed = true
	if n.timer != nil {
		n.timer.Stop()
	}
	n.pending = nil
	if n.conn != nil {
		n.conn.Close()
		n.conn = nil
	}
}

// Info shows a plain notification.
func (n *Notifier) Info(summary, body string) {
	n.mu.Lock()
	on := n.enabled && !n.closed
	n.mu.Unlock()
	if !on {
		return
	}
	if runtime.GOOS != "linux" {
		if err := beeep.Notify(summary, body, ""); err != nil {
			n.warnOnce(err)
		}
		return
	}
	if _, err := n.send(summary, body, nil); err != nil {
		n.warnOnce(err)
	}
}

// Conflict queues a notification for one conflict copy. Up to BurstMax
// within the window are shown one each; more become one summary.
func (n *Notifier) Conflict(c ConflictNote) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.enabled || n.closed {
		return
	}
	n.pending = append(n.pending, c)
	if n.timer == nil {
		n.timer = time.AfterFunc(n.window, n.flush)
	}
}

func (n *Notifier) flush() {
	n.mu.Lock()
	batch := n.pending
	n.pending, n.timer = nil, nil
	n.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	if len(batch) > n.burstMax {
		names := make([]string, 0, 3)
		for _, c := range batch[:min(len(batch), 3)] {
			names = append(names, filepath.Base(c.Path))
		}
		body := strings.Join(names, ", ")
		if len(batch) > len(names) {
			body += fmt.Sprintf(" and %d more", len(batch)-len(names))
		}
		n.notifyConflict(fmt.Sprintf("%d conflict copies made", len(batch)),
			"Both devices changed "+body+". Nothing was lost: each has a copy.", ConflictNote{})
		return
	}
	for _, c := range batch {
		from := "another device"
		if c.Device != "" {
			from = c.Device
		}
		n.notifyConflict("Conflict: "+filepath.Base(c.Path),
			fmt.Sprintf("This device and %s both changed %s. Nothing was lost: one version is kept as %s.",
				from, filepath.Base(c.Path), filepath.Base(c.CopyPath)), c)
	}
}

func (n *Notifier) notifyConflict(summary, body string, c ConflictNote) {
	if runtime.GOOS != "linux" {
		if err := beeep.Notify(summary, body, ""); err != nil {
			n.warnOnce(err)
		}
		return
	}
	actions := []string{ActionShow, "Show in folder", ActionList, "Show all conflicts"}
	if c.CopyPath == "" {
		actions = []string{ActionShow, "Show conflicts", ActionList, "Show conflicts"}
	}
	n.mu.Lock()
	n.sending++
	n.mu.Unlock()
	id, err := n.send(summary, body, actions)
	n.mu.Lock()
	if err == nil {
		n.clicks[id] = c
	}
	n.sending--
	n.sent.Broadcast()
	n.mu.Unlock()
	if err != nil {
		n.warnOnce(err)
	}
}

// bus returns the private session-bus connection, making it on first use.
func (n *Notifier) bus() (*dbus.Conn, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, errors.New("notifier closed")
	}
	if n.conn != nil {
		return n.conn, nil
	}
	conn, err := DialSessionBus(5 * time.Second)
	if err != nil {
		return nil, fmt.Errorf("session bus: %w", err)
	}
	// Clicks only from the notification server; and word of a new server,
	// which numbers its notifications afresh.
	rules := [][]dbus.MatchOption{
		{dbus.WithMatchSender(notifyName), dbus.WithMatchObjectPath(notifyPath), dbus.WithMatchInterface(notifyName), dbus.WithMatchMember("ActionInvoked")},
		{dbus.WithMatchSender(notifyName), dbus.WithMatchObjectPath(notifyPath), dbus.WithMatchInterface(notifyName), dbus.WithMatchMember("NotificationClosed")},
		{dbus.WithMatchInterface("org.freedesktop.DBus"), dbus.WithMatchMember("NameOwnerChanged"), dbus.WithMatchArg(0, notifyName)},
	}
	for _, r := range rules {
		if err := conn.AddMatchSignal(r...); err != nil {
			conn.Close()
			return nil, fmt.Errorf("session bus: %w", err)
		}
	}
	sigs := make(chan *dbus.Signal, 16)
	conn.Signal(sigs)
	go n.listen(conn, sigs)
	n.conn = conn
	return conn, nil
}

// listen handles clicks until the connection closes; the next
// notification then connects afresh.
func (n *Notifier) listen(conn *dbus.Conn, sigs <-chan *dbus.Signal) {
	defer func() {
		n.mu.Lock()
		if n.conn == conn {
			n.conn = nil
			clear(n.clicks)
		}
		n.mu.Unlock()
	}()
	for s := range sigs {
		if s.Name == "org.freedesktop.DBus.NameOwnerChanged" {
			// The ids we hold were the old server's: a new one may give
			// them to other notifications.
			n.mu.Lock()
			clear(n.clicks)
			n.mu.Unlock()
			continue
		}
		if len(s.Body) < 2 {
			continue
		}
		id, _ := s.Body[0].(uint32)
		n.mu.Lock()
		c, ours := n.clicks[id]
		// A click can overtake the reply that told us the id.
		for !ours && n.sending > 0 {
			n.sent.Wait()
			c, ours = n.clicks[id]
		}
		if s.Name == notifyName+".NotificationClosed" {
			delete(n.clicks, id)
		}
		n.mu.Unlock()
		if !ours || s.Name != notifyName+".ActionInvoked" {
			continue
		}
		action, _ := s.Body[1].(string)
		switch {
		case action == ActionShow && c.CopyPath != "":
			if err := n.ShowFile(c.CopyPath); err != nil {
				n.log.Warn("show conflict copy", "path", c.CopyPath, "err", err)
			}
		case n.onList != nil:
			n.onList()
		}
	}
}

func (n *Notifier) send(summary, body string, actions []string) (uint32, error) {
	conn, err := n.bus()
	if err != nil {
		return 0, err
	}
	if actions == nil {
		actions = []string{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	hints := map[string]dbus.Variant{"desktop-entry": dbus.MakeVariant("jax-tray")}
	var id uint32
	err = conn.Object(notifyName, notifyPath).CallWithContext(ctx, notifyName+".Notify", 0,
		"Jax", uint32(0), "io.jaxdesktop.jax", summary, body, actions, hints, int32(-1)).Store(&id)
	if err != nil {
		return 0, fmt.Errorf("notification server: %w", err)
	}
	return id, nil
}

// DialSessionBus connects to the session bus the environment names
// (DBUS_SESSION_BUS_ADDRESS, else /run/user/<uid>/bus). Unlike godbus's
// ConnectSessionBus it never starts a bus with dbus-launch (one that would
// outlive us), and it gives up when the bus does not answer in timeout.
func DialSessionBus(timeout time.Duration) (*dbus.Conn, error) {
	conn, err := dbus.SessionBusPrivateNoAutoStartup()
	if err != nil {
		return nil, err
	}
	// Auth and Hello take no context; closing the connection ends them.
	timer := time.AfterFunc(timeout, func() { conn.Close() })
	err = conn.Auth(nil)
	if err == nil {
		err = conn.Hello()
	}
	if !timer.Stop() {
		conn.Close()
		return nil, fmt.Errorf("the session bus did not answer in %v", timeout)
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

func (n *Notifier) warnOnce(err error) {
	n.mu.Lock()
	first := !n.warned
	n.warned = true
	n.mu.Unlock()
	if first {
		n.log.Warn("desktop notifications unavailable; carrying on without them", "err", err)
	}
}

// ShowFile shows a file selected in the file manager
// (org.freedesktop.FileManager1.ShowItems), else opens its folder.
func (n *Notifier) ShowFile(path string) error {
	if err := n.fileManager("ShowItems", path); err != nil {
		n.log.Info("no file manager answered ShowItems; opening the folder", "err", err)
		return OpenFolder(filepath.Dir(path))
	}
	return nil
}

// ShowFolder opens a folder in the file manager
// (org.freedesktop.FileManager1.ShowFolders), else with xdg-open.
func (n *Notifier) ShowFolder(dir string) error {
	if err := n.fileManager("ShowFolders", dir); err != nil {
		n.log.Info("no file manager answered ShowFolders; using the opener", "err", err)
		return OpenFolder(dir)
	}
	return nil
}

func (n *Notifier) fileManager(method, path string) error {
	if runtime.GOOS != "linux" {
		return errors.New("no freedesktop file manager here")
	}
	conn, err := n.bus()
	if err != nil {
		return err
	}
	uri := (&url.URL{Scheme: "file", Path: path}).String()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return conn.Object(fileManagerName, fileManagerPath).CallWithContext(ctx, fileManagerName+"."+method, 0,
		[]string{uri}, "").Err
}

// OpenFolder opens a folder in the desktop's file manager.
func OpenFolder(dir string) error {
	opener := "xdg-open"
	if runtime.GOOS == "darwin" {
		opener = "open"
	}
	cmd := exec.Command(opener, dir)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	go cmd.Wait() // the opener may outlive us; never leave a zombie
	return nil
}

// NotificationsEnabled reports the user's notifications setting.
func (a *App) NotificationsEnabled() bool {
	v, err := a.DB.Setting("notifications", "on")
	return err != nil || v != "off"
}

// SetNotificationsEnabled stores the user's notifications setting.
func (a *App) SetNotificationsEnabled(on bool) error {
	v := "off"
	if on {
		v = "on"
	}
	return a.DB.SetSetting("notifications", v)
}

// NoteOf makes the note for a mount manager "conflict" event. A conflict in
// a bucket with no mount has no copy to show: a click opens the list.
func NoteOf(ev manager.Event) ConflictNote {
	n := ConflictNote{Path: ev.Path, Device: ev.Device}
	if ev.MountID != "" {
		n.CopyPath = ev.CopyPath
	}
	return n
}

// NotifyConflicts sends a notification for each conflict copy the mount
// manager announces, until ctx ends.
func (a *App) NotifyConflicts(ctx context.Context, n *Notifier) {
	events, stop := a.Mounts.Subscribe()
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			if ev.Kind == "conflict" {
				n.Conflict(NoteOf(ev))
			}
		}
	}
}
