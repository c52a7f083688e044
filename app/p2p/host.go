// Package p2p is a device's network host: a libp2p host whose identity is
// the device's ed25519 key, speaking TCP and QUIC, with hole punching,
// AutoNAT, port mapping, mDNS on the LAN and static circuit relays.
//
// Invariants: protocols registered with Handle answer paired, not removed
// devices only; the pairing protocol is the one thing an unpaired peer may
// use. In loopback mode the host listens on 127.0.0.1 only, runs nothing
// that contacts other addresses, and its connection gater refuses any dial
// to a non-loopback address before a packet is sent.
//
// Paired devices are dialed at start, when mDNS finds them, and again with
// backoff whenever they drop, so whatever runs over the streams resumes
// after a cut.
package p2p

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
	"github.com/libp2p/go-libp2p/p2p/host/eventbus"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/jax-desktop/jax/store/db"
	"github.com/jax-desktop/jax/store/identity"
	"github.com/jax-desktop/jax/store/tree"
)

// Stream is a bidirectional byte stream to one device.
type Stream interface {
	io.ReadWriteCloser
	SetDeadline(time.Time) error
}

var _ Stream = network.Stream(nil)

// ErrNotPaired means a device is not paired with this one (or was removed).
var ErrNotPaired = errors.New("device is not paired with this one (pair it with 'jax device invite' and 'jax device pair')")

// Settings keys and the environment variable that configure the host.
const (
	SettingMode   = "network.mode"   // "loopback" or empty
	SettingListen = "network.listen" // multiaddrs to listen on, separated by commas or spaces
	SettingRelays = "network.relays" // static relays: full multiaddrs ending in /p2p/<id>
	EnvNetwork    = "JAX_NETWORK"    // "loopback" forces loopback mode
	ModeLoopback  = "loopback"
	mdnsService   = "_jax-desktop._udp"
)

// Config is what a Host needs.
type Config struct {
	Identity     *identity.Identity
	DB           *db.DB
	Loopback     bool     // listen on 127.0.0.1 only and contact nothing else
	ListenAddrs  []string // multiaddrs; empty: every interface, any port, TCP and QUIC
	StaticRelays []string // circuit relays to use when not reachable directly
	Log          *slog.Logger
}

// LoadSettings fills the network settings of c from the settings table and
// the environment (JAX_NETWORK=loopback wins over everything).
func (c *Config) LoadSettings(d *db.DB) error {
	mode, err := d.Setting(SettingMode, "")
	if err != nil {
		return err
	}
	switch mode {
	case "", "normal":
	case ModeLoopback:
		c.Loopback = true
	default:
		return fmt.Errorf("setting %s: unknown mode %q (want %q or empty)", SettingMode, mode, ModeLoopback)
	}
	if os.Getenv(EnvNetwork) == ModeLoopback {
		c.Loopback = true
	}
	listen, err := d.Setting(SettingListen, "")
	if err != nil {
		return err
	}
	relays, err := d.Setting(SettingRelays, "")
	if err != nil {
		return err
	}
	c.ListenAddrs, c.StaticRelays = splitList(listen), splitList(relays)
	return nil
}

func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' })
}

var (
	loopbackListen = []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"}
	defaultListen  = []string{"/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/udp/0/quic-v1", "/ip6/::/tcp/0", "/ip6/::/udp/0/quic-v1"}
)

// Host is a running network host.
type Host struct {
	h        host.Host
	db       *db.DB
	id       *identity.Identity
	self     tree.DeviceID
	loopback bool
	gater    *gater
	log      *slog.Logger
	mdns     io.Closer
	sub      event.Subscription
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	wake     chan struct{}
	backoff  [2]time.Duration // first and longest wait between redials

	// Owned by the event loop: watchers, and the peers identify has
	// finished with on a current connection. A peer counts as up only then:
	// a connection the other side refuses after the handshake (we were
	// removed there) never gets that far, so it does not flap up and down.
	watchers   []watcher
	identified map[peer.ID]bool

	mu          sync.Mutex // guards the fields below
	up          map[peer.ID]bool
	pending     map[peer.ID]bool // peers for the event loop to look at again
	newWatchers []watcher
	redialing   map[peer.ID]bool
	fails       map[peer.ID]*failures
	allFails    failures
}

