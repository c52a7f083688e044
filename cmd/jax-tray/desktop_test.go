package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// A desktop for end-to-end tests: Xvfb on a free display, a private
// session bus, and the test itself as the tray host (StatusNotifierWatcher),
// the notification server and the file manager.

func needDesktop(t testing.TB) {
	t.Helper()
	for _, bin := range []string{"Xvfb", "dbus-daemon"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("needs %s (packaging/dev-deps.sh installs it)", bin)
		}
	}
	if _, err := os.Stat("/dev/fuse"); err != nil || os.Getuid() != 0 {
		t.Skip("needs /dev/fuse and root")
	}
}

type xserver struct {
	display string
	fb      string // Xvfb's framebuffer, an XWD file
}

// startXvfb starts Xvfb on a display it picks itself (-displayfd).
func startXvfb(t testing.TB) xserver {
	t.Helper()
	fbdir := t.TempDir()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "Xvfb", "-displayfd", "3", "-screen", "0", "1024x768x24", "-fbdir", fbdir, "-nolisten", "tcp", "-noreset")
	cmd.ExtraFiles = []*os.File{w}
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() { cancel(); cmd.Wait(); r.Close() })
	num := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		num <- strings.TrimSpace(line)
	}()
	select {
	case n := <-num:
		if n == "" {
			t.Fatalf("Xvfb did not start:\n%s", logs.String())
		}
		return xserver{display: ":" + n, fb: filepath.Join(fbdir, "Xvfb_screen0")}
	case <-time.After(20 * time.Second):
		t.Fatalf("Xvfb gave no display:\n%s", logs.String())
	}
	return xserver{}
}

// screenshot reads Xvfb's framebuffer (XWD, 24/32 bits per pixel).
func (x xserver) screenshot(t testing.TB) *image.NRGBA {
	t.Helper()
	b, err := os.ReadFile(x.fb)
	if err != nil || len(b) < 100 {
		t.Fatalf("read framebuffer: %v", err)
	}
	h := make([]uint32, 25)
	binary.Read(bytes.NewReader(b[:100]), binary.BigEndian, h)
	hdrSize, width, height, byteOrder, bpp, bpl := h[0], h[4], h[5], h[7], h[11], h[12]
	rmask, gmask, bmask, ncolors := h[14], h[15], h[16], h[19]
	if bpp != 32 {
		t.Fatalf("framebuffer has %d bits per pixel", bpp)
	}
	data := b[hdrSize+ncolors*12:]
	img := image.NewNRGBA(image.Rect(0, 0, int(width), int(height)))
	shift := func(m uint32) (uint, uint32) {
		s := uint(0)
		for m != 0 && m&1 == 0 {
			m >>= 1
			s++
		}
		return s, m
	}
	rs, rm := shift(rmask)
	gs, gm := shift(gmask)
	bs, bm := shift(bmask)
	for y := 0; y < int(height); y++ {
		for x := 0; x < int(width); x++ {
			off := y*int(bpl) + x*4
			var p uint32
			if byteOrder == 0 {
				p = binary.LittleEndian.Uint32(data[off:])
			} else {
				p = binary.BigEndian.Uint32(data[off:])
			}
			img.SetNRGBA(x, y, color.NRGBA{uint8(p >> rs & rm), uint8(p >> gs & gm), uint8(p >> bs & bm), 0xff})
		}
	}
	return img
}

// colours counts the distinct colours of an image, up to max.
func colours(img *image.NRGBA, max int) int {
	seen := map[[3]uint8]bool{}
	for i := 0; i+3 < len(img.Pix) && len(seen) < max; i += 4 {
		seen[[3]uint8{img.Pix[i], img.Pix[i+1], img.Pix[i+2]}] = true
	}
	return len(seen)
}

