package merge

import (
	"bytes"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jax-desktop/jax/store/tree"
	"github.com/zeebo/blake3"
)

// ConflictKind says what the two sides disagreed about.
type ConflictKind uint8

const (
	// EditEdit: both sides changed a file's data differently. The winner kept
	// the ID and name; the loser became a conflict copy (CopyID) or was
	// dropped, as the resolver decided.
	EditEdit ConflictKind = iota + 1
	// EditDelete: one side deleted an entry the other changed; the change was kept.
	EditDelete
	// Restored: an entry deleted on one side came back: a directory the
	// other side still keeps something in, or the last holder of data that
	// both sides still hold elsewhere.
	Restored
	// Moved: both sides moved or renamed an entry differently; one place won.
	Moved
	// NameClash: two different files or symlinks took the same name. ID kept
	// the name; CopyID was renamed to a conflict name, or dropped.
	NameClash
	// TypeClash: a directory and a file or symlink took the same name (or one
	// ID became both). The directory kept the name; CopyID holds the other.
	TypeClash
	// DirsMerged: two directories took the same name and were merged: ID
	// kept the name and received the children of CopyID, which is gone.
	DirsMerged
	// Cycle: concurrent moves made a directory its own ancestor; the move of
	// ID was undone (back to its base place, or to the root).
	Cycle
)

func (k ConflictKind) String() string {
	switch k {
	case EditEdit:
		return "edit/edit"
	case EditDelete:
		return "edit/delete"
	case Restored:
		return "restored"
	case Moved:
		return "move/move"
	case NameClash:
		return "name clash"
	case TypeClash:
		return "type clash"
	case DirsMerged:
		return "directories merged"
	case Cycle:
		return "move cycle"
	}
	return "conflict(" + strconv.Itoa(int(k)) + ")"
}

// Conflict reports one disagreement the merge resolved.
type Conflict struct {
	Kind ConflictKind
	// ID is the entry that kept the name (or, for Restored, Moved, Cycle and
	// EditDelete, the entry concerned); Path is its path in the result, or ""
	// if it is not in the result.
	ID   tree.ID
	Path string
	// CopyID is the other entry: the conflict copy, the renamed or dropped
	// loser of a name clash, or the directory merged away. Zero if none.
	// CopyPath is its path in the result, "" if it is not there.
	CopyID   tree.ID
	CopyPath string
	// Ours and Theirs are the Revs of the two versions involved, zero for a
	// side that had none. For clashes between two entries that cannot be told
	// apart by side, Ours is the one that kept the name.
	Ours, Theirs tree.Rev
}

func (c Conflict) String() string {
	s := c.Kind.String() + " " + c.Path
	if c.CopyID != (tree.ID{}) {
		if c.CopyPath != "" {
			s += " / " + c.CopyPath
		} else {
			s += " / (gone " + c.CopyID.String()[:8] + ")"
		}
	}
	return s
}

func sortConflicts(cs []Conflict) {
	less := func(a, b Conflict) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		if a.Kind != b.Kind {
			return int(a.Kind) - int(b.Kind)
		}
		if c := bytes.Compare(a.ID[:], b.ID[:]); c != 0 {
			return c
		}
		if c := bytes.Compare(a.CopyID[:], b.CopyID[:]); c != 0 {
			return c
		}
		if c := strings.Compare(a.CopyPath, b.CopyPath); c != 0 {
			return c
		}
		if c := cmpRev(a.Ours, b.Ours); c != 0 {
			return c
		}
		return cmpRev(a.Theirs, b.Theirs)
	}
	slices.SortFunc(cs, less)
}

// copyID is the ID of the conflict copy holding loser's data of file orig. It
// depends only on values, so every device that resolves the same conflict
// makes the same copy, and a later merge recognises it. Devices must agree on
// it: changing the derivation needs a new version tag.
func copyID(orig tree.ID, data [32]byte) tree.ID {
	h := blake3.New()
	h.Write([]byte("jax merge conflict copy v1\x00"))
	h.Write(orig[:])
	h.Write(data[:])
	var id tree.ID
	copy(id[:], h.Sum(nil))
	return id
}

const maxName = 255

// ConflictName names the conflict copy of a file called name whose losing
// version was written by device on mtime (unix ns) with data hash data:
//
//	report (conflict from laptop 2026-11-25 a1b2c3d4).txt
//
// The extension stays last so the copy opens in the same application. The
// stem is trimmed so the name fits in 255 bytes.
func ConflictName(name, device string, mtime int64, data [32]byte) string {
	device = cleanDevice(device)
	date := time.Unix(0, mtime).UTC().Format("2006-01-02")
	return fitName(name, " (conflict from "+device+" "+date+" "+hex.EncodeToString(data[:4])+")")
}

// numbered returns name with " n" inserted before its extension, to make a
// conflict name unique in its directory.
func numbered(name string, n int) string {
	return fitName(name, " "+strconv.Itoa(n))
}

// fitName inserts suffix before name's extension, trimming the stem so that
// the result is a valid name of at most 255 bytes.
func fitName(name, suffix string) string {
	stem, ext := splitExt(name)
	if room := maxName - len(suffix) - len(ext); len(stem) > room {
		stem = trimUTF8(stem, room)
	}
	return stem + suffix + ext
}

// splitExt splits off the last extension: "archive.tar.gz" → "archive.tar",
// ".gz". Dotfiles (".bashrc"), trailing dots and long or spaced "extensions"
// ("notes.from the meeting") have none.
func splitExt(name string) (stem, ext string) {
	i := strings.LastIndexByte(name, '.')
	if i <= 0 || i == len(name)-1 {
		return name, ""
	}
	ext = name[i:]
	if len(ext) > 16 || strings.ContainsAny(ext, " ()") {
		return name, ""
	}
	return name[:i], ext
}

func trimUTF8(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

func cleanDevice(d string) string {
	d = strings.Map(func(r rune) rune {
		if r == '/' || r == 0 {
			return '_'
		}
		return r
	}, strings.TrimSpace(d))
	if d == "" {
		d = "unknown device"
	}
	return trimUTF8(d, 64)
}

func (m *merger) deviceName(d tree.DeviceID) string {
	if m.devName != nil {
		if n := m.devName(d); n != "" {
			return n
		}
	}
	return d.Short()
}

func (m *merger) conflictName(name string, loser *tree.Entry) string {
	return ConflictName(name, m.deviceName(loser.Rev.Device), loser.MTime, loser.DataHash())
}

func cmpRev(a, b tree.Rev) int {
	switch {
	case a.Less(b):
		return -1
	case b.Less(a):
		return 1
	}
	return 0
}
