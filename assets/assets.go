// Package assets holds the icons, embedded in the binaries. The SVG files
// are the sources; the PNGs are rendered from them by the package's test
// (go test ./assets -update) and checked against them on every test run.
package assets

import (
	"embed"
	"fmt"
	"slices"
)

// Icon is the application icon (512x512 PNG); icon.svg is its source.
//
//go:embed icon.png
var Icon []byte

//go:embed icon-*.png tray-*.png
var pngs embed.FS

// AppSizes are the sizes of the app icon PNGs, for the hicolor icon theme.
var AppSizes = []int{16, 22, 24, 32, 48, 64, 128, 256}

// TrayStates are the tray icon's states; each has tray-STATE.svg.
var TrayStates = []string{"idle", "syncing", "conflict", "error"}

// TraySizes are the sizes tray icons come in: panels ask for 16 to 24 px,
// more on high-DPI screens.
var TraySizes = []int{16, 22, 24, 32, 48, 64}

// AppIcon returns the app icon PNG at one of AppSizes.
func AppIcon(size int) ([]byte, error) {
	if !slices.Contains(AppSizes, size) {
		return nil, fmt.Errorf("no %d px app icon (sizes: %v)", size, AppSizes)
	}
	return pngs.ReadFile(fmt.Sprintf("icon-%d.png", size))
}

// TrayIcon returns the tray icon PNG of a state at one of TraySizes.
func TrayIcon(state string, size int) ([]byte, error) {
	if !slices.Contains(TrayStates, state) || !slices.Contains(TraySizes, size) {
		return nil, fmt.Errorf("no tray icon %q at %d px (states %v, sizes %v)", state, size, TrayStates, TraySizes)
	}
	return pngs.ReadFile(fmt.Sprintf("tray-%s-%d.png", state, size))
}
