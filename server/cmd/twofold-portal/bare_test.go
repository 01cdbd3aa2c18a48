package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The bench baseline: a bare Gin handler on the debug listener only.
func TestDebugBare(t *testing.T) {
	srv := httptest.NewServer(debugHandler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/debug/bare")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != `{"ok":true}` {
		t.Errorf("/debug/bare: %d %q", resp.StatusCode, body)
	}
	if resp, err := http.Post(srv.URL+"/debug/bare", "text/plain", nil); err != nil || resp.StatusCode == http.StatusOK {
		t.Errorf("POST /debug/bare served: %v", err)
	}
}
