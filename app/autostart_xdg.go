//go:build !darwin

package app

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/jax-desktop/jax/packaging"
)

var autostartTmpl = template.Must(template.New("autostart").Parse(packaging.AutostartEntry))

// autostartPath is $XDG_CONFIG_HOME/autostart/jax-tray.desktop.
func autostartPath() (string, error) {
	base := os.Getenv("XDG_CONFIG_HOME")
	if !filepath.IsAbs(base) {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("cannot find your home directory: %w", err)
		}
		base = filepath.Join(home, ".config")
	}
	return filepath.Join(base, "autostart", "jax-tray.desktop"), nil
}

func (a Autostart) render() ([]byte, error) {
	quoted := make([]string, len(a.Args))
	for i, s := range a.Args {
		quoted[i] = desktopQuote(s)
	}
	var b bytes.Buffer
	err := autostartTmpl.Execute(&b, struct{ Exec string }{strings.Join(quoted, " ")})
	return b.Bytes(), err
}

// desktopQuote quotes one argument of a desktop entry's Exec key: inside
// double quotes, `"`, "`", "$" and "\" take a backslash; the key's own
// string escaping then doubles every backslash, and "%" is written "%%".
func desktopQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n\"'\\><~|&;$*?#()`%=") {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '`', '$':
			b.WriteString(`\\`)
			b.WriteRune(r)
		case '\\':
			b.WriteString(`\\\\`)
		case '%':
			b.WriteString("%%")
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
