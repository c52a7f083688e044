package tray

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/jax-desktop/jax/app"
	"github.com/jax-desktop/jax/app/p2p"
	"github.com/jax-desktop/jax/fuse/manager"
	"github.com/jax-desktop/jax/store/bucket"
	"github.com/jax-desktop/jax/store/db"
	"github.com/jax-desktop/jax/store/tree"
)

// Settings is the settings window: Mounts, Buckets, Devices, General.
// Every field is touched on the UI goroutine only.
type Settings struct {
	t    *Tray
	w    fyne.Window
	tabs *container.AppTabs
	hint *widget.Label

	mounts  []db.Mount
	buckets []db.Bucket
	mount   mountForm
	bucket  bucketTab
	device  deviceTab
	general generalTab
}

type mountForm struct {
	list    *widget.List
	editing string // the mount shown in the form; "" for a new one

	bucket          *widget.Select
	point           *widget.Entry
	choose          *widget.Button
	auto, ro, on    *widget.Check
	size, ttl       *widget.Entry
	reason          *widget.Label
	add, save, del  *widget.Button
	mount, unmount  *widget.Button
	loading         bool // filling the form: no validation until done
	bucketIDForName map[string]string
}

type bucketTab struct {
	list        *widget.List
	selected    int
	name        *widget.Entry
	create      *widget.Button
	device      *widget.Select
	share       *widget.Button
	rename      *widget.Entry // the selected bucket's new name
	renameBt    *widget.Button
	renameShown bool // reason shows the rename form's problem
	path        *widget.Entry
	history     *widget.List
	changes     []bucket.PathChange
	reason      *widget.Label
}

type deviceTab struct {
	name, id  *widget.Label
	code      *widget.Entry // the last invite code made
	qr        *canvas.Image
	invite    *widget.Button
	paste     *widget.Entry
	pair      *widget.Button
	list      *widget.List
	devices   []app.DeviceInfo
	selected  int
	rename    *widget.Entry
	renameBtn *widget.Button
	remove    *widget.Button
	reason    *widget.Label
}

type generalTab struct {
	login, notify *widget.Check
	logs          *widget.Button
	reason        *widget.Label
}

func newSettings(t *Tray) *Settings {
	s := &Settings{t: t, w: t.fa.NewWindow("Jax Settings")}
	s.tabs = container.NewAppTabs(
		container.NewTabItem("Mounts", s.mountsTab()),
		container.NewTabItem("Buckets", s.bucketsTab()),
		container.NewTabItem("Devices", s.devicesTab()),
		container.NewTabItem("General", s.generalTab()),
	)
	s.hint = widget.NewLabel("")
	s.hint.Wrapping = fyne.TextWrapWord
	s.hint.Importance = widget.WarningImportance
	s.setHint(t.hint)
	s.w.SetContent(container.NewBorder(s.hint, nil, nil, nil, s.tabs))
	s.w.Resize(fyne.NewSize(820, 520))
	s.w.SetCloseIntercept(func() {
		if t.hint != "" { // no tray: closing the only window quits
			go t.opt.Quit()
			return
		}
		s.w.Hide()
		t.closed(&t.settingsOpen)
	})
	s.loadBuckets()
	s.loadDevices()
	s.mountsChanged()
	if len(s.mounts) > 0 {
		s.mount.list.Select(0)
	} else {
		s.newMount()
	}
	return s
}

// setHint shows a line above the tabs, or hides it when h is "".
func (s *Settings) setHint(h string) {
	s.hint.SetText(h)
	if h == "" {
		s.hint.Hide()
	} else {
		s.hint.Show()
	}
}

func reasonLabel() *widget.Label {
	l := widget.NewLabel("")
	l.Wrapping = fyne.TextWrapWord
	l.Importance = widget.DangerImportance
	return l
}

// ---- Mounts ----

