package portal

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestBrowser(t *testing.T) {
	for _, tt := range []struct{ ua, want string }{
		{"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox on Linux"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", "Edge on Windows"},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15", "Safari on macOS"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", "Safari on iPhone"},
		{"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", "Chrome on Android"},
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36", "Chrome (headless) on Linux"},
		{"curl/8.5.0", "curl"},
		{"Go-http-client/1.1", "Go-http-client/1.1"},
		{"", "Unknown browser"},
		{"   ", "Unknown browser"},
		{"bad \xff utf-8", "bad  utf-8"},
	} {
		if got := Browser(tt.ua); got != tt.want {
			t.Errorf("Browser(%q) = %q, want %q", tt.ua, got, tt.want)
		}
	}
	long := Browser(strings.Repeat("é", 300))
	if utf8.RuneCountInString(long) != 65 || !utf8.ValidString(long) || !strings.HasSuffix(long, "…") {
		t.Errorf("a long unknown User-Agent is shortened to %q", long)
	}
}
