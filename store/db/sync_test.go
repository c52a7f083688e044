package db

import "testing"

func TestSyncPeers(t *testing.T) {
	d, p := open(t)
	dev := []byte("0123456789abcdef0123456789abcdef")
	if err := d.PutSyncPeer(SyncPeer{BucketID: "b1", Device: dev, Head: []byte("h1"), Height: 3, Error: "cut off"}); err != nil {
		t.Fatal(err)
	}
	if err := d.PutSyncPeer(SyncPeer{BucketID: "b1", Device: dev, Head: []byte("h2"), Height: 4, SyncedAt: 77}); err != nil {
		t.Fatal(err)
	}
	d.Close()
	d, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ps, err := d.SyncPeers("b1")
	if err != nil || len(ps) != 1 {
		t.Fatalf("%+v %v", ps, err)
	}
	if q := ps[0]; string(q.Head) != "h2" || q.Height != 4 || q.SyncedAt != 77 || q.Error != "" || string(q.Device) != string(dev) {
		t.Fatalf("%+v", q)
	}
	if ps, _ := d.SyncPeers("b2"); len(ps) != 0 {
		t.Fatalf("other bucket: %+v", ps)
	}
}
