package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/jax-desktop/jax/app"
	"github.com/jax-desktop/jax/store/bucket"
	"github.com/jax-desktop/jax/store/tree"
)

func bucketCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "bucket", Short: "Create and work with buckets"}
	c.AddCommand(
		bucketCreateCmd(g), bucketListCmd(g), bucketLsCmd(g), bucketStatCmd(g), bucketAddCmd(g),
		bucketCatCmd(g), bucketMkdirCmd(g), bucketMvCmd(g), bucketRmCmd(g), bucketHistoryCmd(g),
		bucketRestoreCmd(g), bucketCheckCmd(g), viaDaemon(g, bucketShareCmd(g), shareInDaemon),
		viaDaemon(g, bucketUnshareCmd(g), unshareInDaemon), bucketExportCmd(g), viaDaemon(g, bucketImportCmd(g), importInDaemon),
		bucketRenameCmd(g), bucketConflictsCmd(g),
	)
	return c
}

// Every command that changes a bucket runs in the daemon while one runs, so
// its mounts show the change at once and only one process writes; with
// none running, the command makes the change itself. Reads stay here.

// daemon returns a client of the data dir's running daemon, or nil if none runs.
func (g *globals) daemon() (*app.Client, error) {
	d, err := g.dirs()
	if err != nil {
		return nil, err
	}
	cl, err := app.Dial(d)
	if errors.Is(err, app.ErrNoDaemon) {
		return nil, nil
	}
	return cl, err
}

// change makes a bucket change in the running daemon, or here if none runs.
func (g *globals) change(ctx context.Context, c app.BucketChange) (*app.ChangeResult, error) {
	cl, err := g.daemon()
	if err != nil {
		return nil, err
	}
	if cl != nil {
		return cl.Change(ctx, c)
	}
	var res *app.ChangeResult
	err = g.withStore(func(s *app.Store) error {
		res, err = s.Change(ctx, c)
		return err
	})
	return res, err
}

// viaDaemon makes a command whose local form is defined elsewhere run
// through remote instead while a daemon runs.
func viaDaemon(g *globals, c *cobra.Command, remote func(*globals, *cobra.Command, *app.Client, []string) error) *cobra.Command {
	local := c.RunE
	c.RunE = func(cmd *cobra.Command, args []string) error {
		cl, err := g.daemon()
		if err != nil {
			return err
		}
		if cl == nil {
			return local(cmd, args)
		}
		return remote(g, cmd, cl, args)
	}
	return c
}

func shareInDaemon(g *globals, cmd *cobra.Command, cl *app.Client, args []string) error {
	role, _ := cmd.Flags().GetString("role")
	if _, err := app.ParseRole(role); err != nil {
		return usageError{fmt.Errorf("--role must be owner or mirror")}
	}
	res, err := cl.Change(cmd.Context(), app.BucketChange{Op: "share", Bucket: args[0], Device: args[1], Role: role})
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "Shared %s with %s as %s\n", res.Bucket, res.Device, res.Role)
	return nil
}

func unshareInDaemon(g *globals, cmd *cobra.Command, cl *app.Client, args []string) error {
	res, err := cl.Change(cmd.Context(), app.BucketChange{Op: "unshare", Bucket: args[0], Device: args[1]})
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "Removed %s from %s; the bucket key was rotated\n", res.Device, res.Bucket)
	return nil
}

func importInDaemon(g *globals, cmd *cobra.Command, cl *app.Client, args []string) error {
	f, err := os.Open(args[0])
	if err != nil {
		return err
	}
	defer f.Close()
	res, err := cl.Import(cmd.Context(), f)
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "Imported %s: %s, now at version %d", res.Bucket, res.Action, res.Height)
	if res.Conflicts > 0 {
		fmt.Fprintf(cmd.OutOrStdout(), ", %d conflict(s) resolved", res.Conflicts)
	}
	fmt.Fprintln(cmd.OutOrStdout())
	return nil
}

// withBucket opens the data dir and the named bucket for one command.
func (g *globals) withBucket(name string, f func(*app.Store, *bucket.Bucket) error) error {
	return g.withStore(func(s *app.Store) error {
		b, err := s.Buckets.Open(name)
		if err != nil {
			return err
		}
		return f(s, b)
	})
}

// withStore opens the data dir for one command.
func (g *globals) withStore(f func(*app.Store) error) error {
	s, err := g.open()
	if err != nil {
		return err
	}
	defer s.Close()
	return f(s)
}

