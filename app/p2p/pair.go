package p2p

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"filippo.io/age"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/jax-desktop/jax/store/db"
)

// PairProtocol is the one protocol a peer that is not paired may use.
//
// The invited device sends one JSON line {token, name, recipient, addrs};
// the inviter checks the token (known, unused, unexpired), records the
// device as paired and answers with its own card {name, recipient, addrs}
// or {error}. The invited device records the inviter and answers {done},
// so the inviter tells its watchers only once both sides know each other.
const PairProtocol = "/jax/pair/1"

// Pairing limits.
const (
	DefaultInviteTTL = time.Hour
	MaxInviteTTL     = 7 * 24 * time.Hour
	pairTimeout      = 30 * time.Second
	failWindow       = 10 * time.Minute
	maxPeerFails     = 5  // failed attempts per peer in failWindow
	maxAllFails      = 50 // failed attempts from anyone in failWindow
	maxMessage       = 64 << 10
)

// ErrPairRefused means the other device refused to pair.
var ErrPairRefused = errors.New("pairing refused")

type pairRequest struct {
	Token     []byte   `json:"token"`
	Name      string   `json:"name"`
	Recipient string   `json:"recipient"`
	Addrs     []string `json:"addrs"`
}

type pairReply struct {
	Error     string   `json:"error,omitempty"`
	Name      string   `json:"name,omitempty"`
	Recipient string   `json:"recipient,omitempty"`
	Addrs     []string `json:"addrs,omitempty"`
	Done      bool     `json:"done,omitempty"`
}

type failures struct {
	n     int
	since time.Time
}

// count returns the failures in the current window.
func (f *failures) count(now time.Time) int {
	if now.Sub(f.since) > failWindow {
		f.n, f.since = 0, now
	}
	return f.n
}

// Invite makes a one-time invite valid for ttl (DefaultInviteTTL if 0) and
// stores its token's hash.
func (h *Host) Invite(ttl time.Duration) (Invite, error) {
	if ttl == 0 {
		ttl = DefaultInviteTTL
	}
	if ttl < 0 || ttl > MaxInviteTTL {
		return Invite{}, fmt.Errorf("an invite may be valid from a second to %s, not %s", MaxInviteTTL, ttl)
	}
	self, err := h.db.PeerDevice(h.self[:])
	if err != nil {
		return Invite{}, err
	}
	inv := Invite{Device: h.self, Name: self.Name, Recipient: h.id.Recipient(), Expires: time.Now().Add(ttl).Truncate(time.Second)}
	for _, a := range h.h.Addrs() {
		inv.Addrs = append(inv.Addrs, a.String())
	}
	if len(inv.Addrs) == 0 {
		return Invite{}, errors.New("this device has no network address to be reached at")
	}
	rand.Read(inv.Token[:])
	hash := sha256.Sum256(inv.Token[:])
	if err := h.db.AddInvite(hash[:], time.Now(), inv.Expires); err != nil {
		return Invite{}, err
	}
	h.log.Info("made an invite", "expires", inv.Expires)
	return inv, nil
}

// Pair pairs with the device that made inv: it connects, proves the token,
// and records the inviter as paired.
func (h *Host) Pair(ctx context.Context, inv Invite) (db.PeerDevice, error) {
	var none db.PeerDevice
	if inv.Device == h.self {
		return none, errors.New("this invite was made by this device: use it on the other device")
	}
	if time.Now().After(inv.Expires) {
		return none, fmt.Errorf("the invite from %q expired at %s: %w", inv.Name, inv.Expires.Format(time.DateTime), db.ErrInviteExpired)
	}
	p := PeerID(inv.Device)
	var addrs []ma.Multiaddr
	for _, s := range inv.Addrs {
		if a, err := ma.NewMultiaddr(s); err == nil {
			addrs = append(addrs, a)
		}
	}
	addrs = h.usable(addrs)
	if len(addrs) == 0 && h.h.Network().Connectedness(p) != network.Connected {
		return none, fmt.Errorf("no address in the invite from %q can be dialed from here (loopback mode: %v)", inv.Name, h.loopback)
	}
	ctx, cancel := context.WithTimeout(ctx, pairTimeout)
	defer cancel()
	h.h.Peerstore().AddAddrs(p, addrs, peerstore.TempAddrTTL)
	if sw, ok := h.h.Network().(*swarm.Swarm); ok {
		sw.Backoff().Clear(p)
	}
	self, err := h.db.PeerDevice(h.self[:])
	if err != nil {
		return none, err
	}
	req := pairRequest{Token: inv.Token[:], Name: self.Name, Recipient: h.id.Recipient()}
	for _, a := range h.h.Addrs() {
		req.Addrs = append(req.Addrs, a.String())
	}
	// Retried until an answer comes: a connection made just before (a
	// device removed there redials until it pairs again) may be one the
	// other side already refused and is closing.
	var s network.Stream
	var rep pairReply
	for try := 0; ; try++ {
		s, err = h.askPair(ctx, p, addrs, req, &rep)
		if err == nil {
			break
		}
		if try == 4 || ctx.Err() != nil {
			return none, fmt.Errorf("pair with %q: %w", inv.Name, err)
		}
		h.log.Debug("pairing: retry", "err", err)
		h.h.Network().ClosePeer(p)
		if sw, ok := h.h.Network().(*swarm.Swarm); ok {
			sw.Backoff().Clear(p)
		}
		time.Sleep(time.Duration(try+1) * 100 * time.Millisecond)
	}
	defer s.Close()
	if rep.Error != "" {
		return none, fmt.Errorf("%w by %q: %s", ErrPairRefused, inv.Name, rep.Error)
	}
	if _, err := age.ParseX25519Recipient(rep.Recipient); err != nil {
		return none, fmt.Errorf("pair with %q: it sent a bad key", inv.Name)
	}
	name := cleanName(rep.Name)
	if name == "" {
		name = inv.Name
	}
	known := append(addrs, h.usable(parseStrings(rep.Addrs))...)
	dev := db.Device{ID: inv.Device[:], Name: name, Recipient: rep.Recipient, Addresses: addrsJSON(dedup(known))}
	if err := h.db.PairDevice(dev, time.Now()); err != nil {
		return none, err
	}
	h.log.Info("paired", "device", inv.Device.Short(), "name", name)
	h.recheck(p)
	writeMsg(s, pairReply{Done: true})
	return h.db.PeerDevice(inv.Device[:])
}