// artifact saves a PNG where CI keeps it: $JAX_ARTIFACTS, else bench/out.
func artifact(t testing.TB, name string, img image.Image) string {
	dir := os.Getenv("JAX_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "bench", "out")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	var b bytes.Buffer
	png.Encode(&b, img)
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(p)
	t.Logf("screenshot: %s", abs)
	return abs
}

// ---- the test's side of the session bus ----

type notification struct {
	ID            uint32
	Summary, Body string
	Actions       []string
}

// desktopServices is the tray host, notification server and file manager.
type desktopServices struct {
	conn *dbus.Conn

	mu      sync.Mutex // guards the fields below
	items   []string   // registered StatusNotifierItems: "sender|path"
	notes   []notification
	shown   [][]string
	folders [][]string
	change  chan struct{}
}

func (d *desktopServices) RegisterStatusNotifierItem(sender dbus.Sender, service string) *dbus.Error {
	d.record(func() { d.items = append(d.items, string(sender)+"|"+service) })
	return nil
}

func (d *desktopServices) RegisterStatusNotifierHost(service string) *dbus.Error { return nil }

func (d *desktopServices) Notify(app string, replaces uint32, icon, summary, body string, actions []string, hints map[string]dbus.Variant, timeout int32) (uint32, *dbus.Error) {
	var id uint32
	d.record(func() {
		id = uint32(len(d.notes) + 1)
		d.notes = append(d.notes, notification{id, summary, body, actions})
	})
	return id, nil
}

func (d *desktopServices) GetCapabilities() ([]string, *dbus.Error) {
	return []string{"actions", "body"}, nil
}

func (d *desktopServices) GetServerInformation() (string, string, string, string, *dbus.Error) {
	return "test", "jax", "1", "1.2", nil
}

func (d *desktopServices) CloseNotification(id uint32) *dbus.Error { return nil }

func (d *desktopServices) ShowItems(uris []string, startup string) *dbus.Error {
	d.record(func() { d.shown = append(d.shown, uris) })
	return nil
}

func (d *desktopServices) ShowFolders(uris []string, startup string) *dbus.Error {
	d.record(func() { d.folders = append(d.folders, uris) })
	return nil
}

func (d *desktopServices) record(f func()) {
	d.mu.Lock()
	f()
	d.mu.Unlock()
	select {
	case d.change <- struct{}{}:
	default:
	}
}

// wait polls cond, under the lock, until it holds.
func (d *desktopServices) wait(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		d.mu.Lock()
		ok := cond()
		d.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-d.change:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
	}
}

// ownDesktop connects to the bus and takes the desktop's names; with
// trayHost false the watcher is left out (a desktop without a tray).
func ownDesktop(t testing.TB, addr string, trayHost bool) *desktopServices {
	t.Helper()
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	d := &desktopServices{conn: conn, change: make(chan struct{}, 1)}
	names := map[string]string{
		"org.freedesktop.Notifications": "/org/freedesktop/Notifications",
		"org.freedesktop.FileManager1":  "/org/freedesktop/FileManager1",
	}
	if trayHost {
		names["org.kde.StatusNotifierWatcher"] = "/StatusNotifierWatcher"
	}
	for name, path := range names {
		if err := conn.Export(d, dbus.ObjectPath(path), name); err != nil {
			t.Fatal(err)
		}
		if r, err := conn.RequestName(name, dbus.NameFlagDoNotQueue); err != nil || r != dbus.RequestNameReplyPrimaryOwner {
			t.Fatalf("own %s: %v %v", name, r, err)
		}
	}
	return d
}

// ownWatcher makes the test the tray host now (a panel starting late).
func (d *desktopServices) ownWatcher(t testing.TB) {
	t.Helper()
	const name = "org.kde.StatusNotifierWatcher"
	if err := d.conn.Export(d, "/StatusNotifierWatcher", name); err != nil {
		t.Fatal(err)
	}
	if r, err := d.conn.RequestName(name, dbus.NameFlagDoNotQueue); err != nil || r != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("own %s: %v %v", name, r, err)
	}
}

// ---- the tray's menu over com.canonical.dbusmenu ----

type menuItem struct {
	ID       int32
	Label    string
	Enabled  bool
	Toggle   int32 // toggle-state: 1 checked
	Children []menuItem
}

func parseItem(v []any) menuItem {
	it := menuItem{ID: v[0].(int32), Enabled: true}
	props := v[1].(map[string]dbus.Variant)
	if l, ok := props["label"]; ok {
		it.Label, _ = l.Value().(string)
	}
	if e, ok := props["enabled"]; ok {
		it.Enabled, _ = e.Value().(bool)
	}
	if s, ok := props["toggle-state"]; ok {
		it.Toggle, _ = s.Value().(int32)
	}
	if vis, ok := props["visible"]; ok {
		if b, _ := vis.Value().(bool); !b {
			it.Label = "" // hidden
		}
	}
	for _, c := range v[2].([]dbus.Variant) {
		it.Children = append(it.Children, parseItem(c.Value().([]any)))
	}
	return it
}

