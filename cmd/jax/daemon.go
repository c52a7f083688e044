package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/jax-desktop/jax/app"
	"github.com/jax-desktop/jax/store/db"
)

func daemonCmd(g *globals) *cobra.Command {
	var verbose bool
	c := &cobra.Command{
		Use:   "daemon",
		Short: "Run headless: keep buckets mounted and serve the jax command",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			level := slog.LevelInfo
			if verbose {
				level = slog.LevelDebug
			}
			log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
			if addr := os.Getenv("JAX_PPROF"); addr != "" {
				if err := servePprof(addr, log); err != nil {
					return err
				}
			}
			d, err := g.dirs()
			if err != nil {
				return err
			}
			a, err := app.Start(cmd.Context(), d, log)
			if err != nil {
				return err
			}
			ms, _ := a.Mounts.List()
			running := 0
			for _, m := range ms {
				if m.Status == db.StatusRunning {
					running++
				}
			}
			log.Info("jax daemon started", "device", a.Buckets.DeviceName(), "data", d.Data, "mounts", len(ms), "running", running)
			return a.Serve(cmd.Context()) // until SIGINT/SIGTERM
		},
	}
	c.Flags().BoolVarP(&verbose, "verbose", "v", false, "log debug detail")
	return c
}

// client connects to the running daemon of the data dir.
func (g *globals) client() (*app.Client, error) {
	d, err := g.dirs()
	if err != nil {
		return nil, err
	}
	return app.Dial(d)
}

func statusCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "status",
		Short: "Show the daemon's state and its mounts",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := g.client()
			if errors.Is(err, app.ErrNoDaemon) {
				return statusWithoutDaemon(g, cmd)
			}
			if err != nil {
				return err
			}
			var st app.Status
			if err := cl.Do(cmd.Context(), "GET", "/v1/status", nil, &st); err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), st)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "Daemon:  running (pid %d)\nDevice:  %s (%s)\nData:    %s\nBuckets: %d\n",
				st.PID, st.Device, st.ID[:16], st.Data, st.Buckets)
			fmt.Fprintf(w, "Mounts:  %s\n\n", mountSummary(st.Mounts))
			return printMounts(cmd, st.Mounts)
		},
	}
	jsonFlag(c, g)
	return c
}

// statusWithoutDaemon says what would be mounted, then fails with
// ErrNoDaemon (scripts wait for a daemon with 'jax status').
func statusWithoutDaemon(g *globals, cmd *cobra.Command) error {
	err := g.withStore(func(s *app.Store) error {
		ms, err := s.DB.Mounts()
		if err != nil || len(ms) == 0 || g.json {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "Daemon:  not running; nothing is mounted\nMounts:  %d configured\n", len(ms))
		return nil
	})
	if err != nil {
		return err
	}
	return app.ErrNoDaemon
}

// mountSummary counts mounts by status: "3 (2 running, 1 error)".
func mountSummary(ms []app.MountStatus) string {
	if len(ms) == 0 {
		return "none"
	}
	order := []string{db.StatusRunning, db.StatusStarting, db.StatusStopping, db.StatusError, db.StatusStopped}
	n := map[string]int{}
	for _, m := range ms {
		n[m.Status]++
	}
	var parts []string
	for _, s := range order {
		if n[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[s], s))
		}
	}
	return fmt.Sprintf("%d (%s)", len(ms), strings.Join(parts, ", "))
}

