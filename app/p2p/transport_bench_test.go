package p2p

import (
	"context"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	noise "github.com/libp2p/go-libp2p/p2p/security/noise"
	tls "github.com/libp2p/go-libp2p/p2p/security/tls"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
)

// Bulk transfer between two libp2p hosts on 127.0.0.1 by transport, with
// the CPU both sides use per GiB: why dialRanker prefers TCP nearby.

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchTransport(b *testing.B, listen string, opts ...libp2p.Option) {
	base := []libp2p.Option{libp2p.ListenAddrStrings(listen), libp2p.DisableRelay(), libp2p.DisableMetrics(),
		libp2p.ForceReachabilityPrivate()} // listening on 127.0.0.1 only, nothing to discover
	h1, err := libp2p.New(append(base, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	defer h1.Close()
	h2, err := libp2p.New(append(base, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	defer h2.Close()
	h2.SetStreamHandler("/bench/sink", func(s network.Stream) {
		io.Copy(io.Discard, s)
		s.Close()
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := h1.Connect(ctx, peer.AddrInfo{ID: h2.ID(), Addrs: h2.Addrs()}); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	const perOp = 256 // MiB
	b.SetBytes(perOp << 20)
	b.ResetTimer()
	c0 := cpuTime()
	for i := 0; i < b.N; i++ {
		s, err := h1.NewStream(ctx, h2.ID(), "/bench/sink")
		if err != nil {
			b.Fatal(err)
		}
		s.SetDeadline(time.Now().Add(time.Minute))
		for j := 0; j < perOp; j++ {
			if _, err := s.Write(buf); err != nil {
				b.Fatal(err)
			}
		}
		s.CloseWrite()
		io.Copy(io.Discard, s) // until the sink closes: everything arrived
		s.Close()
	}
	b.ReportMetric((cpuTime()-c0).Seconds()/float64(b.N)*(1024/perOp), "cpu-s/GiB")
}

func BenchmarkTransportQUIC(b *testing.B) {
	benchTransport(b, "/ip4/127.0.0.1/udp/0/quic-v1", libp2p.Transport(quic.NewTransport))
}

func BenchmarkTransportTCPTLS(b *testing.B) {
	benchTransport(b, "/ip4/127.0.0.1/tcp/0", libp2p.Transport(tcp.NewTCPTransport), libp2p.Security(tls.ID, tls.New))
}

func BenchmarkTransportTCPNoise(b *testing.B) {
	benchTransport(b, "/ip4/127.0.0.1/tcp/0", libp2p.Transport(tcp.NewTCPTransport), libp2p.Security(noise.ID, noise.New))
}
