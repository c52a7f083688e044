package db

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"testing"
)

func open(t *testing.T) (*DB, string) {
	p := filepath.Join(t.TempDir(), "jax.db")
	d, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, p
}

func TestMigrationsAndReopen(t *testing.T) {
	d, p := open(t)
	var v int
	d.QueryRow("PRAGMA user_version").Scan(&v)
	if names, _ := fs.Glob(migrations, "migrations/*.sql"); v != len(names) || v < 1 {
		t.Fatalf("user_version %d after %d migrations", v, len(names))
	}
	var mode string
	d.QueryRow("PRAGMA journal_mode").Scan(&mode)
	if mode != "wal" {
		t.Fatalf("journal mode %s", mode)
	}
	d.Close()
	d2, err := Open(p) // applying nothing twice
	if err != nil {
		t.Fatal(err)
	}
	d2.Exec("PRAGMA user_version = 99")
	d2.Close()
	if _, err := Open(p); err == nil {
		t.Fatal("a newer schema was opened")
	}
}

func TestHeadsFollowTheLog(t *testing.T) {
	d, _ := open(t)
	ctx := context.Background()
	add := func(link string, parents ...string) {
		v := Version{Link: []byte(link), Author: []byte("dev")}
		for _, p := range parents {
			v.Parents = append(v.Parents, []byte(p))
		}
		if err := d.AddVersion(ctx, "b", "bucket", v, true); err != nil {
			t.Fatal(err)
		}
	}
	heads := func() string {
		hs, _ := d.Heads("b")
		s := ""
		for _, h := range hs {
			s += string(h)
		}
		return s
	}
	add("a")
	add("b", "a")
	add("c", "a") // fork
	if heads() != "bc" {
		t.Fatalf("heads %q", heads())
	}
	add("m", "b", "c")
	add("m", "b", "c") // idempotent
	if heads() != "m" {
		t.Fatalf("heads after merge %q", heads())
	}
	vs, _ := d.Versions("b")
	if len(vs) != 4 || len(vs[0].Parents) != 2 && len(vs[3].Parents) != 2 {
		t.Fatalf("versions %+v", vs)
	}
}

func TestMountConfigs(t *testing.T) {
	d, _ := open(t)
	m := Mount{ID: "m1", BucketID: "b", MountPoint: "/mnt/a", Enabled: true, CacheSizeMB: 100, CacheTTLSecs: 60}
	if err := d.AddMount(m); err != nil {
		t.Fatal(err)
	}
	m2 := m
	m2.ID = "m2"
	if err := d.AddMount(m2); !errors.Is(err, ErrMountPointTaken) {
		t.Fatalf("duplicate mount point: %v", err)
	}
	d.SetMountStatus("m1", StatusError, "boom")
	got, err := d.Mount("m1")
	if err != nil || got.Status != StatusError || got.ErrorMessage != "boom" {
		t.Fatalf("status: %+v %v", got, err)
	}
	if _, err := d.Exec("UPDATE mounts SET status = 'bogus'"); err == nil {
		t.Fatal("an unknown status was stored")
	}
	d.DeleteMount("m1")
	if _, err := d.Mount("m1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted mount: %v", err)
	}
}