// find looks an item up by a path of label prefixes.
func (m menuItem) find(labels ...string) (menuItem, bool) {
	if len(labels) == 0 {
		return m, true
	}
	for _, c := range m.Children {
		if c.Label != "" && strings.HasPrefix(c.Label, labels[0]) {
			if it, ok := c.find(labels[1:]...); ok {
				return it, true
			}
		}
	}
	return menuItem{}, false
}

func (m menuItem) String() string {
	var b strings.Builder
	var walk func(menuItem, string)
	walk = func(it menuItem, indent string) {
		for _, c := range it.Children {
			fmt.Fprintf(&b, "%s%q enabled=%v toggle=%d\n", indent, c.Label, c.Enabled, c.Toggle)
			walk(c, indent+"  ")
		}
	}
	walk(m, "")
	return b.String()
}

type trayMenu struct {
	obj dbus.BusObject
}

func (d *desktopServices) menu(t testing.TB, item string) trayMenu {
	t.Helper()
	sender, path, _ := strings.Cut(item, "|")
	if !strings.HasPrefix(path, "/") {
		path = "/StatusNotifierItem"
	}
	v, err := d.conn.Object(sender, dbus.ObjectPath(path)).GetProperty("org.kde.StatusNotifierItem.Menu")
	if err != nil {
		t.Fatalf("the item's Menu property: %v", err)
	}
	return trayMenu{obj: d.conn.Object(sender, v.Value().(dbus.ObjectPath))}
}

// icon returns the item's icon pixels (IconPixmap), for comparing states.
func (d *desktopServices) icon(t testing.TB, item string) []byte {
	t.Helper()
	sender, path, _ := strings.Cut(item, "|")
	if !strings.HasPrefix(path, "/") {
		path = "/StatusNotifierItem"
	}
	v, err := d.conn.Object(sender, dbus.ObjectPath(path)).GetProperty("org.kde.StatusNotifierItem.IconPixmap")
	if err != nil {
		t.Fatalf("IconPixmap: %v", err)
	}
	var b bytes.Buffer
	fmt.Fprint(&b, v.Value())
	return b.Bytes()
}

func (m trayMenu) layout(t testing.TB) menuItem {
	t.Helper()
	var rev uint32
	var root []any
	call := m.obj.Call("com.canonical.dbusmenu.GetLayout", 0, int32(0), int32(-1), []string{})
	if call.Err != nil {
		t.Fatalf("GetLayout: %v", call.Err)
	}
	if len(call.Body) != 2 {
		t.Fatalf("GetLayout answered %d values", len(call.Body))
	}
	rev, _ = call.Body[0].(uint32)
	_ = rev
	root, ok := call.Body[1].([]any)
	if !ok {
		t.Fatalf("GetLayout layout is %T", call.Body[1])
	}
	return parseItem(root)
}

// waitItem waits until the menu has the item, and returns it.
func (m trayMenu) waitItem(t testing.TB, labels ...string) menuItem {
	t.Helper()
	var last menuItem
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		last = m.layout(t)
		if it, ok := last.find(labels...); ok {
			return it
		}
	}
	t.Fatalf("menu has no %q; it shows:\n%s", labels, last)
	return menuItem{}
}

func (m trayMenu) click(t testing.TB, labels ...string) {
	t.Helper()
	it := m.waitItem(t, labels...)
	if !it.Enabled {
		t.Fatalf("menu item %q is disabled", labels)
	}
	if err := m.obj.Call("com.canonical.dbusmenu.Event", 0, it.ID, "clicked", dbus.MakeVariant(""), uint32(time.Now().Unix())).Err; err != nil {
		t.Fatalf("click %q: %v", labels, err)
	}
}

func mounted(t testing.TB, mp string) bool {
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 1 && strings.ReplaceAll(f[1], `\040`, " ") == mp {
			return true
		}
	}
	return false
}

func eventually(t testing.TB, what string, timeout time.Duration, f func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !f(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting: %s", timeout, what)
		}
	}
}

// glDriver returns the OpenGL driver library mapped into a process (the
// GLVND vendor library or a Mesa driver), or "" when none is.
func glDriver(t testing.TB, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 {
			continue
		}
		lib := filepath.Base(f[5])
		if strings.HasPrefix(lib, "libGLX_") || strings.Contains(lib, "_dri.so") || strings.HasPrefix(lib, "libgallium") {
			return f[5]
		}
	}
	return ""
}
