package main

import (
	"bufio"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/jax-desktop/jax/app"
	"github.com/jax-desktop/jax/app/p2p"
	"github.com/jax-desktop/jax/store/bucket"
)

func deviceCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "device", Short: "This device and the devices it is paired with"}
	c.AddCommand(deviceIDCmd(g), deviceInviteCmd(g), devicePairCmd(g), deviceListCmd(g), deviceRenameCmd(g), deviceRemoveCmd(g),
		&cobra.Command{
			Use:   "card",
			Short: "Print this device's card, for 'jax device add' on another device (offline sharing)",
			Args:  noArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return g.withStore(func(s *app.Store) error {
					fmt.Fprintln(cmd.OutOrStdout(), s.Card())
					return nil
				})
			},
		}, &cobra.Command{
			Use:   "add CARD",
			Short: "Remember another device from its card, to share buckets by export and import",
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
	return c
}

// needDaemon dials the running daemon, or says that one is needed.
func (g *globals) needDaemon(what string) (*app.Client, error) {
	cl, err := g.daemon()
	if err != nil {
		return nil, err
	}
	if cl == nil {
		return nil, fmt.Errorf("%s needs the network: %w", what, app.ErrNoDaemon)
	}
	return cl, nil
}

func deviceIDCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "id",
		Short: "Show this device: name, id, peer id and addresses",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var self app.SelfInfo
			err := g.withStore(func(s *app.Store) error {
				var err error
				self, err = s.Self()
				return err
			})
			if err != nil {
				return err
			}
			cl, err := g.daemon()
			if err != nil {
				return err
			}
			if cl != nil {
				if err := cl.Do(cmd.Context(), "GET", "/v1/devices/self", nil, &self); err != nil {
					return err
				}
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), self)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "Name:     %s\nID:       %s\nPeer ID:  %s\n", self.Name, self.ID, self.PeerID)
			switch {
			case cl == nil:
				fmt.Fprintln(w, "Addresses: none, no daemon is running ('jax daemon' makes this device reachable)")
			case len(self.Addresses) == 0:
				fmt.Fprintln(w, "Addresses: none (the network is off; see the daemon log)")
			default:
				fmt.Fprintln(w, "Addresses:")
				for _, a := range self.Addresses {
					fmt.Fprintln(w, "  "+a)
				}
			}
			return nil
		},
	}
	jsonFlag(c, g)
	return c
}

func deviceInviteCmd(g *globals) *cobra.Command {
	var ttl time.Duration
	var png string
	c := &cobra.Command{
		Use:   "invite",
		Short: "Make a one-time code that pairs another device with this one",
		Long: "Make a one-time invite code, shown as text and as a QR code. On the other device run\n" +
			"'jax device pair CODE'. The code works once, until it expires (--ttl).",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ttl <= 0 || ttl > p2p.MaxInviteTTL {
				return usageError{fmt.Errorf("--ttl must be between 1s and %s", p2p.MaxInviteTTL)}
			}
			cl, err := g.needDaemon("an invite")
			if err != nil {
				return err
			}
			var inv app.InviteResponse
			if err := cl.Do(cmd.Context(), "POST", "/v1/devices/invite", app.InviteRequest{TTLSecs: int64(ttl / time.Second)}, &inv); err != nil {
				return err
			}
			if png != "" {
				b, err := p2p.InvitePNG(inv.Code, 512)
				if err != nil {
					return err
				}
				if err := os.WriteFile(png, b, 0o600); err != nil {
					return err
				}
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), inv)
			}
			qr, err := p2p.InviteQR(inv.Code)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "Invite code, for one device, valid until %s:\n\n%s\n\n%s\n", inv.Expires.Local().Format("2006-01-02 15:04"), inv.Code, qr)
			if png != "" {
				fmt.Fprintf(w, "QR code written to %s\n", png)
			}
			fmt.Fprintln(w, "On the other device run: jax device pair CODE")
			return nil
		},
	}
	c.Flags().DurationVar(&ttl, "ttl", p2p.DefaultInviteTTL, "how long the code is valid")
	c.Flags().StringVar(&png, "png", "", "also write the QR code to this PNG file")
	jsonFlag(c, g)
	return c
}

