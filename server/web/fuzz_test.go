package web_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzRequests: no method, path, content type or body makes the portal
// answer with a 5xx or panic. The seeds run in every `go test`.
func FuzzRequests(f *testing.F) {
	srv := newServer(f, nil)
	form, js := "application/x-www-form-urlencoded", "application/json"
	seeds := []struct {
		method, path, ctype string
		body                string
	}{
		{"POST", "/login", form, "username=joe&password=x"},
		{"POST", "/login", form, "username=%ff&password=%00"},
		{"POST", "/signup", form, "username=joe&display_name=%e2%80%ae&password=aaaaaaaa&password_confirm=aaaaaaaa"},
		{"POST", "/login/code", form, "code=123456"},
		{"POST", "/settings/security/2fa/totp/verify", form, "code=1"},
		{"POST", "/api/v1/login", js, `{"username":"joe","password":"x"}`},
		{"POST", "/api/v1/login", js, `{"username":["a"],"password":{}}`},
		{"POST", "/api/v1/signup", js, `{"username":"ann","password":"aaaaaaaaaa","display_name":"\u0000"}`},
		{"POST", "/api/v1/login/code", js, `{"code":null}`},
		{"GET", "/settings/security/confirm?next=%2F%2Fevil", "", ""},
		{"GET", "/static/../../etc/passwd", "", ""},
		{"PATCH", "/api/v1/me", js, `{}`},
		{"POST", "/logout", "multipart/form-data; boundary=x", "--x--"},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.ctype, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, method, path, ctype string, body []byte) {
		req, err := http.NewRequest(method, "http://portal.test"+path, bytes.NewReader(body))
		if err != nil || len(path) == 0 || path[0] != '/' {
			return
		}
		req.Header.Set("Content-Type", ctype)
		req.RemoteAddr = "192.0.2.1:1234"
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Errorf("%s %s (%s, %q): status %d\n%s", method, path, ctype, body, rec.Code, rec.Body)
		}
	})
}