type watcher struct{ up, down func(tree.DeviceID) }

// New starts a host.
func New(ctx context.Context, cfg Config) (*Host, error) {
	if cfg.Identity == nil || cfg.DB == nil {
		return nil, errors.New("network host: no identity or database")
	}
	if os.Getenv(EnvNetwork) == ModeLoopback || testing.Testing() {
		// The environment is the last word, and a test binary (or a daemon
		// it runs as a child) never reaches beyond this machine.
		cfg.Loopback = true
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	key, err := crypto.UnmarshalEd25519PrivateKey(cfg.Identity.Sign)
	if err != nil {
		return nil, fmt.Errorf("network host: device key: %w", err)
	}
	g := &gater{loopback: cfg.Loopback, db: cfg.DB, log: log}
	listen := cfg.ListenAddrs
	if len(listen) == 0 {
		listen = defaultListen
	}
	if cfg.Loopback && !allLoopback(listen) {
		listen = loopbackListen
	}
	for _, a := range listen {
		if _, err := ma.NewMultiaddr(a); err != nil {
			return nil, fmt.Errorf("network host: listen address %q: %w", a, err)
		}
	}
	opts := []libp2p.Option{
		libp2p.Identity(key),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Transport(quic.NewTransport),
		libp2p.ConnectionGater(g),
		libp2p.SwarmOpts(swarm.WithDialRanker(dialRanker)),
		libp2p.DisableMetrics(),
		libp2p.UserAgent("jax"),
	}
	if cfg.Loopback {
		opts = append(opts,
			libp2p.DisableRelay(),
			libp2p.MultiaddrResolver(noDNS{}),
			libp2p.ForceReachabilityPrivate(), // no AutoNAT probes
			libp2p.DisableIdentifyAddressDiscovery(),
			libp2p.AddrsFactory(func(as []ma.Multiaddr) []ma.Multiaddr {
				return slices.DeleteFunc(slices.Clone(as), func(a ma.Multiaddr) bool { return !isLoopback(a) })
			}),
		)
	} else {
		opts = append(opts, libp2p.NATPortMap(), libp2p.EnableHolePunching(), libp2p.EnableNATService())
		if len(cfg.StaticRelays) > 0 {
			var relays []peer.AddrInfo
			for _, r := range cfg.StaticRelays {
				ai, err := peer.AddrInfoFromString(r)
				if err != nil {
					return nil, fmt.Errorf("network host: relay %q (want a multiaddr ending in /p2p/<id>): %w", r, err)
				}
				relays = append(relays, *ai)
			}
			opts = append(opts, libp2p.EnableAutoRelayWithStaticRelays(relays))
		}
	}
	// With no listen addresses set, listen on the ports of the last run if
	// they are free: devices that only know the old addresses still reach
	// this one after both restarted.
	var lh host.Host
	if last := splitList(lastListen(cfg.DB)); len(cfg.ListenAddrs) == 0 && len(last) > 0 && allLoopback(last) == cfg.Loopback {
		lh, err = libp2p.New(append(opts, libp2p.ListenAddrStrings(last...))...)
		if err == nil && len(lh.Network().ListenAddresses()) < len(last) {
			lh.Close()
			err = errors.New("some ports are taken")
		}
		if err != nil {
			lh = nil
			log.Info("network: the ports of the last run are not free; listening on new ones", "err", err)
		}
	}
	if lh == nil {
		if lh, err = libp2p.New(append(opts, libp2p.ListenAddrStrings(listen...))...); err != nil {
			return nil, fmt.Errorf("network host: %w", err)
		}
	}
	if len(cfg.ListenAddrs) == 0 {
		cfg.DB.SetSetting(settingLastListen, strings.Join(addrStrings(lh.Network().ListenAddresses()), " "))
	}
	sub, err := lh.EventBus().Subscribe([]any{new(event.EvtPeerConnectednessChanged), new(event.EvtPeerIdentificationCompleted)}, eventbus.BufSize(256))
	if err != nil {
		lh.Close()
		return nil, err
	}
	hctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	h := &Host{
		h: lh, db: cfg.DB, id: cfg.Identity, self: cfg.Identity.ID(), loopback: cfg.Loopback, gater: g, log: log,
		sub: sub, ctx: hctx, cancel: cancel, wake: make(chan struct{}, 1),
		backoff:    [2]time.Duration{time.Second, time.Minute},
		identified: map[peer.ID]bool{},
		up:         map[peer.ID]bool{}, pending: map[peer.ID]bool{}, redialing: map[peer.ID]bool{}, fails: map[peer.ID]*failures{},
	}
	if cfg.Loopback {
		h.backoff = [2]time.Duration{200 * time.Millisecond, 5 * time.Second}
	}
	lh.SetStreamHandler(PairProtocol, h.servePair)
	h.wg.Add(1)
	go h.loop()
	if !cfg.Loopback {
		m := mdns.NewMdnsService(lh, mdnsService, h)
		if err := m.Start(); err != nil {
			log.Warn("LAN discovery (mDNS) is off", "err", err)
		} else {
			h.mdns = m
		}
	}
	// Dial every paired device in the background.
	devs, err := cfg.DB.PeerDevices()
	if err != nil {
		h.Close()
		return nil, err
	}
	for _, d := range devs {
		if d.Paired() && len(d.ID) == len(tree.DeviceID{}) {
			h.recheck(PeerID(tree.DeviceID(d.ID)))
		}
	}
	log.Info("network up", "peer", lh.ID(), "addrs", h.Addrs(), "loopback", cfg.Loopback)
	return h, nil
}

// localQUICDelay is how long a QUIC dial to a loopback or LAN address
// waits for a TCP dial to the same group to get through first.
const localQUICDelay = 250 * time.Millisecond

// dialRanker is libp2p's default ranking except on loopback and the LAN,
// where TCP is dialed first and QUIC only if TCP has not connected after
// localQUICDelay. Bulk transfers over TCP with TLS cost a third of the CPU
// of QUIC (which encrypts and acknowledges each ~1.2 KB packet in user
// space), and there is no NAT to punch through. Public addresses keep
// QUIC first: it gets through NATs more often.
func dialRanker(addrs []ma.Multiaddr) []network.AddrDelay {
	out := swarm.DefaultDialRanker(addrs)
	local := func(a ma.Multiaddr) bool { return manet.IsPrivateAddr(a) && !isRelay(a) }
	tcpFirst := time.Duration(-1)
	for _, d := range out {
		if local(d.Addr) && isTCP(d.Addr) && (tcpFirst < 0 || d.Delay < tcpFirst) {
			tcpFirst = d.Delay
		}
	}
	if tcpFirst < 0 {
		return out
	}
	for i, d := range out {
		switch {
		case !local(d.Addr):
		case isTCP(d.Addr):
			out[i].Delay -= tcpFirst
		case isQUIC(d.Addr):
			out[i].Delay += localQUICDelay
		}
	}
	slices.SortStableFunc(out, func(a, b network.AddrDelay) int { return int(a.Delay - b.Delay) })
	return out
}

func hasProtocol(a ma.Multiaddr, code int) bool {
	_, err := a.ValueForProtocol(code)
	return err == nil
}

func isTCP(a ma.Multiaddr) bool {
	return hasProtocol(a, ma.P_TCP) && !hasProtocol(a, ma.P_WS) && !hasProtocol(a, ma.P_WSS)
}
func isQUIC(a ma.Multiaddr) bool  { return hasProtocol(a, ma.P_QUIC_V1) || hasProtocol(a, ma.P_QUIC) }
func isRelay(a ma.Multiaddr) bool { return hasProtocol(a, ma.P_CIRCUIT) }

// settingLastListen holds the addresses (with ports) the host last listened on.
const settingLastListen = "network.last_listen"

func lastListen(d *db.DB) string {
	v, _ := d.Setting(settingLastListen, "")
	return v
}

func addrStrings(as []ma.Multiaddr) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.String())
	}
	return out
}

