//go:build darwin

package app

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/jax-desktop/jax/packaging"
)

var launchAgentTmpl = template.Must(template.New("plist").Funcs(template.FuncMap{"xml": xmlText}).Parse(packaging.LaunchAgent))

func xmlText(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

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
