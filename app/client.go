package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
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
	var rd io.Reader = http.NoBody
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	resp, err := c.send(ctx, method, path, rd)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// send makes a request and turns an error answer into a *RemoteError.
func (c *Client) send(ctx context.Context, method, path string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, "http://jax"+path, body)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("talk to the daemon: %w", err)
	}
	if resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	var e apiError
	if json.NewDecoder(resp.Body).Decode(&e) != nil || e.Error == "" {
		if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed {
			return nil, fmt.Errorf("the running daemon does not know this request (%s %s); it may be an older version: restart it", method, path)
		}
		return nil, fmt.Errorf("daemon answered %s", resp.Status)
	}
	return nil, &RemoteError{Message: e.Error, Code: e.Code}
}

// Change asks the daemon to make a change to a bucket.
func (c *Client) Change(ctx context.Context, ch BucketChange) (*ChangeResult, error) {
	var res ChangeResult
	if err := c.Do(ctx, "POST", "/v1/bucket/"+url.PathEscape(ch.Op), ch, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// Add asks the daemon to add a local path (absolute, or "-" with the data
// in data) to a bucket. progress hears the plan first (Files, Bytes), then
// the bytes stored so far. Cancelling ctx cancels the add.
func (c *Client) Add(ctx context.Context, req AddRequest, data io.Reader, progress func(AddProgress)) (*ChangeResult, error) {
	body := io.Reader(http.NoBody)
	if req.Local == "-" {
		// Through a pipe that cancelling closes: a read of data (a
		// terminal, a pipe) may block forever, and the request is not
		// given up until its body is.
		pr, pw := io.Pipe()
		go func() {
			_, err := io.Copy(pw, data)
			pw.CloseWithError(err)
		}()
		defer context.AfterFunc(ctx, func() { pr.CloseWithError(ctx.Err()) })()
		defer pr.Close()
		body = pr
	}
	resp, err := c.send(ctx, "POST", "/v1/bucket/add?"+req.query(), body)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var res *ChangeResult
	err = decodeLines(ctx, resp.Body, func(p *AddProgress) (bool, error) {
		switch {
		case p.Error != nil:
			return true, &RemoteError{Message: p.Error.Error, Code: p.Error.Code}
		case p.Result != nil:
			res = p.Result
			return true, nil
		case progress != nil:
			progress(*p)
		}
		return false, nil
	})
	return res, err
}

// decodeLines reads the daemon's answer of JSON lines, one T each, until
// each says it was the last.
func decodeLines[T any](ctx context.Context, r io.Reader, each func(*T) (last bool, err error)) error {
	dec := json.NewDecoder(r)
	for {
		var l T
		if err := dec.Decode(&l); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("the daemon's answer broke off: %w", err)
		}
		if last, err := each(&l); last || err != nil {
			return err
		}
	}
}

// Import sends an export to the daemon, which merges it into the bucket
// and its mounts.
func (c *Client) Import(ctx context.Context, r io.Reader) (*ChangeResult, error) {
	resp, err := c.send(ctx, "POST", "/v1/bucket/import", r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var res ChangeResult
	return &res, json.NewDecoder(resp.Body).Decode(&res)
}

// RemoteError is an error the daemon reported. It unwraps to the sentinel
// error its code stands for, so callers test it as they would the local error.
type RemoteError struct {
	Message string
	Code    string // see errorKinds; "error" for anything else
}

func (e *RemoteError) Error() string { return e.Message }

// Unwrap returns the sentinel error of the code, or nil.
func (e *RemoteError) Unwrap() error { return sentinel(e.Code) }

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