func (s *Settings) mountsTab() fyne.CanvasObject {
	f := &s.mount
	f.list = widget.NewList(func() int { return len(s.mounts) },
		func() fyne.CanvasObject { return widget.NewLabel("bucket (running) — /a/long/mount/point") },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			m := s.mounts[i]
			o.(*widget.Label).SetText(fmt.Sprintf("%s (%s) — %s", s.bucketName(m.BucketID), m.Status, m.MountPoint))
		})
	f.list.OnSelected = func(i widget.ListItemID) { s.editMount(s.mounts[i].ID) }
	f.bucket = widget.NewSelect(nil, func(string) { s.validateMount() })
	f.point = widget.NewEntry()
	f.point.SetPlaceHolder("/home/you/Jax/bucket")
	f.point.OnChanged = func(string) { s.validateMount() }
	f.choose = widget.NewButton("Choose…", func() {
		dialog.ShowFolderOpen(func(u fyne.ListableURI, err error) {
			if err == nil && u != nil {
				f.point.SetText(u.Path())
			}
		}, s.w)
	})
	f.auto = widget.NewCheck("Mount at start", func(bool) { s.validateMount() })
	f.ro = widget.NewCheck("Read-only", func(bool) { s.validateMount() })
	f.on = widget.NewCheck("Enabled", func(bool) { s.validateMount() })
	f.size = widget.NewEntry()
	f.size.OnChanged = func(string) { s.validateMount() }
	f.ttl = widget.NewEntry()
	f.ttl.OnChanged = func(string) { s.validateMount() }
	f.reason = reasonLabel()
	f.add = widget.NewButton("New mount", func() { f.list.UnselectAll(); s.newMount() })
	f.save = widget.NewButton("Save", func() { s.saveMount() })
	f.save.Importance = widget.HighImportance
	f.del = widget.NewButton("Remove", func() { s.removeMount() })
	f.mount = widget.NewButton("Mount", func() { s.startStop(true) })
	f.unmount = widget.NewButton("Unmount", func() { s.startStop(false) })
	form := widget.NewForm(
		widget.NewFormItem("Bucket", f.bucket),
		widget.NewFormItem("Folder", container.NewBorder(nil, nil, nil, f.choose, f.point)),
		widget.NewFormItem("", container.NewHBox(f.auto, f.ro, f.on)),
		widget.NewFormItem("Cache size (MB)", f.size),
		widget.NewFormItem("Cache TTL (s)", f.ttl),
	)
	right := container.NewVBox(form, f.reason, container.NewHBox(f.save, f.mount, f.unmount, f.del))
	left := container.NewBorder(nil, f.add, nil, nil, f.list)
	split := container.NewHSplit(left, container.NewVScroll(right))
	split.Offset = 0.4
	return split
}

