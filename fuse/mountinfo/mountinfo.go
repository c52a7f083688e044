// Package mountinfo reads the mount table of Linux's /proc/self/mountinfo,
// which (unlike /proc/mounts) names each FUSE filesystem's subtype and
// keeps mount points with spaces readable.
package mountinfo

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// Mount is one line of the table.
type Mount struct {
	Point     string   // where it is mounted
	FSType    string   // "fuse.jax", "ext4", ...
	Source    string   // what is mounted ("jax" for our FUSE mounts)
	SuperOpts []string // the filesystem's options ("user_id=1000", ...)
}

// Self is the table of this process's mount namespace.
const Self = "/proc/self/mountinfo"

// Read parses a mountinfo file, in its order: of several mounts at one
// point, the last is the one visible.
func Read(path string) ([]Mount, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Mount
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent major:minor root mountpoint opts [optional...] - fstype source superopts
		fs := strings.Fields(sc.Text())
		for i, s := range fs {
			if s == "-" && i >= 6 && i+3 < len(fs) {
				out = append(out, Mount{Point: unescape(fs[4]), FSType: fs[i+1], Source: unescape(fs[i+2]), SuperOpts: strings.Split(fs[i+3], ",")})
				break
			}
		}
	}
	return out, sc.Err()
}

// unescape undoes the table's octal escapes (\040 for a space, \134 for a
// backslash).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var c byte
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &c); err == nil {
				b.WriteByte(c)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
