// Package fuse serves one live bucket as a local folder through the kernel
// (go-fuse v2 node API).
//
// The filesystem keeps a working tree: a clone of the saved version it is on
// (the base), edited in place by every mutation and saved as a new version
// after a short coalescing delay. Saving goes through bucket.Save, which merges
// when the bucket's head moved meanwhile, so nothing written on either side is
// lost.
//
// Invariants:
//   - FS.mu guards the working tree and the base; a save holds it (saves are
//     fast: file data is stored before, only the tree is written).
//   - File contents written through the mount live in a staging file on local
//     disk per open file until flush, fsync or close commits them as chunks;
//     memory never scales with file size.
//   - Inode numbers derive from stable file IDs, so they survive renames and
//     new versions. The root is inode 1.
//   - Whenever the tree changes under the kernel (a merge on save, or Update
//     after sync), the kernel's entry, attribute and page caches are
//     invalidated for exactly the entries that changed.
//   - Lock order: FS.mu, then openFile.mu, then FS.nodesMu. openFile.mu is
//     never held while taking FS.mu.
package fuse