func (s *Settings) bucketName(id string) string {
	for _, b := range s.buckets {
		if b.ID == id {
			return b.Name
		}
	}
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// mountsChanged reloads the mount list after an event.
func (s *Settings) mountsChanged() {
	ms, err := s.t.a.Mounts.List()
	if err != nil {
		s.mount.reason.SetText(err.Error())
		return
	}
	first := len(s.mounts) == 0 && len(ms) > 0 && s.mount.editing == ""
	s.mounts = ms
	s.mount.list.Refresh()
	if first { // e.g. the first run's mount, made after the window opened
		s.mount.list.Select(0)
		return
	}
	s.updateMountButtons()
	s.validateMount()
}

func (s *Settings) current() (db.Mount, bool) {
	for _, m := range s.mounts {
		if m.ID == s.mount.editing {
			return m, true
		}
	}
	return db.Mount{}, false
}

func (s *Settings) updateMountButtons() {
	f := &s.mount
	m, ok := s.current()
	if !ok {
		f.mount.Disable()
		f.unmount.Disable()
		f.del.Disable()
		return
	}
	f.del.Enable()
	if m.Status == db.StatusRunning {
		f.mount.Disable()
		f.unmount.Enable()
	} else {
		f.unmount.Disable()
		if m.Enabled && m.Status != db.StatusStarting && m.Status != db.StatusStopping {
			f.mount.Enable()
		} else {
			f.mount.Disable()
		}
	}
}

func (s *Settings) fill(set manager.Settings) {
	f := &s.mount
	f.loading = true
	f.point.SetText(set.MountPoint)
	f.auto.SetChecked(set.AutoMount)
	f.ro.SetChecked(set.ReadOnly)
	f.on.SetChecked(set.Enabled)
	f.size.SetText(strconv.Itoa(set.CacheSizeMB))
	f.ttl.SetText(strconv.Itoa(set.CacheTTLSecs))
	f.loading = false
}

func (s *Settings) newMount() {
	f := &s.mount
	f.editing = ""
	f.bucket.Enable()
	f.bucket.ClearSelected()
	set := manager.DefaultSettings("")
	set.AutoMount = true
	s.fill(set)
	if len(s.buckets) > 0 {
		f.bucket.SetSelected(s.buckets[0].Name)
		if home, err := os.UserHomeDir(); err == nil {
			f.point.SetText(s.freeFolder(filepath.Join(home, "Jax", s.buckets[0].Name)))
		}
	}
	f.save.SetText("Add and mount")
	s.updateMountButtons()
	s.validateMount()
}

// freeFolder suggests p, or p-2, p-3… if a mount already uses it.
func (s *Settings) freeFolder(base string) string {
	p := base
	for i := 2; ; i++ {
		taken := false
		for _, m := range s.mounts {
			taken = taken || m.MountPoint == p
		}
		if !taken {
			return p
		}
		p = fmt.Sprintf("%s-%d", base, i)
	}
}

func (s *Settings) editMount(id string) {
	f := &s.mount
	f.editing = id
	m, ok := s.current()
	if !ok {
		return
	}
	f.bucket.SetSelected(s.bucketName(m.BucketID))
	f.bucket.Disable()
	s.fill(manager.Settings{MountPoint: m.MountPoint, AutoMount: m.AutoMount, ReadOnly: m.ReadOnly, Enabled: m.Enabled,
		CacheSizeMB: m.CacheSizeMB, CacheTTLSecs: m.CacheTTLSecs})
	f.save.SetText("Save")
	s.updateMountButtons()
	s.validateMount()
	if m.ErrorMessage != "" && m.Status == db.StatusError {
		f.reason.SetText("Last error: " + m.ErrorMessage)
	}
}

// formSettings reads the form, refusing values that cannot work.
func (s *Settings) formSettings() (manager.Settings, string, error) {
	f := &s.mount
	var set manager.Settings
	bucketID := f.bucketIDForName[f.bucket.Selected]
	if s.mount.editing == "" && bucketID == "" {
		return set, "", errors.New("choose a bucket to mount")
	}
	size, err := strconv.Atoi(strings.TrimSpace(f.size.Text))
	if err != nil {
		return set, "", errors.New("cache size must be a whole number of MB")
	}
	ttl, err := strconv.Atoi(strings.TrimSpace(f.ttl.Text))
	if err != nil {
		return set, "", errors.New("cache TTL must be a whole number of seconds")
	}
	set = manager.Settings{MountPoint: strings.TrimSpace(f.point.Text), AutoMount: f.auto.Checked, ReadOnly: f.ro.Checked,
		Enabled: f.on.Checked, CacheSizeMB: size, CacheTTLSecs: ttl}
	if strings.HasPrefix(set.MountPoint, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			set.MountPoint = filepath.Join(home, set.MountPoint[2:])
		}
	}
	if err := set.Validate(); err != nil {
		return set, "", err
	}
	set.MountPoint = filepath.Clean(set.MountPoint)
	cur, editing := s.current()
	if editing && cur.MountPoint == set.MountPoint {
		return set, bucketID, nil
	}
	for _, m := range s.mounts {
		if m.MountPoint == set.MountPoint {
			return set, "", fmt.Errorf("%s is already the folder of the %s mount", set.MountPoint, s.bucketName(m.BucketID))
		}
	}
	if editing && cur.Status == db.StatusRunning {
		return set, "", errors.New("unmount it before moving it to another folder")
	}
	fi, err := os.Stat(set.MountPoint)
	switch {
	case err == nil && !fi.IsDir():
		return set, "", fmt.Errorf("%s is a file, not a folder", set.MountPoint)
	case err == nil:
		if ents, err := os.ReadDir(set.MountPoint); err == nil && len(ents) > 0 {
			return set, "", fmt.Errorf("%s is not empty (%d entries): choose an empty or new folder", set.MountPoint, len(ents))
		}
	}
	return set, bucketID, nil
}

