package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func (c *cli) conflicts(bucket string) []conflictJSON {
	c.t.Helper()
	var cs []conflictJSON
	if err := json.Unmarshal([]byte(c.ok("bucket", "conflicts", bucket, "--json")), &cs); err != nil {
		c.t.Fatal(err)
	}
	return cs
}

// mergeAuthors lists who made the bucket's merge versions.
func (c *cli) mergeAuthors(bucket string) []string {
	c.t.Helper()
	var vs []versionJSON
	if err := json.Unmarshal([]byte(c.ok("bucket", "history", bucket, "--json")), &vs); err != nil {
		c.t.Fatal(err)
	}
	var out []string
	for _, v := range vs {
		if v.Merge {
			out = append(out, v.Device)
		}
	}
	return out
}

// Two daemons on loopback edit the same file while one is down. After they
// reconnect, both list the conflict, with the same copy, whichever of them
// made the merge. A rename on one shows on the other.
func TestSyncConflictListedOnBoth(t *testing.T) {
	t.Setenv("JAX_NETWORK", "loopback")
	laptop, desktop := newDevice(t, "laptop"), newDevice(t, "desktop")
	laptop.daemon()
	dd := desktop.daemon()
	desktop.ok("device", "pair", "--yes", inviteCode(t, laptop.ok("device", "invite")))
	eventually(t, "each lists the other online", func() bool { return laptop.sees("desktop") && desktop.sees("laptop") })
	laptop.ok("bucket", "create", "docs")
	laptop.ok("bucket", "share", "docs", "desktop")
	laptop.run([]byte("base"), "bucket", "add", "docs", "-", "/report.txt")
	within(t, 20*time.Second, "the desktop has the report", func() bool {
		out, _, code := desktop.run(nil, "bucket", "cat", "docs", "/report.txt")
		return code == 0 && out == "base"
	})
	if out := desktop.ok("bucket", "conflicts", "docs"); !strings.Contains(out, "No open conflicts in docs") {
		t.Fatalf("conflicts before any:\n%s", out)
	}

	stop(t, dd)
	laptop.run([]byte("laptop's edit"), "bucket", "add", "docs", "-", "/report.txt")
	desktop.run([]byte("desktop's edit"), "bucket", "add", "docs", "-", "/report.txt")
	desktop.daemon()

	var ca, cb []conflictJSON
	within(t, 30*time.Second, "both list the conflict", func() bool {
		ca, cb = laptop.conflicts("docs"), desktop.conflicts("docs")
		return len(ca) == 1 && len(cb) == 1
	})
	for _, c := range []conflictJSON{ca[0], cb[0]} {
		if c.Kind != "edit/edit" || c.Path != "/report.txt" || !strings.HasPrefix(c.CopyPath, "/report (conflict from ") || c.Resolved {
			t.Fatalf("conflict listed: %+v", c)
		}
	}
	if ca[0].CopyPath != cb[0].CopyPath {
		t.Fatalf("the devices list different copies: %q and %q", ca[0].CopyPath, cb[0].CopyPath)
	}
	if ca[0].Device != "desktop" || cb[0].Device != "laptop" {
		t.Fatalf("the other device: laptop lists %q, desktop lists %q", ca[0].Device, cb[0].Device)
	}
	t.Logf("merges made by %v (laptop) and %v (desktop)", laptop.mergeAuthors("docs"), desktop.mergeAuthors("docs"))
	if out := desktop.ok("bucket", "conflicts", "docs"); !strings.Contains(out, "edit/edit") || !strings.Contains(out, cb[0].CopyPath) || !strings.Contains(out, "laptop") {
		t.Fatalf("conflicts table:\n%s", out)
	}

	// A rename through the laptop's daemon reaches the desktop.
	if out := laptop.ok("bucket", "rename", "docs", "papers"); !strings.Contains(out, `Renamed docs to "papers"`) {
		t.Fatalf("rename:\n%s", out)
	}
	within(t, 20*time.Second, "the desktop calls it papers", func() bool {
		_, _, code := desktop.run(nil, "bucket", "ls", "papers", "/")
		return code == 0
	})
	laptop.fails(exitUsage, "must not contain /", "bucket", "rename", "papers", "a/b")
	laptop.ok("bucket", "create", "photos")
	laptop.fails(exitError, "another bucket has that name", "bucket", "rename", "papers", "photos")
	if cs := desktop.conflicts("papers"); len(cs) != 1 {
		t.Fatalf("after the rename the desktop lists %d conflicts", len(cs))
	}
}
