package bucket

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/jax-desktop/jax/store/blob"
	"github.com/jax-desktop/jax/store/merge"
)

// ErrNameTaken means another bucket on this device has the name.
var ErrNameTaken = errors.New("another bucket has that name")

// maxNameLen bounds a bucket name: it names a folder in the default mount point.
const maxNameLen = 255

// ValidName checks a bucket name: not empty, no surrounding spaces, no "/"
// or control characters (it becomes a folder name), valid UTF-8, at most
// 255 bytes.
func ValidName(name string) error {
	switch {
	case name == "":
		return errors.New("a bucket needs a name")
	case strings.TrimSpace(name) != name:
		return fmt.Errorf("bucket name %q starts or ends with a space", name)
	case !utf8.ValidString(name):
		return errors.New("a bucket name must be valid UTF-8")
	case len(name) > maxNameLen:
		return fmt.Errorf("a bucket name may have at most %d bytes, not %d", maxNameLen, len(name))
	case name == "." || name == "..":
		return fmt.Errorf("%q is no bucket name", name)
	}
	for _, r := range name {
		if r == '/' || r < 0x20 || r == 0x7f {
			return fmt.Errorf("bucket name %q must not contain / or control characters", name)
		}
	}
	return nil
}

// Rename saves a version whose manifest carries the new name, so the name
// travels to every device with the version. A name another bucket has on
// this device is refused: names are how people pick buckets here.
func (b *Bucket) Rename(ctx context.Context, name string) (*Version, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	cur, unlock, err := b.lockForWrite()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if cur.Manifest.Name == name {
		return cur, nil
	}
	others, err := b.store.DB.BucketsByName(name)
	if err != nil {
		return nil, err
	}
	for _, o := range others {
		if o.ID != b.ID.String() {
			return nil, fmt.Errorf("rename bucket %s: %w: %q", b.Name, ErrNameTaken, name)
		}
	}
	m := b.child(cur.Manifest, []blob.ID{cur.Link}, cur.Manifest.Height+1)
	m.Name = name
	return b.commit(ctx, m, cur.Tree, true)
}

// mergedName is the name a merge of two versions carries: a rename on one
// side wins over the name both had; if both renamed, the later version's
// name (then the greater name) wins, so every device picks the same.
func (b *Bucket) mergedName(ours, theirs *Manifest, oursL, theirsL blob.ID) (string, error) {
	if ours.Name == theirs.Name {
		return ours.Name, nil
	}
	cas, err := merge.CommonAncestors(source{b}, merge.Link(oursL), merge.Link(theirsL))
	if err != nil {
		return "", err
	}
	var hasOurs, hasTheirs bool
	for _, ca := range cas {
		m, err := b.Manifest(blob.ID(ca))
		if err != nil {
			return "", err
		}
		hasOurs = hasOurs || m.Name == ours.Name
		hasTheirs = hasTheirs || m.Name == theirs.Name
	}
	switch {
	case hasOurs && !hasTheirs:
		return theirs.Name, nil
	case hasTheirs && !hasOurs:
		return ours.Name, nil
	}
	if ours.Time != theirs.Time {
		if ours.Time > theirs.Time {
			return ours.Name, nil
		}
		return theirs.Name, nil
	}
	return max(ours.Name, theirs.Name), nil
}

// nameAfter returns the name the version after bringing theirs into cur
// carries, and turns keeping one head or adopting the other into a merge
// version when that head's name is not it: else a rename on one side would
// be lost to an edit on the other. A mirror makes no merge versions; an
// owner's merge brings the name later.
func (b *Bucket) nameAfter(out *merge.Outcome, cur *Version, theirs blob.ID) (string, error) {
	if out.Action != merge.KeepOurs && out.Action != merge.AdoptTheirs && out.Action != merge.NeedCommit {
		return "", nil
	}
	tm, err := b.Manifest(theirs)
	if err != nil {
		return "", err
	}
	name, err := b.mergedName(cur.Manifest, tm, cur.Link, theirs)
	if err != nil {
		return "", err
	}
	kept := cur.Manifest.Name
	if out.Action == merge.AdoptTheirs {
		kept = tm.Name
	}
	if out.Action != merge.NeedCommit && name != kept && cur.Manifest.CanWrite(b.store.ID.ID()) {
		out.Action, out.Head = merge.NeedCommit, merge.Link{}
		out.Parents = []merge.Link{merge.Link(cur.Link), merge.Link(theirs)}
		slices.SortFunc(out.Parents, func(x, y merge.Link) int { return bytes.Compare(x[:], y[:]) })
	}
	return name, nil
}
