// Package tree is the in-memory model of one version of a bucket's file tree.
//
// A Snapshot is flat: every entry is keyed by its stable file ID and names its
// parent directory's ID. Renames and moves change Parent and Name, never the ID,
// which is what lets a merge follow a file across a rename. The root directory
// has the zero ID and is always present.
//
// Invariants kept by a valid Snapshot (see Validate): every entry's parent
// exists and is a directory, the parent chain reaches the root without a
// cycle, and no two entries in one directory share a name.
package tree

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/google/uuid"
	"github.com/zeebo/blake3"
)

// ID is a stable file ID: random when a file or directory is created, kept
// across renames, moves and edits.
type ID [16]byte

// Root is the ID of every tree's root directory.
var Root ID

// NewID returns a fresh random ID.
func NewID() ID { return ID(uuid.New()) }

func (id ID) String() string { return hex.EncodeToString(id[:]) }

// DeviceID identifies a device: its ed25519 public key.
type DeviceID [32]byte

func (d DeviceID) String() string { return hex.EncodeToString(d[:]) }

// Short is the first 8 hex digits, for display.
func (d DeviceID) Short() string { return d.String()[:8] }

// Kind is an entry's file type.
type Kind uint8

const (
	File    Kind = 1
	Dir     Kind = 2
	Symlink Kind = 3
)

