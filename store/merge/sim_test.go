package merge

import (
	"cmp"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/jax-desktop/jax/store/tree"
)

var (
	soakFlag = flag.Bool("soak", false, "run the long merge simulation (also JAX_SOAK=1)")
	seedFlag = flag.Uint64("seed", 0, "run the merge simulation with this seed only")
)

type simConfig struct {
	devices int
	steps   int
}

// TestSimulation has devices make random changes and exchange heads in
// random orders, with partitions, merging through Reconcile as a real device
// would. After a full exchange every device must hold the same tree, every
// tree ever made must be valid, and nothing written may be lost unless a user
// operation removed it.
//
// A failing seed is in the subtest name; rerun it with
// `go test -run Simulation -seed N ./store/merge/` (add -soak for a soak
// seed). -soak or JAX_SOAK=1 runs 20 fresh seeds of a much longer run.
func TestSimulation(t *testing.T) {
	cfg := simConfig{devices: 5, steps: 3000}
	seeds := []uint64{1, 2, 3, 4}
	if *soakFlag || os.Getenv("JAX_SOAK") != "" {
		cfg = simConfig{devices: 7, steps: 12000}
		seeds = nil
		base := uint64(time.Now().UnixNano())
		for i := range uint64(20) {
			seeds = append(seeds, base+i)
		}
	}
	if *seedFlag != 0 {
		seeds = []uint64{*seedFlag}
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			runSim(t, seed, cfg)
		})
	}
}

type simDevice struct {
	id    tree.DeviceID
	name  string
	head  Link
	group int // devices talk only within their group
}

type sim struct {
	t       *testing.T
	rng     *rand.Rand
	gen     *gen
	repo    *memRepo
	devs    []*simDevice
	names   map[tree.DeviceID]string
	written map[[32]byte]Link // chunk → version whose user op wrote it
	// Content is followed per instance: a chunk in one family of files (a
	// file and its conflict copies). Conflict copies and appends put one
	// chunk in several files, and each user may delete or overwrite their own.
	removedBy map[instance][]Link // user-op versions that dropped a chunk from a file of the family
	dropped   map[[32]byte][]Link // user-op versions that dropped any instance of the chunk
	copyOf    map[tree.ID]tree.ID // conflict copy → the file it copies

	cur         [2]Link // the heads being reconciled, for explain
	ops, merges int
	byAction    map[Action]int
	byKind      map[ConflictKind]int
}

type instance struct {
	fam   tree.ID
	chunk [32]byte
}

