package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// ErrNoDaemon means no instance serves the data dir's control socket.
var ErrNoDaemon = errors.New("no jax daemon is running for this data dir (start one with 'jax daemon')")

// Client talks to a running instance over its control socket.
type Client struct {
	http *http.Client
}

// Dial connects to the instance of a data dir, or returns ErrNoDaemon.
func Dial(dirs Dirs) (*Client, error) {
	sock := dirs.socketPath()
	conn, err := net.DialTimeout("unix", sock, time.Second)
	if err != nil {
		return nil, ErrNoDaemon
	}
	conn.Close()
	return &Client{http: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}}, nil
}

// Do sends a request with an optional JSON body and decodes the answer into out.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	var rd *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://jax"+path, rd)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("talk to the daemon: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var e apiError
		if json.NewDecoder(resp.Body).Decode(&e) != nil || e.Error == "" {
			return fmt.Errorf("daemon answered %s", resp.Status)
		}
		return &RemoteError{Message: e.Error, Code: e.Code}
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// RemoteError is an error the daemon reported.
type RemoteError struct {
	Message string
	Code    string // not_found, conflict, bad_request, error
}

func (e *RemoteError) Error() string { return e.Message }

// Notify tells a running instance, if any, that a bucket changed, so its
// mounts show the change now. No instance is not an error.
func Notify(ctx context.Context, dirs Dirs, bucketID string) error {
	c, err := Dial(dirs)
	if errors.Is(err, ErrNoDaemon) {
		return nil
	}
	if err != nil {
		return err
	}
	return c.Do(ctx, "POST", "/v1/buckets/"+bucketID+"/changed", nil, nil)
}
