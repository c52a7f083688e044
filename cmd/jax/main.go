// Command jax is the command line of Jax: set up a device, manage buckets,
// and (later) run the headless daemon.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/jax-desktop/jax/app"
	"github.com/jax-desktop/jax/store/bucket"
	"github.com/jax-desktop/jax/store/db"
	"github.com/jax-desktop/jax/store/identity"
	"github.com/jax-desktop/jax/store/tree"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRoot().ExecuteContext(ctx)
	stop()
	if err != nil {
		msg, code := explain(err)
		fmt.Fprintln(os.Stderr, "jax:", msg)
		os.Exit(code)
	}
}

// Exit codes, one per kind of failure a script may want to tell apart.
const (
	exitError    = 1
	exitUsage    = 2
	exitNotSetUp = 3
	exitNotFound = 4
	exitDamaged  = 5
	exitNoDaemon = 6
)

// explain maps an error to the message and exit code a user sees.
func explain(err error) (string, int) {
	var usage usageError
	// Errors the daemon reports unwrap to the same sentinels (app.RemoteError).
	switch {
	case errors.As(err, &usage):
		return err.Error(), exitUsage
	case errors.Is(err, identity.ErrNone):
		return err.Error(), exitNotSetUp
	case errors.Is(err, app.ErrNoDaemon):
		return err.Error(), exitNoDaemon
	case errors.Is(err, bucket.ErrNoBucket):
		return err.Error() + " (see 'jax bucket list')", exitNotFound
	case errors.Is(err, tree.ErrNotFound), errors.Is(err, db.ErrNotFound):
		return err.Error(), exitNotFound
	case errors.Is(err, bucket.ErrDamaged), errors.Is(err, bucket.ErrBadManifest), errors.Is(err, bucket.ErrBadTree):
		return err.Error() + " (run 'jax bucket check' to see all damage)", exitDamaged
	}
	return err.Error(), exitError
}

type usageError struct{ error }

type globals struct {
	home string
	json bool
	log  *slog.Logger
}

func newRoot() *cobra.Command {
	g := &globals{log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	root := &cobra.Command{
		Use:           "jax",
		Short:         "Encrypted, versioned buckets synced between your devices",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.home, "home", "", "keep all data under this directory (default: $JAX_HOME, else XDG dirs)")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(initCmd(g), bucketCmd(g), daemonCmd(g), statusCmd(g), mountCmd(g), deviceCmd(g), syncCmd(g), doctorCmd(g), docsCmd())
	return root
}

func (g *globals) dirs() (app.Dirs, error) { return app.ResolveDirs(g.home) }

// open opens the data dir for a command.
func (g *globals) open() (*app.Store, error) {
	d, err := g.dirs()
	if err != nil {
		return nil, err
	}
	return app.Open(d, g.log)
}

func initCmd(g *globals) *cobra.Command {
	var name string
	c := &cobra.Command{
		Use:   "init",
		Short: "Set up this device: its keys and database",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := g.dirs()
			if err != nil {
				return err
			}
			s, err := app.Init(cmd.Context(), d, name, g.log)
			if err != nil {
				return err
			}
			defer s.Close()
			id := s.Buckets.ID.ID()
			fmt.Fprintf(cmd.OutOrStdout(), "Set up device %q (%s)\nData: %s\n", s.Buckets.DeviceName(), id, d.Data)
			return nil
		},
	}
	c.Flags().StringVar(&name, "name", "", "this device's name (default: the host name)")
	return c
}

func noArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", args[0])}
	}
	return nil
}

func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{fmt.Errorf("expected %s", names)}
		}
		return nil
	}
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
