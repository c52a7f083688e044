package p2p

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/jax-desktop/jax/store/db"
)

// gater decides which connections may exist. In loopback mode it refuses
// every address that is not loopback before anything is sent, so a stray
// address (from an invite, the database or a peer) never makes traffic.
// Removed devices may not connect, unless an invite is open (they may pair
// again).
type gater struct {
	loopback bool
	db       *db.DB
	log      *slog.Logger
	refused  atomic.Int64 // outbound dials refused for a non-loopback address
}

func isLoopback(a ma.Multiaddr) bool { return a != nil && manet.IsIPLoopback(a) }

func (g *gater) InterceptPeerDial(peer.ID) bool { return true }

func (g *gater) InterceptAddrDial(p peer.ID, a ma.Multiaddr) bool {
	if g.loopback && !isLoopback(a) {
		g.refused.Add(1)
		g.log.Debug("refused dial: loopback mode", "peer", p, "addr", a)
		return false
	}
	return true
}

func (g *gater) InterceptAccept(c network.ConnMultiaddrs) bool {
	return !g.loopback || isLoopback(c.RemoteMultiaddr())
}

func (g *gater) InterceptSecured(_ network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	dev, err := DeviceID(p)
	if err != nil {
		return true // not a device: it may only reach libp2p's own protocols and pairing
	}
	removed, err := g.db.IsRemoved(dev[:])
	if err != nil || !removed {
		return err == nil
	}
	if n, err := g.db.OpenInvites(time.Now()); err == nil && n > 0 {
		return true
	}
	g.log.Info("refused connection from a removed device", "device", dev.Short())
	return false
}

func (g *gater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }

// noDNS refuses to resolve names: in loopback mode a lookup would itself be
// traffic to another address.
type noDNS struct{}

var errNoDNS = errors.New("loopback mode: names are not resolved")

func (noDNS) ResolveDNSAddr(context.Context, peer.ID, ma.Multiaddr, int, int) ([]ma.Multiaddr, error) {
	return nil, errNoDNS
}

func (noDNS) ResolveDNSComponent(context.Context, ma.Multiaddr, int) ([]ma.Multiaddr, error) {
	return nil, errNoDNS
}
