package manager

import (
	"fmt"
	"os"
)

// macFUSE installs its file system bundle here; without it go-fuse has
// nothing to mount with.
const macFUSEBundle = "/Library/Filesystems/macfuse.fs"

// checkFUSE says, in words a user can act on, why mounting cannot work
// here. On macOS the device argument is unused: macFUSE picks its own.
func checkFUSE(string) error {
	if _, err := os.Stat(macFUSEBundle); err != nil {
		return fmt.Errorf("%w: macFUSE is not installed (%s is missing); install it from https://osxfuse.github.io and allow its system extension", ErrNoFUSE, macFUSEBundle)
	}
	return nil
}
