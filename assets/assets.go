// Package assets holds the icons, embedded in the binaries.
package assets

import _ "embed"

// Icon is the application icon (512x512 PNG); icon.svg is its source.
//
//go:embed icon.png
var Icon []byte