// version loads the version a --version flag names (current if empty).
func loadVersion(b *bucket.Bucket, sel string) (*bucket.Version, error) {
	link, err := b.Resolve(sel)
	if err != nil {
		return nil, err
	}
	return b.Load(link)
}

func bucketCreateCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "create NAME",
		Short: "Create a bucket",
		Args:  exactArgs(1, "a bucket name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := g.change(cmd.Context(), app.BucketChange{Op: "create", Bucket: args[0]})
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), map[string]string{"id": res.BucketID, "name": res.Bucket})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Created bucket %q (%s)\n", res.Bucket, res.BucketID)
			return nil
		},
	}
}

func bucketListCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "list",
		Short: "List buckets",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withStore(func(s *app.Store) error {
				list, err := s.Buckets.List()
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), list)
				}
				if len(list) == 0 {
					fmt.Fprintln(cmd.OutOrStdout(), "No buckets yet. Create one with 'jax bucket create NAME'.")
					return nil
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "NAME\tID\tVERSION\tUPDATED")
				for _, b := range list {
					ver := fmt.Sprint(b.Height)
					if b.Heads > 1 {
						ver += fmt.Sprintf(" (%d heads)", b.Heads)
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", b.Name, b.ID, ver, b.Updated.Local().Format(time.DateTime))
				}
				return w.Flush()
			})
		},
	}
	jsonFlag(c, g)
	return c
}

func jsonFlag(c *cobra.Command, g *globals) {
	c.Flags().BoolVar(&g.json, "json", false, "print JSON")
}

// entryJSON is how entries look in --json output.
type entryJSON struct {
	Name   string    `json:"name"`
	Path   string    `json:"path"`
	Type   string    `json:"type"`
	Size   int64     `json:"size"`
	Mode   string    `json:"mode"`
	MTime  time.Time `json:"mtime"`
	ID     string    `json:"id"`
	Target string    `json:"target,omitempty"`
	Chunks int       `json:"chunks,omitempty"`
}

func toJSON(t *tree.Snapshot, e *tree.Entry) entryJSON {
	return entryJSON{Name: e.Name, Path: t.Path(e.ID), Type: e.Kind.String(), Size: e.Size, Mode: fmt.Sprintf("%04o", e.Mode),
		MTime: time.Unix(0, e.MTime).UTC(), ID: e.ID.String(), Target: e.Target, Chunks: len(e.Chunks)}
}

func modeString(e *tree.Entry) string {
	m := fs.FileMode(e.Mode & 0o777)
	switch e.Kind {
	case tree.Dir:
		m |= fs.ModeDir
	case tree.Symlink:
		m |= fs.ModeSymlink
	}
	return m.String()
}

func bucketLsCmd(g *globals) *cobra.Command {
	var sel string
	c := &cobra.Command{
		Use:   "ls BUCKET [PATH]",
		Short: "List a directory of a bucket",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return usageError{fmt.Errorf("expected a bucket and optionally a path")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			p := "/"
			if len(args) == 2 {
				p = args[1]
			}
			return g.withBucket(args[0], func(_ *app.Store, b *bucket.Bucket) error {
				v, err := loadVersion(b, sel)
				if err != nil {
					return err
				}
				e, err := v.Tree.Lookup(p)
				if err != nil {
					return err
				}
				list := []*tree.Entry{e}
				if e.Kind == tree.Dir {
					list = v.Tree.Children(e.ID)
				}
				if g.json {
					out := make([]entryJSON, 0, len(list))
					for _, e := range list {
						out = append(out, toJSON(v.Tree, e))
					}
					return printJSON(cmd.OutOrStdout(), out)
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 1, ' ', tabwriter.AlignRight)
				for _, e := range list {
					name := e.Name
					if e.Kind == tree.Dir {
						name += "/"
					} else if e.Kind == tree.Symlink {
						name += " -> " + e.Target
					}
					fmt.Fprintf(w, "%s\t%d\t%s\t %s\n", modeString(e), e.Size, time.Unix(0, e.MTime).Local().Format("2006-01-02 15:04"), name)
				}
				return w.Flush()
			})
		},
	}
	c.Flags().StringVar(&sel, "version", "", "list this version (height or id prefix; default: current)")
	jsonFlag(c, g)
	return c
}

