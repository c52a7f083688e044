package tray

import (
	"context"
	"testing"
	"time"
)

// waitNaps waits until Idle has napped more than n times.
func waitNaps(t *testing.T, tr *Tray, n int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for tr.naps.Load() <= n {
		if time.Now().After(deadline) {
			t.Fatalf("Idle took no nap in 5s (open windows: %d)", tr.open.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestIdleNapsOnlyWithNoWindowOpen(t *testing.T) {
	tr, _ := newTestTray(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { tr.Idle(ctx); close(done) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("Idle did not return when its context ended")
		}
	}()
	waitNaps(t, tr, 0)

	tr.ShowSettings()
	tr.ShowConflicts()
	// Idle stops napping once it sees the windows: the count settles.
	var n int64
	for i := 0; ; i++ {
		n = tr.naps.Load()
		time.Sleep(3 * idleNap)
		if tr.naps.Load() == n {
			break
		}
		if i == 10 {
			t.Fatal("Idle keeps napping with two windows open")
		}
	}

	// Closing one of two windows keeps it awake; closing the last sends it
	// back to its naps.
	tr.settings.w.Hide()
	tr.closed(&tr.settingsOpen)
	time.Sleep(3 * idleNap)
	if got := tr.naps.Load(); got != n {
		t.Fatalf("Idle napped %d times with a window still open", got-n)
	}
	tr.conflicts.w.Hide()
	tr.closed(&tr.conflictsOpen)
	waitNaps(t, tr, n)
	if tr.open.Load() != 0 {
		t.Fatalf("open windows %d after closing both", tr.open.Load())
	}
}
