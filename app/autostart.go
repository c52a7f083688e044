package app

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Autostart is the entry that starts jax-tray at login: an XDG autostart
// .desktop file on Linux and the BSDs, a LaunchAgent on macOS. Args is the
// command line, the program first.
type Autostart struct {
	Path string
	Args []string
}

// AutostartFlag is the flag the login entry passes: the app then brings up
// its auto-mounts and opens no window.
const AutostartFlag = "--autostart"

// NewAutostart describes the login entry for the running program. home is
// the --home the program was given, if any, so the entry starts the same
// instance.
func NewAutostart(home string) (Autostart, error) {
	exe, err := os.Executable()
	if err != nil {
		return Autostart{}, fmt.Errorf("find this program's path: %w", err)
	}
	if p, err := filepath.EvalSymlinks(exe); err == nil {
		exe = p
	}
	args := []string{exe, AutostartFlag}
	if home != "" {
		abs, err := filepath.Abs(home)
		if err != nil {
			return Autostart{}, err
		}
		args = append(args, "--home", abs)
	}
	p, err := autostartPath()
	if err != nil {
		return Autostart{}, err
	}
	return Autostart{Path: p, Args: args}, nil
}

// Enabled reports whether the entry exists.
func (a Autostart) Enabled() bool {
	_, err := os.Stat(a.Path)
	return err == nil
}

// Set writes or removes the entry.
func (a Autostart) Set(on bool) error {
	if a.Path == "" { // NewAutostart failed; a relative path would land in the working dir
		return errors.New("start at login is unavailable here")
	}
	if !on {
		if err := os.Remove(a.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove login entry: %w", err)
		}
		return nil
	}
	body, err := a.render()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(a.Path), 0o755); err != nil {
		return fmt.Errorf("write login entry: %w", err)
	}
	// Written whole then renamed: a login never reads half an entry.
	tmp := a.Path + ".tmp"
	if err := os.WriteFile(tmp, body, 0o644); err != nil {
		return fmt.Errorf("write login entry: %w", err)
	}
	if err := os.Rename(tmp, a.Path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write login entry: %w", err)
	}
	return nil
}
