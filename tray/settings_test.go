package tray

import (
	"context"
	"errors"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/jax-desktop/jax/app"
	"github.com/jax-desktop/jax/fuse/manager"
	"github.com/jax-desktop/jax/store/db"
)

// newTestTray runs a real app instance in a temp dir with a tray on Fyne's
// test driver: windows are laid out and tapped with no display.
func newTestTray(t *testing.T) (*Tray, *app.App) {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	dirs, err := app.ResolveDirs(filepath.Join(home, "jax"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := app.Init(ctx, dirs, "laptop", nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Buckets.Create(ctx, "docs")
	s.Close()
	a, err := app.Start(ctx, dirs, nil)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() { a.Serve(ctx); close(served) }()
	t.Cleanup(func() { cancel(); <-served })
	fa := test.NewTempApp(t)
	auto := app.Autostart{Path: filepath.Join(home, ".config", "autostart", "jax-tray.desktop"), Args: []string{"/usr/bin/jax-tray", "--autostart"}}
	return New(fa, a, Options{Autostart: auto}), a
}

func TestSettingsMountForm(t *testing.T) {
	tr, a := newTestTray(t)
	tr.ShowSettings()
	s := tr.settings
	f := &s.mount
	if f.editing != "" || f.bucket.Selected != "docs" {
		t.Fatalf("a new mount form for docs expected, got editing %q bucket %q", f.editing, f.bucket.Selected)
	}
	if !strings.HasSuffix(f.point.Text, filepath.Join("Jax", "docs")) || f.save.Disabled() {
		t.Fatalf("default folder %q, save disabled %v (%s)", f.point.Text, f.save.Disabled(), f.reason.Text)
	}
	full := t.TempDir()
	os.WriteFile(filepath.Join(full, "x"), nil, 0o644)
	for _, c := range []struct{ point, size, ttl, reason string }{
		{"/tmp/jax-new", "0", "60", "cache size must be between 1 and"},
		{"/tmp/jax-new", "lots", "60", "cache size must be a whole number"},
		{"/tmp/jax-new", "100", "-1", "cache TTL must be between 0"},
		{"/tmp/jax-new", "999999999", "60", "cache size must be between"},
		{"relative/dir", "100", "60", "must be an absolute path"},
		{"", "100", "60", "a mount point is required"},
		{full, "100", "60", "is not empty"},
	} {
		f.point.SetText(c.point)
		f.size.SetText(c.size)
		test.Type(f.ttl, "") // the entry's own change path
		f.ttl.SetText(c.ttl)
		if !strings.Contains(f.reason.Text, c.reason) || !f.save.Disabled() {
			t.Errorf("%+v: reason %q, save disabled %v", c, f.reason.Text, f.save.Disabled())
		}
	}
	// Valid: saved. Not enabled, so it is not mounted (no FUSE needed).
	mp := filepath.Join(t.TempDir(), "docs")
	f.point.SetText(mp)
	f.size.SetText("250")
	f.ttl.SetText("5")
	f.on.SetChecked(false)
	if f.reason.Text != "" || f.save.Disabled() {
		t.Fatalf("valid form refused: %q", f.reason.Text)
	}
	test.Tap(f.save)
	ms, _ := a.Mounts.List()
	if len(ms) != 1 || ms[0].MountPoint != mp || ms[0].CacheSizeMB != 250 || ms[0].CacheTTLSecs != 5 || ms[0].Enabled || !ms[0].AutoMount {
		t.Fatalf("saved mount: %+v (reason %q)", ms, f.reason.Text)
	}
	if f.editing != ms[0].ID || f.save.Text != "Save" {
		t.Fatalf("form does not show the saved mount: %q %q", f.editing, f.save.Text)
	}
	// The same folder for a second mount is refused in the form.
	test.Tap(f.add)
	f.point.SetText(mp)
	if !strings.Contains(f.reason.Text, "already the folder") || !f.save.Disabled() {
		t.Fatalf("second mount on the same folder: %q", f.reason.Text)
	}
	// Editing: a bad value is refused and nothing changes.
	s.editMount(ms[0].ID)
	f.size.SetText("0")
	if !f.save.Disabled() {
		t.Fatal("save enabled with cache size 0")
	}
	s.saveMount() // even if forced
	if m, _ := a.Mounts.Get(ms[0].ID); m.CacheSizeMB != 250 {
		t.Fatalf("bad edit applied: %+v", m)
	}
	if !strings.HasPrefix(f.reason.Text, "Not saved: cache size") {
		t.Fatalf("forced save reason %q", f.reason.Text)
	}
}

func TestSettingsBucketsDevicesGeneral(t *testing.T) {
	tr, a := newTestTray(t)
	tr.ShowSettings()
	s := tr.settings
	if s.hint.Visible() {
		t.Fatal("a hint shows with a tray")
	}
	tr.SetHint(NoTrayHint)
	if !s.hint.Visible() || s.hint.Text != NoTrayHint {
		t.Fatal("the no-tray hint does not show in an open window")
	}
	tr.SetHint("")

	// Buckets: create, refusing a duplicate name.
	s.bucket.name.SetText("docs")
	test.Tap(s.bucket.create)
	if !strings.Contains(s.bucket.reason.Text, "already a bucket") {
		t.Fatalf("duplicate bucket: %q", s.bucket.reason.Text)
	}
	s.bucket.name.SetText("photos")
	test.Tap(s.bucket.create)
	if bs, _ := a.DB.Buckets(); len(bs) != 2 || len(s.buckets) != 2 {
		t.Fatalf("buckets after create: %d (%q)", len(bs), s.bucket.reason.Text)
	}
	if len(s.mount.bucket.Options) != 2 {
		t.Fatalf("mount form offers %q", s.mount.bucket.Options)
	}

	// Devices: bad input is refused with the reason; a device card adds a
	// device, which can be renamed and is offered for sharing.
	s.device.paste.SetText("hello")
	test.Tap(s.device.pair)
	if !strings.Contains(s.device.reason.Text, "not an invite code") {
		t.Fatalf("bad code: %q", s.device.reason.Text)
	}
	other, err := app.Init(context.Background(), app.Dirs{Config: t.TempDir(), Data: t.TempDir(), State: t.TempDir()}, "desktop", nil)
	if err != nil {
		t.Fatal(err)
	}
	card := other.Card()
	other.Close()
	s.device.paste.SetText(card)
	test.Tap(s.device.pair)
	if len(s.device.devices) != 2 || len(s.bucket.device.Options) != 1 {
		t.Fatalf("devices %d, share choices %q (%q)", len(s.device.devices), s.bucket.device.Options, s.device.reason.Text)
	}
	s.device.list.Select(1)
	s.device.rename.SetText("")
	test.Tap(s.device.renameBtn)
	if !strings.Contains(s.device.reason.Text, "1 to 64") {
		t.Fatalf("empty name: %q", s.device.reason.Text)
	}
	s.device.list.Select(1)
	s.device.rename.SetText("studio")
	test.Tap(s.device.renameBtn)
	if s.device.devices[1].Name != "studio" || !strings.HasPrefix(s.bucket.device.Options[0], "studio (") {
		t.Fatalf("after rename: %+v %q (%q)", s.device.devices, s.bucket.device.Options, s.device.reason.Text)
	}
	// Share: pick the bucket and device.
	s.bucket.list.Select(0)
	s.bucket.device.SetSelected(s.bucket.device.Options[0])
	test.Tap(s.bucket.share)
	if s.bucket.reason.Text != "" {
		t.Fatalf("share: %q", s.bucket.reason.Text)
	}
	b, _ := a.Buckets.Open(s.buckets[0].ID)
	cur, _ := b.Current()
	if len(cur.Manifest.Shares) != 2 {
		t.Fatalf("shares after Share: %+v", cur.Manifest.Shares)
	}
	// History of a path lists its versions; Restore brings one back.
	ctx := context.Background()
	for _, body := range []string{"first", "second"} {
		if _, err := b.Add(ctx, strings.NewReader(body), "/notes.txt", 0o644, time.Now().UnixNano(), nil); err != nil {
			t.Fatal(err)
		}
	}
	s.bucket.path.SetText("/notes.txt")
	s.pathHistory()
	if len(s.bucket.changes) != 2 || s.bucket.changes[1].Change != "created" {
		t.Fatalf("history: %+v (%q)", s.bucket.changes, s.bucket.reason.Text)
	}
	s.restore(s.bucket.changes[1])
	cur, _ = b.Current()
	var got strings.Builder
	if _, err := b.Cat(cur, "/notes.txt", &got); err != nil || got.String() != "first" {
		t.Fatalf("after restore: %q %v (%q)", got.String(), err, s.bucket.reason.Text)
	}
	if len(s.bucket.changes) != 3 {
		t.Fatalf("history after restore: %d versions", len(s.bucket.changes))
	}
	s.bucket.path.SetText("/nope.txt")
	s.pathHistory()
	if s.bucket.reason.Text == "" {
		t.Fatal("history of a missing path gives no reason")
	}

	// General: the login check writes and removes the autostart entry; the
	// notifications check is stored.
	s.general.login.SetChecked(true)
	if _, err := os.Stat(tr.opt.Autostart.Path); err != nil {
		t.Fatalf("autostart entry after checking: %v", err)
	}
	s.general.login.SetChecked(false)
	if _, err := os.Stat(tr.opt.Autostart.Path); !os.IsNotExist(err) {
		t.Fatalf("autostart entry after unchecking: %v", err)
	}
	s.general.notify.SetChecked(false)
	if a.NotificationsEnabled() {
		t.Fatal("notifications setting not stored")
	}

	// Each tab as Fyne's software renderer draws it, kept for review.
	s.invite()
	for ov := s.w.Canvas().Overlays(); ov.Top() != nil; {
		ov.Remove(ov.Top()) // the "added" and "shared" dialogs
	}
	for i, name := range []string{"mounts", "buckets", "devices", "general"} {
		s.tabs.SelectIndex(i)
		saveCapture(t, "settings-"+name+".png", s.w.Canvas().Capture())
	}
}

// saveCapture keeps a rendered window where CI keeps artifacts:
// $JAX_ARTIFACTS, else bench/out.
func saveCapture(t *testing.T, name string, img image.Image) {
	dir := os.Getenv("JAX_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "bench", "out")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

func TestConflictList(t *testing.T) {
	tr, a := newTestTray(t)
	bs, _ := a.DB.Buckets()
	if _, err := a.DB.AddConflicts([]db.Conflict{
		{BucketID: bs[0].ID, Version: []byte{1}, Kind: "edit/edit", Path: "/report.txt", CopyPath: "/report (conflict from desktop).txt", FileID: []byte{1}, CopyID: []byte{2}},
		{BucketID: bs[0].ID, Version: []byte{1}, Kind: "edit/delete", Path: "/gone.txt", FileID: []byte{3}},
	}); err != nil {
		t.Fatal(err)
	}
	if n := tr.State().Conflicts; n != 1 {
		t.Fatalf("state counts %d conflicts (only copies count)", n)
	}
	tr.ShowConflicts()
	c := tr.conflicts
	if len(c.items) != 1 || c.empty.Visible() {
		t.Fatalf("conflict list shows %d", len(c.items))
	}
	// With the bucket not mounted, showing the files says why; the files
	// named here do not exist, and keeping says so.
	<-c.do(c.items[0], c.Show)
	if !strings.Contains(c.reason.Text, "mount this bucket") {
		t.Fatalf("show without a mount: %q", c.reason.Text)
	}
	<-c.do(c.items[0], c.KeepThis)
	if !strings.Contains(c.reason.Text, "delete the copy: rm /report (conflict from desktop).txt") {
		t.Fatalf("keep a missing copy: %q", c.reason.Text)
	}
	// An action that waits (a file manager slow to answer) does not hold
	// the window: do returns at once and shows the outcome when it ends.
	release := make(chan struct{})
	returned := make(chan (<-chan struct{}), 1)
	go func() {
		returned <- c.do(c.items[0], func(db.Conflict) error { <-release; return errors.New("slow file manager") })
	}()
	var shown <-chan struct{}
	select {
	case shown = <-returned:
	case <-time.After(5 * time.Second):
		close(release)
		t.Fatal("a button's action ran on the UI goroutine")
	}
	close(release)
	<-shown
	if c.reason.Text != "slow file manager" {
		t.Fatalf("outcome of a slow action: %q", c.reason.Text)
	}
	<-c.do(c.items[0], c.Dismiss)
	if len(c.items) != 0 || !c.empty.Visible() || tr.State().Conflicts != 0 {
		t.Fatalf("after dismiss: %d items", len(c.items))
	}
	// A conflict event becomes a note; in a bucket with no mount there is
	// no copy to show.
	n := app.NoteOf(manager.Event{Kind: "conflict", BucketID: bs[0].ID, Path: "/b.txt", CopyPath: "/b (conflict).txt", Device: "desktop"})
	if n.Path != "/b.txt" || n.CopyPath != "" || n.Device != "desktop" {
		t.Fatalf("note: %+v", n)
	}
}

func TestConflictListKeepsThroughTheMount(t *testing.T) {
	if _, err := os.Stat("/dev/fuse"); err != nil || os.Getuid() != 0 {
		t.Skip("needs /dev/fuse and root")
	}
	tr, a := newTestTray(t)
	ctx := context.Background()
	bs, _ := a.DB.Buckets()
	mp := filepath.Join(t.TempDir(), "docs")
	m, err := a.Mounts.Create(ctx, "docs", manager.DefaultSettings(mp))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Mounts.Start(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Mounts.Stop(ctx, m.ID) })
	for name, body := range map[string]string{
		"a.txt": "mine", "a (conflict from desktop).txt": "theirs",
		"b.txt": "mine", "b (conflict from desktop).txt": "theirs",
	} {
		if err := os.WriteFile(filepath.Join(mp, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	a.DB.AddConflicts([]db.Conflict{
		{BucketID: bs[0].ID, Version: []byte{1}, Kind: "edit/edit", Path: "/a.txt", CopyPath: "/a (conflict from desktop).txt", FileID: []byte{1}, CopyID: []byte{2}},
		{BucketID: bs[0].ID, Version: []byte{1}, Kind: "edit/edit", Path: "/b.txt", CopyPath: "/b (conflict from desktop).txt", FileID: []byte{3}, CopyID: []byte{4}},
	})
	tr.ShowConflicts()
	c := tr.conflicts
	if len(c.items) != 2 {
		t.Fatalf("%d conflicts listed", len(c.items))
	}
	byPath := map[string]db.Conflict{}
	for _, k := range c.items {
		byPath[k.Path] = k
	}
	<-c.do(byPath["/a.txt"], c.KeepOther)
	<-c.do(byPath["/b.txt"], c.KeepThis)
	if c.reason.Text != "" {
		t.Fatal(c.reason.Text)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(mp, name))
		if err != nil {
			return err.Error()
		}
		return string(b)
	}
	if read("a.txt") != "theirs" || read("b.txt") != "mine" {
		t.Fatalf("a.txt %q (want theirs), b.txt %q (want mine)", read("a.txt"), read("b.txt"))
	}
	ents, _ := os.ReadDir(mp)
	if len(ents) != 2 {
		t.Fatalf("copies left in the mount: %v", ents)
	}
	if len(c.items) != 0 || tr.State().Conflicts != 0 {
		t.Fatalf("%d conflicts still listed", len(c.items))
	}
}

// Pairing through the Devices tab: an invite code made on one device and
// entered on another pairs them over the (loopback) network.
func TestSettingsPairWithInviteCode(t *testing.T) {
	trA, a := newTestTray(t)
	trB, b := newTestTray(t)
	if a.Net == nil || b.Net == nil {
		t.Fatal("the network did not start")
	}
	trA.ShowSettings()
	trA.settings.invite()
	code := trA.settings.device.code.Text
	if !strings.HasPrefix(code, "jaxinvite1-") || trA.settings.device.qr.Resource == nil {
		t.Fatalf("invite code %q (%q)", code, trA.settings.device.reason.Text)
	}
	trB.ShowSettings()
	trB.settings.device.paste.SetText(code)
	trB.settings.pairDevice() // pairs in the background; look at the devices, not the window
	deadline := time.Now().Add(30 * time.Second)
	for {
		devs, _ := b.Devices(nil, false)
		if len(devs) == 2 && devs[1].Paired {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not paired: %+v", devs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	devs, _ := a.Devices(nil, false)
	if len(devs) != 2 || !devs[1].Paired {
		t.Fatalf("the inviting side: %+v", devs)
	}
}

// Without a mount, keeping one version edits the bucket itself.
func TestConflictListKeepsInTheBucket(t *testing.T) {
	tr, a := newTestTray(t)
	ctx := context.Background()
	b, _ := a.Buckets.Open("docs")
	for p, body := range map[string]string{"/a.txt": "mine", "/a (conflict).txt": "theirs", "/b.txt": "mine", "/b (conflict).txt": "theirs"} {
		if _, err := b.Add(ctx, strings.NewReader(body), p, 0o644, time.Now().UnixNano(), nil); err != nil {
			t.Fatal(err)
		}
	}
	a.DB.AddConflicts([]db.Conflict{
		{BucketID: b.ID.String(), Version: []byte{1}, Kind: "edit/edit", Path: "/a.txt", CopyPath: "/a (conflict).txt", FileID: []byte{1}, CopyID: []byte{2}},
		{BucketID: b.ID.String(), Version: []byte{1}, Kind: "edit/edit", Path: "/b.txt", CopyPath: "/b (conflict).txt", FileID: []byte{3}, CopyID: []byte{4}},
	})
	tr.ShowConflicts()
	c := tr.conflicts
	byPath := map[string]db.Conflict{}
	for _, k := range c.items {
		byPath[k.Path] = k
	}
	<-c.do(byPath["/a.txt"], c.KeepOther)
	<-c.do(byPath["/b.txt"], c.KeepThis)
	if c.reason.Text != "" || len(c.items) != 0 {
		t.Fatalf("%q, %d left", c.reason.Text, len(c.items))
	}
	cur, _ := b.Current()
	cat := func(p string) string {
		var w strings.Builder
		if _, err := b.Cat(cur, p, &w); err != nil {
			return err.Error()
		}
		return w.String()
	}
	if cat("/a.txt") != "theirs" || cat("/b.txt") != "mine" {
		t.Fatalf("a.txt %q, b.txt %q", cat("/a.txt"), cat("/b.txt"))
	}
	for _, p := range []string{"/a (conflict).txt", "/b (conflict).txt"} {
		if _, err := cur.Tree.Lookup(p); err == nil {
			t.Errorf("%s still in the bucket", p)
		}
	}
}

// Buckets › Rename refuses a bad or taken name in the form, and renames
// through the mount manager.
func TestSettingsRenameBucket(t *testing.T) {
	tr, a := newTestTray(t)
	a.Buckets.Create(context.Background(), "photos")
	tr.ShowSettings()
	s := tr.settings
	b := &s.bucket
	if !b.renameBt.Disabled() {
		t.Fatal("rename enabled with no bucket selected")
	}
	docs := -1
	for i, x := range s.buckets {
		if x.Name == "docs" {
			docs = i
		}
	}
	b.list.Select(docs)
	if b.rename.Text != "docs" || !b.renameBt.Disabled() {
		t.Fatalf("selected: entry %q, rename disabled %v", b.rename.Text, b.renameBt.Disabled())
	}
	for name, why := range map[string]string{"": "needs a name", "a/b": "must not contain /", "photos": "already a bucket", " x": "space"} {
		b.rename.SetText(name)
		if !b.renameBt.Disabled() || !strings.Contains(b.reason.Text, why) {
			t.Fatalf("name %q: rename disabled %v, reason %q", name, b.renameBt.Disabled(), b.reason.Text)
		}
	}
	b.rename.SetText("zeta")
	if b.renameBt.Disabled() || b.reason.Text != "" {
		t.Fatalf("good name refused: %q", b.reason.Text)
	}
	test.Tap(b.renameBt)
	if _, err := a.Buckets.Open("zeta"); err != nil {
		t.Fatalf("not renamed: %v (%q)", err, b.reason.Text)
	}
	names := map[string]bool{}
	for _, x := range s.buckets {
		names[x.Name] = true
	}
	if !names["zeta"] || names["docs"] || !slices.Contains(s.mount.bucket.Options, "zeta") {
		t.Fatalf("after rename the tab lists %v, the mount form %q", names, s.mount.bucket.Options)
	}
	if s.buckets[b.selected].Name != "zeta" || b.rename.Text != "zeta" || !b.renameBt.Disabled() {
		t.Fatalf("after rename %q is selected, the form holds %q", s.buckets[b.selected].Name, b.rename.Text)
	}
}
