package packaging

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"text/template"

	"github.com/jax-desktop/jax/assets"
)

// debFiles reads the src -> dst pairs of nfpm.yaml's contents.
func debFiles(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open("nfpm.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	files := map[string]string{} // dst -> src
	src := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if v, ok := strings.CutPrefix(l, "- src: "); ok {
			src = v
		} else if v, ok := strings.CutPrefix(l, "dst: "); ok && src != "" {
			files[v] = src
			src = ""
		}
	}
	return files
}

// TestDebContents: what the package installs exists in the tree (or is
// made by mkdeb.sh under dist/), and the pieces point at each other.
func TestDebContents(t *testing.T) {
	files := debFiles(t)
	for dst, src := range files {
		if strings.HasPrefix(src, "dist/") {
			continue // built by mkdeb.sh
		}
		if _, err := os.Stat(filepath.Join("..", src)); err != nil {
			t.Errorf("%s (for %s): %v", src, dst, err)
		}
	}
	for _, s := range assets.AppSizes {
		dst := fmt.Sprintf("/usr/share/icons/hicolor/%dx%d/apps/io.jaxdesktop.jax.png", s, s)
		if files[dst] != fmt.Sprintf("assets/icon-%d.png", s) {
			t.Errorf("%s is not packaged from assets/icon-%d.png", dst, s)
		}
	}
	for _, want := range []string{"/usr/bin/jax", "/usr/bin/jax-tray", "/usr/lib/systemd/user/jax.service",
		"/usr/share/applications/io.jaxdesktop.jax.desktop", "/usr/share/bash-completion/completions/jax",
		"/usr/share/zsh/vendor-completions/_jax", "/usr/share/fish/vendor_completions.d/jax.fish", "/usr/share/doc/jax/copyright"} {
		if files[want] == "" {
			t.Errorf("the package lacks %s", want)
		}
	}
	unit, err := os.ReadFile("jax.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(unit), "\n") {
		if v, ok := strings.CutPrefix(l, "ExecStart"); ok {
			prog := strings.Fields(strings.TrimLeft(v[strings.Index(v, "=")+1:], "-"))[0]
			if files[prog] == "" {
				t.Errorf("jax.service runs %s, which the package does not install", prog)
			}
		}
	}
	if !strings.Contains(DesktopEntry, "\nIcon=io.jaxdesktop.jax\n") || !strings.Contains(DesktopEntry, "\nExec=jax-tray\n") {
		t.Errorf("the menu entry's Icon or Exec do not match the packaged icon and /usr/bin/jax-tray:\n%s", DesktopEntry)
	}
}

// TestDesktopEntriesValidate runs desktop-file-validate on the menu entry
// and on an autostart entry with an awkward path.
func TestDesktopEntriesValidate(t *testing.T) {
	if _, err := exec.LookPath("desktop-file-validate"); err != nil {
		t.Skip("needs desktop-file-validate (apt-get install desktop-file-utils)")
	}
	var auto bytes.Buffer
	tmpl := template.Must(template.New("a").Parse(AutostartEntry))
	if err := tmpl.Execute(&auto, struct{ Exec string }{`"/opt/my apps/jax-tray" --autostart`}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, body := range map[string]string{"io.jaxdesktop.jax.desktop": DesktopEntry, "jax-tray.desktop": auto.String()} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o644)
		if out, err := exec.Command("desktop-file-validate", p).CombinedOutput(); err != nil || len(out) > 0 {
			t.Errorf("%s: %v\n%s", name, err, out)
		}
	}
}