// askPair connects, sends the request and reads the answer.
func (h *Host) askPair(ctx context.Context, p peer.ID, addrs []ma.Multiaddr, req pairRequest, rep *pairReply) (network.Stream, error) {
	if err := h.h.Connect(ctx, peer.AddrInfo{ID: p, Addrs: addrs}); err != nil {
		return nil, err
	}
	s, err := h.h.NewStream(ctx, p, PairProtocol)
	if err != nil {
		return nil, err
	}
	dl, _ := ctx.Deadline()
	s.SetDeadline(dl)
	rd := bufio.NewReader(io.LimitReader(s, maxMessage))
	if err = writeMsg(s, req); err == nil {
		err = readMsg(rd, rep)
	}
	if err != nil {
		s.Reset()
		return nil, err
	}
	return s, nil
}

// servePair answers the pairing protocol on the inviter's side.
func (h *Host) servePair(s network.Stream) {
	defer s.Close()
	p := s.Conn().RemotePeer()
	dev, err := DeviceID(p)
	if err != nil {
		s.Reset()
		return
	}
	now := time.Now()
	if h.tooManyFails(p, now) {
		h.log.Warn("refused pairing: too many failed attempts", "device", dev.Short())
		writeMsg(s, pairReply{Error: "too many failed attempts; wait a few minutes and make a new invite"})
		return
	}
	s.SetDeadline(now.Add(pairTimeout))
	rd := bufio.NewReader(io.LimitReader(s, maxMessage))
	var req pairRequest
	if err := readMsg(rd, &req); err != nil {
		h.failed(p, now)
		h.log.Warn("refused pairing: bad request", "device", dev.Short(), "err", err)
		s.Reset()
		return
	}
	refuse := func(why error) {
		h.failed(p, now)
		h.log.Warn("refused pairing", "device", dev.Short(), "name", cleanName(req.Name), "reason", why)
		writeMsg(s, pairReply{Error: why.Error()})
	}
	if _, err := age.ParseX25519Recipient(req.Recipient); err != nil || len(req.Token) != 16 {
		refuse(errors.New("malformed pairing request"))
		return
	}
	if dev == h.self {
		refuse(errors.New("a device cannot pair with itself"))
		return
	}
	name := cleanName(req.Name)
	if name == "" {
		name = dev.Short()
	}
	hash := sha256.Sum256(req.Token)
	addrs := h.usable(parseStrings(req.Addrs))
	err = h.db.RedeemInvite(hash[:], db.Device{ID: dev[:], Name: name, Recipient: req.Recipient, Addresses: addrsJSON(dedup(addrs))}, now)
	if err != nil {
		refuse(err)
		return
	}
	self, err := h.db.PeerDevice(h.self[:])
	if err != nil {
		h.log.Error("pairing: read this device", "err", err)
		s.Reset()
		return
	}
	rep := pairReply{Name: self.Name, Recipient: h.id.Recipient()}
	for _, a := range h.h.Addrs() {
		rep.Addrs = append(rep.Addrs, a.String())
	}
	h.log.Info("paired", "device", dev.Short(), "name", name)
	if err := writeMsg(s, rep); err == nil {
		var done pairReply
		readMsg(rd, &done) // wait until it recorded us too; on a timeout go on
	}
	h.recheck(p)
}

func (h *Host) tooManyFails(p peer.ID, now time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.allFails.count(now) >= maxAllFails {
		return true
	}
	f := h.fails[p]
	return f != nil && f.count(now) >= maxPeerFails
}

func (h *Host) failed(p peer.ID, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.fails) > 1000 {
		clear(h.fails) // a crowd of peers: the global count still holds them back
	}
	f := h.fails[p]
	if f == nil {
		f = &failures{since: now}
		h.fails[p] = f
	}
	f.count(now)
	f.n++
	h.allFails.count(now)
	h.allFails.n++
}

func writeMsg(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

func readMsg(r *bufio.Reader, v any) error {
	line, err := r.ReadBytes('\n')
	if err != nil {
		return err
	}
	return json.Unmarshal(line, v)
}

func parseStrings(ss []string) []ma.Multiaddr {
	var out []ma.Multiaddr
	for _, s := range ss {
		if a, err := ma.NewMultiaddr(s); err == nil {
			out = append(out, a)
		}
	}
	return out
}

func dedup(addrs []ma.Multiaddr) []ma.Multiaddr {
	var out []ma.Multiaddr
	for _, a := range addrs {
		if !ma.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// PeerID is the inviter's peer id, for display before pairing.
func (inv Invite) PeerID() string { return PeerID(inv.Device).String() }
