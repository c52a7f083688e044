package fuse

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/jax-desktop/jax/store/bucket"
	"github.com/jax-desktop/jax/store/tree"
)

// The journal makes a closed file survive a crash of the process between
// its close and the coalesced save that follows. When a file's contents are
// committed (its chunks already stored), a line naming the file and its
// chunks is appended; after every save the journal is emptied; a filesystem
// created over a non-empty journal replays it and saves. Appends are not
// fsynced: a killed process leaves them in the kernel, which is what this
// guards against; the blob store's sync covers the disk at the next save.

type journalRecord struct {
	ID     tree.ID         `json:"id"`
	Path   string          `json:"path"`
	Chunks []tree.ChunkRef `json:"chunks"`
	Size   int64           `json:"size"`
	Mode   uint32          `json:"mode"`
	MTime  int64           `json:"mtime"`
}

// openJournal opens (creating) the journal and returns what it holds.
func openJournal(path string) (*os.File, []journalRecord, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("open journal: %w", err)
	}
	var recs []journalRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var r journalRecord
		if json.Unmarshal(sc.Bytes(), &r) == nil { // a torn last line is skipped
			recs = append(recs, r)
		}
	}
	return f, recs, nil
}

// journalLocked records a committed file. Callers hold f.mu.
func (f *FS) journalLocked(e *tree.Entry) {
	if f.journal == nil {
		return
	}
	b, _ := json.Marshal(journalRecord{ID: e.ID, Path: f.work.Path(e.ID), Chunks: e.Chunks, Size: e.Size, Mode: e.Mode, MTime: e.MTime})
	k, err := f.journal.Write(append(b, '\n'))
	f.journalLen += int64(k)
	if err != nil {
		f.log.Error("write journal", "err", err)
	}
}

// clearJournalLocked empties the journal after a save. Callers hold f.mu.
func (f *FS) clearJournalLocked() {
	if !f.dirty {
		f.trimJournalLocked(f.journalLen)
	}
}

// trimJournalLocked drops the first n bytes of the journal, the records a
// save just made durable; later ones stay for the next save. Callers hold
// f.mu.
func (f *FS) trimJournalLocked(n int64) {
	if f.journal == nil || n == 0 {
		return
	}
	var rest []byte
	if n < f.journalLen {
		rest = make([]byte, f.journalLen-n)
		if _, err := f.journal.ReadAt(rest, n); err != nil {
			f.log.Error("trim journal", "err", err)
			return
		}
	}
	if err := f.journal.Truncate(0); err != nil {
		f.log.Error("clear journal", "err", err)
		return
	}
	k, err := f.journal.Write(rest)
	f.journalLen = int64(k)
	if err != nil {
		f.log.Error("trim journal", "err", err)
	}
}

// replayLocked puts journaled files back into the working tree: each keeps
// its ID, at its place if it still exists, else at its recorded path.
func (f *FS) replayLocked(recs []journalRecord) {
	for _, r := range recs {
		if e := f.work.Get(r.ID); e != nil {
			if e.Kind != tree.File {
				continue
			}
			c := e.Clone()
			c.Chunks, c.Size, c.Mode, c.MTime = r.Chunks, r.Size, r.Mode, r.MTime
			f.work.Put(c)
		} else {
			tx := &bucket.Tx{Tree: f.work, Now: time.Now().UnixNano()}
			ne, err := tx.PutFile(r.Path, bucket.FileData{Chunks: r.Chunks, Size: r.Size, Mode: r.Mode, MTime: r.MTime})
			if err != nil {
				f.log.Error("replay journal", "path", r.Path, "err", err)
				continue
			}
			if ne.ID != r.ID && f.work.Get(r.ID) == nil {
				f.work.Delete(ne.ID)
				ne = ne.Clone()
				ne.ID = r.ID
				f.work.Put(ne)
			}
		}
		f.dirty = true
		f.log.Info("recovered a file closed just before a crash", "path", r.Path)
	}
}
