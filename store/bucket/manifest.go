package bucket

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"sort"

	"github.com/fxamacker/cbor/v2"

	"github.com/jax-desktop/jax/store/blob"
	"github.com/jax-desktop/jax/store/tree"
)

// manifestFormat is the Format of manifests this code writes and reads.
const manifestFormat = 1

// Role is what a device may do with a bucket.
type Role uint8

const (
	// Owner can read and write.
	Owner Role = 1
	// Mirror can read; its versions are refused.
	Mirror Role = 2
)

func (r Role) String() string {
	switch r {
	case Owner:
		return "owner"
	case Mirror:
		return "mirror"
	}
	return fmt.Sprintf("role(%d)", uint8(r))
}

// Share gives one device access to a bucket: its keyring wrapped to the
// device's X25519 key.
type Share struct {
	_         struct{} `cbor:",toarray"`
	Device    tree.DeviceID
	Name      string
	Role      Role
	Recipient string
	Keys      []byte
}

// Manifest is one immutable, signed version of a bucket. Its link (ID) is the
// blob ID of its encoding.
type Manifest struct {
	_       struct{} `cbor:",toarray"`
	Format  uint8
	Bucket  [16]byte
	Name    string
	Shares  []Share // sorted by device
	Root    blob.ID // sealed root directory
	Epoch   uint32  // key epoch the root was sealed with
	Parents []blob.ID
	Height  uint64
	Author  tree.DeviceID
	Time    int64 // unix nanoseconds
	Sig     []byte
}

// ErrBadManifest is wrapped by every manifest decoding or verification failure.
var ErrBadManifest = errors.New("invalid bucket version")

var (
	encMode cbor.EncMode
	decMode cbor.DecMode
)

func init() {
	var err error
	if encMode, err = cbor.CoreDetEncOptions().EncMode(); err != nil {
		panic(err)
	}
	// Limits keep hostile input from costing much memory.
	if decMode, err = (cbor.DecOptions{
		MaxNestedLevels:  16,
		MaxArrayElements: 1 << 20,
		MaxMapPairs:      1 << 16,
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
	}).DecMode(); err != nil {
		panic(err)
	}
}

func (m *Manifest) signedBytes() ([]byte, error) {
	c := *m
	c.Sig = nil
	b, err := encMode.Marshal(&c)
	if err != nil {
		return nil, err
	}
	return append([]byte("jax-desktop manifest v1\x00"), b...), nil
}

// Sign sets the signature and returns the encoded manifest.
func (m *Manifest) Sign(key ed25519.PrivateKey) ([]byte, error) {
	sort.Slice(m.Parents, func(i, j int) bool { return bytes.Compare(m.Parents[i][:], m.Parents[j][:]) < 0 })
	msg, err := m.signedBytes()
	if err != nil {
		return nil, err
	}
	m.Sig = ed25519.Sign(key, msg)
	return encMode.Marshal(m)
}

// DecodeManifest decodes a manifest and checks what can be checked from it
// alone: format, shape and the author's signature.
func DecodeManifest(raw []byte) (*Manifest, error) {
	var m Manifest
	if err := decMode.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%w: cannot decode (%v)", ErrBadManifest, err)
	}
	if m.Format != manifestFormat {
		return nil, fmt.Errorf("%w: unknown format %d", ErrBadManifest, m.Format)
	}
	if len(m.Sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: missing signature", ErrBadManifest)
	}
	if m.Height == 0 && len(m.Parents) != 0 || m.Height > 0 && len(m.Parents) == 0 {
		return nil, fmt.Errorf("%w: height %d does not fit %d previous versions", ErrBadManifest, m.Height, len(m.Parents))
	}
	for i := 1; i < len(m.Parents); i++ {
		if bytes.Compare(m.Parents[i-1][:], m.Parents[i][:]) >= 0 {
			return nil, fmt.Errorf("%w: previous versions not sorted or repeated", ErrBadManifest)
		}
	}
	for i := 1; i < len(m.Shares); i++ {
		if bytes.Compare(m.Shares[i-1].Device[:], m.Shares[i].Device[:]) >= 0 {
			return nil, fmt.Errorf("%w: shares not sorted or repeated", ErrBadManifest)
		}
	}
	msg, err := m.signedBytes()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadManifest, err)
	}
	if !ed25519.Verify(ed25519.PublicKey(m.Author[:]), msg, m.Sig) {
		return nil, fmt.Errorf("%w: signature does not match author %s", ErrBadManifest, m.Author.Short())
	}
	return &m, nil
}

// Share returns the share of one device, or nil.
func (m *Manifest) Share(d tree.DeviceID) *Share {
	for i := range m.Shares {
		if m.Shares[i].Device == d {
			return &m.Shares[i]
		}
	}
	return nil
}

// CanWrite reports whether a device may author versions after this one.
func (m *Manifest) CanWrite(d tree.DeviceID) bool {
	s := m.Share(d)
	return s != nil && s.Role == Owner
}

// DeviceName returns a device's name as recorded in the shares.
func (m *Manifest) DeviceName(d tree.DeviceID) string {
	if s := m.Share(d); s != nil && s.Name != "" {
		return s.Name
	}
	return d.Short()
}

// VerifyChild checks a manifest against its already verified parents: same
// bucket, height one above the highest parent, and an author who was an
// owner in every parent. A genesis manifest must be authored by an owner it
// lists itself.
func VerifyChild(m *Manifest, parents []*Manifest) error {
	if len(parents) != len(m.Parents) {
		return fmt.Errorf("%w: %d previous versions given for %d links", ErrBadManifest, len(parents), len(m.Parents))
	}
	if len(parents) == 0 {
		if m.Height != 0 || !m.CanWrite(m.Author) {
			return fmt.Errorf("%w: first version not authored by an owner", ErrBadManifest)
		}
		return nil
	}
	var max uint64
	for _, p := range parents {
		if p.Bucket != m.Bucket {
			return fmt.Errorf("%w: previous version belongs to another bucket", ErrBadManifest)
		}
		if p.Height > max {
			max = p.Height
		}
		if !p.CanWrite(m.Author) {
			return fmt.Errorf("%w: author %s may not write to this bucket", ErrBadManifest, m.Author.Short())
		}
	}
	if m.Height != max+1 {
		return fmt.Errorf("%w: height %d, expected %d", ErrBadManifest, m.Height, max+1)
	}
	return nil
}
