package tray

import (
	"context"
	"time"

	"fyne.io/fyne/v2"
)

// idleNap bounds how long an action queued for the UI goroutine waits while
// no window is open.
const idleNap = 200 * time.Millisecond

// Idle keeps Fyne's main loop from waking 60 times a second while no window
// is open: that loop polls for window events on a fixed ticker even with no
// window (fyne-io/fyne#2506), which costs 1-2% of a core all day. Idle
// occupies the loop with short naps instead, so it polls a few times a
// second. The tray menu is served over D-Bus meanwhile; a clicked action
// runs at the end of the current nap. Returns when ctx ends.
func (t *Tray) Idle(ctx context.Context) {
	for ctx.Err() == nil {
		if t.open.Load() > 0 {
			select {
			case <-ctx.Done():
			case <-t.wake:
			}
			continue
		}
		fyne.DoAndWait(func() {
			t.naps.Add(1)
			select {
			case <-ctx.Done():
			case <-t.wake:
			case <-time.After(idleNap):
			}
		})
	}
}

// Wake ends the current nap at once, e.g. before a window is shown.
func (t *Tray) Wake() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// opened and closed count open windows (UI goroutine); Idle naps only when
// none is open, since a window must repaint at the loop's full rate.
func (t *Tray) opened(w *bool) {
	if !*w {
		*w = true
		t.open.Add(1)
	}
	t.Wake()
}

func (t *Tray) closed(w *bool) {
	if *w {
		*w = false
		t.open.Add(-1)
	}
	t.Wake() // Idle waits for a wake while a window is open
}
