package bucket

import (
	"context"
	"fmt"

	"github.com/jax-desktop/jax/store/blob"
	"github.com/jax-desktop/jax/store/db"
	"github.com/jax-desktop/jax/store/merge"
	"github.com/jax-desktop/jax/store/tree"
)

// source is the bucket's version graph as merge sees it.
type source struct{ b *Bucket }

func (s source) Parents(l merge.Link) ([]merge.Link, error) {
	ps, err := s.b.store.DB.Parents(s.b.ID.String(), l[:])
	if err != nil {
		return nil, err
	}
	out := make([]merge.Link, len(ps))
	for i, p := range ps {
		out[i] = merge.Link(p)
	}
	return out, nil
}

func (s source) Height(l merge.Link) (uint64, error) {
	v, err := s.b.store.DB.VersionByLink(s.b.ID.String(), l[:])
	if err != nil {
		return 0, fmt.Errorf("version %s: %w", blob.ID(l).Short(), err)
	}
	return v.Height, nil
}

func (s source) Tree(l merge.Link) (*tree.Snapshot, error) {
	v, err := s.b.Load(blob.ID(l))
	if err != nil {
		return nil, err
	}
	return v.Tree, nil
}

// MergeResult is what bringing another head in did.
type MergeResult struct {
	Action    merge.Action
	Version   *Version // the current version afterwards
	Conflicts []merge.Conflict
}

// MergeHead brings a recorded version (from another device) into the
// current one: nothing if it is already contained, a switch if it descends
// from the current version or merging changes nothing on our side, else a
// merge version with conflict copies, whose conflicts are recorded.
func (b *Bucket) MergeHead(ctx context.Context, theirs blob.ID, opt merge.Options) (*MergeResult, error) {
	unlock, err := b.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	ours, err := b.HeadLink()
	if err != nil {
		return nil, err
	}
	return b.mergeLocked(ctx, ours, theirs, opt)
}

func (b *Bucket) mergeLocked(ctx context.Context, ours, theirs blob.ID, opt merge.Options) (*MergeResult, error) {
	cur, err := b.Load(ours)
	if err != nil {
		return nil, err
	}
	if opt.DeviceName == nil {
		opt.DeviceName = cur.Manifest.DeviceName
	}
	out, err := merge.Reconcile(source{b}, merge.Link(ours), merge.Link(theirs), opt)
	if err != nil {
		return nil, fmt.Errorf("merge version %s into %s: %w", theirs.Short(), b.Name, err)
	}
	name, err := b.nameAfter(out, cur, theirs)
	if err != nil {
		return nil, err
	}
	res := &MergeResult{Action: out.Action, Conflicts: out.Conflicts}
	switch out.Action {
	case merge.UpToDate, merge.KeepOurs:
		res.Version = cur
	case merge.FastForward, merge.AdoptTheirs:
		v, err := b.Load(blob.ID(out.Head))
		if err != nil {
			return nil, err
		}
		if err := b.store.DB.SetHead(b.ID.String(), v.Link[:], v.Manifest.Name); err != nil {
			return nil, err
		}
		b.store.headChanged(b.ID.String())
		res.Version = v
	case merge.NeedCommit:
		if !cur.Manifest.CanWrite(b.store.ID.ID()) {
			return nil, fmt.Errorf("bucket %s: %w: cannot save a merge", b.Name, ErrReadOnly)
		}
		var height uint64
		links := make([]blob.ID, len(out.Parents))
		for i, p := range out.Parents {
			links[i] = blob.ID(p)
			h, err := source{b}.Height(p)
			if err != nil {
				return nil, err
			}
			height = max(height, h+1)
		}
		m := b.child(cur.Manifest, links, height)
		m.Name = name
		v, err := b.commit(ctx, m, out.Tree, true)
		if err != nil {
			return nil, err
		}
		res.Version = v
	}
	if res.Version.Link != ours {
		b.recordAdopted(ours, res.Version)
	}
	if err := b.recordConflicts(res.Version, out.Conflicts); err != nil {
		return nil, err
	}
	return res, nil
}

