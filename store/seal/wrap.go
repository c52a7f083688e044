package seal

import (
	"bytes"
	"fmt"
	"io"

	"filippo.io/age"
)

// Wrap encrypts a keyring to one device's X25519 recipient (age format), so
// only that device can unwrap it.
func Wrap(r *Keyring, recipient string) ([]byte, error) {
	rcp, err := age.ParseX25519Recipient(recipient)
	if err != nil {
		return nil, fmt.Errorf("device key %q: %w", recipient, err)
	}
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, rcp)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(r.Marshal()); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Unwrap decrypts a keyring wrapped to this device.
func Unwrap(wrapped []byte, id *age.X25519Identity) (*Keyring, error) {
	rd, err := age.Decrypt(bytes.NewReader(wrapped), id)
	if err != nil {
		return nil, fmt.Errorf("unwrap bucket key: %w", err)
	}
	b, err := io.ReadAll(io.LimitReader(rd, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("unwrap bucket key: %w", err)
	}
	return UnmarshalKeyring(b)
}
