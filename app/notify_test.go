package app

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/jax-desktop/jax/app/dbustest"
)

type note struct {
	Summary, Body string
	Actions       []string
}

// desktop stands in for the notification server and the file manager.
type desktop struct {
	mu     sync.Mutex
	notes  []note
	shown  [][]string
	change chan struct{}
}

func (d *desktop) Notify(app string, replaces uint32, icon, summary, body string, actions []string, hints map[string]dbus.Variant, timeout int32) (uint32, *dbus.Error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.notes = append(d.notes, note{summary, body, actions})
	d.poke()
	return uint32(len(d.notes)), nil
}

func (d *desktop) ShowItems(uris []string, startup string) *dbus.Error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.shown = append(d.shown, uris)
	d.poke()
	return nil
}

func (d *desktop) poke() {
	select {
	case d.change <- struct{}{}:
	default:
	}
}

func (d *desktop) wait(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		d.mu.Lock()
		done := ok()
		d.mu.Unlock()
		if done {
			return
		}
		select {
		case <-d.change:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func ownDesktop(t *testing.T, conn *dbus.Conn) *desktop {
	d := &desktop{change: make(chan struct{}, 1)}
	conn.Export(d, notifyPath, notifyName)
	conn.Export(d, fileManagerPath, fileManagerName)
	for _, name := range []string{notifyName, fileManagerName} {
		if r, err := conn.RequestName(name, dbus.NameFlagDoNotQueue); err != nil || r != dbus.RequestNameReplyPrimaryOwner {
			t.Fatalf("own %s: %v %v", name, r, err)
		}
	}
	return d
}

func TestNotifierConflictActions(t *testing.T) {
	conn := dbustest.Session(t)
	d := ownDesktop(t, conn)
	lists := make(chan struct{}, 1)
	n := NewNotifier(nil, func() { lists <- struct{}{} })
	n.window = 100 * time.Millisecond
	defer n.Close()

	n.Conflict(ConflictNote{Path: "/m/report.txt", CopyPath: "/m/report (conflict from desktop).txt", Device: "desktop"})
	n.Conflict(ConflictNote{Path: "/m/a b.txt", CopyPath: "/m/a b (conflict).txt"})
	d.wait(t, "two notifications", func() bool { return len(d.notes) == 2 })
	first := d.notes[0]
	if !strings.Contains(first.Body, "desktop") || !strings.Contains(first.Summary, "report.txt") {
		t.Fatalf("notification does not name the file and device: %+v", first)
	}
	if len(first.Actions) != 4 || first.Actions[0] != ActionShow || first.Actions[2] != ActionList {
		t.Fatalf("actions: %q", first.Actions)
	}

	// A click on the second shows its copy, URI-escaped, in the file manager.
	if err := conn.Emit(notifyPath, notifyName+".ActionInvoked", uint32(2), ActionShow); err != nil {
		t.Fatal(err)
	}
	d.wait(t, "ShowItems", func() bool { return len(d.shown) == 1 })
	if got := d.shown[0]; len(got) != 1 || got[0] != "file:///m/a%20b%20%28conflict%29.txt" {
		t.Fatalf("ShowItems %q", got)
	}
	// Another app's notification id is not ours to act on.
	conn.Emit(notifyPath, notifyName+".ActionInvoked", uint32(99), ActionShow)
	conn.Emit(notifyPath, notifyName+".ActionInvoked", uint32(1), ActionList)
	select {
	case <-lists:
	case <-time.After(10 * time.Second):
		t.Fatal("the list action did not open the conflict list")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.shown) != 1 {
		t.Fatalf("ShowItems calls: %q", d.shown)
	}
}

func TestNotifierCoalescesBursts(t *testing.T) {
	conn := dbustest.Session(t)
	d := ownDesktop(t, conn)
	n := NewNotifier(nil, nil)
	n.window = 200 * time.Millisecond
	defer n.Close()
	for _, name := range []string{"a", "b", "c", "d", "e", "f"} {
		n.Conflict(ConflictNote{Path: "/m/" + name, CopyPath: "/m/" + name + " (conflict)"})
	}
	d.wait(t, "a summary", func() bool { return len(d.notes) >= 1 })
	time.Sleep(400 * time.Millisecond) // nothing more may follow
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.notes) != 1 || !strings.Contains(d.notes[0].Summary, "6 conflict") || !strings.Contains(d.notes[0].Body, "and 3 more") {
		t.Fatalf("burst gave %+v", d.notes)
	}
}

func TestNotifierWithoutServer(t *testing.T) {
	dbustest.Session(t) // a bus, but nobody owns the notification name
	var logs bytes.Buffer
	n := NewNotifier(slog.New(slog.NewTextHandler(&logs, nil)), nil)
	n.window = 10 * time.Millisecond
	defer n.Close()
	n.Info("hello", "world")
	n.Conflict(ConflictNote{Path: "/m/x", CopyPath: "/m/x (conflict)"})
	n.Info("again", "")
	time.Sleep(200 * time.Millisecond)
	if got := strings.Count(logs.String(), "notifications unavailable"); got != 1 {
		t.Fatalf("logged %d times:\n%s", got, logs.String())
	}
	// No session bus at all: the same.
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
	logs.Reset()
	n2 := NewNotifier(slog.New(slog.NewTextHandler(&logs, nil)), nil)
	defer n2.Close()
	n2.Info("x", "y")
	n2.Info("x", "y")
	if got := strings.Count(logs.String(), "notifications unavailable"); got != 1 {
		t.Fatalf("without a bus, logged %d times:\n%s", got, logs.String())
	}
}

func TestDialSessionBusNeitherStartsNorHangs(t *testing.T) {
	// No bus named: godbus would run dbus-launch from PATH to start one.
	bin := t.TempDir()
	marker := filepath.Join(bin, "launched")
	if err := os.WriteFile(filepath.Join(bin, "dbus-launch"), []byte("#!/bin/sh\ntouch "+marker+"\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	t.Setenv("DISPLAY", ":99") // dbus-launch's autolaunch wants an X display
	if conn, err := DialSessionBus(time.Second); err == nil {
		conn.Close()
		if _, err := os.Stat("/run/user/" + strconv.Itoa(os.Getuid()) + "/bus"); err != nil {
			t.Fatal("connected to a session bus that no one named")
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("dbus-launch was run to start a session bus")
	}

	// A bus that accepts and never answers: an error after the timeout.
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", dbustest.Silent(t))
	done := make(chan error, 1)
	go func() {
		conn, err := DialSessionBus(300 * time.Millisecond)
		if err == nil {
			conn.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a silent bus was taken for a session bus")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("DialSessionBus hung on a bus that does not answer")
	}
}

// A restarted notification server numbers its notifications afresh: a click
// on its notification 1 is not a click on ours that the old one numbered 1.
func TestNotifierForgetsIdsOfAServerThatLeft(t *testing.T) {
	conn := dbustest.Session(t)
	d := ownDesktop(t, conn)
	lists := make(chan struct{}, 1)
	n := NewNotifier(nil, func() { lists <- struct{}{} })
	n.window = 10 * time.Millisecond
	defer n.Close()
	n.Conflict(ConflictNote{Path: "/m/old.txt", CopyPath: "/m/old (conflict).txt"})
	d.wait(t, "a notification", func() bool { return len(d.notes) == 1 })

	for _, name := range []string{notifyName, fileManagerName} {
		if _, err := conn.ReleaseName(name); err != nil {
			t.Fatal(err)
		}
	}
	conn2, err := dbus.ConnectSessionBus()
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	d2 := ownDesktop(t, conn2)
	// The new server's notification 1 is another app's; a click on it.
	conn2.Emit(notifyPath, notifyName+".ActionInvoked", uint32(1), ActionShow)
	// Someone other than the server claims a click on it too.
	conn.Emit(notifyPath, notifyName+".ActionInvoked", uint32(1), ActionShow)
	// Ours, numbered 1 by the new server: its clicks are ours.
	n.Conflict(ConflictNote{Path: "/m/new.txt", CopyPath: "/m/new (conflict).txt"})
	d2.wait(t, "a notification from the new server", func() bool { return len(d2.notes) == 1 })
	conn2.Emit(notifyPath, notifyName+".ActionInvoked", uint32(1), ActionList)
	select {
	case <-lists:
	case <-time.After(10 * time.Second):
		t.Fatal("a click on our notification did nothing")
	}
	d2.mu.Lock()
	defer d2.mu.Unlock()
	if len(d2.shown) != 0 {
		t.Fatalf("a click on another notification showed %q", d2.shown)
	}
}