func runSim(t *testing.T, seed uint64, cfg simConfig) {
	start := time.Now()
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	s := &sim{
		t:         t,
		rng:       rng,
		gen:       &gen{rng: rng},
		repo:      newRepo(),
		names:     map[tree.DeviceID]string{},
		written:   map[[32]byte]Link{},
		removedBy: map[instance][]Link{},
		dropped:   map[[32]byte][]Link{},
		copyOf:    map[tree.ID]tree.ID{},
		byAction:  map[Action]int{},
		byKind:    map[ConflictKind]int{},
	}
	for i := range cfg.devices {
		var d tree.DeviceID
		for j := range d {
			d[j] = byte(rng.Uint32())
		}
		s.devs = append(s.devs, &simDevice{id: d, name: fmt.Sprintf("dev%d", i)})
		s.names[d] = fmt.Sprintf("dev%d", i)
	}
	g := tree.New()
	for _, n := range []string{"docs", "photos", "src"} {
		g.Put(&tree.Entry{ID: s.gen.newID(), Name: n, Kind: tree.Dir, Mode: 0o755, MTime: t0, Rev: rv(0, s.devs[0].id)})
	}
	genesis := s.repo.add(nil, g, s.devs[0].id, false)
	for _, d := range s.devs {
		d.head = genesis
	}

	partitioned := false
	for range cfg.steps {
		switch k := rng.IntN(100); {
		case k < 2:
			partitioned = !partitioned
			for _, d := range s.devs {
				d.group = 0
				if partitioned {
					d.group = rng.IntN(2)
				}
			}
		case k < 60:
			s.userOp(s.devs[rng.IntN(len(s.devs))])
		default:
			i, j := rng.IntN(len(s.devs)), rng.IntN(len(s.devs))
			if i != j && s.devs[i].group == s.devs[j].group {
				s.learn(s.devs[i], s.devs[j].head)
			}
		}
	}

	// Full exchange until nothing changes.
	for _, d := range s.devs {
		d.group = 0
	}
	quiet := false
	rounds := 0
	for ; rounds < 8 && !quiet; rounds++ {
		quiet = true
		var pairs [][2]int
		for i := range s.devs {
			for j := range s.devs {
				if i != j {
					pairs = append(pairs, [2]int{i, j})
				}
			}
		}
		rng.Shuffle(len(pairs), func(a, b int) { pairs[a], pairs[b] = pairs[b], pairs[a] })
		for _, p := range pairs {
			if s.learn(s.devs[p[0]], s.devs[p[1]].head) {
				quiet = false
			}
		}
	}
	if !quiet {
		t.Fatalf("devices still changing after %d rounds of full exchange", rounds)
	}
	final := s.repo.vs[s.devs[0].head].tree
	for _, d := range s.devs[1:] {
		if d.head != s.devs[0].head || !s.repo.vs[d.head].tree.Equal(final) {
			t.Fatalf("%s and %s did not converge", s.devs[0].name, d.name)
		}
	}

	// No loss: a chunk that is gone was dropped by a user op, which descends
	// from the write since its parent held the chunk. (Not necessarily in the
	// final history: adopting an equal head drops the other history.)
	have := chunkSet(final)
	lost := 0
	for c, w := range s.written {
		if have[c] {
			continue
		}
		lost++
		if len(s.dropped[c]) == 0 {
			t.Fatalf("chunk %x written in %s is gone, but no user op removed it", c[:8], w.Short())
		}
		if lost <= 20 {
			if ok, err := IsAncestor(s.repo, w, s.dropped[c][0]); err != nil || !ok {
				t.Fatalf("chunk removed by %s, which does not descend from its write %s", s.dropped[c][0].Short(), w.Short())
			}
		}
	}
	if s.merges == 0 || s.byKind[EditEdit] == 0 {
		t.Fatalf("simulation too tame: %d merges, conflicts %v", s.merges, s.byKind)
	}
	t.Logf("%d devices, %d steps: %d user ops, %d merge versions, %d versions; %v; conflicts %v; final tree %d entries, %d/%d chunks kept; quiet after %d rounds; %v",
		cfg.devices, cfg.steps, s.ops, s.merges, len(s.repo.vs), s.byAction, s.byKind, final.Len(), len(s.written)-lost, len(s.written), rounds, time.Since(start).Round(time.Millisecond))
}

func (s *sim) userOp(d *simDevice) {
	pv := s.repo.vs[d.head]
	t := pv.tree.Clone()
	desc := s.gen.op(t, tree.Rev{Height: pv.height + 1, Device: d.id})
	if desc == "" {
		return
	}
	if err := t.Validate(); err != nil {
		s.t.Fatalf("user op %q made an invalid tree: %v", desc, err)
	}
	l := s.repo.add([]Link{d.head}, t, d.id, false)
	s.ops++
	for _, c := range s.gen.fresh {
		s.written[c] = l
	}
	// The op removed content from a file if the file no longer holds it.
	// That counts for the file's whole family: content moves between a file
	// and its conflict copies, and shared chunks (appends) may sit in both.
	pv.tree.Each(func(e *tree.Entry) {
		n := t.Get(e.ID)
		if n == e {
			return
		}
		for _, c := range e.Chunks {
			if n == nil || !hasChunk(n, c.Blob) {
				k := instance{s.family(e.ID), c.Blob}
				s.removedBy[k] = append(s.removedBy[k], l)
				s.dropped[c.Blob] = append(s.dropped[c.Blob], l)
			}
		}
	})
	d.head = l
}

