package p2p

import (
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"filippo.io/age"
	"github.com/fxamacker/cbor/v2"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/skip2/go-qrcode"

	"github.com/jax-desktop/jax/store/tree"
)

// An invite code lets one other device pair with this one. It holds the
// inviter's id, addresses, name and X25519 recipient, a random one-time
// token (stored here only as a hash) and an expiry, as CBOR in base32 so it
// survives being read aloud, typed or put in an alphanumeric QR code.
const invitePrefix = "jaxinvite1-"

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// ErrBadInvite means a text is not an invite code.
var ErrBadInvite = errors.New("not an invite code (it starts with " + invitePrefix + "; make one with 'jax device invite')")

// Invite is a decoded invite code.
type Invite struct {
	Device    tree.DeviceID
	Name      string
	Recipient string
	Addrs     []string // multiaddrs without /p2p
	Token     [16]byte
	Expires   time.Time
}

type inviteWire struct {
	_         struct{} `cbor:",toarray"`
	Device    []byte
	Name      string
	Recipient string
	Addrs     [][]byte // binary multiaddrs
	Token     []byte
	Expires   int64 // unix seconds
}

// Code encodes the invite.
func (inv Invite) Code() string {
	w := inviteWire{Device: inv.Device[:], Name: inv.Name, Recipient: inv.Recipient, Token: inv.Token[:], Expires: inv.Expires.Unix()}
	for _, s := range inv.Addrs {
		if a, err := ma.NewMultiaddr(s); err == nil {
			w.Addrs = append(w.Addrs, a.Bytes())
		}
	}
	b, err := cbor.Marshal(w)
	if err != nil {
		panic(err) // plain fields always encode
	}
	return invitePrefix + strings.ToLower(b32.EncodeToString(b))
}

// ParseInvite decodes an invite code. Case and white space (a code wrapped
// over lines) do not matter.
func ParseInvite(code string) (Invite, error) {
	code = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return unicode.ToLower(r)
	}, code)
	if !strings.HasPrefix(code, invitePrefix) {
		return Invite{}, ErrBadInvite
	}
	raw, err := b32.DecodeString(strings.ToUpper(strings.TrimPrefix(code, invitePrefix)))
	if err != nil {
		return Invite{}, fmt.Errorf("%w: damaged (mistyped or cut short?)", ErrBadInvite)
	}
	var w inviteWire
	if err := cbor.Unmarshal(raw, &w); err != nil || len(w.Device) != len(tree.DeviceID{}) || len(w.Token) != 16 {
		return Invite{}, fmt.Errorf("%w: damaged (mistyped or cut short?)", ErrBadInvite)
	}
	if _, err := age.ParseX25519Recipient(w.Recipient); err != nil {
		return Invite{}, fmt.Errorf("%w: bad device key", ErrBadInvite)
	}
	inv := Invite{Device: tree.DeviceID(w.Device), Name: cleanName(w.Name), Recipient: w.Recipient, Token: [16]byte(w.Token), Expires: time.Unix(w.Expires, 0)}
	for _, b := range w.Addrs {
		a, err := ma.NewMultiaddrBytes(b)
		if err != nil {
			return Invite{}, fmt.Errorf("%w: bad address", ErrBadInvite)
		}
		inv.Addrs = append(inv.Addrs, a.String())
	}
	if inv.Name == "" {
		inv.Name = inv.Device.Short()
	}
	return inv, nil
}

// cleanName keeps a peer-supplied name printable and short.
func cleanName(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	if r := []rune(s); len(r) > 64 {
		s = string(r[:64])
	}
	return s
}

// qrText is what goes into the QR code: upper case, so the code fits the
// compact alphanumeric mode.
func qrText(code string) string { return strings.ToUpper(strings.TrimSpace(code)) }

// InvitePNG draws an invite code as a QR code PNG, size pixels wide.
func InvitePNG(code string, size int) ([]byte, error) {
	if size <= 0 {
		size = 512
	}
	return qrcode.Encode(qrText(code), qrcode.Medium, size)
}

// InviteQR draws an invite code as a QR code for a terminal, two rows of
// modules per line with half blocks. Light modules are drawn, as on a dark
// terminal; the quiet zone is two modules.
func InviteQR(code string) (string, error) {
	q, err := qrcode.New(qrText(code), qrcode.Low)
	if err != nil {
		return "", err
	}
	q.DisableBorder = true
	bm := q.Bitmap()
	const quiet = 2
	n := len(bm) + 2*quiet
	dark := func(y, x int) bool {
		y, x = y-quiet, x-quiet
		return y >= 0 && x >= 0 && y < len(bm) && x < len(bm) && bm[y][x]
	}
	var sb strings.Builder
	for y := 0; y < n; y += 2 {
		for x := 0; x < n; x++ {
			top, bottom := !dark(y, x), !dark(y+1, x) // light?
			switch {
			case top && bottom:
				sb.WriteRune('█')
			case top:
				sb.WriteRune('▀')
			case bottom:
				sb.WriteRune('▄')
			default:
				sb.WriteRune(' ')
			}
		}
		sb.WriteByte('\n')
	}
	return sb.String(), nil
}
