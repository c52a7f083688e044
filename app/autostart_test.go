//go:build !darwin

package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAutostartEntry(t *testing.T) {
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	a, err := NewAutostart(filepath.Join(t.TempDir(), "my home"))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(cfg, "autostart", "jax-tray.desktop"); a.Path != want {
		t.Fatalf("path %s, want %s", a.Path, want)
	}
	if a.Enabled() {
		t.Fatal("enabled before Set")
	}
	if err := a.Set(true); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(a.Path)
	if err != nil {
		t.Fatal(err)
	}
	body := string(b)
	if !strings.Contains(body, "[Desktop Entry]") || !strings.Contains(body, " --autostart --home \"") ||
		!strings.Contains(body, "my home\"\n") {
		t.Fatalf("entry:\n%s", body)
	}
	if err := a.Set(true); err != nil || !a.Enabled() { // idempotent
		t.Fatal(err)
	}
	if err := a.Set(false); err != nil || a.Enabled() {
		t.Fatalf("after disable: %v, enabled %v", err, a.Enabled())
	}
	if err := a.Set(false); err != nil {
		t.Fatal("disabling twice:", err)
	}
}

func TestDesktopQuote(t *testing.T) {
	for in, want := range map[string]string{
		"/usr/bin/jax-tray": "/usr/bin/jax-tray",
		"/a b":              `"/a b"`,
		`/a"b`:              `"/a\\"b"`,
		`/a\b`:              `"/a\\\\b"`,
		"/100%":             `"/100%%"`,
		"$HOME":             `"\\$HOME"`,
	} {
		if got := desktopQuote(in); got != want {
			t.Errorf("desktopQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

// With no known entry path (NewAutostart failed), Set refuses instead of
// writing and removing files in the working directory.
func TestAutostartWithoutPath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile(filepath.Join(dir, ".tmp"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, on := range []bool{true, false} {
		if err := (Autostart{}).Set(on); err == nil {
			t.Errorf("Set(%v) with no path succeeded", on)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, ".tmp")); err != nil || string(b) != "mine" {
		t.Fatalf("a file in the working dir was touched: %q %v", b, err)
	}
}
