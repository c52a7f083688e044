package bucket

import (
	"bytes"
	"container/heap"
	"time"

	"github.com/jax-desktop/jax/store/blob"
	"github.com/jax-desktop/jax/store/db"
	"github.com/jax-desktop/jax/store/merge"
	"github.com/jax-desktop/jax/store/tree"
)

// Conflicts are recorded by the device that makes a merge. A device that
// takes that merge from another device (a fast-forward, an adopted head, a
// bucket new to it, or a merge of its own over versions that contain it)
// records them too, so that every device lists and announces the conflict
// copies it holds. Merging is deterministic and symmetric, so merging the
// merge version's parents again gives the same tree and the same conflicts;
// a merge that does not give the same tree is skipped, not guessed at.
//
// Only merge versions are merged again, newest first and within bounds, so
// taking a long history costs little.
const (
	adoptMaxWalk   = 10000           // versions looked at in one adopted range
	adoptMaxMerges = 32              // merges made elsewhere merged again at most
	adoptBudget    = 5 * time.Second // time spent merging again at most
)

// recordAdopted records the conflicts of the merges made on other devices
// that this device took by moving its head from old (zero: it had none) to
// head. Failures are logged: the head moved either way.
//
// It runs to its bounds even if the caller gives up: the head has moved, and
// a range left unrecorded now is never looked at again.
func (b *Bucket) recordAdopted(old blob.ID, head *Version) {
	if old == head.Link {
		return
	}
	log := b.store.Log.With("bucket", b.Name)
	merges, parentSide, err := b.foreignMerges(old, head.Link)
	if err != nil {
		log.Warn("find merges made elsewhere", "err", err)
		return
	}
	if len(merges) > adoptMaxMerges {
		log.Warn("conflicts of older merges made elsewhere not recorded", "merges", len(merges)-adoptMaxMerges)
		merges = merges[:adoptMaxMerges]
	}
	start := time.Now()
	for i := len(merges) - 1; i >= 0; i-- { // oldest first, so ids follow time
		if time.Since(start) > adoptBudget {
			log.Warn("conflicts of merges made elsewhere not recorded: out of time", "merges", i+1)
			return
		}
		if err := b.recordMerge(merges[i], parentSide, head); err != nil {
			log.Warn("record conflicts of a merge made elsewhere", "version", blob.ID(merges[i].Link).Short(), "err", err)
		}
	}
}

// recordMerge merges again the parents of m, a merge version made elsewhere,
// and records its conflicts under m. A conflict copy that head no longer
// holds is recorded as resolved.
func (b *Bucket) recordMerge(m db.Version, oldSide map[blob.ID]bool, head *Version) error {
	link := blob.ID(m.Link)
	if done, err := b.store.DB.HasConflicts(b.ID.String(), m.Link); err != nil || done {
		return err
	}
	if len(m.Parents) != 2 {
		b.store.Log.Warn("merge of more than two versions not merged again", "bucket", b.Name, "version", link.Short(), "parents", len(m.Parents))
		return nil
	}
	// A merge of the same two versions (this device's own, made at the same
	// time) gave the same conflicts, already recorded.
	same, err := b.store.DB.MergesOf(b.ID.String(), m.Parents[0], m.Parents[1])
	if err != nil {
		return err
	}
	for _, l := range same {
		if done, err := b.store.DB.HasConflicts(b.ID.String(), l); err != nil || done {
			return err
		}
	}
	// Ours is the parent this device already had, so that the records name
	// the other device as this device's own merge would.
	ours, theirs := merge.Link(m.Parents[0]), merge.Link(m.Parents[1])
	if oldSide[blob.ID(theirs)] && !oldSide[blob.ID(ours)] {
		ours, theirs = theirs, ours
	}
	v, err := b.Load(link)
	if err != nil {
		return err
	}
	out, err := merge.Reconcile(source{b}, ours, theirs, merge.Options{DeviceName: v.Manifest.DeviceName})
	if err != nil {
		return err
	}
	if out.Tree == nil || !out.Tree.Equal(v.Tree) {
		b.store.Log.Warn("merging the parents of a merge made elsewhere gives another result; its conflicts are not recorded",
			"bucket", b.Name, "version", link.Short(), "action", out.Action.String())
		return nil
	}
	if len(out.Conflicts) == 0 {
		return nil
	}
	now := time.Now().UnixNano()
	recs := make([]db.Conflict, 0, len(out.Conflicts))
	for _, c := range out.Conflicts {
		other := c.Theirs.Device
		rec := db.Conflict{BucketID: b.ID.String(), Version: m.Link, Kind: c.Kind.String(), Path: c.Path,
			CopyPath: c.CopyPath, FileID: c.ID[:], OtherDevice: other[:]}
		if c.CopyID != (tree.ID{}) {
			rec.CopyID = c.CopyID[:]
			if head.Tree.Get(c.CopyID) == nil { // dealt with before it reached us
				rec.ResolvedAt = now
			}
		}
		recs = append(recs, rec)
	}
	n, err := b.store.DB.AddConflicts(recs)
	if err != nil {
		return err
	}
	b.store.Log.Info("conflicts of a merge made elsewhere recorded", "bucket", b.Name, "version", link.Short(), "new", n)
	return nil
}

