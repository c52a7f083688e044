package merge

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/jax-desktop/jax/store/tree"
	"github.com/zeebo/blake3"
)

// Trees in the table tests are built from short keys: id("f") is a fixed ID,
// id("") the root; chunks("hello") is one chunk standing for those bytes.

func id(key string) tree.ID {
	if key == "" {
		return tree.Root
	}
	h := blake3.Sum256([]byte("id " + key))
	return tree.ID(h[:16])
}

func dev(b byte) tree.DeviceID {
	var d tree.DeviceID
	for i := range d {
		d[i] = b
	}
	return d
}

var (
	devA = dev(0xaa)
	devB = dev(0xbb)
)

func rv(h uint64, d tree.DeviceID) tree.Rev { return tree.Rev{Height: h, Device: d} }

var t0 = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC).UnixNano()

func mtime(r tree.Rev) int64 { return t0 + int64(r.Height)*int64(time.Minute) }

func chunks(data string) []tree.ChunkRef {
	if data == "" {
		return nil
	}
	return []tree.ChunkRef{{Blob: blake3.Sum256([]byte(data)), Size: uint32(len(data))}}
}

func file(key, parent, name, data string, r tree.Rev) *tree.Entry {
	return &tree.Entry{ID: id(key), Parent: id(parent), Name: name, Kind: tree.File, Mode: 0o644,
		MTime: mtime(r), Size: int64(len(data)), Chunks: chunks(data), Rev: r}
}

func dir(key, parent, name string, r tree.Rev) *tree.Entry {
	return &tree.Entry{ID: id(key), Parent: id(parent), Name: name, Kind: tree.Dir, Mode: 0o755, MTime: mtime(r), Rev: r}
}

func symlink(key, parent, name, target string, r tree.Rev) *tree.Entry {
	return &tree.Entry{ID: id(key), Parent: id(parent), Name: name, Kind: tree.Symlink, Mode: 0o777,
		MTime: mtime(r), Size: int64(len(target)), Target: target, Rev: r}
}

// snap builds a valid tree from entries.
func snap(t testing.TB, es ...*tree.Entry) *tree.Snapshot {
	t.Helper()
	return put(t, tree.New(), es...)
}

// put returns a copy of s with entries added or replaced.
func put(t testing.TB, s *tree.Snapshot, es ...*tree.Entry) *tree.Snapshot {
	t.Helper()
	c := s.Clone()
	for _, e := range es {
		c.Put(e)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("test tree invalid: %v", err)
	}
	return c
}

// del returns a copy of s without the named entries and everything below them.
func del(t testing.TB, s *tree.Snapshot, keys ...string) *tree.Snapshot {
	t.Helper()
	c := s.Clone()
	for _, k := range keys {
		c.DeleteTree(id(k))
	}
	return c
}

// moved is entry key of s placed at parent/name, stamped r.
func moved(s *tree.Snapshot, key, parent, name string, r tree.Rev) *tree.Entry {
	e := s.Get(id(key)).Clone()
	e.Parent, e.Name, e.Rev = id(parent), name, r
	return e
}

// edited is entry key of s with new data, stamped r.
func edited(s *tree.Snapshot, key, data string, r tree.Rev) *tree.Entry {
	e := s.Get(id(key)).Clone()
	e.Chunks, e.Size, e.MTime, e.Rev = chunks(data), int64(len(data)), mtime(r), r
	return e
}

func lookup(t testing.TB, s *tree.Snapshot, p string) *tree.Entry {
	t.Helper()
	e, err := s.Lookup(p)
	if err != nil {
		t.Fatalf("lookup %s: %v\n%s", p, err, dump(s))
	}
	return e
}

func absent(t testing.TB, s *tree.Snapshot, p string) {
	t.Helper()
	if e, err := s.Lookup(p); err == nil {
		t.Fatalf("%s exists (%s), want it gone\n%s", p, e.ID, dump(s))
	}
}

func hasData(t testing.TB, s *tree.Snapshot, p, data string) *tree.Entry {
	t.Helper()
	e := lookup(t, s, p)
	if !slices.Equal(e.Chunks, chunks(data)) {
		t.Fatalf("%s holds the wrong data\n%s", p, dump(s))
	}
	return e
}