func (k Kind) String() string {
	switch k {
	case File:
		return "file"
	case Dir:
		return "dir"
	case Symlink:
		return "symlink"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// ChunkRef names one encrypted chunk of a file's contents.
type ChunkRef struct {
	Blob  [32]byte // BLAKE3 of the stored (encrypted) bytes
	Size  uint32   // plaintext length
	Epoch uint32   // which bucket key encrypted it
}

// Rev is a Lamport stamp: the height of the version in which an entry was last
// changed and the device that changed it. Higher Rev means "later" when the
// merge has to pick a winner without causality to go by.
type Rev struct {
	Height uint64
	Device DeviceID
}

// Less orders Revs by height, then device.
func (r Rev) Less(o Rev) bool {
	if r.Height != o.Height {
		return r.Height < o.Height
	}
	return bytes.Compare(r.Device[:], o.Device[:]) < 0
}

// Entry is one file, directory or symlink.
type Entry struct {
	ID     ID
	Parent ID
	Name   string
	Kind   Kind
	Mode   uint32 // permission bits (07777)
	MTime  int64  // unix nanoseconds
	Size   int64  // plaintext size of a file, target length of a symlink
	Chunks []ChunkRef
	Target string // symlink target
	Rev    Rev
}

// Clone returns a deep copy.
func (e *Entry) Clone() *Entry {
	c := *e
	if e.Chunks != nil {
		c.Chunks = append([]ChunkRef(nil), e.Chunks...)
	}
	return &c
}

// SameData reports whether two entries hold the same contents (type, bytes,
// symlink target), ignoring name, place, mode and times.
func (e *Entry) SameData(o *Entry) bool {
	if e.Kind != o.Kind || e.Size != o.Size || e.Target != o.Target || len(e.Chunks) != len(o.Chunks) {
		return false
	}
	for i := range e.Chunks {
		if e.Chunks[i] != o.Chunks[i] {
			return false
		}
	}
	return true
}

// SameContent reports whether data, mode and mtime are all equal.
func (e *Entry) SameContent(o *Entry) bool {
	return e.SameData(o) && e.Mode == o.Mode && e.MTime == o.MTime
}

// SamePlace reports whether two entries have the same parent and name.
func (e *Entry) SamePlace(o *Entry) bool { return e.Parent == o.Parent && e.Name == o.Name }

// Equal reports whether two entries are identical in every field.
func (e *Entry) Equal(o *Entry) bool {
	return e.ID == o.ID && e.SamePlace(o) && e.SameContent(o) && e.Rev == o.Rev
}

// DataHash is a digest of the entry's contents, stable across devices. Conflict
// copy names and IDs are derived from it.
func (e *Entry) DataHash() [32]byte {
	h := blake3.New()
	var b [8]byte
	h.Write([]byte{byte(e.Kind)})
	binary.LittleEndian.PutUint64(b[:], uint64(e.Size))
	h.Write(b[:])
	for _, c := range e.Chunks {
		h.Write(c.Blob[:])
	}
	h.Write([]byte(e.Target))
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

// Snapshot is one whole tree, flat and indexed.
type Snapshot struct {
	entries  map[ID]*Entry
	children map[ID]map[string]ID // directory -> name -> child
}

// New returns a tree holding only the root directory.
func New() *Snapshot {
	s := &Snapshot{entries: map[ID]*Entry{}, children: map[ID]map[string]ID{}}
	s.entries[Root] = &Entry{ID: Root, Kind: Dir, Mode: 0o755}
	return s
}

// Len is the number of entries, root included.
func (s *Snapshot) Len() int { return len(s.entries) }

// Get returns the entry with the given ID, or nil. The entry must not be
// modified; use Put with a clone.
func (s *Snapshot) Get(id ID) *Entry { return s.entries[id] }

// Root returns the root directory entry.
func (s *Snapshot) Root() *Entry { return s.entries[Root] }

// Child returns the entry named name in directory dir, or nil.
func (s *Snapshot) Child(dir ID, name string) *Entry {
	if id, ok := s.children[dir][name]; ok {
		return s.entries[id]
	}
	return nil
}

// Children returns a directory's entries sorted by name.
func (s *Snapshot) Children(dir ID) []*Entry {
	m := s.children[dir]
	out := make([]*Entry, 0, len(m))
	for _, id := range m {
		out = append(out, s.entries[id])
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// IDs returns every ID in the tree, sorted.
func (s *Snapshot) IDs() []ID {
	out := make([]ID, 0, len(s.entries))
	for id := range s.entries {
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i][:], out[j][:]) < 0 })
	return out
}

// Each calls f for every entry in unspecified order.
func (s *Snapshot) Each(f func(*Entry)) {
	for _, e := range s.entries {
		f(e)
	}
}

// Put inserts or replaces an entry (keyed by e.ID). It does not check the
// invariants; Validate does. The root's place cannot change.
func (s *Snapshot) Put(e *Entry) {
	if old, ok := s.entries[e.ID]; ok && e.ID != Root {
		s.unindex(old)
	}
	if e.ID == Root {
		e.Parent, e.Name, e.Kind = Root, "", Dir
	}
	s.entries[e.ID] = e
	if e.ID != Root {
		m := s.children[e.Parent]
		if m == nil {
			m = map[string]ID{}
			s.children[e.Parent] = m
		}
		m[e.Name] = e.ID
	}
}

func (s *Snapshot) unindex(e *Entry) {
	if m := s.children[e.Parent]; m != nil && m[e.Name] == e.ID {
		delete(m, e.Name)
		if len(m) == 0 {
			delete(s.children, e.Parent)
		}
	}
}

// Delete removes one entry (not its children). The root cannot be deleted.
func (s *Snapshot) Delete(id ID) {
	if id == Root {
		return
	}
	if e, ok := s.entries[id]; ok {
		s.unindex(e)
		delete(s.entries, id)
	}
}

// DeleteTree removes an entry and everything below it.
func (s *Snapshot) DeleteTree(id ID) {
	for _, c := range s.Children(id) {
		s.DeleteTree(c.ID)
	}
	s.Delete(id)
}

// Clone returns a copy that shares no mutable state with s. Entries are
// copied by pointer, since callers replace entries rather than edit them.
func (s *Snapshot) Clone() *Snapshot {
	c := &Snapshot{entries: make(map[ID]*Entry, len(s.entries)), children: make(map[ID]map[string]ID, len(s.children))}
	for id, e := range s.entries {
		c.entries[id] = e
	}
	for dir, m := range s.children {
		cm := make(map[string]ID, len(m))
		for n, id := range m {
			cm[n] = id
		}
		c.children[dir] = cm
	}
	return c
}

// Equal reports whether two trees hold identical entries.
func (s *Snapshot) Equal(o *Snapshot) bool {
	if len(s.entries) != len(o.entries) {
		return false
	}
	for id, e := range s.entries {
		oe, ok := o.entries[id]
		if !ok || !e.Equal(oe) {
			return false
		}
	}
	return true
}

// ErrNotFound is returned for a path that names nothing.
var ErrNotFound = errors.New("no such file or directory")

// ErrNotDir is returned when a path goes through something that is not a directory.
var ErrNotDir = errors.New("not a directory")

// SplitPath cleans a slash-separated path and returns its components; the root
// is the empty list. "..", "." and empty components are resolved lexically.
func SplitPath(p string) []string {
	p = path.Clean("/" + p)
	if p == "/" {
		return nil
	}
	return strings.Split(p[1:], "/")
}

// Lookup resolves a slash-separated path ("" or "/" is the root).
func (s *Snapshot) Lookup(p string) (*Entry, error) {
	e := s.Root()
	for _, name := range SplitPath(p) {
		if e.Kind != Dir {
			return nil, fmt.Errorf("%s: %w", p, ErrNotDir)
		}
		c := s.Child(e.ID, name)
		if c == nil {
			return nil, fmt.Errorf("%s: %w", p, ErrNotFound)
		}
		e = c
	}
	return e, nil
}

// Path returns the slash-separated path of an entry ("/" for the root), or ""
// if the entry or one of its ancestors is missing.
func (s *Snapshot) Path(id ID) string {
	var parts []string
	for seen := 0; id != Root; seen++ {
		e := s.entries[id]
		if e == nil || seen > len(s.entries) {
			return ""
		}
		parts = append(parts, e.Name)
		id = e.Parent
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return "/" + strings.Join(parts, "/")
}

// IsAncestor reports whether dir is id itself or one of its ancestors.
func (s *Snapshot) IsAncestor(dir, id ID) bool {
	for seen := 0; seen <= len(s.entries); seen++ {
		if id == dir {
			return true
		}
		if id == Root {
			return false
		}
		e := s.entries[id]
		if e == nil {
			return false
		}
		id = e.Parent
	}
	return false
}

// ValidName reports whether name can be a directory entry.
func ValidName(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return fmt.Errorf("invalid name %q", name)
	case strings.ContainsAny(name, "/\x00"):
		return fmt.Errorf("invalid name %q: contains '/' or NUL", name)
	case len(name) > 255:
		return fmt.Errorf("invalid name %q: longer than 255 bytes", name)
	}
	return nil
}

// Validate checks the invariants listed in the package comment.
func (s *Snapshot) Validate() error {
	root := s.entries[Root]
	if root == nil || root.Kind != Dir {
		return errors.New("tree has no root directory")
	}
	names := map[ID]map[string]ID{}
	for id, e := range s.entries {
		if e.ID != id {
			return fmt.Errorf("entry %s stored under %s", e.ID, id)
		}
		if id == Root {
			continue
		}
		if err := ValidName(e.Name); err != nil {
			return fmt.Errorf("entry %s: %w", id, err)
		}
		if e.Kind != File && e.Kind != Dir && e.Kind != Symlink {
			return fmt.Errorf("entry %s: unknown kind %d", id, e.Kind)
		}
		p := s.entries[e.Parent]
		if p == nil {
			return fmt.Errorf("entry %s (%q): parent %s missing", id, e.Name, e.Parent)
		}
		if p.Kind != Dir {
			return fmt.Errorf("entry %s (%q): parent %s is not a directory", id, e.Name, e.Parent)
		}
		m := names[e.Parent]
		if m == nil {
			m = map[string]ID{}
			names[e.Parent] = m
		}
		if other, dup := m[e.Name]; dup {
			return fmt.Errorf("entries %s and %s share the name %q", other, id, e.Name)
		}
		m[e.Name] = id
		if !s.IsAncestor(Root, id) {
			return fmt.Errorf("entry %s (%q) is in a cycle", id, e.Name)
		}
	}
	return nil
}