func (s *Settings) validateMount() {
	f := &s.mount
	if f.loading || f.reason == nil || f.save == nil {
		return
	}
	if _, _, err := s.formSettings(); err != nil {
		f.reason.SetText(err.Error())
		f.save.Disable()
		return
	}
	f.reason.SetText("")
	f.save.Enable()
}

func (s *Settings) saveMount() {
	f := &s.mount
	set, bucketID, err := s.formSettings()
	if err == nil {
		if f.editing == "" {
			var m db.Mount
			m, err = s.t.a.Mounts.Create(context.Background(), bucketID, set)
			if err == nil {
				f.editing = m.ID
				if set.Enabled {
					go s.t.a.Mounts.Start(context.Background(), m.ID) // its error shows in the list
				}
			}
		} else {
			_, err = s.t.a.Mounts.Update(f.editing, set)
		}
	}
	if err != nil {
		f.reason.SetText("Not saved: " + err.Error())
		return
	}
	f.reason.SetText("")
	s.mountsChanged()
	if f.editing != "" {
		s.editMount(f.editing)
	}
	s.t.Refresh()
}

func (s *Settings) removeMount() {
	id := s.mount.editing
	if id == "" {
		return
	}
	dialog.ShowConfirm("Remove mount", "Unmount this folder and forget it? The bucket and its files stay.", func(ok bool) {
		if !ok {
			return
		}
		go func() {
			err := s.t.a.Mounts.Delete(context.Background(), id)
			fyne.Do(func() {
				if err != nil {
					s.mount.reason.SetText("Not removed: " + err.Error())
					return
				}
				s.mountsChanged()
				s.mount.list.UnselectAll()
				s.newMount()
				s.t.Refresh()
			})
		}()
	}, s.w)
}

func (s *Settings) startStop(start bool) {
	id := s.mount.editing
	if id == "" {
		return
	}
	go func() {
		var err error
		if start {
			err = s.t.a.Mounts.Start(context.Background(), id)
		} else {
			err = s.t.a.Mounts.Stop(context.Background(), id)
		}
		if err != nil {
			fyne.Do(func() { s.mount.reason.SetText(err.Error()) })
		}
	}()
}

// ---- Buckets ----

