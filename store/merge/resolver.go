package merge

import (
	"bytes"
	"cmp"
	"strings"

	"github.com/jax-desktop/jax/store/tree"
)

// Side names one of the two versions being merged.
type Side uint8

const (
	Ours   Side = 1
	Theirs Side = 2
)

// Clash is a choice put to a Resolver. Either both sides changed one file's
// data differently (Kind EditEdit; Ours and Theirs have the same ID and Base
// is the common version, nil if both sides created the file), or two
// different files or symlinks, one placed by each side, want the same name
// (Kind NameClash; Base is nil).
type Clash struct {
	Kind         ConflictKind
	Base         *tree.Entry
	Ours, Theirs *tree.Entry
}

// Decision is a Resolver's answer: which side keeps the ID (EditEdit) or the
// name (NameClash), and whether the loser survives, as a conflict copy or
// under a conflict name. A dropped loser still exists in history.
type Decision struct {
	Winner    Side
	KeepLoser bool
}

// Resolver decides clashes. It is never asked about deletions (an edit always
// beats a delete), moves (the later move wins) or directories (they are
// merged), so even a resolver that drops losers never orphans a subtree.
type Resolver interface {
	Resolve(Clash) Decision
}

// ResolverFunc adapts a function to a Resolver.
type ResolverFunc func(Clash) Decision

func (f ResolverFunc) Resolve(c Clash) Decision { return f(c) }

// ConflictCopy is the default resolver for sync: the later version (higher
// Rev, ties broken by data hash) wins and the other is kept as a conflict
// copy. It is symmetric, so devices merging in either direction agree.
type ConflictCopy struct{}

func (ConflictCopy) Resolve(c Clash) Decision {
	if cmpVersion(c.Ours, c.Theirs) >= 0 {
		return Decision{Winner: Ours, KeepLoser: true}
	}
	return Decision{Winner: Theirs, KeepLoser: true}
}

// LastWriterWins keeps the version with the later modification time (then the
// higher Rev) and drops the other.
type LastWriterWins struct{}

func (LastWriterWins) Resolve(c Clash) Decision {
	o := cmp.Compare(c.Ours.MTime, c.Theirs.MTime)
	if o == 0 {
		o = cmpVersion(c.Ours, c.Theirs)
	}
	if o >= 0 {
		return Decision{Winner: Ours}
	}
	return Decision{Winner: Theirs}
}

// KeepLocal keeps our version and drops theirs.
type KeepLocal struct{}

func (KeepLocal) Resolve(Clash) Decision { return Decision{Winner: Ours} }

// KeepBoth keeps our version under the name and theirs as a conflict copy,
// so that the user reviews every incoming clash.
type KeepBoth struct{}

func (KeepBoth) Resolve(Clash) Decision { return Decision{Winner: Ours, KeepLoser: true} }

// cmpVersion totally orders versions by Rev, then data hash, then every other
// field. Ties between sides are broken by it so that the outcome depends only
// on the values, never on which side is ours.
func cmpVersion(a, b *tree.Entry) int {
	if c := cmpRev(a.Rev, b.Rev); c != 0 {
		return c
	}
	if !a.SameData(b) {
		ha, hb := a.DataHash(), b.DataHash()
		if c := bytes.Compare(ha[:], hb[:]); c != 0 {
			return c
		}
		if c := cmpChunks(a.Chunks, b.Chunks); c != 0 {
			return c
		}
	}
	if c := cmp.Compare(a.Mode, b.Mode); c != 0 {
		return c
	}
	if c := cmp.Compare(a.MTime, b.MTime); c != 0 {
		return c
	}
	if c := bytes.Compare(a.Parent[:], b.Parent[:]); c != 0 {
		return c
	}
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	return bytes.Compare(a.ID[:], b.ID[:])
}

// cmpChunks breaks the tie DataHash leaves: it hashes blobs, not chunk sizes
// and epochs.
func cmpChunks(a, b []tree.ChunkRef) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if c := cmp.Compare(a[i].Size, b[i].Size); c != 0 {
			return c
		}
		if c := cmp.Compare(a[i].Epoch, b[i].Epoch); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(a), len(b))
}

func resolve(r Resolver, c Clash) Decision {
	d := r.Resolve(c)
	if d.Winner != Ours && d.Winner != Theirs {
		// A resolver that cannot decide gets the default, not a panic.
		return ConflictCopy{}.Resolve(c)
	}
	return d
}
