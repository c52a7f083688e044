package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/jax-desktop/jax/app/syncer"
)

func syncCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "sync", Short: "Sync of buckets with paired devices"}
	c.AddCommand(syncStatusCmd(g), syncNowCmd(g))
	return c
}

func syncStatusCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "status",
		Short: "Show each bucket's sync state with each device it is shared with",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := g.needDaemon("sync status")
			if err != nil {
				return err
			}
			st, err := cl.SyncStatus(cmd.Context())
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), st)
			}
			printSyncStatus(cmd.OutOrStdout(), st)
			return nil
		},
	}
	jsonFlag(c, g)
	return c
}

func printSyncStatus(out io.Writer, st []syncer.BucketStatus) {
	if len(st) == 0 {
		fmt.Fprintln(out, "No buckets.")
		return
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "BUCKET\tDEVICE\tSTATE\tDETAIL")
	for _, b := range st {
		detail := fmt.Sprintf("version %d", b.Height)
		if b.Progress != nil {
			detail = progressText(*b.Progress)
		} else if b.Early != nil {
			detail = fmt.Sprintf("receiving a file still being written on %s: %s so far", strings.Join(b.Early.From, ", "), humanBytes(b.Early.BytesDone))
		} else if b.Error != "" {
			detail = b.Error
		}
		fmt.Fprintf(w, "%s\t\t%s\t%s\n", b.Name, b.State, detail)
		if len(b.Peers) == 0 {
			fmt.Fprintf(w, "\t(shared with no other device)\t\t\n")
		}
		for _, p := range b.Peers {
			var d []string
			if p.Role == "mirror" {
				d = append(d, "mirror")
			}
			if p.Error != "" {
				d = append(d, p.Error)
			}
			if !p.Synced.IsZero() {
				d = append(d, "last synced "+ago(p.Synced))
			}
			fmt.Fprintf(w, "\t%s\t%s\t%s\n", p.Name, p.State, strings.Join(d, "; "))
		}
	}
	w.Flush()
}

func progressText(p syncer.Progress) string {
	return fmt.Sprintf("%d of %d file(s), %s of %s", p.FilesDone, p.Files, humanBytes(p.BytesDone), humanBytes(p.Bytes))
}

func ago(t time.Time) string {
	d := time.Since(t).Round(time.Second)
	if d < time.Second {
		return "just now"
	}
	return d.String() + " ago"
}

func syncNowCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "now BUCKET",
		Short: "Pull a bucket from every connected device now and wait until done",
		Args:  exactArgs(1, "a bucket"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := g.needDaemon("sync now")
			if err != nil {
				return err
			}
			var bar *progress
			st, err := cl.SyncNow(cmd.Context(), args[0], func(p syncer.Progress) {
				if bar == nil && p.Bytes > 0 {
					bar = newProgress(p.Bytes, fmt.Sprintf("pulling %d file(s)", p.Files), true)
				}
				if bar != nil {
					bar.setTotal(p.Bytes)
					bar.set(p.BytesDone)
				}
			})
			if bar != nil {
				bar.finish()
			}
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			switch st.State {
			case syncer.StateError:
				var why []string
				for _, p := range st.Peers {
					if p.Error != "" {
						why = append(why, p.Name+": "+p.Error)
					}
				}
				if st.Error != "" && len(why) == 0 {
					why = append(why, st.Error)
				}
				return fmt.Errorf("sync of %s failed: %s", st.Name, strings.Join(why, "; "))
			default:
				var with []string
				for _, p := range st.Peers {
					if p.Online {
						with = append(with, p.Name)
					}
				}
				fmt.Fprintf(out, "%s: %s with %s (version %d)\n", st.Name, st.State, strings.Join(with, ", "), st.Height)
			}
			return nil
		},
	}
}
