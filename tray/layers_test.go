package tray

import (
	"os/exec"
	"strings"
	"testing"
)

// Only cmd/jax-tray links Fyne's GL driver (fyne/v2/app, go-gl): every other
// package, this one included, builds and tests without X11 or GL headers.
func TestOnlyTheTrayCommandLinksGL(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "github.com/jax-desktop/jax/...").Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go list: %v\n%s", err, stderr)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if fields[0] == "github.com/jax-desktop/jax/cmd/jax-tray" {
			continue
		}
		for _, d := range fields[1:] {
			if d == "fyne.io/fyne/v2/app" || strings.HasPrefix(d, "github.com/go-gl/") {
				t.Errorf("%s depends on %s", fields[0], d)
			}
		}
	}
}