// dump lists a tree by path, for failure messages.
func dump(s *tree.Snapshot) string {
	var lines []string
	var walk func(d tree.ID)
	walk = func(d tree.ID) {
		for _, e := range s.Children(d) {
			var sum [32]byte
			if len(e.Chunks) > 0 {
				sum = e.Chunks[len(e.Chunks)-1].Blob
			}
			lines = append(lines, fmt.Sprintf("  %-50s %-7s %s data=%x mode=%o rev=%d/%s",
				s.Path(e.ID), e.Kind, e.ID.String()[:8], sum[:3], e.Mode, e.Rev.Height, e.Rev.Device.Short()[:2]))
			if e.Kind == tree.Dir {
				walk(e.ID)
			}
		}
	}
	walk(tree.Root)
	out := ""
	for _, l := range lines {
		out += l + "\n"
	}
	return out
}

// memRepo is an in-memory version DAG: the DAG is pure data, so the tests
// use the real thing rather than a fake of the store.
type memRepo struct {
	vs  map[Link]*version
	seq uint64
}

type version struct {
	parents []Link
	height  uint64
	tree    *tree.Snapshot
	author  tree.DeviceID
	merge   bool
}

func newRepo() *memRepo { return &memRepo{vs: map[Link]*version{}} }

func (r *memRepo) get(l Link) (*version, error) {
	v := r.vs[l]
	if v == nil {
		return nil, fmt.Errorf("no version %s", l.Short())
	}
	return v, nil
}

func (r *memRepo) Parents(l Link) ([]Link, error) {
	v, err := r.get(l)
	if err != nil {
		return nil, err
	}
	return v.parents, nil
}

func (r *memRepo) Height(l Link) (uint64, error) {
	v, err := r.get(l)
	if err != nil {
		return 0, err
	}
	return v.height, nil
}

func (r *memRepo) Tree(l Link) (*tree.Snapshot, error) {
	v, err := r.get(l)
	if err != nil {
		return nil, err
	}
	return v.tree, nil
}

// add stores a version. Links are unique per call, like real manifests that
// carry their author and time.
func (r *memRepo) add(parents []Link, t *tree.Snapshot, author tree.DeviceID, merge bool) Link {
	var h uint64
	for i, p := range parents {
		if ph := r.vs[p].height + 1; i == 0 || ph > h {
			h = ph
		}
	}
	r.seq++
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], r.seq)
	hs := blake3.New()
	hs.Write(b[:])
	for _, p := range parents {
		hs.Write(p[:])
	}
	hs.Write(author[:])
	var l Link
	copy(l[:], hs.Sum(nil))
	r.vs[l] = &version{parents: slices.Clone(parents), height: h, tree: t, author: author, merge: merge}
	return l
}

// gen makes random user operations on trees. Every write stores a chunk no
// other write has, so the simulation can follow each one.
type gen struct {
	rng   *rand.Rand
	blobs uint64
	clock int64
	fresh [][32]byte // chunks written by the last op
}

var names = []string{"a.txt", "b.txt", "c", "notes.md", "x.tar.gz", ".rc", "d1", "d2", "photos", "Report.PDF"}

func (g *gen) newID() tree.ID {
	var i tree.ID
	binary.LittleEndian.PutUint64(i[:8], g.rng.Uint64())
	binary.LittleEndian.PutUint64(i[8:], g.rng.Uint64())
	return i
}

func (g *gen) chunk() tree.ChunkRef {
	g.blobs++
	var b [32]byte
	binary.LittleEndian.PutUint64(b[:8], g.blobs)
	binary.LittleEndian.PutUint64(b[8:16], 0x6a6178) // "jax", so blobs never look like zero
	g.fresh = append(g.fresh, b)
	return tree.ChunkRef{Blob: b, Size: uint32(1 + g.rng.IntN(4096))}
}

func size(cs []tree.ChunkRef) int64 {
	var n int64
	for _, c := range cs {
		n += int64(c.Size)
	}
	return n
}

