package tray

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"

	"github.com/jax-desktop/jax/app/syncer"
)

func TestStatusLineAndIcon(t *testing.T) {
	running := MountView{ID: "1", Bucket: "docs", Status: "running"}
	for _, c := range []struct {
		s    State
		line string
		icon IconState
	}{
		{State{}, "No folders yet", Idle},
		{State{Mounts: []MountView{running, {ID: "2", Bucket: "b", Status: "running"}, {ID: "3", Bucket: "c", Status: "running"}}},
			"3 buckets mounted · up to date", Idle},
		{State{Mounts: []MountView{running}}, "1 bucket mounted · up to date", Idle},
		{State{Mounts: []MountView{{Status: "stopped"}}}, "Nothing mounted", Idle},
		{State{Mounts: []MountView{running}, Syncing: 2}, "Syncing 2 files…", Syncing},
		{State{Mounts: []MountView{{Status: "starting"}}}, "Mounting…", Syncing},
		{State{Mounts: []MountView{running}, Conflicts: 2}, "1 bucket mounted · up to date · 2 conflicts", Conflict},
		{State{Mounts: []MountView{running, {Status: "error", Error: "boom"}}, Conflicts: 1}, "1 mount failed · 1 conflict", Error},
	} {
		if got := c.s.StatusLine(); got != c.line {
			t.Errorf("%+v: status %q, want %q", c.s, got, c.line)
		}
		if got := c.s.Icon(); got != c.icon {
			t.Errorf("%+v: icon %v, want %v", c.s, got, c.icon)
		}
	}
}

func TestIconsDiffer(t *testing.T) {
	seen := map[string]IconState{}
	for s := Idle; s <= Error; s++ {
		r := Icon(s)
		if len(r.Content()) < 100 {
			t.Fatalf("%v icon is %d bytes", s, len(r.Content()))
		}
		if prev, dup := seen[string(r.Content())]; dup {
			t.Fatalf("%v and %v icons are the same", prev, s)
		}
		seen[string(r.Content())] = s
	}
}

func labels(m *fyne.Menu) []string {
	var out []string
	for _, it := range m.Items {
		if !it.IsSeparator {
			out = append(out, it.Label)
		}
	}
	return out
}

func find(m *fyne.Menu, prefix string) *fyne.MenuItem {
	for _, it := range m.Items {
		if !it.IsSeparator && strings.HasPrefix(it.Label, prefix) {
			return it
		}
	}
	return nil
}

func TestMenu(t *testing.T) {
	var got []string
	act := Actions{
		Mount:        func(id string) { got = append(got, "mount "+id) },
		Unmount:      func(id string) { got = append(got, "unmount "+id) },
		Open:         func(id string) { got = append(got, "open "+id) },
		Conflicts:    func() { got = append(got, "conflicts") },
		Settings:     func() { got = append(got, "settings") },
		StartAtLogin: func(on bool) { got = append(got, map[bool]string{true: "login on", false: "login off"}[on]) },
		Quit:         func() { got = append(got, "quit") },
	}
	s := State{Mounts: []MountView{
		{ID: "a", Bucket: "docs", Status: "running"},
		{ID: "b", Bucket: "photos", Status: "error", Error: "mount point /x is not empty"},
	}, Conflicts: 3}
	m := Menu(s, act)
	want := []string{"1 mount failed · 3 conflicts", "docs — mounted", "photos — failed", "Conflicts (3)…", "Settings…", "Start at login", "Quit"}
	if strings.Join(labels(m), "|") != strings.Join(want, "|") {
		t.Fatalf("menu %q, want %q", labels(m), want)
	}
	if !m.Items[0].Disabled {
		t.Error("the status line is clickable")
	}
	docs := find(m, "docs").ChildMenu
	if l := labels(docs); strings.Join(l, "|") != "Unmount|Open folder" {
		t.Fatalf("running mount's submenu %q", l)
	}
	docs.Items[0].Action()
	docs.Items[1].Action()
	photos := find(m, "photos").ChildMenu
	if l := labels(photos); strings.Join(l, "|") != "mount point /x is not empty|Mount|Open folder" {
		t.Fatalf("failed mount's submenu %q", l)
	}
	if !photos.Items[0].Disabled || !photos.Items[2].Disabled {
		t.Error("a failed mount's message or Open folder is clickable")
	}
	photos.Items[1].Action()
	find(m, "Conflicts").Action()
	find(m, "Settings").Action()
	login := find(m, "Start at login")
	if login.Checked {
		t.Error("Start at login checked while off")
	}
	login.Action()
	find(m, "Quit").Action()
	if strings.Join(got, ",") != "unmount a,open a,mount b,conflicts,settings,login on,quit" {
		t.Fatalf("actions: %q", got)
	}
	s.Autostart = true
	if l := find(Menu(s, act), "Start at login"); !l.Checked {
		t.Error("Start at login not checked while on")
	}
}

func TestCountSyncing(t *testing.T) {
	in := map[string]int{}
	steps := []struct {
		ev   syncer.Event
		want int
	}{
		{syncer.Event{Kind: "state", Bucket: "a", State: syncer.StatePulling}, 1},
		{syncer.Event{Kind: "progress", Bucket: "a", Progress: &syncer.Progress{Files: 5, FilesDone: 1}}, 4},
		{syncer.Event{Kind: "progress", Bucket: "b", Progress: &syncer.Progress{Files: 2}}, 6},
		{syncer.Event{Kind: "progress", Bucket: "a", Progress: &syncer.Progress{Files: 5, FilesDone: 5}}, 3},
		{syncer.Event{Kind: "synced", Bucket: "a"}, 2},
		{syncer.Event{Kind: "error", Bucket: "b", Error: "cut"}, 0},
		{syncer.Event{Kind: "state", Bucket: "b", State: syncer.StateInSync}, 0},
		// A file still being written on another device counts as one.
		{syncer.Event{Kind: "early", Bucket: "c", Early: &syncer.Early{Blobs: 40}}, 1},
		{syncer.Event{Kind: "early", Bucket: "c", Early: &syncer.Early{Blobs: 80, BlobsDone: 60}}, 1},
		{syncer.Event{Kind: "early", Bucket: "c"}, 0},
	}
	for i, st := range steps {
		if got := countSyncing(in, st.ev); got != st.want {
			t.Fatalf("step %d (%+v): %d files, want %d", i, st.ev, got, st.want)
		}
	}
}
