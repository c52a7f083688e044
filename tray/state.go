package tray

import (
	"fmt"
	"strings"

	"github.com/jax-desktop/jax/store/db"
)

// IconState is what the tray icon shows.
type IconState int

const (
	Idle IconState = iota
	Syncing
	Conflict
	Error
)

func (s IconState) String() string {
	return [...]string{"idle", "syncing", "conflict", "error"}[s]
}

// MountView is one mount as the menu shows it.
type MountView struct {
	ID         string
	Bucket     string // the bucket's name
	MountPoint string
	Status     string // db.Status*
	Error      string
}

// State is everything the tray menu and icon show.
type State struct {
	Mounts    []MountView
	Conflicts int // unresolved conflict copies
	Syncing   int // files being synced, reported by sync; 0 when idle
	Autostart bool
}

// Icon picks the icon: an error wins over conflicts, conflicts over work
// in progress.
func (s State) Icon() IconState {
	busy := s.Syncing > 0
	failed := false
	for _, m := range s.Mounts {
		switch m.Status {
		case db.StatusError:
			failed = true
		case db.StatusStarting, db.StatusStopping:
			busy = true
		}
	}
	switch {
	case failed:
		return Error
	case s.Conflicts > 0:
		return Conflict
	case busy:
		return Syncing
	}
	return Idle
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// StatusLine is the menu's first line, e.g. "3 buckets mounted · up to date".
func (s State) StatusLine() string {
	running, failed, busy := 0, 0, 0
	for _, m := range s.Mounts {
		switch m.Status {
		case db.StatusRunning:
			running++
		case db.StatusError:
			failed++
		case db.StatusStarting, db.StatusStopping:
			busy++
		}
	}
	var parts []string
	switch {
	case failed > 0:
		parts = append(parts, plural(failed, "mount failed", "mounts failed"))
	case s.Syncing > 0:
		parts = append(parts, "Syncing "+plural(s.Syncing, "file…", "files…"))
	case busy > 0:
		parts = append(parts, "Mounting…")
	case len(s.Mounts) == 0:
		parts = append(parts, "No folders yet")
	case running == 0:
		parts = append(parts, "Nothing mounted")
	default:
		parts = append(parts, plural(running, "bucket mounted", "buckets mounted"), "up to date")
	}
	if s.Conflicts > 0 {
		parts = append(parts, plural(s.Conflicts, "conflict", "conflicts"))
	}
	return strings.Join(parts, " · ")
}

// Label is a mount's line in the menu: its bucket and state.
func (m MountView) Label() string {
	var st string
	switch m.Status {
	case db.StatusRunning:
		st = "mounted"
	case db.StatusStarting:
		st = "mounting…"
	case db.StatusStopping:
		st = "unmounting…"
	case db.StatusError:
		st = "failed"
	default:
		st = "not mounted"
	}
	return m.Bucket + " — " + st
}
