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
//   - FS.mu guards the working tree and the base. A save holds it only to
//     take a snapshot of the working tree and to put the changes made
//     meanwhile back on top of the saved version (FS.saveMu keeps saves in
//     order); writing the version and the fsyncs run without it.
//   - File contents written through the mount are staged per open file until
//     flush, fsync or close commits them as chunks: small files in memory,
//     sequential writes streamed into sealed chunks as they arrive, anything
//     else in a staging file on local disk (stage.go). Memory never scales
//     with file size.
//   - Inode numbers derive from stable file IDs, so they survive renames and
//     new versions. The root is inode 1.
//   - Whenever the tree changes under the kernel (a merge on save, or Update
//     after sync), the kernel's entry, attribute and page caches are
//     invalidated for exactly the entries that changed.
//   - Locks: FS.saveMu is taken before FS.mu. FS.mu (tree, base, open
//     files) and openFile.mu (one file's staging and reader) are never held
//     together, so a large commit does not stall the filesystem. FS.nodesMu
//     and chunkCache.mu are leaves.
//   - Kernel notifications are sent holding no lock and never from inside
//     a request handler, since the kernel may wait on that request.
package fuse
