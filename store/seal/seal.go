// Package seal holds a bucket's keys and encrypts its blobs.
//
// Encryption is deterministic inside one bucket key: the nonce is a keyed
// BLAKE3 hash of the plaintext (a synthetic IV), so equal chunks encrypt to
// equal blobs and deduplicate, while a different bucket (different key) gives
// unrelated bytes. XChaCha20-Poly1305's 192-bit nonce keeps accidental nonce
// reuse between different plaintexts out of reach. Every key is derived from
// the bucket secret of one key epoch; an epoch changes when a device is
// removed from the bucket, so it cannot read what is written after.
package seal

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"

	"github.com/zeebo/blake3"
	"golang.org/x/crypto/chacha20poly1305"
)

// formatV1 is the first byte of every sealed blob.
const formatV1 = 1

// Overhead is how many bytes sealing adds.
const Overhead = 1 + chacha20poly1305.NonceSizeX + chacha20poly1305.Overhead

// ErrAuth means a blob did not decrypt: wrong key, or altered bytes.
var ErrAuth = errors.New("data failed its integrity check")

// Secret is a bucket's 256-bit secret for one key epoch.
type Secret [32]byte

// NewSecret returns a random secret.
func NewSecret() Secret {
	var s Secret
	if _, err := rand.Read(s[:]); err != nil {
		panic("crypto/rand failed: " + err.Error()) // the OS has no entropy: nothing sane to do
	}
	return s
}

// Key is everything derived from one Secret.
type Key struct {
	Epoch uint32
	aead  cipher.AEAD
	mac   [32]byte
	gear  [256]uint64
}

// NewKey derives the encryption, nonce and chunking keys from a secret.
func NewKey(epoch uint32, s Secret) *Key {
	k := &Key{Epoch: epoch}
	var enc [32]byte
	blake3.DeriveKey("jax-desktop 2026 chunk encryption v1", s[:], enc[:])
	blake3.DeriveKey("jax-desktop 2026 synthetic nonce v1", s[:], k.mac[:])
	var gear [256 * 8]byte
	blake3.DeriveKey("jax-desktop 2026 chunker gear table v1", s[:], gear[:])
	for i := range k.gear {
		k.gear[i] = binary.LittleEndian.Uint64(gear[i*8:])
	}
	aead, err := chacha20poly1305.NewX(enc[:])
	if err != nil {
		panic(err) // key length is fixed above
	}
	k.aead = aead
	return k
}

// Gear is the keyed gear table for content-defined chunking. Keying it keeps
// chunk boundaries (and so chunk sizes) from fingerprinting known files.
func (k *Key) Gear() *[256]uint64 { return &k.gear }

// Seal appends the sealed form of plaintext to dst.
func (k *Key) Seal(dst, plaintext []byte) []byte {
	h, _ := blake3.NewKeyed(k.mac[:])
	h.Write(plaintext)
	var nonce [chacha20poly1305.NonceSizeX]byte
	h.Digest().Read(nonce[:])
	dst = append(dst, formatV1)
	dst = append(dst, nonce[:]...)
	return k.aead.Seal(dst, nonce[:], plaintext, nil)
}

// OpenInPlace decrypts sealed, reusing its memory for the plaintext.
func (k *Key) OpenInPlace(sealed []byte) ([]byte, error) {
	if len(sealed) < Overhead {
		return k.Open(nil, sealed)
	}
	return k.Open(sealed[1+chacha20poly1305.NonceSizeX:][:0], sealed)
}

// Open appends the plaintext of sealed to dst.
func (k *Key) Open(dst, sealed []byte) ([]byte, error) {
	if len(sealed) < Overhead {
		return nil, fmt.Errorf("sealed blob of %d bytes is too short: %w", len(sealed), ErrAuth)
	}
	if sealed[0] != formatV1 {
		return nil, fmt.Errorf("unknown blob format %d: %w", sealed[0], ErrAuth)
	}
	nonce := sealed[1 : 1+chacha20poly1305.NonceSizeX]
	out, err := k.aead.Open(dst, nonce, sealed[1+len(nonce):], nil)
	if err != nil {
		return nil, ErrAuth
	}
	return out, nil
}

// Keyring holds every epoch's secret of one bucket. Readers need old epochs
// for data written before a rotation; writers use the newest.
type Keyring struct {
	Secrets map[uint32]Secret
	keys    map[uint32]*Key
}

// NewKeyring returns a keyring with one fresh secret at epoch 0.
func NewKeyring() *Keyring {
	return &Keyring{Secrets: map[uint32]Secret{0: NewSecret()}}
}

// Current is the newest epoch's key.
func (r *Keyring) Current() *Key {
	var max uint32
	for e := range r.Secrets {
		if e > max {
			max = e
		}
	}
	k, _ := r.Key(max)
	return k
}

// Key returns the key of one epoch.
func (r *Keyring) Key(epoch uint32) (*Key, error) {
	if k, ok := r.keys[epoch]; ok {
		return k, nil
	}
	s, ok := r.Secrets[epoch]
	if !ok {
		return nil, fmt.Errorf("no bucket key for epoch %d: this device was not allowed to read that version", epoch)
	}
	if r.keys == nil {
		r.keys = map[uint32]*Key{}
	}
	k := NewKey(epoch, s)
	r.keys[epoch] = k
	return k, nil
}

// Rotate adds a fresh secret as the newest epoch and returns it.
func (r *Keyring) Rotate() *Key {
	next := r.Current().Epoch + 1
	r.Secrets[next] = NewSecret()
	k, _ := r.Key(next)
	return k
}

// Marshal encodes the secrets: epoch (4 bytes) + secret, sorted by epoch.
func (r *Keyring) Marshal() []byte {
	epochs := make([]uint32, 0, len(r.Secrets))
	for e := range r.Secrets {
		epochs = append(epochs, e)
	}
	sort.Slice(epochs, func(i, j int) bool { return epochs[i] < epochs[j] })
	out := make([]byte, 0, len(epochs)*36)
	for _, e := range epochs {
		s := r.Secrets[e]
		out = binary.BigEndian.AppendUint32(out, e)
		out = append(out, s[:]...)
	}
	return out
}

// UnmarshalKeyring decodes what Marshal wrote.
func UnmarshalKeyring(b []byte) (*Keyring, error) {
	if len(b) == 0 || len(b)%36 != 0 {
		return nil, fmt.Errorf("keyring of %d bytes is malformed", len(b))
	}
	r := &Keyring{Secrets: map[uint32]Secret{}}
	for ; len(b) > 0; b = b[36:] {
		var s Secret
		copy(s[:], b[4:36])
		r.Secrets[binary.BigEndian.Uint32(b)] = s
	}
	return r, nil
}
