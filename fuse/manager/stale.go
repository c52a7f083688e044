package manager

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"syscall"
	"time"
)

func seconds(n int) time.Duration { return time.Duration(n) * time.Second }

// cleanStale detaches a FUSE mount left at p by a process that died
// ("transport endpoint is not connected"). A live mount of another
// filesystem is refused.
func cleanStale(p string, log *slog.Logger) error {
	fstype, err := mountAt(p)
	if err != nil || fstype == "" {
		return err
	}
	_, statErr := os.Stat(p)
	stale := errors.Is(statErr, syscall.ENOTCONN) || errors.Is(statErr, syscall.ECONNABORTED)
	if !stale {
		return fmt.Errorf("%w: a %s filesystem is mounted on %s; unmount it or choose another folder", ErrInUse, fstype, p)
	}
	log.Warn("cleaning up a stale mount left by a process that died", "mount", p, "type", fstype)
	return lazyUnmount(p)
}
