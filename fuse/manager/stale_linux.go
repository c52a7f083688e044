package manager

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

// mountAt returns the filesystem type mounted exactly at p, or "".
func mountAt(p string) (string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	fstype := ""
	for sc.Scan() {
		// id parent major:minor root mountpoint opts [optional...] - fstype source superopts
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || unescape(fields[4]) != p {
			continue
		}
		for i, fl := range fields {
			if fl == "-" && i+1 < len(fields) {
				fstype = fields[i+1] // the last mount at p is the visible one
			}
		}
	}
	return fstype, sc.Err()
}

// unescape undoes mountinfo's octal escapes (\040 for space, ...).
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

// lazyUnmount detaches p now; as root directly, else through fusermount3.
func lazyUnmount(p string) error {
	err := syscall.Unmount(p, syscall.MNT_DETACH)
	if err == nil {
		return nil
	}
	for _, tool := range []string{"fusermount3", "fusermount"} {
		if out, err2 := exec.Command(tool, "-uz", p).CombinedOutput(); err2 == nil {
			return nil
		} else if !errors.Is(err2, exec.ErrNotFound) {
			err = fmt.Errorf("%v: %s", err2, strings.TrimSpace(string(out)))
		}
	}
	return fmt.Errorf("unmount stale mount %s: %w", p, err)
}