func bucketStatCmd(g *globals) *cobra.Command {
	var sel string
	c := &cobra.Command{
		Use:   "stat BUCKET PATH",
		Short: "Show details of one file or directory",
		Args:  exactArgs(2, "a bucket and a path"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withBucket(args[0], func(_ *app.Store, b *bucket.Bucket) error {
				v, err := loadVersion(b, sel)
				if err != nil {
					return err
				}
				e, err := v.Tree.Lookup(args[1])
				if err != nil {
					return err
				}
				j := toJSON(v.Tree, e)
				if g.json {
					return printJSON(cmd.OutOrStdout(), j)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Path:    %s\nType:    %s\nSize:    %d\nMode:    %s (%s)\nModified: %s\nFile id: %s\nChunks:  %d\nChanged in version %d by %s\n",
					j.Path, j.Type, j.Size, j.Mode, modeString(e), j.MTime.Local().Format(time.RFC3339), j.ID, j.Chunks,
					e.Rev.Height, v.Manifest.DeviceName(e.Rev.Device))
				return nil
			})
		},
	}
	c.Flags().StringVar(&sel, "version", "", "look in this version (height or id prefix)")
	jsonFlag(c, g)
	return c
}

func bucketAddCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "add BUCKET LOCAL REMOTE",
		Short: "Add a file or directory (LOCAL '-' reads standard input)",
		Args:  exactArgs(3, "a bucket, a local path and a path in the bucket"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := g.daemon()
			if err != nil {
				return err
			}
			var height uint64
			var name string
			if cl != nil {
				res, err := addInDaemon(cmd.Context(), cl, args)
				if err != nil {
					return err
				}
				height, name = res.Height, res.Bucket
			} else {
				err = g.withBucket(args[0], func(_ *app.Store, b *bucket.Bucket) error {
					plan, err := app.PlanAdd(args[1], args[2])
					if err != nil {
						return err
					}
					bar := newProgress(plan.Bytes, fmt.Sprintf("adding %d file(s)", plan.Files), true)
					v, err := plan.Run(cmd.Context(), b, bar.set)
					bar.finish()
					if err != nil {
						return err
					}
					height, name = v.Manifest.Height, b.Name
					return nil
				})
				if err != nil {
					return err
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Added %s to %s as version %d\n", args[1], name, height)
			return nil
		},
	}
}

// addInDaemon has the daemon read the local files itself (it runs as this
// user) and shows its progress; standard input is sent along instead.
func addInDaemon(ctx context.Context, cl *app.Client, args []string) (*app.ChangeResult, error) {
	req := app.AddRequest{Bucket: args[0], Local: args[1], Remote: args[2]}
	if req.Local != "-" {
		if _, err := os.Lstat(req.Local); err != nil {
			return nil, err // the same error as without a daemon, before any request
		}
		req.Local = absPath(req.Local)
	}
	var bar *progress
	var data io.Reader
	if req.Local == "-" {
		bar = newProgress(0, "adding 1 file(s)", true)
		data = &countingReader{r: os.Stdin, progress: bar.set}
	}
	res, err := cl.Add(ctx, req, data, func(p app.AddProgress) {
		if bar == nil {
			bar = newProgress(p.Bytes, fmt.Sprintf("adding %d file(s)", p.Files), true)
			return
		}
		bar.set(p.Done)
	})
	if bar != nil {
		bar.finish()
	}
	return res, err
}

// countingReader reports how much has been read, for the progress bar.
type countingReader struct {
	r        io.Reader
	n        int64
	progress func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.progress(c.n)
	return n, err
}

func bucketCatCmd(g *globals) *cobra.Command {
	var sel string
	c := &cobra.Command{
		Use:   "cat BUCKET PATH",
		Short: "Write a file's contents to standard output",
		Args:  exactArgs(2, "a bucket and a path"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withBucket(args[0], func(_ *app.Store, b *bucket.Bucket) error {
				v, err := loadVersion(b, sel)
				if err != nil {
					return err
				}
				_, err = b.Cat(v, args[1], cmd.OutOrStdout())
				return err
			})
		},
	}
	c.Flags().StringVar(&sel, "version", "", "read this version (height or id prefix; default: current)")
	return c
}

// edit makes a change and prints nothing, as rm and mv do.
func edit(g *globals, cmd *cobra.Command, c app.BucketChange) error {
	_, err := g.change(cmd.Context(), c)
	return err
}

