package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// docsCmd writes the man pages and shell completions that packages install,
// made from the command definitions so they never drift from the CLI.
func docsCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "gen-docs DIR",
		Short:  "Write man pages (DIR/man1) and shell completions (DIR/completions) for packaging",
		Hidden: true,
		Args:   exactArgs(1, "a directory"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return writeDocs(cmd.Root(), args[0])
		},
	}
}

func writeDocs(root *cobra.Command, dir string) error {
	man := filepath.Join(dir, "man1")
	comp := filepath.Join(dir, "completions")
	for _, d := range []string{man, comp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	root.DisableAutoGenTag = true // pages stay the same from build to build
	hdr := &doc.GenManHeader{Title: "JAX", Section: "1", Source: "Jax " + version, Manual: "Jax Manual"}
	if err := doc.GenManTree(root, hdr, man); err != nil {
		return fmt.Errorf("man pages: %w", err)
	}
	write := func(name string, gen func(f *os.File) error) error {
		f, err := os.Create(filepath.Join(comp, name))
		if err != nil {
			return err
		}
		if err := gen(f); err != nil {
			f.Close()
			return fmt.Errorf("completion %s: %w", name, err)
		}
		return f.Close()
	}
	if err := write("jax.bash", func(f *os.File) error { return root.GenBashCompletionV2(f, true) }); err != nil {
		return err
	}
	if err := write("_jax", func(f *os.File) error { return root.GenZshCompletion(f) }); err != nil {
		return err
	}
	return write("jax.fish", func(f *os.File) error { return root.GenFishCompletion(f, true) })
}
