package tray

import (
	"testing"
	"time"

	"github.com/jax-desktop/jax/app/dbustest"
)

// A session bus that accepts and never answers must not hold up start-up:
// both checks give up and report no bus, no tray.
func TestBusChecksGiveUpOnASilentBus(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", dbustest.Silent(t))
	for name, check := range map[string]func() bool{
		"SessionBus": SessionBus,
		"WaitHost":   func() bool { return WaitHost(0) },
	} {
		done := make(chan bool, 1)
		go func() { done <- check() }()
		select {
		case ok := <-done:
			if ok {
				t.Errorf("%s: a silent bus was taken for a working one", name)
			}
		case <-time.After(3*busTimeout + 5*time.Second):
			t.Fatalf("%s hung on a bus that does not answer", name)
		}
	}
}