// learn has device d reconcile with head theirs and reports whether d moved.
func (s *sim) learn(d *simDevice, theirs Link) bool {
	out, err := Reconcile(s.repo, d.head, theirs, Options{DeviceName: func(id tree.DeviceID) string { return s.names[id] }})
	if err != nil {
		s.t.Fatalf("%s reconciling %s with %s: %v", d.name, d.head.Short(), theirs.Short(), err)
	}
	s.byAction[out.Action]++
	for _, c := range out.Conflicts {
		s.byKind[c.Kind]++
	}
	old := s.repo.vs[d.head].tree
	s.cur = [2]Link{d.head, theirs}
	switch out.Action {
	case UpToDate, KeepOurs:
		return false
	case FastForward, AdoptTheirs:
		d.head = out.Head
	case NeedCommit:
		if err := out.Tree.Validate(); err != nil {
			s.t.Fatalf("merge made an invalid tree: %v", err)
		}
		if !slices.IsSortedFunc(out.Parents, cmpLink) || len(out.Parents) != 2 {
			s.t.Fatalf("parents %v", out.Parents)
		}
		s.noteCopies(old, s.repo.vs[theirs].tree, out.Tree)
		s.lossless(s.repo.vs[theirs].tree, out.Tree, d.head)
		s.lossless(old, out.Tree, theirs)
		d.head = s.repo.add(out.Parents, out.Tree, d.id, true)
		s.merges++
		return true
	}
	s.lossless(old, s.repo.vs[d.head].tree, d.head)
	return true
}

// lossless checks a move from tree from to tree to, which merged in (or
// adopted) the history of head other. Every piece of content of from that is
// not in to must have been dropped by a user op in other's history, or moved
// to the conflict copy of its file: merges never drop content on their own.
func (s *sim) lossless(from, to *tree.Snapshot, other Link) {
	var history map[Link]bool
	var kept map[instance]bool
	from.Each(func(e *tree.Entry) {
		n := to.Get(e.ID)
		if n == e {
			return
		}
		fam := s.family(e.ID)
		for _, c := range e.Chunks {
			if n != nil && hasChunk(n, c.Blob) {
				continue
			}
			if kept == nil {
				history = s.ancestors(other)
				kept = s.kept(to)
			}
			k := instance{fam, c.Blob}
			if kept[k] || slices.ContainsFunc(s.removedBy[k], func(l Link) bool { return history[l] }) {
				continue
			}
			s.explain(s.cur[0], s.cur[1], e.ID, s.family(e.ID))
			s.t.Fatalf("chunk %x of %s (written in %s) dropped by a merge with %s\nfrom:\n%sto:\n%s",
				c.Blob[:8], e.ID.String()[:8], s.written[c.Blob].Short(), other.Short(), dump(from), dump(to))
		}
	})
}

// kept lists the content of each family in t.
func (s *sim) kept(t *tree.Snapshot) map[instance]bool {
	m := map[instance]bool{}
	t.Each(func(e *tree.Entry) {
		for _, c := range e.Chunks {
			m[instance{s.family(e.ID), c.Blob}] = true
		}
	})
	return m
}

// family is the file a conflict copy was made from, recursively: a file and
// its copies are one family, and content may move between them.
func (s *sim) family(id tree.ID) tree.ID {
	for n := 0; n < 1000; n++ {
		o, ok := s.copyOf[id]
		if !ok {
			return id
		}
		id = o
	}
	s.t.Fatal("copy loop")
	return id
}