// printMounts shows a table of mounts, then each mount's error in full.
func printMounts(cmd *cobra.Command, ms []app.MountStatus) error {
	if len(ms) == 0 {
		fmt.Fprintln(cmd.OutOrStdout(), "No mounts. Add one with 'jax mount add BUCKET FOLDER'.")
		return nil
	}
	w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tBUCKET\tMOUNT POINT\tSTATUS\tOPTIONS")
	var problems []string
	for _, m := range ms {
		var opts []string
		if m.AutoMount {
			opts = append(opts, "auto")
		}
		if m.ReadOnly {
			opts = append(opts, "ro")
		}
		if !m.Enabled {
			opts = append(opts, "disabled")
		}
		opts = append(opts, fmt.Sprintf("cache %dMB/%ds", m.CacheSizeMB, m.CacheTTLSecs))
		name := m.BucketName
		if name == "" {
			name = m.BucketID[:8] + " (gone)"
		}
		status := m.Status
		switch {
		case m.ErrorMessage != "":
			problems = append(problems, fmt.Sprintf("%s %s: %s", m.ID[:8], m.MountPoint, m.ErrorMessage))
		case m.LastError != "":
			status += " (last update failed)"
			problems = append(problems, fmt.Sprintf("%s %s: new versions are not shown: %s", m.ID[:8], m.MountPoint, m.LastError))
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", m.ID[:8], name, m.MountPoint, status, strings.Join(opts, ","))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if len(problems) > 0 {
		fmt.Fprintln(cmd.OutOrStdout(), "\nProblems:")
		for _, p := range problems {
			fmt.Fprintln(cmd.OutOrStdout(), "  "+p)
		}
	}
	return nil
}

func mountCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "mount", Short: "Mount buckets as folders (needs a running daemon)"}
	req := &app.MountRequest{}
	var mp string
	var enabled bool
	flags := func(c *cobra.Command) {
		c.Flags().BoolVar(&req.AutoMount, "auto-mount", false, "mount whenever the daemon starts")
		c.Flags().BoolVar(&req.ReadOnly, "read-only", false, "refuse writes (EROFS)")
		c.Flags().IntVar(&req.CacheSizeMB, "cache-size-mb", 100, "memory for decrypted data, in MB")
		c.Flags().IntVar(&req.CacheTTLSecs, "cache-ttl-secs", 60, "how long the kernel may cache names and attributes")
	}
	add := &cobra.Command{
		Use:   "add BUCKET MOUNTPOINT",
		Short: "Add a mount and start it",
		Args:  exactArgs(2, "a bucket and a folder"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := g.client()
			if err != nil {
				return err
			}
			req.Bucket, req.MountPoint, req.Enabled = args[0], absPath(args[1]), true
			var m db.Mount
			if err := cl.Do(cmd.Context(), "POST", "/v1/mounts", req, &m); err != nil {
				return err
			}
			if err := cl.Do(cmd.Context(), "POST", "/v1/mounts/"+m.ID+"/start", nil, &m); err != nil {
				return fmt.Errorf("mount %s added but did not start: %w", m.ID[:8], err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Mounted %s at %s (mount %s)\n", args[0], m.MountPoint, m.ID[:8])
			return nil
		},
	}
	flags(add)
	list := &cobra.Command{
		Use:   "list",
		Short: "List mounts with their status",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := g.client()
			if err != nil {
				return err
			}
			var ms []app.MountStatus
			if err := cl.Do(cmd.Context(), "GET", "/v1/mounts", nil, &ms); err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), ms)
			}
			return printMounts(cmd, ms)
		},
	}
	jsonFlag(list, g)
	set := &cobra.Command{
		Use:   "set ID",
		Short: "Change a mount's settings (applied at its next start)",
		Args:  exactArgs(1, "a mount id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withMount(g, cmd, args[0], func(cl *app.Client, m db.Mount) error {
				r := app.MountRequest{MountPoint: m.MountPoint, AutoMount: m.AutoMount, ReadOnly: m.ReadOnly, Enabled: m.Enabled,
					CacheSizeMB: m.CacheSizeMB, CacheTTLSecs: m.CacheTTLSecs}
				fl := cmd.Flags()
				if fl.Changed("auto-mount") {
					r.AutoMount = req.AutoMount
				}
				if fl.Changed("read-only") {
					r.ReadOnly = req.ReadOnly
				}
				if fl.Changed("cache-size-mb") {
					r.CacheSizeMB = req.CacheSizeMB
				}
				if fl.Changed("cache-ttl-secs") {
					r.CacheTTLSecs = req.CacheTTLSecs
				}
				if fl.Changed("mount-point") {
					r.MountPoint = absPath(mp)
				}
				if fl.Changed("enabled") {
					r.Enabled = enabled
				}
				return cl.Do(cmd.Context(), "PUT", "/v1/mounts/"+m.ID, r, nil)
			})
		},
	}
	flags(set)
	set.Flags().StringVar(&mp, "mount-point", "", "move the mount to this folder (stop it first)")
	set.Flags().BoolVar(&enabled, "enabled", true, "whether the mount may start")
	verb := func(use, short, method, suffix, done string) *cobra.Command {
		return &cobra.Command{
			Use:   use + " ID",
			Short: short,
			Args:  exactArgs(1, "a mount id"),
			RunE: func(cmd *cobra.Command, args []string) error {
				return withMount(g, cmd, args[0], func(cl *app.Client, m db.Mount) error {
					if err := cl.Do(cmd.Context(), method, "/v1/mounts/"+m.ID+suffix, nil, nil); err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", done, m.MountPoint)
					return nil
				})
			},
		}
	}
	c.AddCommand(add, list, set,
		verb("start", "Mount it now", "POST", "/start", "Mounted"),
		verb("stop", "Unmount it (pending changes are saved first)", "POST", "/stop", "Unmounted"),
		verb("remove", "Unmount it and forget it (the bucket stays)", "DELETE", "", "Removed"))
	return c
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// withMount resolves a mount id or unique prefix.
func withMount(g *globals, cmd *cobra.Command, ref string, f func(*app.Client, db.Mount) error) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	var ms []db.Mount
	if err := cl.Do(cmd.Context(), "GET", "/v1/mounts", nil, &ms); err != nil {
		return err
	}
	var hits []db.Mount
	for _, m := range ms {
		if m.ID == ref || len(ref) >= 4 && strings.HasPrefix(m.ID, ref) || m.MountPoint == absPath(ref) {
			hits = append(hits, m)
		}
	}
	switch len(hits) {
	case 0:
		return fmt.Errorf("no mount %q (see 'jax mount list'): %w", ref, db.ErrNotFound)
	case 1:
		return f(cl, hits[0])
	}
	return fmt.Errorf("mount %q is ambiguous: give more of its id", ref)
}

// notifyDaemon tells a running daemon that a bucket changed so its mounts
// show it at once. Failing to reach it only warrants a warning.
func (g *globals) notifyDaemon(ctx context.Context, bucketID string) {
	d, err := g.dirs()
	if err == nil {
		err = app.Notify(ctx, d, bucketID)
	}
	if err != nil && !errors.Is(err, app.ErrNoDaemon) {
		fmt.Fprintln(os.Stderr, "jax: warning: the daemon was not told of the change:", err)
	}
}
