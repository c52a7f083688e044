package assets

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"testing"

	"github.com/srwiley/oksvg"
	"github.com/srwiley/rasterx"
)

var update = flag.Bool("update", false, "render the PNGs again from the SVG sources")

// render draws an SVG file at size x size pixels.
func render(t *testing.T, svgPath string, size int) *image.NRGBA {
	t.Helper()
	icon, err := oksvg.ReadIcon(svgPath, oksvg.StrictErrorMode)
	if err != nil {
		t.Fatalf("%s: %v", svgPath, err)
	}
	icon.SetTarget(0, 0, float64(size), float64(size))
	rgba := image.NewRGBA(image.Rect(0, 0, size, size))
	icon.Draw(rasterx.NewDasher(size, size, rasterx.NewScannerGV(size, size, rgba, rgba.Bounds())), 1)
	out := image.NewNRGBA(rgba.Rect)
	for y := range size {
		for x := range size {
			out.Set(x, y, rgba.At(x, y))
		}
	}
	return out
}

type rendition struct {
	svg, png string
	size     int
}

func renditions() []rendition {
	var out []rendition
	for _, s := range AppSizes {
		out = append(out, rendition{"icon.svg", fmt.Sprintf("icon-%d.png", s), s})
	}
	out = append(out, rendition{"icon.svg", "icon.png", 512})
	for _, st := range TrayStates {
		for _, s := range TraySizes {
			out = append(out, rendition{"tray-" + st + ".svg", fmt.Sprintf("tray-%s-%d.png", st, s), s})
		}
	}
	return out
}

// TestPNGsMatchSources fails when an SVG changed and its PNGs were not
// rendered again (go test ./assets -update).
func TestPNGsMatchSources(t *testing.T) {
	for _, r := range renditions() {
		want := render(t, r.svg, r.size)
		if *update {
			var b bytes.Buffer
			if err := png.Encode(&b, want); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(r.png, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		f, err := os.Open(r.png)
		if err != nil {
			t.Fatalf("%v (run go test ./assets -update)", err)
		}
		got, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", r.png, err)
		}
		if got.Bounds() != want.Bounds() {
			t.Fatalf("%s is %v, want %dx%d", r.png, got.Bounds().Size(), r.size, r.size)
		}
		if d := maxDiff(got, want); d > 2 {
			t.Errorf("%s differs from %s rendered at %d px (by %d); run go test ./assets -update", r.png, r.svg, r.size, d)
		}
	}
}

func maxDiff(a, b image.Image) int {
	m := 0
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			ca := color.NRGBAModel.Convert(a.At(x, y)).(color.NRGBA)
			cb := color.NRGBAModel.Convert(b.At(x, y)).(color.NRGBA)
			for _, d := range []int{int(ca.R) - int(cb.R), int(ca.G) - int(cb.G), int(ca.B) - int(cb.B), int(ca.A) - int(cb.A)} {
				m = max(m, d, -d)
			}
		}
	}
	return m
}

// TestEmbedded: every state and size is embedded, decodes at its size, and
// the states look different from each other.
func TestEmbedded(t *testing.T) {
	if *update {
		t.Skip("the embedded files are the ones from before -update")
	}
	for _, s := range AppSizes {
		b, err := AppIcon(s)
		if err != nil {
			t.Fatal(err)
		}
		checkPNG(t, b, s)
	}
	for _, s := range TraySizes {
		seen := map[string]string{}
		for _, st := range TrayStates {
			b, err := TrayIcon(st, s)
			if err != nil {
				t.Fatal(err)
			}
			checkPNG(t, b, s)
			if other, dup := seen[string(b)]; dup {
				t.Errorf("tray icons %s and %s are the same at %d px", st, other, s)
			}
			seen[string(b)] = st
		}
	}
	if _, err := TrayIcon("busy", 22); err == nil {
		t.Error("an unknown state gave an icon")
	}
	if _, err := AppIcon(17); err == nil {
		t.Error("an unknown size gave an icon")
	}
}

func checkPNG(t *testing.T, b []byte, size int) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() != size || img.Bounds().Dy() != size {
		t.Fatalf("PNG is %v, want %d px", img.Bounds().Size(), size)
	}
}
