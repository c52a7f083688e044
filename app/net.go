package app

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/jax-desktop/jax/app/p2p"
	"github.com/jax-desktop/jax/store/db"
	"github.com/jax-desktop/jax/store/tree"
)

// ErrNetworkOff means the daemon runs without its network host (it failed
// to start; the daemon log says why).
var ErrNetworkOff = errors.New("the daemon's network is not running (see its log)")

// DeviceInfo is a device as the control API and 'jax device list' show it.
type DeviceInfo struct {
	Name      string     `json:"name"`
	ID        string     `json:"id"`
	Self      bool       `json:"self"`
	PeerID    string     `json:"peer_id"`
	Paired    bool       `json:"paired"`
	PairedAt  *time.Time `json:"paired_at,omitempty"`
	LastSeen  *time.Time `json:"last_seen,omitempty"`
	Addresses []string   `json:"addresses"`
	Online    *bool      `json:"online,omitempty"` // unknown without a daemon
}

// SelfInfo is this device and where it can be reached.
type SelfInfo struct {
	Name      string   `json:"name"`
	ID        string   `json:"id"`
	PeerID    string   `json:"peer_id"`
	Addresses []string `json:"addresses"` // empty without a daemon
	Loopback  bool     `json:"loopback,omitempty"`
}

// InviteRequest asks the daemon for an invite code.
type InviteRequest struct {
	TTLSecs int64 `json:"ttl_secs"` // 0: an hour
}

// InviteResponse is a new invite code.
type InviteResponse struct {
	Code    string    `json:"code"`
	Expires time.Time `json:"expires"`
}

// PairRequest pairs with the device that made an invite code.
type PairRequest struct {
	Code string `json:"code"`
}

// RenameRequest gives a device a new name.
type RenameRequest struct {
	Name string `json:"name"`
}

// RemoveResponse tells which buckets still share with a removed device.
type RemoveResponse struct {
	Device  DeviceInfo `json:"device"`
	Buckets []string   `json:"buckets"`
}

// startNet starts the network host. A failure leaves the daemon running
// without network (mounts still work) and is logged.
func (a *App) startNet(ctx context.Context) {
	cfg := p2p.Config{Identity: a.Buckets.ID, DB: a.DB, Log: a.log.With("part", "net")}
	err := cfg.LoadSettings(a.DB)
	if err == nil {
		a.Net, err = p2p.New(ctx, cfg)
	}
	if err != nil {
		a.log.Error("network is off", "err", err)
	}
}

func (a *App) network() (*p2p.Host, error) {
	if a.Net == nil {
		return nil, ErrNetworkOff
	}
	return a.Net, nil
}

func (a *App) netRoutes() {
	a.HandleFunc("GET /v1/devices", func(w http.ResponseWriter, r *http.Request) {
		var online []tree.DeviceID
		if a.Net != nil {
			online = a.Net.Connected()
		}
		devs, err := a.Devices(online, a.Net != nil)
		if err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, http.StatusOK, devs)
	})
	a.HandleFunc("GET /v1/devices/self", func(w http.ResponseWriter, r *http.Request) {
		self, err := a.Self()
		if err != nil {
			writeErr(w, err)
			return
		}
		if a.Net != nil {
			self.Addresses, self.Loopback = a.Net.Addrs(), a.Net.Loopback()
		}
		writeJSON(w, http.StatusOK, self)
	})
	a.HandleFunc("POST /v1/devices/invite", func(w http.ResponseWriter, r *http.Request) {
		var req InviteRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			badRequest(w, err)
			return
		}
		if req.TTLSecs < 0 || req.TTLSecs > int64(p2p.MaxInviteTTL/time.Second) {
			// Checked before converting: a huge count of seconds wraps around.
			badRequest(w, fmt.Errorf("an invite may be valid for up to %s, not %d seconds", p2p.MaxInviteTTL, req.TTLSecs))
			return
		}
		inv, _, err := a.Invite(time.Duration(req.TTLSecs)*time.Second, 0)
		if err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, http.StatusOK, inv)
	})
	a.HandleFunc("POST /v1/devices/pair", func(w http.ResponseWriter, r *http.Request) {
		var req PairRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			badRequest(w, err)
			return
		}
		info, err := a.Pair(r.Context(), req.Code)
		if err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, http.StatusOK, info)
	})
	a.HandleFunc("POST /v1/devices/{ref}/rename", func(w http.ResponseWriter, r *http.Request) {
		var req RenameRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			badRequest(w, err)
			return
		}
		info, err := a.RenameDevice(r.PathValue("ref"), req.Name)
		if err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, http.StatusOK, info)
	})
	a.HandleFunc("DELETE /v1/devices/{ref}", func(w http.ResponseWriter, r *http.Request) {
		res, err := a.RemoveDevice(r.PathValue("ref"))
		if err != nil {
			writeErr(w, err)
			return
		}
		if a.Net != nil {
			id, _ := hex.DecodeString(res.Device.ID)
			a.Net.Disconnect(tree.DeviceID(id))
		}
		writeJSON(w, http.StatusOK, res)
	})
}

// Invite makes a one-time invite code valid for ttl (0: an hour) and, with
// pngSize > 0, its QR code as a PNG that wide, for the GUI.
func (a *App) Invite(ttl time.Duration, pngSize int) (InviteResponse, []byte, error) {
	n, err := a.network()
	if err != nil {
		return InviteResponse{}, nil, err
	}
	inv, err := n.Invite(ttl)
	if err != nil {
		return InviteResponse{}, nil, err
	}
	res := InviteResponse{Code: inv.Code(), Expires: inv.Expires}
	var png []byte
	if pngSize > 0 {
		if png, err = p2p.InvitePNG(res.Code, pngSize); err != nil {
			return InviteResponse{}, nil, err
		}
	}
	return res, png, nil
}

