package seal

import (
	"bytes"
	"errors"
	"testing"

	"filippo.io/age"
)

func TestSealDeterministicPerKey(t *testing.T) {
	k1 := NewKey(0, NewSecret())
	k2 := NewKey(0, NewSecret())
	msg := []byte("hello chunk")
	a, b := k1.Seal(nil, msg), k1.Seal(nil, msg)
	if !bytes.Equal(a, b) {
		t.Fatal("same key and plaintext must seal identically (dedup)")
	}
	if bytes.Equal(a, k2.Seal(nil, msg)) {
		t.Fatal("different buckets must not produce the same blob")
	}
	if bytes.Equal(a, k1.Seal(nil, []byte("hello chunK"))) {
		t.Fatal("different plaintexts sealed identically")
	}
	out, err := k1.Open(nil, a)
	if err != nil || !bytes.Equal(out, msg) {
		t.Fatalf("open: %q %v", out, err)
	}
	if _, err := k2.Open(nil, a); !errors.Is(err, ErrAuth) {
		t.Fatalf("wrong key: got %v", err)
	}
	for i := range a {
		bad := bytes.Clone(a)
		bad[i] ^= 0x40
		if _, err := k1.Open(nil, bad); !errors.Is(err, ErrAuth) {
			t.Fatalf("flipped byte %d: got %v", i, err)
		}
	}
	if _, err := k1.Open(nil, a[:10]); !errors.Is(err, ErrAuth) {
		t.Fatalf("truncated: got %v", err)
	}
}

func TestKeyringWrapRoundTrip(t *testing.T) {
	r := NewKeyring()
	r.Rotate()
	id, _ := age.GenerateX25519Identity()
	other, _ := age.GenerateX25519Identity()
	w, err := Wrap(r, id.Recipient().String())
	if err != nil {
		t.Fatal(err)
	}
	got, err := Unwrap(w, id)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Marshal(), r.Marshal()) || got.Current().Epoch != 1 {
		t.Fatal("keyring changed in the round trip")
	}
	if _, err := Unwrap(w, other); err == nil {
		t.Fatal("another device unwrapped the keyring")
	}
	if _, err := UnmarshalKeyring([]byte{1, 2, 3}); err == nil {
		t.Fatal("malformed keyring accepted")
	}
}
