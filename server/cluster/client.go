package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"

	"twofold.dev/shared/totp"
)

// Client is one browser-like user agent of the JSON API: a cookie jar
// (cookies do not depend on the port, so one session works on every
// instance on 127.0.0.1, as behind a load balancer), an Origin header
// naming the instance it talks to, and the portal's own paths.
type Client struct {
	HTTP *http.Client
	// ForwardedFor, when set, is sent as X-Forwarded-For (the portal
	// believes it only from --trusted-proxies).
	ForwardedFor string
}

// NewClient returns a client with an empty cookie jar. transport may be
// nil for a private one.
func NewClient(transport http.RoundTripper) *Client {
	jar, _ := cookiejar.New(nil)
	if transport == nil {
		transport = &http.Transport{MaxIdleConnsPerHost: 4, IdleConnTimeout: 30 * time.Second}
	}
	return &Client{HTTP: &http.Client{
		Jar: jar, Transport: transport, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Response is a status and the decoded JSON body (nil if not JSON).
type Response struct {
	Status  int
	Body    map[string]any
	Raw     []byte
	Latency time.Duration // from sending to the end of the body
}

// Error is the API's {"error": ...} message.
func (r *Response) Error() string {
	if s, ok := r.Body["error"].(string); ok {
		return s
	}
	return ""
}

// Do sends one request to base+path with in as the JSON body (nil: none).
func (c *Client) Do(ctx context.Context, method, base, path string, in any) (*Response, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	// Same-origin, as a browser on the portal's own page would send.
	req.Header.Set("Origin", base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if c.ForwardedFor != "" {
		req.Header.Set("X-Forwarded-For", c.ForwardedFor)
	}
	start := time.Now()
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	r := &Response{Status: resp.StatusCode, Raw: raw, Latency: time.Since(start)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		_ = json.Unmarshal(raw, &r.Body) // a non-object body leaves Body nil
	}
	return r, nil
}

// Post and Get are Do with a method.
func (c *Client) Post(ctx context.Context, base, path string, in any) (*Response, error) {
	return c.Do(ctx, http.MethodPost, base, path, in)
}

func (c *Client) Get(ctx context.Context, base, path string) (*Response, error) {
	return c.Do(ctx, http.MethodGet, base, path, nil)
}

// expect turns an unexpected status into an error naming the call.
func expect(r *Response, err error, call string, want int) (*Response, error) {
	if err != nil {
		return r, fmt.Errorf("%s: %w", call, err)
	}
	if r.Status != want {
		return r, fmt.Errorf("%s: status %d, want %d: %s", call, r.Status, want, r.Error())
	}
	return r, nil
}

// SignUp creates an account and leaves the client signed in.
func (c *Client) SignUp(ctx context.Context, base, username, password string) error {
	r, err := c.Post(ctx, base, "/api/v1/signup", map[string]string{
		"username": username, "password": password, "password_confirm": password, "display_name": username})
	_, err = expect(r, err, "sign-up", http.StatusCreated)
	return err
}

// Login sends the password; it reports whether a code is required.
func (c *Client) Login(ctx context.Context, base, username, password string) (codeRequired bool, err error) {
	r, err := c.Post(ctx, base, "/api/v1/login", map[string]string{"username": username, "password": password})
	if _, err := expect(r, err, "login", http.StatusOK); err != nil {
		return false, err
	}
	return r.Body["code_required"] == true, nil
}

// LoginCode sends a TOTP code after the password.
func (c *Client) LoginCode(ctx context.Context, base, code string) (*Response, error) {
	return c.Post(ctx, base, "/api/v1/login/code", map[string]string{"code": code})
}

// LoginRecovery sends a recovery code after the password.
func (c *Client) LoginRecovery(ctx context.Context, base, code string) (*Response, error) {
	return c.Post(ctx, base, "/api/v1/login/code", map[string]string{"recovery_code": code})
}

// Me returns the status of GET /api/v1/me: 200 when signed in.
func (c *Client) Me(ctx context.Context, base string) (int, error) {
	r, err := c.Get(ctx, base, "/api/v1/me")
	if err != nil {
		return 0, err
	}
	return r.Status, nil
}

// Logout ends the session.
func (c *Client) Logout(ctx context.Context, base string) error {
	r, err := c.Post(ctx, base, "/api/v1/logout", nil)
	_, err = expect(r, err, "logout", http.StatusNoContent)
	return err
}

// StartTOTP starts enrollment and returns the key the portal offers.
func (c *Client) StartTOTP(ctx context.Context, base string) (*totp.Key, error) {
	r, err := c.Post(ctx, base, "/api/v1/2fa/totp", nil)
	if _, err := expect(r, err, "start enrollment", http.StatusOK); err != nil {
		return nil, err
	}
	uri, _ := r.Body["otpauth_uri"].(string)
	k, err := totp.ParseURI(uri)
	if err != nil {
		return nil, fmt.Errorf("start enrollment: the portal's otpauth URI: %w", err)
	}
	return k, nil
}

// VerifyTOTP finishes enrollment with the code of step and returns the
// recovery codes.
func (c *Client) VerifyTOTP(ctx context.Context, base string, k *totp.Key, step uint64) ([]string, error) {
	code, err := k.HOTPCode(step)
	if err != nil {
		return nil, err
	}
	r, err := c.Post(ctx, base, "/api/v1/2fa/totp/verify", map[string]string{"code": code})
	if _, err := expect(r, err, "verify enrollment", http.StatusOK); err != nil {
		return nil, err
	}
	list, _ := r.Body["recovery_codes"].([]any)
	codes := make([]string, 0, len(list))
	for _, v := range list {
		if s, ok := v.(string); ok {
			codes = append(codes, s)
		}
	}
	return codes, nil
}

// Disable turns two-factor authentication off with the password and a
// recovery code.
func (c *Client) Disable(ctx context.Context, base, password, recovery string) error {
	r, err := c.Post(ctx, base, "/api/v1/2fa/disable", map[string]string{"password": password, "recovery_code": recovery})
	_, err = expect(r, err, "disable two-factor", http.StatusOK)
	return err
}

// Enroll signs a new user up on base and turns two-factor authentication
// on with the code of the current step. It returns the key, the step used
// (the portal accepts only later steps from then on) and the recovery
// codes. The client stays signed in.
func (c *Client) Enroll(ctx context.Context, base, username, password string) (*totp.Key, uint64, []string, error) {
	if err := c.SignUp(ctx, base, username, password); err != nil {
		return nil, 0, nil, err
	}
	k, err := c.StartTOTP(ctx, base)
	if err != nil {
		return nil, 0, nil, err
	}
	step := k.Step(time.Now())
	codes, err := c.VerifyTOTP(ctx, base, k, step)
	if err != nil {
		return nil, 0, nil, err
	}
	return k, step, codes, nil
}

// Code is the code of key k for step, for tests that already hold the key.
func Code(k *totp.Key, step uint64) string {
	code, err := k.HOTPCode(step)
	if err != nil {
		panic(err) // a key the portal issued always has a valid algorithm
	}
	return code
}

// Copy returns a client holding the same cookies for base: a second
// browser tab, or a thief's copy of the session cookie.
func (c *Client) Copy(base string) *Client {
	n := NewClient(c.HTTP.Transport)
	n.ForwardedFor = c.ForwardedFor
	u, err := url.Parse(base)
	if err == nil {
		n.HTTP.Jar.SetCookies(u, c.HTTP.Jar.Cookies(u))
	}
	return n
}
