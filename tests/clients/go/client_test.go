package conformance

// The SDK client each test drives, with a transport that keeps every raw response body
// the SDK decoded, so a test can hold the SDK's typed value against the JSON the API
// really sent.

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/planetscale/planetscale-go/planetscale"
)

// exchange is one request the SDK sent and the answer it got.
type exchange struct {
	method string
	path   string
	status int
	body   []byte
}

// recorder is an http.RoundTripper that keeps the exchanges of one client.
type recorder struct {
	next      http.RoundTripper
	mu        sync.Mutex
	exchanges []exchange
}

func (r *recorder) RoundTrip(request *http.Request) (*http.Response, error) {
	response, err := r.next.RoundTrip(request)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(response.Body)
	response.Body.Close()
	if err != nil {
		return nil, err
	}
	response.Body = io.NopCloser(bytes.NewReader(body))
	r.mu.Lock()
	r.exchanges = append(r.exchanges, exchange{
		method: request.Method,
		path:   request.URL.RequestURI(),
		status: response.StatusCode,
		body:   body,
	})
	r.mu.Unlock()
	return response, nil
}

func (r *recorder) last(t *testing.T) exchange {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.exchanges) == 0 {
		t.Fatal("the SDK sent no request")
	}
	return r.exchanges[len(r.exchanges)-1]
}

// client is the SDK bound to the server under test and one service token, plus a plain
// HTTP client with the same credentials for what the SDK does not cover.
type client struct {
	ps       *planetscale.Client
	recorder *recorder
	baseURL  string
	auth     string
}

// newClient builds the SDK exactly as a tool would: only the base URL and the service
// token differ from PlanetScale's defaults.
func newClient(t *testing.T, tokenID, token string) *client {
	t.Helper()
	rec := &recorder{next: http.DefaultTransport}
	ps, err := planetscale.NewClient(
		planetscale.WithHTTPClient(&http.Client{Transport: rec}),
		planetscale.WithBaseURL(suite.server.baseURL),
		planetscale.WithServiceToken(tokenID, token),
	)
	if err != nil {
		t.Fatalf("planetscale.NewClient: %v", err)
	}
	return &client{ps: ps, recorder: rec, baseURL: suite.server.baseURL, auth: tokenID + ":" + token}
}

// adminClient holds the bootstrap token (every access on the organization).
func adminClient(t *testing.T) *client {
	return newClient(t, suite.token.ID, suite.token.Token)
}

// lastJSON is the body of the SDK's last response, decoded.
func (c *client) lastJSON(t *testing.T) any {
	t.Helper()
	last := c.recorder.last(t)
	var value any
	if err := json.Unmarshal(last.body, &value); err != nil {
		t.Fatalf("%s %s answered no JSON: %v: %s", last.method, last.path, err, last.body)
	}
	return value
}

// lastData is the `data` array of the SDK's last (list) response.
func (c *client) lastData(t *testing.T) []any {
	t.Helper()
	envelope, ok := c.lastJSON(t).(map[string]any)
	if !ok {
		t.Fatalf("the last response is no object: %s", c.recorder.last(t).body)
	}
	data, ok := envelope["data"].([]any)
	if !ok {
		t.Fatalf("the last response has no data array: %s", c.recorder.last(t).body)
	}
	return data
}

// rawResponse is the answer to a request sent without the SDK.
type rawResponse struct {
	status int
	body   []byte
}

// json decodes the body (nil when empty).
func (r rawResponse) json(t *testing.T) any {
	t.Helper()
	if len(bytes.TrimSpace(r.body)) == 0 {
		return nil
	}
	var value any
	if err := json.Unmarshal(r.body, &value); err != nil {
		t.Fatalf("answered no JSON (%d): %s", r.status, r.body)
	}
	return value
}

// raw sends a request the SDK has no method for, with the same credentials.
func (c *client) raw(t *testing.T, method, path string, body any) rawResponse {
	t.Helper()
	var reader io.Reader
	if body != nil {
		encoded, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		reader = bytes.NewReader(encoded)
	}
	request, err := http.NewRequest(method, c.baseURL+path, reader)
	if err != nil {
		t.Fatal(err)
	}
	request.Header.Set("Authorization", c.auth)
	request.Header.Set("Accept", "application/json")
	if body != nil {
		request.Header.Set("Content-Type", "application/json")
	}
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer response.Body.Close()
	text, err := io.ReadAll(response.Body)
	if err != nil {
		t.Fatal(err)
	}
	return rawResponse{status: response.StatusCode, body: text}
}

// rawInto sends a request the SDK has a type but no method for, requires a 2xx and
// decodes the answer into out, an SDK type, as strictly as the SDK itself would.
func (c *client) rawInto(t *testing.T, method, path string, body any, out any) any {
	t.Helper()
	response := c.raw(t, method, path, body)
	if response.status/100 != 2 {
		t.Fatalf("%s %s: %d %s", method, path, response.status, response.body)
	}
	if out != nil {
		if err := json.Unmarshal(response.body, out); err != nil {
			t.Fatalf("%s %s: the SDK's type cannot hold the answer: %v: %s", method, path, err, response.body)
		}
	}
	return response.json(t)
}