func devicePairCmd(g *globals) *cobra.Command {
	var yes bool
	c := &cobra.Command{
		Use:   "pair CODE",
		Short: "Pair with the device that made an invite code",
		Args:  exactArgs(1, "an invite code (from 'jax device invite' on the other device)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			inv, err := p2p.ParseInvite(args[0])
			if err != nil {
				return usageError{err}
			}
			cl, err := g.needDaemon("pairing")
			if err != nil {
				return err
			}
			if !yes {
				fmt.Fprintf(cmd.ErrOrStderr(), "Pair with device %q?\n  id:      %s\n  peer id: %s\nIt will be able to connect to this device and receive the buckets you share with it. [y/N] ",
					inv.Name, inv.Device, inv.PeerID())
				line, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
					return errors.New("not paired: not confirmed (--yes confirms without asking)")
				}
			}
			var d app.DeviceInfo
			if err := cl.Do(cmd.Context(), "POST", "/v1/devices/pair", app.PairRequest{Code: args[0]}, &d); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Paired with %q (%s)\n", d.Name, d.ID[:8])
			return nil
		},
	}
	c.Flags().BoolVarP(&yes, "yes", "y", false, "pair without asking to confirm")
	return c
}

func deviceListCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "list",
		Short: "List this device and the devices it knows",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := g.daemon()
			if err != nil {
				return err
			}
			var devs []app.DeviceInfo
			if cl != nil {
				err = cl.Do(cmd.Context(), "GET", "/v1/devices", nil, &devs)
			} else {
				err = g.withStore(func(s *app.Store) error {
					devs, err = s.Devices(nil, false)
					return err
				})
			}
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), devs)
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tID\tSTATE\tLAST SEEN\tADDRESSES")
			for _, d := range devs {
				state, seen := "known (card)", "-"
				switch {
				case d.Self:
					state = "this device"
				case d.Online != nil && *d.Online:
					state = "online"
				case d.Paired && d.Online != nil:
					state = "offline"
				case d.Paired:
					state = "paired"
				}
				if d.LastSeen != nil && !d.Self {
					seen = d.LastSeen.Local().Format("2006-01-02 15:04")
				}
				addrs := strings.Join(d.Addresses, " ")
				if addrs == "" {
					addrs = "-"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", d.Name, d.ID[:16], state, seen, addrs)
			}
			if cl == nil {
				fmt.Fprintln(w, "(no daemon is running: online state unknown)")
			}
			return w.Flush()
		},
	}
	jsonFlag(c, g)
	return c
}

func deviceRenameCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "rename [DEVICE] NAME",
		Short: "Rename this device, or another one",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return usageError{errors.New("expected a new name, or a device and its new name")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, name := "self", args[len(args)-1]
			if len(args) == 2 {
				ref = args[0]
			}
			cl, err := g.daemon()
			if err != nil {
				return err
			}
			var d app.DeviceInfo
			if cl != nil {
				err = cl.Do(cmd.Context(), "POST", "/v1/devices/"+url.PathEscape(ref)+"/rename", app.RenameRequest{Name: name}, &d)
			} else {
				err = g.withStore(func(s *app.Store) error {
					d, err = s.RenameDevice(ref, name)
					return err
				})
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Renamed %s to %q\n", d.ID[:8], d.Name)
			return nil
		},
	}
}

func deviceRemoveCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "remove DEVICE",
		Short: "Forget a paired device: it can no longer connect to this one",
		Args:  exactArgs(1, "a device"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := g.daemon()
			if err != nil {
				return err
			}
			var res app.RemoveResponse
			if cl != nil {
				err = cl.Do(cmd.Context(), "DELETE", "/v1/devices/"+url.PathEscape(args[0]), nil, &res)
			} else {
				err = g.withStore(func(s *app.Store) error {
					res, err = s.RemoveDevice(args[0])
					return err
				})
			}
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "Removed %q (%s): it can no longer connect to this device\n", res.Device.Name, res.Device.ID[:8])
			if len(res.Buckets) > 0 {
				fmt.Fprintf(w, "These buckets still share with it: %s\nTo stop it reading what is written from now on, run for each:\n", strings.Join(res.Buckets, ", "))
				for _, b := range res.Buckets {
					fmt.Fprintf(w, "  jax bucket unshare %s %s\n", b, res.Device.ID[:16])
				}
			}
			return nil
		},
	}
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