func (s *Settings) bucketsTab() fyne.CanvasObject {
	b := &s.bucket
	b.selected = -1
	b.list = widget.NewList(func() int { return len(s.buckets) },
		func() fyne.CanvasObject { return widget.NewLabel("bucket name (id)") },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			o.(*widget.Label).SetText(fmt.Sprintf("%s  (%s)", s.buckets[i].Name, s.buckets[i].ID[:8]))
		})
	b.list.OnSelected = func(i widget.ListItemID) {
		b.selected = i
		b.changes = nil
		b.history.Refresh()
		b.rename.SetText(s.buckets[i].Name)
		s.validateRename()
	}
	b.name = widget.NewEntry()
	b.name.SetPlaceHolder("New bucket name")
	b.reason = reasonLabel()
	b.create = widget.NewButton("Create", func() { s.createBucket() })
	b.device = widget.NewSelect(nil, nil)
	b.share = widget.NewButton("Share", func() { s.shareBucket() })
	b.rename = widget.NewEntry()
	b.rename.SetPlaceHolder("New name for the selected bucket")
	b.rename.OnChanged = func(string) { s.validateRename() }
	b.renameBt = widget.NewButton("Rename", func() { s.renameBucket() })
	b.renameBt.Disable()
	b.path = widget.NewEntry()
	b.path.SetPlaceHolder("/path/in/bucket.txt")
	b.history = widget.NewList(func() int { return len(b.changes) },
		func() fyne.CanvasObject {
			return container.NewBorder(nil, nil, nil, widget.NewButton("Restore", nil), widget.NewLabel("version 10 · modified · 2026-01-01 10:00"))
		},
		func(i widget.ListItemID, o fyne.CanvasObject) {
			c := b.changes[i]
			box := o.(*fyne.Container)
			box.Objects[0].(*widget.Label).SetText(fmt.Sprintf("version %d · %s · %s", c.Version.Height, c.Change, c.Version.Time.Format("2006-01-02 15:04")))
			box.Objects[1].(*widget.Button).OnTapped = func() { s.restore(c) }
		})
	left := container.NewBorder(nil, container.NewBorder(nil, nil, nil, b.create, b.name), nil, nil, b.list)
	share := container.NewBorder(nil, nil, widget.NewLabel("Share with"), b.share, b.device)
	hist := container.NewBorder(container.NewBorder(nil, nil, nil, widget.NewButton("History", func() { s.pathHistory() }), b.path), nil, nil, nil, b.history)
	rename := container.NewBorder(nil, nil, widget.NewLabel("Rename to"), b.renameBt, b.rename)
	right := container.NewBorder(container.NewVBox(share, rename, b.reason), nil, nil, nil, hist)
	split := container.NewHSplit(left, right)
	split.Offset = 0.35
	return split
}

func (s *Settings) loadBuckets() {
	bs, err := s.t.a.DB.Buckets()
	if err != nil {
		s.bucket.reason.SetText(err.Error())
		return
	}
	s.buckets = bs
	names := make([]string, 0, len(bs))
	s.mount.bucketIDForName = map[string]string{}
	for _, b := range bs {
		if _, dup := s.mount.bucketIDForName[b.Name]; dup {
			continue
		}
		names = append(names, b.Name)
		s.mount.bucketIDForName[b.Name] = b.ID
	}
	s.mount.bucket.Options = names
	s.mount.bucket.Refresh()
	s.bucket.list.Refresh()
}

func (s *Settings) selectedBucket() (*bucket.Bucket, error) {
	if s.bucket.selected < 0 || s.bucket.selected >= len(s.buckets) {
		return nil, errors.New("select a bucket first")
	}
	return s.t.a.Buckets.Open(s.buckets[s.bucket.selected].ID)
}

func (s *Settings) createBucket() {
	b := &s.bucket
	name := strings.TrimSpace(b.name.Text)
	if name == "" || strings.ContainsAny(name, "/\x00") {
		b.reason.SetText("a bucket name must not be empty or contain /")
		return
	}
	for _, x := range s.buckets {
		if x.Name == name {
			b.reason.SetText(fmt.Sprintf("there is already a bucket named %q", name))
			return
		}
	}
	if _, err := s.t.a.Buckets.Create(context.Background(), name); err != nil {
		b.reason.SetText("Not created: " + err.Error())
		return
	}
	b.reason.SetText("")
	b.name.SetText("")
	s.loadBuckets()
}

// renameProblem says why the new name in the form cannot be used, or "".
func (s *Settings) renameProblem() string {
	b := &s.bucket
	if b.selected < 0 || b.selected >= len(s.buckets) {
		return "select a bucket to rename"
	}
	name := b.rename.Text
	if err := bucket.ValidName(name); err != nil {
		return err.Error()
	}
	for i, x := range s.buckets {
		if x.Name == name && i != b.selected {
			return fmt.Sprintf("there is already a bucket named %q", name)
		}
	}
	return ""
}

// validateRename refuses a bad name in the form, with the reason, before
// anything is saved.
func (s *Settings) validateRename() {
	b := &s.bucket
	p := s.renameProblem()
	picked := b.selected >= 0 && b.selected < len(s.buckets)
	if p != "" || picked && b.rename.Text == s.buckets[b.selected].Name {
		b.renameBt.Disable()
	} else {
		b.renameBt.Enable()
	}
	switch {
	case p != "" && (picked || b.rename.Text != ""):
		b.reason.SetText(p)
		b.renameShown = true
	case b.renameShown:
		b.reason.SetText("")
		b.renameShown = false
	}
}

