package tray

import (
	"sync"

	"fyne.io/fyne/v2"

	"github.com/jax-desktop/jax/assets"
)

// trayIconSize is the PNG handed to the tray host; it scales it to the
// panel (16 to 24 px, more on high-DPI screens).
const trayIconSize = 64

var (
	iconsOnce sync.Once
	icons     [4]fyne.Resource
)

// Icon returns the tray icon for a state: assets/tray-STATE.svg, rendered.
func Icon(s IconState) fyne.Resource {
	iconsOnce.Do(func() {
		for st := Idle; st <= Error; st++ {
			b, err := assets.TrayIcon(st.String(), trayIconSize)
			if err != nil {
				panic(err) // embedded at build time; assets' tests check every state
			}
			icons[st] = fyne.NewStaticResource("jax-"+st.String()+".png", b)
		}
	})
	return icons[s]
}
