package p2p

import (
	"crypto/ed25519"
	"fmt"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/jax-desktop/jax/store/tree"
)

// PeerID is the libp2p peer id of a device. A device id is its ed25519
// public key, and an ed25519 peer id inlines that key, so the two convert
// without a lookup.
func PeerID(dev tree.DeviceID) peer.ID {
	pub, err := crypto.UnmarshalEd25519PublicKey(dev[:])
	if err != nil {
		panic(err) // only on a wrong length, which the array type rules out
	}
	id, err := peer.IDFromPublicKey(pub)
	if err != nil {
		panic(err)
	}
	return id
}

// DeviceID is the device id of a peer; it fails for peers whose key is not
// ed25519, which no device has.
func DeviceID(p peer.ID) (tree.DeviceID, error) {
	var d tree.DeviceID
	pub, err := p.ExtractPublicKey()
	if err != nil {
		return d, fmt.Errorf("peer %s: %w", p, err)
	}
	raw, err := pub.Raw()
	if err != nil || pub.Type() != crypto.Ed25519 || len(raw) != ed25519.PublicKeySize {
		return d, fmt.Errorf("peer %s has no ed25519 key", p)
	}
	copy(d[:], raw)
	return d, nil
}
