//go:build darwin

package app

import (
	"bytes"
	"fmt"
	"html/template"
	"os"
	"path/filepath"

	"github.com/jax-desktop/jax/packaging"
)

// html/template escapes the arguments as XML text.
var launchAgentTmpl = template.Must(template.New("plist").Parse(packaging.LaunchAgent))

const launchAgentLabel = "io.jaxdesktop.jax"

// autostartPath is ~/Library/LaunchAgents/io.jaxdesktop.jax.plist.
func autostartPath() (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find your home directory: %w", err)
	}
	return filepath.Join(home, "Library", "LaunchAgents", launchAgentLabel+".plist"), nil
}

func (a Autostart) render() ([]byte, error) {
	var b bytes.Buffer
	err := launchAgentTmpl.Execute(&b, struct {
		Label string
		Args  []string
	}{launchAgentLabel, a.Args})
	return b.Bytes(), err
}
