package blob

// directKnown: readDirect is not used on macOS.
func directKnown(path string) bool { return false }