func allLoopback(addrs []string) bool {
	for _, s := range addrs {
		a, err := ma.NewMultiaddr(s)
		if err != nil || !isLoopback(a) {
			return false
		}
	}
	return true
}

// Close stops the host and every background dial.
func (h *Host) Close() error {
	h.cancel()
	if h.mdns != nil {
		h.mdns.Close()
	}
	// Unsubscribe first: the event bus blocks on a subscriber that stopped
	// reading, and closing the host emits an event per connection.
	h.sub.Close()
	err := h.h.Close()
	h.wg.Wait()
	return err
}

// PeerID is this device's libp2p peer id.
func (h *Host) PeerID() string { return h.h.ID().String() }

// Addrs are the addresses this device can be reached at, each ending in
// /p2p/<peer id>.
func (h *Host) Addrs() []string {
	var out []string
	for _, a := range h.h.Addrs() {
		out = append(out, a.String()+"/p2p/"+h.h.ID().String())
	}
	return out
}

// Loopback reports whether the host runs in loopback-only mode.
func (h *Host) Loopback() bool { return h.loopback }

// Handle serves a protocol for paired, not removed devices only; streams
// from anyone else are reset and logged. fn owns the stream and closes it.
func (h *Host) Handle(proto string, fn func(dev tree.DeviceID, s Stream)) {
	h.h.SetStreamHandler(protocol.ID(proto), func(s network.Stream) {
		p := s.Conn().RemotePeer()
		dev, err := DeviceID(p)
		if err != nil || !h.paired(dev) {
			h.log.Warn("refused a stream from a device that is not paired", "protocol", proto, "peer", p)
			s.Reset()
			return
		}
		fn(dev, s)
	})
}

