// Package fuse mounts buckets as local folders (go-fuse node API) and runs
// the mount manager that keeps those mounts alive and in step with sync.
package fuse