// Pair pairs with the device that made an invite code.
func (a *App) Pair(ctx context.Context, code string) (DeviceInfo, error) {
	inv, err := p2p.ParseInvite(code)
	if err != nil {
		return DeviceInfo{}, fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	n, err := a.network()
	if err != nil {
		return DeviceInfo{}, err
	}
	d, err := n.Pair(ctx, inv)
	if err != nil {
		return DeviceInfo{}, err
	}
	return deviceInfo(d, true), nil
}

func deviceInfo(d db.PeerDevice, online bool) DeviceInfo {
	info := DeviceInfo{Name: d.Name, ID: hex.EncodeToString(d.ID), Self: d.IsSelf, Paired: d.Paired(), Addresses: []string{}}
	if len(d.ID) == len(tree.DeviceID{}) {
		info.PeerID = p2p.PeerID(tree.DeviceID(d.ID)).String()
	}
	if d.PairedAt != 0 {
		t := time.Unix(d.PairedAt, 0)
		info.PairedAt = &t
	}
	if d.LastSeen != 0 {
		t := time.Unix(d.LastSeen, 0)
		info.LastSeen = &t
	}
	json.Unmarshal([]byte(d.Addresses), &info.Addresses)
	if info.Addresses == nil {
		info.Addresses = []string{}
	}
	if online && !d.IsSelf {
		on := false
		info.Online = &on
	}
	return info
}

// Devices lists the known devices that were not removed, this one first.
// With known set, each is marked online if it is in online.
func (s *Store) Devices(online []tree.DeviceID, known bool) ([]DeviceInfo, error) {
	devs, err := s.DB.PeerDevices()
	if err != nil {
		return nil, err
	}
	out := []DeviceInfo{}
	for _, d := range devs {
		if d.RemovedAt != 0 {
			continue
		}
		info := deviceInfo(d, known)
		for _, o := range online {
			if info.Online != nil && string(o[:]) == string(d.ID) {
				*info.Online = true
			}
		}
		out = append(out, info)
	}
	return out, nil
}

// Self describes this device (addresses only come from a running host).
func (s *Store) Self() (SelfInfo, error) {
	id := s.Buckets.ID.ID()
	d, err := s.DB.PeerDevice(id[:])
	if err != nil {
		return SelfInfo{}, err
	}
	return SelfInfo{Name: d.Name, ID: id.String(), PeerID: p2p.PeerID(id).String(), Addresses: []string{}}, nil
}

// findDevice resolves a device reference; "" and "self" name this device.
func (s *Store) findDevice(ref string) (db.PeerDevice, error) {
	id := s.Buckets.ID.ID()
	if ref != "" && ref != "self" {
		d, err := s.FindDevice(ref)
		if err != nil {
			return db.PeerDevice{}, err
		}
		id = d.ID
	}
	return s.DB.PeerDevice(id[:])
}

// RenameDevice renames a device ("" or "self": this one). This device's
// new name goes into the shares of buckets it creates from now on, and to
// devices it pairs with; names already in shares stay as they were.
func (s *Store) RenameDevice(ref, name string) (DeviceInfo, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 64 || strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return DeviceInfo{}, fmt.Errorf("%w: a device name is 1 to 64 printable characters", ErrBadRequest)
	}
	d, err := s.findDevice(ref)
	if err != nil {
		return DeviceInfo{}, err
	}
	if err := s.DB.RenameDevice(d.ID, name); err != nil {
		return DeviceInfo{}, err
	}
	if d.IsSelf {
		s.Buckets.SetDeviceName(name)
	}
	d.Name = name
	return deviceInfo(d, false), nil
}

// RemoveDevice forgets a paired device: it may no longer connect. Its row
// stays, since buckets may still list it in their shares; those are
// returned, to be unshared.
func (s *Store) RemoveDevice(ref string) (RemoveResponse, error) {
	if ref == "" || ref == "self" {
		return RemoveResponse{}, fmt.Errorf("%w: this device cannot remove itself", ErrBadRequest)
	}
	d, err := s.findDevice(ref)
	if err != nil {
		return RemoveResponse{}, err
	}
	if d.IsSelf {
		return RemoveResponse{}, fmt.Errorf("%w: this device cannot remove itself", ErrBadRequest)
	}
	if err := s.DB.RemoveDevice(d.ID, time.Now()); err != nil {
		return RemoveResponse{}, err
	}
	res := RemoveResponse{Device: deviceInfo(d, false), Buckets: []string{}}
	res.Device.Paired = false
	res.Buckets, err = s.SharedWith(tree.DeviceID(d.ID))
	return res, err
}

// SharedWith lists the buckets whose current version shares with a device.
func (s *Store) SharedWith(dev tree.DeviceID) ([]string, error) {
	infos, err := s.Buckets.List()
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, info := range infos {
		b, err := s.Buckets.Open(info.ID)
		if err != nil {
			return nil, err
		}
		v, err := b.Current()
		if err != nil {
			return nil, fmt.Errorf("bucket %s: %w", info.Name, err)
		}
		if v.Manifest.Share(dev) != nil {
			out = append(out, info.Name)
		}
	}
	return out, nil
}
