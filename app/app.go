package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/jax-desktop/jax/app/p2p"
	"github.com/jax-desktop/jax/app/syncer"
	"github.com/jax-desktop/jax/fuse/manager"
)

// ErrRunning means another process already runs this data dir.
var ErrRunning = errors.New("another jax daemon or jax-tray is already running for this data dir")

// App is one running instance: the store, the mount manager and the control
// socket. Both `jax daemon` and jax-tray run one.
type App struct {
	*Store
	Mounts *manager.Manager
	Net    *p2p.Host      // the network host; nil if it failed to start
	Sync   *syncer.Engine // nil when the network is off
	log    *slog.Logger
	lock   *os.File
	mux    *http.ServeMux // control API; other parts of the app add routes with HandleFunc
}

// HandleFunc adds a route to the control API. Call it before Serve.
func (a *App) HandleFunc(pattern string, h http.HandlerFunc) { a.mux.HandleFunc(pattern, h) }

func (d Dirs) lockPath() string   { return filepath.Join(d.Data, "instance.lock") }
func (d Dirs) socketPath() string { return filepath.Join(d.Data, "jax.sock") }

// Start takes the data dir (one process owns it), opens the store and brings
// up every auto-mount.
func Start(ctx context.Context, dirs Dirs, log *slog.Logger) (*App, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := dirs.make(); err != nil {
		return nil, err
	}
	lock, err := os.OpenFile(dirs.lockPath(), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		pid, _ := os.ReadFile(dirs.lockPath())
		lock.Close()
		return nil, fmt.Errorf("%w (pid %s, data in %s)", ErrRunning, strings.TrimSpace(string(pid)), dirs.Data)
	}
	lock.Truncate(0)
	lock.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	s, err := Open(dirs, log)
	if err != nil {
		lock.Close()
		return nil, err
	}
	s.Buckets.Blobs.CleanTemp(0) // we own the data dir: nothing else writes
	staging := filepath.Join(dirs.Data, "staging")
	os.RemoveAll(staging) // staged writes of a killed process were never committed
	if err := os.MkdirAll(staging, 0o700); err != nil {
		s.Close()
		lock.Close()
		return nil, err
	}
	a := &App{Store: s, Mounts: manager.New(s.DB, s.Buckets, staging, log), log: log, lock: lock, mux: http.NewServeMux()}
	a.routes()
	a.startNet(ctx)
	a.startSync()
	a.netRoutes()
	a.Mounts.StartAuto(ctx)
	return a, nil
}

// Serve answers the control socket until ctx ends, then stops every mount
// and releases the data dir.
func (a *App) Serve(ctx context.Context) error {
	defer a.close()
	sock := a.Dirs.socketPath()
	os.Remove(sock) // we hold the lock: any socket there is stale
	old := unix.Umask(0o177)
	ln, err := net.Listen("unix", sock)
	unix.Umask(old)
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(sock, 0o600); err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{Handler: a.mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	a.log.Info("serving", "socket", sock)
	select {
	case <-ctx.Done():
	case err := <-errc:
		return err
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	os.Remove(sock)
	return nil
}

func (a *App) close() {
	a.stopSync()
	if err := a.Mounts.StopAll(context.Background()); err != nil {
		a.log.Error("stop mounts", "err", err)
	}
	if a.Net != nil {
		a.Net.Close()
	}
	a.Store.Close()
	a.lock.Close()
}
