package fuse

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLayering keeps the filesystem off the network and the UI: it serves a
// bucket from the store and nothing else.
func TestLayering(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	forbidden := []string{
		"github.com/libp2p/",
		"github.com/jax-desktop/jax/app",
		"github.com/jax-desktop/jax/tray",
		"github.com/jax-desktop/jax/cmd",
		"github.com/jax-desktop/jax/fuse/",
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if strings.HasPrefix(dep, f) {
				t.Errorf("package fuse depends on %s", dep)
			}
		}
	}
}