func (s *Settings) renameBucket() {
	b := &s.bucket
	if p := s.renameProblem(); p != "" {
		b.reason.SetText(p)
		return
	}
	bk, err := s.selectedBucket()
	if err == nil {
		// Through the mount manager: the mounts save first and take the
		// new version after.
		ctx := context.Background()
		name := b.rename.Text
		err = s.t.a.Mounts.Change(ctx, bk.ID.String(), func() error {
			_, err := bk.Rename(ctx, name)
			return err
		})
	}
	if err != nil {
		b.reason.SetText("Not renamed: " + err.Error())
		return
	}
	b.reason.SetText("")
	s.loadBuckets()
	for i, x := range s.buckets { // the list is by name: keep the renamed one selected
		if x.ID == bk.ID.String() {
			b.list.Select(i)
		}
	}
	s.mount.list.Refresh()
	s.validateRename()
	s.t.Refresh()
}

func (s *Settings) shareBucket() {
	b := &s.bucket
	bk, err := s.selectedBucket()
	if err == nil && b.device.Selected == "" {
		err = errors.New("choose a device to share with (add devices in the Devices tab)")
	}
	var dev bucket.Device
	if err == nil {
		dev, err = s.t.a.FindDevice(deviceRef(s.device.devices, b.device.Selected))
	}
	if err == nil {
		// Through the mount manager: the mounts save first and take the
		// new version after.
		ctx := context.Background()
		err = s.t.a.Mounts.Change(ctx, bk.ID.String(), func() error {
			_, err := bk.Share(ctx, dev, bucket.Owner)
			return err
		})
	}
	if err != nil {
		b.reason.SetText(err.Error())
		return
	}
	b.reason.SetText("")
	dialog.ShowInformation("Shared", fmt.Sprintf("%s is now shared with %s.", bk.Name, dev.Name), s.w)
}

func (s *Settings) pathHistory() {
	b := &s.bucket
	bk, err := s.selectedBucket()
	if err == nil {
		b.changes, err = bk.PathHistory(strings.TrimSpace(b.path.Text))
	}
	if err != nil {
		b.changes = nil
		b.reason.SetText(err.Error())
	} else {
		b.reason.SetText("")
	}
	b.history.Refresh()
}

func (s *Settings) restore(c bucket.PathChange) {
	bk, err := s.selectedBucket()
	if err == nil {
		ctx := context.Background()
		err = s.t.a.Mounts.Change(ctx, bk.ID.String(), func() error {
			_, err := bk.Restore(ctx, c.Path, strconv.FormatUint(c.Version.Height, 10))
			return err
		})
	}
	if err != nil {
		s.bucket.reason.SetText("Not restored: " + err.Error())
		return
	}
	s.pathHistory()
}

// ---- Devices ----

// deviceRef finds the id of a device by its label in the share list.
func deviceRef(devs []app.DeviceInfo, label string) string {
	for _, d := range devs {
		if deviceLabel(d) == label {
			return d.ID
		}
	}
	return label
}

func deviceLabel(d app.DeviceInfo) string {
	return fmt.Sprintf("%s (%s)", d.Name, d.ID[:min(8, len(d.ID))])
}

