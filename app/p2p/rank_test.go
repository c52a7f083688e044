package p2p

import (
	"testing"

	"github.com/libp2p/go-libp2p/core/network"
	ma "github.com/multiformats/go-multiaddr"
)

func TestDialRankerLocalTCPFirst(t *testing.T) {
	addrs := func(ss ...string) []ma.Multiaddr {
		var out []ma.Multiaddr
		for _, s := range ss {
			out = append(out, ma.StringCast(s))
		}
		return out
	}
	delay := func(ds []network.AddrDelay, s string) int64 {
		for _, d := range ds {
			if d.Addr.String() == s {
				return int64(d.Delay)
			}
		}
		t.Fatalf("%s not ranked: %v", s, ds)
		return 0
	}
	for _, tc := range []struct{ tcp, quic string }{
		{"/ip4/127.0.0.1/tcp/4001", "/ip4/127.0.0.1/udp/4001/quic-v1"},
		{"/ip4/192.168.1.20/tcp/4001", "/ip4/192.168.1.20/udp/4001/quic-v1"},
	} {
		ds := dialRanker(addrs(tc.quic, tc.tcp))
		if len(ds) != 2 || delay(ds, tc.tcp) != 0 || delay(ds, tc.quic) < int64(localQUICDelay) {
			t.Fatalf("local addresses: %v", ds)
		}
	}
	// Public addresses keep QUIC first.
	ds := dialRanker(addrs("/ip4/1.2.3.4/tcp/4001", "/ip4/1.2.3.4/udp/4001/quic-v1"))
	if delay(ds, "/ip4/1.2.3.4/udp/4001/quic-v1") != 0 || delay(ds, "/ip4/1.2.3.4/tcp/4001") == 0 {
		t.Fatalf("public addresses: %v", ds)
	}
	// QUIC alone is dialed at once.
	ds = dialRanker(addrs("/ip4/127.0.0.1/udp/4001/quic-v1"))
	if len(ds) != 1 || ds[0].Delay != 0 {
		t.Fatalf("QUIC only: %v", ds)
	}
}

// Two devices on loopback, each listening on TCP and QUIC, talk over TCP.
func TestLoopbackUsesTCP(t *testing.T) {
	a, b := newDevice(t, "laptop"), newDevice(t, "desktop")
	pair(t, a, b)
	s, err := a.h.Open(ctx(t), b.id.ID(), "/test/echo")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	addr := s.(network.Stream).Conn().RemoteMultiaddr()
	if !isTCP(addr) {
		t.Fatalf("stream runs over %s, want TCP", addr)
	}
}
