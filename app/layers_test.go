package app

import (
	"os/exec"
	"strings"
	"testing"
)

// Layers point one way: store knows nothing of fuse, tray, app or cmd; fuse
// nothing of tray, app or the network; and the headless jax binary links no
// GUI library.
func TestLayering(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "github.com/jax-desktop/jax/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/jax-desktop/jax/"
	forbidden := map[string][]string{
		mod + "store/":   {mod + "fuse", mod + "tray", mod + "app", mod + "cmd", "fyne.io/", "github.com/libp2p/"},
		mod + "fuse/":    {mod + "tray", mod + "app", mod + "cmd", "fyne.io/", "github.com/libp2p/"},
		mod + "cmd/jax/": {"fyne.io/", mod + "tray"}, // matches cmd/jax itself, not cmd/jax-tray
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg, deps := fields[0], fields[1:]
		for prefix, bad := range forbidden {
			if pkg != strings.TrimSuffix(prefix, "/") && !strings.HasPrefix(pkg, prefix) {
				continue
			}
			for _, d := range deps {
				for _, b := range bad {
					if strings.HasPrefix(d, b) {
						t.Errorf("%s must not depend on %s", pkg, d)
					}
				}
			}
		}
	}
}
