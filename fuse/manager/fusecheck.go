package manager

import "errors"

// ErrNoFUSE means this machine cannot mount FUSE filesystems.
var ErrNoFUSE = errors.New("FUSE is not available")