func (s *Settings) devicesTab() fyne.CanvasObject {
	d := &s.device
	d.selected = -1
	d.name = widget.NewLabel("")
	d.id = widget.NewLabel("")
	d.id.Wrapping = fyne.TextWrapBreak
	d.code = widget.NewMultiLineEntry()
	d.code.Wrapping = fyne.TextWrapBreak
	d.code.SetMinRowsVisible(3)
	d.code.SetPlaceHolder("Invite another device: its code and QR code show here")
	d.qr = canvas.NewImageFromResource(nil)
	d.qr.FillMode = canvas.ImageFillContain
	d.qr.SetMinSize(fyne.NewSize(160, 160))
	d.invite = widget.NewButton("New invite code", func() { s.invite() })
	d.paste = widget.NewEntry()
	d.paste.SetPlaceHolder("Paste an invite code (jaxinvite1-…) or a device card (jaxdev1-…)")
	d.reason = reasonLabel()
	d.pair = widget.NewButton("Pair", func() { s.pairDevice() })
	d.list = widget.NewList(func() int { return len(d.devices) },
		func() fyne.CanvasObject { return widget.NewLabel("device name (id) · paired · last seen") },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			v := d.devices[i]
			txt := deviceLabel(v)
			switch {
			case v.Self:
				txt += " · this device"
			case v.Paired:
				txt += " · paired"
			}
			if v.LastSeen != nil && !v.Self {
				txt += " · seen " + v.LastSeen.Format("2006-01-02 15:04")
			}
			o.(*widget.Label).SetText(txt)
		})
	d.list.OnSelected = func(i widget.ListItemID) {
		d.selected = i
		d.rename.SetText(d.devices[i].Name)
		if d.devices[i].Self {
			d.remove.Disable()
		} else {
			d.remove.Enable()
		}
	}
	d.rename = widget.NewEntry()
	d.rename.SetPlaceHolder("Select a device to rename it")
	d.renameBtn = widget.NewButton("Rename", func() { s.renameDevice() })
	d.remove = widget.NewButton("Remove", func() { s.removeDevice() })
	d.remove.Disable()
	me := widget.NewForm(widget.NewFormItem("This device", d.name), widget.NewFormItem("Id", d.id),
		widget.NewFormItem("Invite", container.NewBorder(nil, nil, nil, d.invite, d.code)))
	top := container.NewBorder(nil, nil, nil, d.qr, me)
	pair := container.NewBorder(nil, nil, nil, d.pair, d.paste)
	edit := container.NewBorder(nil, nil, nil, container.NewHBox(d.renameBtn, d.remove), d.rename)
	return container.NewBorder(container.NewVBox(top, pair, d.reason, widget.NewLabel("Known devices")), edit, nil, nil, d.list)
}

func (s *Settings) loadDevices() {
	d := &s.device
	a := s.t.a
	d.name.SetText(a.Buckets.DeviceName())
	d.id.SetText(a.Buckets.ID.ID().String())
	devs, err := a.Devices(nil, false)
	if err != nil {
		d.reason.SetText(err.Error())
		return
	}
	d.devices = devs
	d.selected = -1
	d.list.UnselectAll()
	d.list.Refresh()
	var others []string
	for _, v := range devs {
		if !v.Self {
			others = append(others, deviceLabel(v))
		}
	}
	s.bucket.device.Options = others
	s.bucket.device.Refresh()
}

// invite makes an invite code for another device to pair with this one.
func (s *Settings) invite() {
	d := &s.device
	d.reason.Importance = widget.DangerImportance
	inv, png, err := s.t.a.Invite(time.Hour, 256)
	if errors.Is(err, app.ErrNetworkOff) {
		d.reason.SetText(err.Error() + "; pair with this device card instead: " + s.t.a.Card())
		return
	}
	if err != nil {
		d.reason.SetText(err.Error())
		return
	}
	d.code.SetText(inv.Code)
	d.qr.Resource = fyne.NewStaticResource("invite.png", png)
	d.qr.Refresh()
	d.reason.Importance = widget.MediumImportance
	d.reason.SetText("Enter this code on the other device (or scan it) before " + inv.Expires.Format("15:04") + ".")
}