// foreignMerges walks the versions head has and old has not, highest first,
// and returns those that are merges authored by another device, with the
// walked versions known to be old or ancestors of it. It paints down from
// both heads in height order (a parent is always lower than its child), and
// stops once every version still queued is one old has.
func (b *Bucket) foreignMerges(old, head blob.ID) ([]db.Version, map[blob.ID]bool, error) {
	self := b.store.ID.ID()
	q := &walkQueue{}
	oldSide := map[blob.ID]bool{}
	queued := map[blob.ID]bool{}
	fresh := 0 // queued versions not known to be old's
	push := func(l blob.ID, isOld bool) error {
		if queued[l] {
			if isOld && !oldSide[l] {
				oldSide[l] = true
				fresh--
			}
			return nil
		}
		if isOld {
			if oldSide[l] {
				return nil
			}
			oldSide[l] = true
		}
		v, err := b.store.DB.VersionByLink(b.ID.String(), l[:])
		if err != nil {
			return err
		}
		queued[l] = true
		if !isOld {
			fresh++
		}
		heap.Push(q, v)
		return nil
	}
	if err := push(head, false); err != nil {
		return nil, nil, err
	}
	if old != (blob.ID{}) {
		if err := push(old, true); err != nil {
			return nil, nil, err
		}
	}
	var merges []db.Version
	for walked := 0; fresh > 0 && q.Len() > 0; walked++ {
		if walked >= adoptMaxWalk {
			b.store.Log.Warn("adopted history too long to look through; older merges made elsewhere skipped", "bucket", b.Name, "versions", walked)
			break
		}
		v := heap.Pop(q).(db.Version)
		l := blob.ID(v.Link)
		delete(queued, l)
		isOld := oldSide[l]
		if !isOld {
			fresh--
			if len(v.Parents) > 1 && !bytes.Equal(v.Author, self[:]) {
				merges = append(merges, v)
			}
		}
		for _, p := range v.Parents {
			if err := push(blob.ID(p), isOld); err != nil {
				return nil, nil, err
			}
		}
	}
	return merges, oldSide, nil
}

// walkQueue orders versions highest first, then by link.
type walkQueue []db.Version

func (q walkQueue) Len() int { return len(q) }
func (q walkQueue) Less(i, j int) bool {
	if q[i].Height != q[j].Height {
		return q[i].Height > q[j].Height
	}
	return bytes.Compare(q[i].Link, q[j].Link) < 0
}
func (q walkQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *walkQueue) Push(x any)   { *q = append(*q, x.(db.Version)) }
func (q *walkQueue) Pop() any {
	old := *q
	v := old[len(old)-1]
	*q = old[:len(old)-1]
	return v
}
