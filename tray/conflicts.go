package tray

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/jax-desktop/jax/app"
	"github.com/jax-desktop/jax/store/db"
)

// ConflictList is the window of unresolved conflict copies. Its fields are
// touched on the UI goroutine only.
type ConflictList struct {
	t      *Tray
	w      fyne.Window
	list   *widget.List
	items  []db.Conflict
	empty  *widget.Label
	reason *widget.Label
}

func newConflictList(t *Tray) *ConflictList {
	c := &ConflictList{t: t, w: t.fa.NewWindow("Jax Conflicts")}
	c.empty = widget.NewLabel("No conflicts. When two devices change the same file, the other device's version is kept as a copy and listed here.")
	c.empty.Wrapping = fyne.TextWrapWord
	c.reason = reasonLabel()
	c.list = widget.NewList(func() int { return len(c.items) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("report.txt\ncopy: report (conflict from device).txt")
			l.Wrapping = fyne.TextWrapWord
			return container.NewBorder(nil, nil, nil, container.NewHBox(
				widget.NewButton("Show", nil), widget.NewButton("Keep this one", nil),
				widget.NewButton("Keep the other", nil), widget.NewButton("Dismiss", nil)), l)
		},
		func(i widget.ListItemID, o fyne.CanvasObject) {
			k := c.items[i]
			box := o.(*fyne.Container)
			box.Objects[0].(*widget.Label).SetText(fmt.Sprintf("%s\nalso changed on %s · copy: %s", k.Path, c.deviceName(k.OtherDevice), filepath.Base(k.CopyPath)))
			btns := box.Objects[1].(*fyne.Container).Objects
			btns[0].(*widget.Button).OnTapped = func() { c.do(k, c.Show) }
			btns[1].(*widget.Button).OnTapped = func() { c.do(k, c.KeepThis) }
			btns[2].(*widget.Button).OnTapped = func() { c.do(k, c.KeepOther) }
			btns[3].(*widget.Button).OnTapped = func() { c.do(k, c.Dismiss) }
		})
	c.w.SetContent(container.NewBorder(container.NewVBox(c.empty, c.reason), nil, nil, nil, c.list))
	c.w.Resize(fyne.NewSize(760, 400))
	c.w.SetCloseIntercept(func() {
		c.w.Hide()
		t.closed(&t.conflictsOpen)
	})
	return c
}

func (c *ConflictList) deviceName(id []byte) string {
	devs, _ := c.t.a.DB.Devices()
	for _, d := range devs {
		if bytes.Equal(d.ID, id) {
			return d.Name
		}
	}
	return "another device"
}

func (c *ConflictList) reload() {
	c.items = openConflicts(c.t.a)
	if len(c.items) == 0 {
		c.empty.Show()
	} else {
		c.empty.Hide()
	}
	c.list.Refresh()
}

// do runs a button's action off the UI goroutine (it may write through a
// mount or wait on the file manager over D-Bus) and then shows its outcome.
// The returned channel closes once the window shows it.
func (c *ConflictList) do(k db.Conflict, f func(db.Conflict) error) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		err := f(k)
		fyne.DoAndWait(func() {
			if err != nil {
				c.reason.SetText(err.Error())
				return
			}
			c.reason.SetText("")
			c.reload()
			c.t.Refresh()
		})
	}()
	return done
}

// errNotMounted: the bucket has no running mount to show its files in.
var errNotMounted = errors.New("mount this bucket to see its files")

// paths returns the file and its copy in a running mount of the bucket.
func (c *ConflictList) paths(k db.Conflict) (string, string, error) {
	ms, err := c.t.a.Mounts.List()
	if err != nil {
		return "", "", err
	}
	for _, m := range ms {
		if m.BucketID == k.BucketID && m.Status == db.StatusRunning {
			return filepath.Join(m.MountPoint, k.Path), filepath.Join(m.MountPoint, k.CopyPath), nil
		}
	}
	return "", "", errNotMounted
}

// change edits a bucket that is not mounted, as a new version.
func (c *ConflictList) change(k db.Conflict, ch app.BucketChange) error {
	ch.Bucket = k.BucketID
	if _, err := c.t.a.Store.Change(context.Background(), ch); err != nil {
		return fmt.Errorf("%s %s: %w", ch.Op, ch.Path, err)
	}
	return nil
}

// Show shows the copy in the file manager.
func (c *ConflictList) Show(k db.Conflict) error {
	_, cp, err := c.paths(k)
	if err != nil {
		return err
	}
	return c.t.opt.Notifier.ShowFile(cp)
}

// KeepThis keeps the file that has the name and deletes the copy: through
// the mount if the bucket is mounted, else as a new version of the bucket.
func (c *ConflictList) KeepThis(k db.Conflict) error {
	_, cp, err := c.paths(k)
	switch {
	case errors.Is(err, errNotMounted):
		err = c.change(k, app.BucketChange{Op: "rm", Path: k.CopyPath})
	case err == nil:
		if err = os.Remove(cp); errors.Is(err, os.ErrNotExist) {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("delete the copy: %w", err)
	}
	return c.t.a.DB.ResolveConflict(k.ID)
}

// KeepOther puts the copy in the file's place.
func (c *ConflictList) KeepOther(k db.Conflict) error {
	p, cp, err := c.paths(k)
	switch {
	case errors.Is(err, errNotMounted):
		err = c.change(k, app.BucketChange{Op: "rm", Path: k.Path})
		if err == nil {
			err = c.change(k, app.BucketChange{Op: "mv", Path: k.CopyPath, To: k.Path})
		}
	case err == nil:
		err = os.Rename(cp, p)
	}
	if err != nil {
		return fmt.Errorf("keep the other version: %w", err)
	}
	return c.t.a.DB.ResolveConflict(k.ID)
}

// Dismiss keeps both files and drops the conflict from the list.
func (c *ConflictList) Dismiss(k db.Conflict) error { return c.t.a.DB.ResolveConflict(k.ID) }
