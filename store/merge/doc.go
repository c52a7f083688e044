// Package merge reconciles diverged versions of a bucket.
//
// Merge is a three-way merge of flat trees keyed by stable file ID, so a rename
// on one side and an edit on the other meet on the same entry instead of being
// guessed from paths. Reconcile decides, from the version DAG, what a device at
// one head does on learning another: nothing, fast-forward, adopt an existing
// head, or commit a merge.
//
// Invariants of Merge:
//
//   - Deterministic and, with the default resolver, symmetric:
//     Merge(b, x, y) and Merge(b, y, x) produce equal trees. Every tie is broken
//     by values (Rev, then bytes), never by which side is "ours", and entries
//     the merge creates get IDs derived from their inputs. Two devices that
//     merge the same heads therefore hold the same tree and stop there.
//   - Lossless: an edit beats a delete; a directory deleted on one side comes
//     back if the other side still puts something in it; when both sides change
//     a file's data, one version keeps the name and the other becomes a conflict
//     copy next to it. A copy's ID and name derive from the file and the losing
//     data, so merging the same conflict again finds the existing copy instead
//     of making a second one. Data that both sides still hold survives even
//     when each side dropped a different one of its holders.
//   - Valid: the result always passes tree.Snapshot.Validate. Name clashes,
//     file-versus-directory clashes and cycles from concurrent moves are
//     resolved deterministically and reported as Conflicts.
//
// Resolvers choose only between two versions of a file's data or between two
// files that want one name. Deletions, moves and directories are resolved by
// fixed rules, so even a resolver that drops the loser of a clash never drops
// a directory, a move or an edit that raced a delete.
package merge