// noteCopies records which file each conflict copy new in to copies.
func (s *sim) noteCopies(a, b, to *tree.Snapshot) {
	var fresh []tree.ID
	to.Each(func(e *tree.Entry) {
		if a.Get(e.ID) == nil && b.Get(e.ID) == nil {
			fresh = append(fresh, e.ID)
		}
	})
	if len(fresh) == 0 {
		return
	}
	for _, t := range []*tree.Snapshot{a, b} {
		t.Each(func(e *tree.Entry) {
			h := e.DataHash()
			// A copy, or a copy derived from a changed copy.
			for id, n := e.ID, 0; n < 8; n++ {
				if id = copyID(id, h); slices.Contains(fresh, id) {
					s.copyOf[id] = e.ID
					break
				}
			}
		})
	}
	for _, id := range fresh {
		if _, ok := s.copyOf[id]; !ok {
			s.t.Fatalf("merge made entry %s, which is no conflict copy\n%s", id, dump(to))
		}
	}
}

func hasChunk(e *tree.Entry, c [32]byte) bool {
	return slices.ContainsFunc(e.Chunks, func(r tree.ChunkRef) bool { return r.Blob == c })
}

// ancestors returns l and every version it descends from.
func (s *sim) ancestors(l Link) map[Link]bool {
	seen := map[Link]bool{l: true}
	stack := []Link{l}
	for len(stack) > 0 {
		v := s.repo.vs[stack[len(stack)-1]]
		stack = stack[:len(stack)-1]
		for _, p := range v.parents {
			if !seen[p] {
				seen[p] = true
				stack = append(stack, p)
			}
		}
	}
	return seen
}

// explain logs, for a failed check of the reconciliation of ours with
// theirs, the entries ids in the base, the heads and their common
// ancestors, and every version of either history that changed them.
func (s *sim) explain(ours, theirs Link, ids ...tree.ID) {
	ids = slices.Compact(ids)
	desc := func(t *tree.Snapshot, id tree.ID) string {
		e := t.Get(id)
		if e == nil {
			return "-"
		}
		var cs []string
		for _, c := range e.Chunks {
			cs = append(cs, fmt.Sprintf("%x", c.Blob[:2]))
		}
		return fmt.Sprintf("%s %v rev=%d/%s", t.Path(id), cs, e.Rev.Height, e.Rev.Device.Short()[:2])
	}
	show := func(what string, t *tree.Snapshot) {
		for _, id := range ids {
			s.t.Logf("%-16s %s %s", what, id.String()[:8], desc(t, id))
		}
	}
	cas, _ := CommonAncestors(s.repo, ours, theirs)
	if base, err := mergeBase(s.repo, newWalker(s.repo), []Link{ours}, []Link{theirs}, Options{}, 0); err == nil {
		show("base", base)
	}
	show("ours "+ours.Short(), s.repo.vs[ours].tree)
	show("theirs "+theirs.Short(), s.repo.vs[theirs].tree)
	for _, ca := range cas {
		show("ca "+ca.Short(), s.repo.vs[ca].tree)
	}
	var hist []Link
	for l := range s.ancestors(ours) {
		hist = append(hist, l)
	}
	for l := range s.ancestors(theirs) {
		if !slices.Contains(hist, l) {
			hist = append(hist, l)
		}
	}
	slices.SortFunc(hist, func(a, b Link) int { return cmp.Compare(s.repo.vs[a].height, s.repo.vs[b].height) })
	for _, l := range hist {
		v := s.repo.vs[l]
		for _, id := range ids {
			d := desc(v.tree, id)
			if slices.ContainsFunc(v.parents, func(p Link) bool { return desc(s.repo.vs[p].tree, id) == d }) || len(v.parents) == 0 {
				continue
			}
			line := fmt.Sprintf("h=%d %s merge=%v by %s: %s", v.height, l.Short(), v.merge, s.names[v.author], d)
			for _, p := range v.parents {
				line += " | parent " + p.Short() + " " + desc(s.repo.vs[p].tree, id)
			}
			s.t.Log(line)
		}
	}
}
