package packaging

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"text/template"
)

// The LaunchAgent is written on macOS only; its template is checked here,
// on every platform, to give well-formed XML that keeps odd arguments.
func TestLaunchAgentIsXML(t *testing.T) {
	esc := func(s string) string {
		var b strings.Builder
		xml.EscapeText(&b, []byte(s))
		return b.String()
	}
	tmpl := template.Must(template.New("plist").Funcs(template.FuncMap{"xml": esc}).Parse(LaunchAgent))
	var b bytes.Buffer
	args := []string{"/Applications/Jax.app/Contents/MacOS/jax-tray", "--autostart", "--home", "/Users/a & b/<jax>"}
	if err := tmpl.Execute(&b, struct {
		Label string
		Args  []string
	}{"io.jaxdesktop.jax", args}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), "<?xml") {
		t.Fatalf("not an XML document:\n%s", b.String())
	}
	d := xml.NewDecoder(&b)
	d.Strict = true
	var strs []string
	inString := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("bad XML: %v", err)
		}
		switch v := tok.(type) {
		case xml.StartElement:
			inString = v.Name.Local == "string"
		case xml.EndElement:
			inString = false
		case xml.CharData:
			if inString {
				strs = append(strs, string(v))
			}
		}
	}
	want := append([]string{"io.jaxdesktop.jax"}, args...)
	want = append(want, "Interactive")
	if strings.Join(strs, "|") != strings.Join(want, "|") {
		t.Fatalf("strings %q, want %q", strs, want)
	}
}

func TestDesktopEntries(t *testing.T) {
	for name, body := range map[string]string{"jax-tray.desktop": DesktopEntry, "autostart": AutostartEntry} {
		if !strings.HasPrefix(body, "[Desktop Entry]\n") || !strings.Contains(body, "\nExec=") || !strings.Contains(body, "\nType=Application\n") {
			t.Errorf("%s is not a desktop entry:\n%s", name, body)
		}
	}
}
