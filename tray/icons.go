package tray

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"sync"

	"fyne.io/fyne/v2"

	"github.com/jax-desktop/jax/assets"
)

// Tray icons: the app icon at 64 px with a coloured dot for each state but
// idle. Made once from the embedded icon rather than shipped as files.
var (
	iconsOnce sync.Once
	icons     [4]fyne.Resource
)

var badge = [4]color.NRGBA{
	Syncing:  {0x1e, 0x88, 0xe5, 0xff}, // blue
	Conflict: {0xfb, 0x8c, 0x00, 0xff}, // orange
	Error:    {0xe5, 0x39, 0x35, 0xff}, // red
}

// Icon returns the tray icon for a state.
func Icon(s IconState) fyne.Resource {
	iconsOnce.Do(makeIcons)
	return icons[s]
}

func makeIcons() {
	src, err := png.Decode(bytes.NewReader(assets.Icon))
	if err != nil {
		panic("assets.Icon is not a PNG: " + err.Error()) // embedded at build time
	}
	const size = 64
	base := shrink(src, size)
	for s := Idle; s <= Error; s++ {
		img := image.NewNRGBA(base.Rect)
		copy(img.Pix, base.Pix)
		if s != Idle {
			dot(img, size-14, size-14, 13, color.NRGBA{0xff, 0xff, 0xff, 0xff})
			dot(img, size-14, size-14, 10, badge[s])
		}
		var b bytes.Buffer
		png.Encode(&b, img)
		icons[s] = fyne.NewStaticResource("jax-"+s.String()+".png", b.Bytes())
	}
}

// shrink scales a square image down by averaging blocks of pixels.
func shrink(src image.Image, size int) *image.NRGBA {
	r := src.Bounds()
	f := r.Dx() / size
	if f < 1 {
		f = 1
	}
	out := image.NewNRGBA(image.Rect(0, 0, size, size))
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			var sr, sg, sb, sa uint32
			for dy := 0; dy < f; dy++ {
				for dx := 0; dx < f; dx++ {
					c := color.NRGBAModel.Convert(src.At(r.Min.X+x*f+dx, r.Min.Y+y*f+dy)).(color.NRGBA)
					sr += uint32(c.R)
					sg += uint32(c.G)
					sb += uint32(c.B)
					sa += uint32(c.A)
				}
			}
			n := uint32(f * f)
			out.SetNRGBA(x, y, color.NRGBA{uint8(sr / n), uint8(sg / n), uint8(sb / n), uint8(sa / n)})
		}
	}
	return out
}

func dot(img *image.NRGBA, cx, cy, r int, c color.NRGBA) {
	for y := cy - r; y <= cy+r; y++ {
		for x := cx - r; x <= cx+r; x++ {
			if (x-cx)*(x-cx)+(y-cy)*(y-cy) <= r*r && image.Pt(x, y).In(img.Rect) {
				img.SetNRGBA(x, y, c)
			}
		}
	}
}