// Open dials a paired device if need be and opens a stream to it.
func (h *Host) Open(ctx context.Context, dev tree.DeviceID, proto string) (Stream, error) {
	var err error
	// A second try: a connection can die between Connect and NewStream (the
	// other side closed or refused it), and the next attempt uses another.
	for try := 0; try < 2; try++ {
		if try > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
		if err = h.Connect(ctx, dev); err != nil {
			if errors.Is(err, ErrNotPaired) {
				return nil, err
			}
			continue
		}
		var s network.Stream
		if s, err = h.h.NewStream(ctx, PeerID(dev), protocol.ID(proto)); err == nil {
			return s, nil
		}
		err = fmt.Errorf("open %s to device %s: %w", proto, dev.Short(), err)
	}
	return nil, err
}

// Connect dials a paired device at its known addresses (from the devices
// table and what the host learned), unless it is connected already.
func (h *Host) Connect(ctx context.Context, dev tree.DeviceID) error {
	d, err := h.db.PeerDevice(dev[:])
	if errors.Is(err, db.ErrNotFound) || err == nil && !d.Paired() {
		return fmt.Errorf("device %s: %w", dev.Short(), ErrNotPaired)
	}
	if err != nil {
		return err
	}
	p := PeerID(dev)
	if h.h.Network().Connectedness(p) == network.Connected {
		return nil
	}
	addrs := h.usable(parseAddrs(d.Addresses))
	if len(addrs) == 0 && len(h.usable(h.h.Peerstore().Addrs(p))) == 0 {
		return fmt.Errorf("device %s (%s): no known address to reach it at", d.Name, dev.Short())
	}
	h.h.Peerstore().AddAddrs(p, addrs, peerstore.RecentlyConnectedAddrTTL)
	if sw, ok := h.h.Network().(*swarm.Swarm); ok {
		sw.Backoff().Clear(p) // our own backoff paces redials; addresses may have changed
	}
	if err := h.h.Connect(ctx, peer.AddrInfo{ID: p, Addrs: addrs}); err != nil {
		return fmt.Errorf("connect to device %s (%s): %w", d.Name, dev.Short(), err)
	}
	return nil
}