func bucketMkdirCmd(g *globals) *cobra.Command {
	var parents bool
	c := &cobra.Command{
		Use:   "mkdir BUCKET PATH",
		Short: "Create a directory",
		Args:  exactArgs(2, "a bucket and a path"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return edit(g, cmd, app.BucketChange{Op: "mkdir", Bucket: args[0], Path: args[1], Parents: parents})
		},
	}
	c.Flags().BoolVarP(&parents, "parents", "p", false, "create missing parents; an existing directory is fine")
	return c
}

func bucketMvCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "mv BUCKET SRC DST",
		Short: "Move or rename a file or directory",
		Args:  exactArgs(3, "a bucket, a source and a destination path"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return edit(g, cmd, app.BucketChange{Op: "mv", Bucket: args[0], Path: args[1], To: args[2]})
		},
	}
}

func bucketRmCmd(g *globals) *cobra.Command {
	var recursive bool
	c := &cobra.Command{
		Use:   "rm BUCKET PATH",
		Short: "Remove a file or directory (it stays in the history)",
		Args:  exactArgs(2, "a bucket and a path"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return edit(g, cmd, app.BucketChange{Op: "rm", Bucket: args[0], Path: args[1], Recursive: recursive})
		},
	}
	c.Flags().BoolVarP(&recursive, "recursive", "r", false, "remove a directory and everything in it")
	return c
}

// versionJSON is how versions look in --json output.
type versionJSON struct {
	Height  uint64    `json:"height"`
	ID      string    `json:"id"`
	Author  string    `json:"author"`
	Device  string    `json:"device"`
	Time    time.Time `json:"time"`
	Parents []string  `json:"parents"`
	Merge   bool      `json:"merge"`
	Change  string    `json:"change,omitempty"`
	Path    string    `json:"path,omitempty"`
	Size    int64     `json:"size,omitempty"`
}

func bucketHistoryCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "history BUCKET [PATH]",
		Short: "List the versions of a bucket, or of one path",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return usageError{fmt.Errorf("expected a bucket and optionally a path")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withBucket(args[0], func(_ *app.Store, b *bucket.Bucket) error {
				cur, err := b.Current()
				if err != nil {
					return err
				}
				var out []versionJSON
				add := func(vi bucket.VersionInfo) *versionJSON {
					j := versionJSON{Height: vi.Height, ID: vi.Link.String(), Author: vi.Author.String(),
						Device: cur.Manifest.DeviceName(vi.Author), Time: vi.Time.UTC(), Merge: vi.Merge, Parents: []string{}}
					for _, p := range vi.Parents {
						j.Parents = append(j.Parents, p.String())
					}
					out = append(out, j)
					return &out[len(out)-1]
				}
				if len(args) == 2 {
					changes, err := b.PathHistory(args[1])
					if err != nil {
						return err
					}
					for _, c := range changes {
						j := add(c.Version)
						j.Change, j.Path = c.Change, c.Path
						if c.Entry != nil {
							j.Size = c.Entry.Size
						}
					}
				} else {
					hist, err := b.History()
					if err != nil {
						return err
					}
					for _, v := range hist {
						add(v)
					}
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), out)
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "VERSION\tID\tTIME\tDEVICE\tCHANGE")
				for _, j := range out {
					ch := j.Change
					if ch != "" {
						ch += " " + j.Path
					} else if j.Merge {
						ch = "merge"
					}
					fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\n", j.Height, j.ID[:12], j.Time.Local().Format(time.DateTime), j.Device, ch)
				}
				return w.Flush()
			})
		},
	}
	jsonFlag(c, g)
	return c
}

func bucketRestoreCmd(g *globals) *cobra.Command {
	var sel string
	c := &cobra.Command{
		Use:   "restore BUCKET PATH --version N",
		Short: "Put a file or directory back as it was in an earlier version",
		Args:  exactArgs(2, "a bucket and a path"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if sel == "" {
				return usageError{fmt.Errorf("--version is required (see 'jax bucket history %s %s')", args[0], args[1])}
			}
			res, err := g.change(cmd.Context(), app.BucketChange{Op: "restore", Bucket: args[0], Path: args[1], Version: sel})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Restored %s from version %s as version %d\n", args[1], sel, res.Height)
			return nil
		},
	}
	c.Flags().StringVar(&sel, "version", "", "the version to restore from (height or id prefix)")
	return c
}

func bucketCheckCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "check BUCKET",
		Short: "Verify every version, listing and chunk of a bucket",
		Args:  exactArgs(1, "a bucket"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withBucket(args[0], func(s *app.Store, b *bucket.Bucket) error {
				bar := newProgress(0, "checking chunks", false)
				rep, err := b.Check(cmd.Context(), func(done, total int) { bar.setTotal(int64(total)); bar.set(int64(done)) })
				bar.finish()
				if err != nil {
					return err
				}
				if g.json {
					if err := printJSON(cmd.OutOrStdout(), rep); err != nil {
						return err
					}
				} else {
					w := cmd.OutOrStdout()
					fmt.Fprintf(w, "Checked %d versions, %d files, %d chunks (%s).\n", rep.Versions, rep.Files, rep.Chunks, humanBytes(rep.Bytes))
					for _, p := range rep.Problems {
						where := p.Path
						if where == "" {
							where = "(version itself)"
						}
						fmt.Fprintf(w, "DAMAGED version %d (%s) %s: %s\n", p.Height, p.Version, where, p.Error)
					}
					if rep.OK() {
						fmt.Fprintln(w, "No damage found.")
					}
				}
				if !rep.OK() {
					return fmt.Errorf("%d problem(s) found in bucket %s: %w", len(rep.Problems), b.Name, bucket.ErrDamaged)
				}
				return nil
			})
		},
	}
	jsonFlag(c, g)
	return c
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func bucketRenameCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "rename BUCKET NAME",
		Short: "Give a bucket a new name (on every device it is shared with)",
		Args:  exactArgs(2, "a bucket and its new name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := bucket.ValidName(args[1]); err != nil {
				return usageError{err}
			}
			res, err := g.change(cmd.Context(), app.BucketChange{Op: "rename", Bucket: args[0], Name: args[1]})
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), map[string]any{"id": res.BucketID, "name": res.Bucket, "version": res.Height})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Renamed %s to %q (version %d)\n", args[0], res.Bucket, res.Height)
			return nil
		},
	}
	jsonFlag(c, g)
	return c
}

// conflictJSON is how conflicts look in --json output.
type conflictJSON struct {
	ID       int64     `json:"id"`
	Kind     string    `json:"kind"`
	Path     string    `json:"path"`
	CopyPath string    `json:"copy_path,omitempty"`
	Device   string    `json:"device,omitempty"` // the other device
	Version  string    `json:"version"`          // the merge that made it
	Time     time.Time `json:"time"`             // when this device recorded it
	Resolved bool      `json:"resolved"`
}

func bucketConflictsCmd(g *globals) *cobra.Command {
	var all bool
	c := &cobra.Command{
		Use:   "conflicts BUCKET",
		Short: "List the conflict copies merges made in a bucket",
		Args:  exactArgs(1, "a bucket"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withBucket(args[0], func(s *app.Store, b *bucket.Bucket) error {
				cs, err := s.DB.Conflicts(b.ID.String(), !all)
				if err != nil {
					return err
				}
				devs, err := s.DB.Devices()
				if err != nil {
					return err
				}
				out := make([]conflictJSON, 0, len(cs))
				for _, c := range cs {
					if c.CopyPath == "" && !all {
						continue // nothing to look at: an edit kept over a delete, a move undone
					}
					j := conflictJSON{ID: c.ID, Kind: c.Kind, Path: c.Path, CopyPath: c.CopyPath, Version: hex.EncodeToString(c.Version),
						Time: time.Unix(0, c.CreatedAt), Resolved: c.ResolvedAt != 0}
					for _, d := range devs {
						if len(c.OtherDevice) > 0 && bytes.Equal(d.ID, c.OtherDevice) {
							j.Device = d.Name
						}
					}
					if j.Device == "" && len(c.OtherDevice) >= 4 {
						j.Device = hex.EncodeToString(c.OtherDevice[:4])
					}
					out = append(out, j)
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), out)
				}
				if len(out) == 0 {
					fmt.Fprintf(cmd.OutOrStdout(), "No open conflicts in %s.\n", b.Name)
					return nil
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "KIND\tPATH\tCOPY\tFROM\tRECORDED")
				for _, c := range out {
					kind := c.Kind
					if c.Resolved {
						kind += " (resolved)"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", kind, c.Path, c.CopyPath, c.Device, c.Time.Local().Format(time.DateTime))
				}
				return w.Flush()
			})
		},
	}
	c.Flags().BoolVar(&all, "all", false, "also resolved conflicts and those that made no copy")
	jsonFlag(c, g)
	return c
}
