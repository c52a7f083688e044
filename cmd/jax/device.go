package main

import (
	"encoding/hex"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/jax-desktop/jax/app"
	"github.com/jax-desktop/jax/store/bucket"
)

func deviceCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "device", Short: "This device and the devices buckets are shared with"}
	c.AddCommand(&cobra.Command{
		Use:   "card",
		Short: "Print this device's card, for 'jax device add' on another device",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withStore(func(s *app.Store) error {
				fmt.Fprintln(cmd.OutOrStdout(), s.Card())
				return nil
			})
		},
	}, &cobra.Command{
		Use:   "add CARD",
		Short: "Remember another device from its card",
		Args:  exactArgs(1, "a device card"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withStore(func(s *app.Store) error {
				d, err := s.AddDevice(args[0])
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Added device %q (%s)\n", d.Name, d.ID.Short())
				return nil
			})
		},
	})
	list := &cobra.Command{
		Use:   "list",
		Short: "List known devices",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withStore(func(s *app.Store) error {
				devs, err := s.DB.Devices()
				if err != nil {
					return err
				}
				type devJSON struct {
					Name string `json:"name"`
					ID   string `json:"id"`
					Self bool   `json:"self"`
				}
				out := []devJSON{}
				for _, d := range devs {
					out = append(out, devJSON{d.Name, hex.EncodeToString(d.ID), d.IsSelf})
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), out)
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "NAME\tID\t")
				for _, d := range out {
					self := ""
					if d.Self {
						self = "(this device)"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\n", d.Name, d.ID[:16], self)
				}
				return w.Flush()
			})
		},
	}
	jsonFlag(list, g)
	c.AddCommand(list)
	return c
}

func bucketShareCmd(g *globals) *cobra.Command {
	var role string
	c := &cobra.Command{
		Use:   "share BUCKET DEVICE",
		Short: "Give a known device access to a bucket",
		Args:  exactArgs(2, "a bucket and a device"),
		RunE: func(cmd *cobra.Command, args []string) error {
			r := bucket.Owner
			switch role {
			case "owner":
			case "mirror":
				r = bucket.Mirror
			default:
				return usageError{fmt.Errorf("--role must be owner or mirror")}
			}
			return g.withBucket(args[0], func(s *app.Store, b *bucket.Bucket) error {
				d, err := s.FindDevice(args[1])
				if err != nil {
					return err
				}
				if _, err := b.Share(cmd.Context(), d, r); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Shared %s with %s as %s\n", b.Name, d.Name, r)
				return nil
			})
		},
	}
	c.Flags().StringVar(&role, "role", "owner", "owner (read and write) or mirror (read only)")
	return c
}

func bucketUnshareCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "unshare BUCKET DEVICE",
		Short: "Remove a device from a bucket; it cannot read anything written after",
		Args:  exactArgs(2, "a bucket and a device"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withBucket(args[0], func(s *app.Store, b *bucket.Bucket) error {
				d, err := s.FindDevice(args[1])
				if err != nil {
					return err
				}
				if _, err := b.Unshare(cmd.Context(), d.ID); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Removed %s from %s; the bucket key was rotated\n", d.Name, b.Name)
				return nil
			})
		},
	}
}

func bucketExportCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "export BUCKET FILE",
		Short: "Write every version of a bucket (encrypted) to a file, for 'jax bucket import'",
		Args:  exactArgs(2, "a bucket and a file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withBucket(args[0], func(s *app.Store, b *bucket.Bucket) error {
				f, err := os.Create(args[1])
				if err != nil {
					return err
				}
				n, err := app.Export(s, b, f)
				if cerr := f.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					os.Remove(args[1])
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Exported %s (%d blobs) to %s\n", b.Name, n, args[1])
				return nil
			})
		},
	}
}

func bucketImportCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "import FILE",
		Short: "Bring in the versions of an export and merge them into this device's bucket",
		Args:  exactArgs(1, "an export file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withStore(func(s *app.Store) error {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				id, res, err := app.Import(cmd.Context(), s, f)
				if err != nil {
					return err
				}
				g.notifyDaemon(cmd.Context(), id)
				fmt.Fprintf(cmd.OutOrStdout(), "Imported %s: %s, now at version %d", res.Version.Manifest.Name, res.Action, res.Version.Manifest.Height)
				if len(res.Conflicts) > 0 {
					fmt.Fprintf(cmd.OutOrStdout(), ", %d conflict(s) resolved", len(res.Conflicts))
				}
				fmt.Fprintln(cmd.OutOrStdout())
				return nil
			})
		},
	}
}
