package identity

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestSaveLoad(t *testing.T) {
	p := filepath.Join(t.TempDir(), "identity")
	if _, err := Load(p); !errors.Is(err, ErrNone) {
		t.Fatalf("missing identity: %v", err)
	}
	id, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	if err := id.Save(p); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(p)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("identity mode %v", fi.Mode())
	}
	got, err := Load(p)
	if err != nil || got.ID() != id.ID() || got.Recipient() != id.Recipient() {
		t.Fatalf("load: %v", err)
	}
	other, _ := Generate()
	if err := other.Save(p); err == nil {
		t.Fatal("an existing identity was replaced")
	}
	os.WriteFile(p, []byte("{garbage"), 0o600)
	if _, err := Load(p); err == nil {
		t.Fatal("damaged identity loaded")
	}
}