// pairDevice pairs with an invite code, or adds a device from its card.
func (s *Settings) pairDevice() {
	d := &s.device
	d.reason.Importance = widget.DangerImportance
	text := strings.TrimSpace(d.paste.Text)
	if strings.HasPrefix(text, "jaxdev1-") {
		dev, err := s.t.a.AddDevice(text)
		if err != nil {
			d.reason.SetText(err.Error())
			return
		}
		d.reason.SetText("")
		d.paste.SetText("")
		s.loadDevices()
		dialog.ShowInformation("Device added", dev.Name+" can now be given buckets in the Buckets tab.", s.w)
		return
	}
	// Checked here so a mistyped code is refused at once.
	inv, err := p2p.ParseInvite(text)
	if err == nil && s.t.a.Net == nil {
		err = app.ErrNetworkOff
	}
	if err != nil {
		d.reason.SetText(err.Error())
		return
	}
	d.pair.Disable()
	d.reason.SetText("Pairing with " + inv.Name + "…")
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		dev, err := s.t.a.Pair(ctx, text)
		fyne.Do(func() {
			d.pair.Enable()
			if err != nil {
				d.reason.SetText("Not paired: " + err.Error())
				return
			}
			d.reason.SetText("")
			d.paste.SetText("")
			s.loadDevices()
			dialog.ShowInformation("Paired", dev.Name+" is paired with this device.", s.w)
		})
	}()
}

func (s *Settings) renameDevice() {
	d := &s.device
	d.reason.Importance = widget.DangerImportance
	if d.selected < 0 || d.selected >= len(d.devices) {
		d.reason.SetText("select a device to rename")
		return
	}
	if _, err := s.t.a.RenameDevice(d.devices[d.selected].ID, d.rename.Text); err != nil {
		d.reason.SetText(err.Error())
		return
	}
	d.reason.SetText("")
	s.loadDevices()
}

func (s *Settings) removeDevice() {
	d := &s.device
	if d.selected < 0 || d.selected >= len(d.devices) {
		return
	}
	dev := d.devices[d.selected]
	dialog.ShowConfirm("Remove device", "Forget "+dev.Name+"? It will no longer sync with this device.", func(ok bool) {
		if !ok {
			return
		}
		res, err := s.t.a.RemoveDevice(dev.ID)
		if err != nil {
			d.reason.SetText(err.Error())
			return
		}
		if s.t.a.Net != nil {
			s.t.a.Net.Disconnect(tree.DeviceID(mustHex(res.Device.ID)))
		}
		s.loadDevices()
		if len(res.Buckets) > 0 {
			d.reason.SetText(fmt.Sprintf("%s still has the keys of %s; unshare them in the Buckets tab to stop it reading new versions.",
				dev.Name, strings.Join(res.Buckets, ", ")))
		}
	}, s.w)
}

func mustHex(s string) []byte {
	b, _ := hex.DecodeString(s)
	return b
}

// ---- General ----

func (s *Settings) generalTab() fyne.CanvasObject {
	g := &s.general
	t := s.t
	g.reason = reasonLabel()
	g.login = widget.NewCheck("Start Jax at login", nil)
	g.login.SetChecked(t.opt.Autostart.Path != "" && t.opt.Autostart.Enabled())
	g.login.OnChanged = func(on bool) {
		if err := t.SetAutostart(on); err != nil {
			g.reason.SetText(err.Error())
		}
	}
	g.notify = widget.NewCheck("Show notifications (conflicts, first run)", nil)
	g.notify.SetChecked(t.a.NotificationsEnabled())
	g.notify.OnChanged = func(on bool) {
		if err := t.a.SetNotificationsEnabled(on); err != nil {
			g.reason.SetText(err.Error())
			return
		}
		t.opt.Notifier.SetEnabled(on)
	}
	g.logs = widget.NewButton("Open log folder", func() {
		go t.opt.Notifier.ShowFolder(t.a.Dirs.State)
	})
	data := widget.NewLabel("Data: " + t.a.Dirs.Data)
	data.Wrapping = fyne.TextWrapBreak
	return container.NewVBox(g.login, g.notify, container.NewHBox(g.logs), data, g.reason)
}

// autostartChanged updates the check box after the menu toggled it.
func (s *Settings) autostartChanged(on bool) {
	g := &s.general
	if g.login.Checked == on {
		return
	}
	cb := g.login.OnChanged
	g.login.OnChanged = nil
	g.login.SetChecked(on)
	g.login.OnChanged = cb
}