// Connected lists the paired devices connected now.
func (h *Host) Connected() []tree.DeviceID {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []tree.DeviceID
	for p := range h.up {
		if d, err := DeviceID(p); err == nil {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b tree.DeviceID) int { return strings.Compare(string(a[:]), string(b[:])) })
	return out
}

// Watch calls up(dev) when a paired device connects (and at once for each
// connected now) and down(dev) when its last connection closes or it is
// removed. Calls come from one goroutine, in order; they should not block.
func (h *Host) Watch(up, down func(dev tree.DeviceID)) {
	h.mu.Lock()
	h.newWatchers = append(h.newWatchers, watcher{up, down})
	h.mu.Unlock()
	h.poke()
}

// Disconnect closes every connection to a device. It reconnects later only
// if it is still paired; after a removal it does not.
func (h *Host) Disconnect(dev tree.DeviceID) {
	p := PeerID(dev)
	h.h.Network().ClosePeer(p)
	h.recheck(p)
}

// Refused counts dials the loopback gater refused.
func (h *Host) Refused() int64 { return h.gater.refused.Load() }

func (h *Host) paired(dev tree.DeviceID) bool {
	ok, err := h.db.IsPaired(dev[:])
	if err != nil {
		h.log.Error("look up device", "device", dev.Short(), "err", err)
	}
	return ok
}

// usable keeps the addresses this host may dial: loopback ones in loopback
// mode, others otherwise.
func (h *Host) usable(addrs []ma.Multiaddr) []ma.Multiaddr {
	var out []ma.Multiaddr
	for _, a := range addrs {
		if a == nil || manet.IsIPUnspecified(a) || isLoopback(a) != h.loopback {
			continue
		}
		out = append(out, a)
	}
	return out
}

func parseAddrs(js string) []ma.Multiaddr {
	var ss []string
	json.Unmarshal([]byte(js), &ss)
	var out []ma.Multiaddr
	for _, s := range ss {
		if a, err := ma.NewMultiaddr(s); err == nil {
			out = append(out, a)
		}
	}
	return out
}

func addrsJSON(addrs []ma.Multiaddr) string {
	ss := []string{}
	for _, a := range addrs {
		ss = append(ss, a.String())
	}
	b, _ := json.Marshal(ss)
	return string(b)
}

// recheck asks the event loop to look at a peer again.
func (h *Host) recheck(p peer.ID) {
	h.mu.Lock()
	h.pending[p] = true
	h.mu.Unlock()
	h.poke()
}

func (h *Host) poke() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// loop turns connection events into up/down calls and database updates.
func (h *Host) loop() {
	defer h.wg.Done()
	for {
		select {
		case <-h.ctx.Done():
			return
		case e, ok := <-h.sub.Out():
			if !ok {
				return
			}
			switch e := e.(type) {
			case event.EvtPeerConnectednessChanged:
				if e.Connectedness != network.Connected {
					delete(h.identified, e.Peer)
				}
				h.evaluate(e.Peer)
			case event.EvtPeerIdentificationCompleted:
				h.identified[e.Peer] = true
				h.saveAddrs(e)
				h.evaluate(e.Peer)
			}
		case <-h.wake:
			h.mu.Lock()
			ws, pend := h.newWatchers, h.pending
			h.newWatchers, h.pending = nil, map[peer.ID]bool{}
			h.mu.Unlock()
			for _, w := range ws {
				h.watchers = append(h.watchers, w)
				for _, d := range h.Connected() {
					w.up(d)
				}
			}
			for p := range pend {
				h.evaluate(p)
			}
		}
	}
}

