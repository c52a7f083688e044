package app

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/jax-desktop/jax/store/blob"
	"github.com/jax-desktop/jax/store/bucket"
	"github.com/jax-desktop/jax/store/merge"
)

// An export carries a bucket's versions between data dirs by hand, the same
// path sync takes over the network: blobs first, then the versions oldest
// first (each verified on import), then the head is merged in. It is a tar
// of "blobs/<id>" entries followed by "versions" (one link per line, oldest
// first, the exporter's current version last) and "bucket" (its id).

// Export writes every version and blob of a bucket to w.
func Export(s *Store, b *bucket.Bucket, w io.Writer) (int, error) {
	hist, err := b.History()
	if err != nil {
		return 0, err
	}
	tw := tar.NewWriter(w)
	seen := map[blob.ID]bool{}
	n := 0
	put := func(id blob.ID) error {
		if seen[id] {
			return nil
		}
		seen[id] = true
		raw, err := s.Buckets.Blobs.Get(id, nil)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: "blobs/" + id.String(), Mode: 0o600, Size: int64(len(raw))}); err != nil {
			return err
		}
		_, err = tw.Write(raw)
		n++
		return err
	}
	var links strings.Builder
	for i := len(hist) - 1; i >= 0; i-- {
		ids, err := b.Blobs(hist[i].Link)
		if err != nil {
			return n, err
		}
		for _, id := range ids {
			if err := put(id); err != nil {
				return n, err
			}
		}
		links.WriteString(hist[i].Link.String() + "\n")
	}
	for name, body := range map[string]string{"versions": links.String(), "bucket": b.ID.String() + "\n"} {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(body))}); err != nil {
			return n, err
		}
		io.WriteString(tw, body)
	}
	return n, tw.Close()
}

// Import reads an export, verifies and records what is new, and merges the
// exporter's current version into this device's. It returns the bucket's id.
func Import(ctx context.Context, s *Store, r io.Reader) (string, *bucket.MergeResult, error) {
	tr := tar.NewReader(bufio.NewReader(r))
	var links []blob.ID
	var bucketID string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", nil, fmt.Errorf("read export: %w", err)
		}
		if h.Size > 64<<20 {
			return "", nil, fmt.Errorf("export entry %s is too large", h.Name)
		}
		body, err := io.ReadAll(io.LimitReader(tr, h.Size))
		if err != nil {
			return "", nil, fmt.Errorf("read export: %w", err)
		}
		switch {
		case strings.HasPrefix(h.Name, "blobs/"):
			want, err := blob.ParseID(strings.TrimPrefix(h.Name, "blobs/"))
			if err != nil || blob.Sum(body) != want {
				return "", nil, fmt.Errorf("export entry %s: %w", h.Name, blob.ErrCorrupt)
			}
			if _, err := s.Buckets.Blobs.Put(body); err != nil {
				return "", nil, err
			}
		case h.Name == "versions":
			for _, l := range strings.Fields(string(body)) {
				id, err := blob.ParseID(l)
				if err != nil {
					return "", nil, err
				}
				links = append(links, id)
			}
		case h.Name == "bucket":
			bucketID = strings.TrimSpace(string(body))
		}
	}
	if len(links) == 0 || bucketID == "" {
		return "", nil, errors.New("not a jax bucket export: no versions in it")
	}
	if err := s.Buckets.Blobs.Sync(); err != nil {
		return "", nil, err
	}
	for _, l := range links {
		raw, err := s.Buckets.Blobs.Get(l, nil)
		if err != nil {
			return "", nil, fmt.Errorf("version %s: %w", l.Short(), err)
		}
		if _, _, err := s.Buckets.Import(ctx, raw); err != nil {
			return "", nil, err
		}
	}
	res, err := s.Buckets.Incoming(ctx, bucketID, links[len(links)-1], merge.Options{})
	return bucketID, res, err
}