func (b *Bucket) recordConflicts(v *Version, cs []merge.Conflict) error {
	if len(cs) == 0 {
		return nil
	}
	recs := make([]db.Conflict, 0, len(cs))
	for _, c := range cs {
		other := c.Theirs.Device
		rec := db.Conflict{BucketID: b.ID.String(), Version: v.Link[:], Kind: c.Kind.String(), Path: c.Path,
			CopyPath: c.CopyPath, FileID: c.ID[:], OtherDevice: other[:]}
		if c.CopyID != (tree.ID{}) {
			rec.CopyID = c.CopyID[:]
		}
		recs = append(recs, rec)
	}
	if _, err := b.store.DB.AddConflicts(recs); err != nil {
		return fmt.Errorf("record conflicts: %w", err)
	}
	return nil
}

// Save commits t, an edited copy of version base's tree, as a new version.
// If the current version moved on since base (another writer, or sync), the
// result is merged with it, so nothing written on either side is lost.
func (b *Bucket) Save(ctx context.Context, base *Version, t *tree.Snapshot, opt merge.Options) (*MergeResult, error) {
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("save of bucket %s would damage its tree: %w", b.Name, err)
	}
	unlock, err := b.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if !base.Manifest.CanWrite(b.store.ID.ID()) {
		return nil, fmt.Errorf("bucket %s: %w", b.Name, ErrReadOnly)
	}
	head, err := b.HeadLink()
	if err != nil {
		return nil, err
	}
	t = stamp(base.Tree, t, tree.Rev{Height: base.Manifest.Height + 1, Device: b.store.ID.ID()})
	if t == nil { // nothing changed
		if head == base.Link {
			return &MergeResult{Action: merge.UpToDate, Version: base}, nil
		}
		return b.mergeLocked(ctx, head, base.Link, opt)
	}
	v, err := b.commit(ctx, b.child(base.Manifest, []blob.ID{base.Link}, base.Manifest.Height+1), t, head == base.Link)
	if err != nil {
		return nil, err
	}
	if head == base.Link {
		return &MergeResult{Action: merge.FastForward, Version: v}, nil
	}
	return b.mergeLocked(ctx, head, v.Link, opt)
}

// stamp returns t with every entry that differs from base stamped with rev,
// or nil if t holds no change.
func stamp(base, t *tree.Snapshot, rev tree.Rev) *tree.Snapshot {
	changed := t.Len() != base.Len()
	out := t.Clone()
	t.Each(func(e *tree.Entry) {
		old := base.Get(e.ID)
		if old == nil || !old.SamePlace(e) || !old.SameContent(e) {
			changed = true
			if e.Rev != rev {
				c := e.Clone()
				c.Rev = rev
				out.Put(c)
			}
		}
	})
	if !changed {
		return nil
	}
	return out
}

// Incoming brings a version received from another device (already recorded
// with Import, its blobs stored) into the bucket: a bucket new to this device
// starts at it, a known one merges it with MergeHead.
func (s *Store) Incoming(ctx context.Context, bucketID string, theirs blob.ID, opt merge.Options) (*MergeResult, error) {
	b, err := s.Open(bucketID)
	if err != nil {
		return nil, err
	}
	row, err := s.DB.BucketByID(bucketID)
	if err != nil {
		return nil, err
	}
	if len(row.Head) == 0 {
		v, err := b.Load(theirs)
		if err != nil {
			return nil, err
		}
		if err := s.DB.SetHead(bucketID, theirs[:], v.Manifest.Name); err != nil {
			return nil, err
		}
		s.headChanged(bucketID)
		b.recordAdopted(blob.ID{}, v)
		return &MergeResult{Action: merge.FastForward, Version: v}, nil
	}
	return b.MergeHead(ctx, theirs, opt)
}