// evaluate brings what watchers were told about p in line with whether it
// is connected and paired now, and starts redialing a paired device that
// is not connected.
func (h *Host) evaluate(p peer.ID) {
	dev, err := DeviceID(p)
	if err != nil || dev == h.self {
		return
	}
	connected := h.h.Network().Connectedness(p) == network.Connected
	paired := h.paired(dev)
	isUp := connected && paired && h.identified[p]
	h.mu.Lock()
	was := h.up[p]
	if isUp {
		h.up[p] = true
	} else {
		delete(h.up, p)
	}
	h.mu.Unlock()
	switch {
	case isUp && !was:
		if err := h.db.SeenDevice(dev[:], "", time.Now()); err != nil {
			h.log.Error("record device seen", "device", dev.Short(), "err", err)
		}
		h.log.Info("device connected", "device", dev.Short())
		for _, w := range h.watchers {
			w.up(dev)
		}
	case !isUp && was:
		h.db.SeenDevice(dev[:], "", time.Now())
		h.log.Info("device disconnected", "device", dev.Short())
		for _, w := range h.watchers {
			w.down(dev)
		}
	}
	if paired && !connected {
		h.redial(p, dev)
	}
}

// saveAddrs records where a paired device listens.
func (h *Host) saveAddrs(e event.EvtPeerIdentificationCompleted) {
	dev, err := DeviceID(e.Peer)
	if err != nil || !h.paired(dev) {
		return
	}
	addrs := h.usable(e.ListenAddrs)
	if len(addrs) == 0 {
		return
	}
	if err := h.db.SeenDevice(dev[:], addrsJSON(addrs), time.Now()); err != nil {
		h.log.Error("record device addresses", "device", dev.Short(), "err", err)
	}
}

// redial dials a paired device until it is up (connected and identified),
// removed, or the host closes, waiting longer after each attempt. A
// connection the other side refuses after the handshake counts as a
// failure, so such a device is retried at the backoff's pace.
func (h *Host) redial(p peer.ID, dev tree.DeviceID) {
	h.mu.Lock()
	if h.redialing[p] || h.ctx.Err() != nil {
		h.mu.Unlock()
		return
	}
	h.redialing[p] = true
	h.wg.Add(1)
	h.mu.Unlock()
	go func() {
		defer h.wg.Done()
		wait := h.backoff[0]
		for {
			// Decided under mu, so a drop right after is seen by a new redial.
			h.mu.Lock()
			if h.ctx.Err() != nil || h.up[p] || !h.paired(dev) {
				delete(h.redialing, p)
				h.mu.Unlock()
				return
			}
			h.mu.Unlock()
			if h.h.Network().Connectedness(p) != network.Connected {
				ctx, cancel := context.WithTimeout(h.ctx, 30*time.Second)
				err := h.Connect(ctx, dev)
				cancel()
				if err != nil {
					h.log.Debug("redial", "device", dev.Short(), "err", err, "next", wait)
				}
			}
			t := time.NewTimer(wait/2 + rand.N(wait/2+1))
			select {
			case <-h.ctx.Done():
				t.Stop()
			case <-t.C:
			}
			wait = min(2*wait, h.backoff[1])
		}
	}()
}

// HandlePeerFound is called by mDNS for every host it finds on the LAN;
// paired devices among them get dialed.
func (h *Host) HandlePeerFound(ai peer.AddrInfo) {
	if ai.ID == h.h.ID() {
		return
	}
	dev, err := DeviceID(ai.ID)
	if err != nil || !h.paired(dev) {
		return
	}
	h.h.Peerstore().AddAddrs(ai.ID, h.usable(ai.Addrs), peerstore.TempAddrTTL)
	h.redial(ai.ID, dev)
}