// op applies one random user operation to t (a private clone), stamping what
// it changes with r. It reports a short description, or "" if the op found
// nothing to do.
func (g *gen) op(t *tree.Snapshot, r tree.Rev) string {
	g.fresh = g.fresh[:0]
	g.clock += int64(1+g.rng.IntN(3600)) * int64(time.Second)
	now := t0 + g.clock
	var files, dirs []*tree.Entry
	for _, i := range t.IDs() {
		switch e := t.Get(i); e.Kind {
		case tree.Dir:
			dirs = append(dirs, e)
		default:
			files = append(files, e)
		}
	}
	pickDir := func() *tree.Entry { return dirs[g.rng.IntN(len(dirs))] }
	free := func(d tree.ID) string {
		n := names[g.rng.IntN(len(names))]
		if t.Child(d, n) != nil {
			return ""
		}
		return n
	}
	stamp := func(e *tree.Entry) *tree.Entry {
		e.Rev = r
		t.Put(e)
		return e
	}
	switch k := g.rng.IntN(100); {
	case k < 24: // write a new file
		d := pickDir()
		n := free(d.ID)
		if n == "" {
			return ""
		}
		var cs []tree.ChunkRef
		for range 1 + g.rng.IntN(2) {
			cs = append(cs, g.chunk())
		}
		kind := tree.File
		if g.rng.IntN(20) == 0 {
			kind = tree.Symlink
		}
		e := &tree.Entry{ID: g.newID(), Parent: d.ID, Name: n, Kind: kind, Mode: 0o644, MTime: now, Size: size(cs), Chunks: cs}
		stamp(e)
		return "write " + t.Path(e.ID)
	case k < 35: // mkdir
		d := pickDir()
		n := free(d.ID)
		if n == "" {
			return ""
		}
		e := stamp(&tree.Entry{ID: g.newID(), Parent: d.ID, Name: n, Kind: tree.Dir, Mode: 0o755, MTime: now})
		return "mkdir " + t.Path(e.ID)
	case len(files) == 0:
		return ""
	case k < 48: // overwrite
		e := files[g.rng.IntN(len(files))].Clone()
		e.Chunks = []tree.ChunkRef{g.chunk()}
		e.Size, e.MTime = size(e.Chunks), now
		stamp(e)
		return "overwrite " + t.Path(e.ID)
	case k < 57: // append
		e := files[g.rng.IntN(len(files))].Clone()
		e.Chunks = append(e.Chunks, g.chunk())
		e.Size, e.MTime = size(e.Chunks), now
		stamp(e)
		return "append " + t.Path(e.ID)
	case k < 62: // truncate
		e := files[g.rng.IntN(len(files))].Clone()
		if len(e.Chunks) == 0 {
			return ""
		}
		e.Chunks = e.Chunks[:len(e.Chunks)-1]
		e.Size, e.MTime = size(e.Chunks), now
		stamp(e)
		return "truncate " + t.Path(e.ID)
	case k < 66: // chmod / touch: metadata only
		e := files[g.rng.IntN(len(files))].Clone()
		if g.rng.IntN(2) == 0 {
			e.Mode ^= 0o100
		} else {
			e.MTime = now
		}
		stamp(e)
		return "chmod " + t.Path(e.ID)
	case k < 76: // rename in place, file or directory
		all := append(files, dirs[1:]...)
		e := all[g.rng.IntN(len(all))].Clone()
		n := free(e.Parent)
		if n == "" {
			return ""
		}
		e.Name = n
		stamp(e)
		return "rename " + t.Path(e.ID)
	case k < 86: // move to another directory
		all := append(files, dirs[1:]...)
		e := all[g.rng.IntN(len(all))].Clone()
		d := pickDir()
		if d.ID == e.Parent || t.IsAncestor(e.ID, d.ID) || t.Child(d.ID, e.Name) != nil {
			return ""
		}
		e.Parent = d.ID
		stamp(e)
		return "move " + t.Path(e.ID)
	case k < 95: // delete a file
		e := files[g.rng.IntN(len(files))]
		p := t.Path(e.ID)
		t.Delete(e.ID)
		return "rm " + p
	default: // delete a directory with everything in it
		if len(dirs) < 2 {
			return ""
		}
		e := dirs[1+g.rng.IntN(len(dirs)-1)]
		p := t.Path(e.ID)
		t.DeleteTree(e.ID)
		return "rm -r " + p
	}
}

// chunkSet lists every chunk a tree holds.
func chunkSet(t *tree.Snapshot) map[[32]byte]bool {
	m := map[[32]byte]bool{}
	t.Each(func(e *tree.Entry) {
		for _, c := range e.Chunks {
			m[c.Blob] = true
		}
	})
	return m
}

// diff lists the entries that differ between two trees.
func diff(a, b *tree.Snapshot) string {
	out := ""
	seen := map[tree.ID]bool{}
	for _, s := range []*tree.Snapshot{a, b} {
		for _, id := range s.IDs() {
			if seen[id] {
				continue
			}
			seen[id] = true
			ea, eb := a.Get(id), b.Get(id)
			if ea != nil && eb != nil && ea.Equal(eb) {
				continue
			}
			out += fmt.Sprintf("  %s:\n    %+v\n    %+v\n", id.String()[:8], ea, eb)
		}
	}
	return out
}
