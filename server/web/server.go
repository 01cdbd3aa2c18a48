// Package web serves the portal over HTTP with Gin: HTML pages that work
// without JavaScript, and a JSON API under /api/v1 for automation.
package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"twofold.dev/server/portal"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config configures the HTTP layer.
type Config struct {
	// TrustedProxies may set X-Forwarded-For and X-Forwarded-Proto.
	TrustedProxies []netip.Prefix
	// MaxBody limits request bodies (default 64 KiB).
	MaxBody int64
}

// Server is the portal's http.Handler.
type Server struct {
	svc     *portal.Service
	log     *slog.Logger
	cfg     Config
	pages   map[string]*template.Template
	engine  *gin.Engine
	handler http.Handler
}

// NewServer builds the handler: security headers and the body limit, then
// Go's cross-origin protection, then the Gin routes.
func NewServer(cfg Config, svc *portal.Service, logger *slog.Logger) (*Server, error) {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 64 << 10
	}
	s := &Server{svc: svc, log: logger, cfg: cfg}
	if err := s.parseTemplates(); err != nil {
		return nil, err
	}
	// Release mode keeps Gin's debug output (routes, warnings) out of the logs.
	gin.SetMode(gin.ReleaseMode)
	s.engine = gin.New()
	s.engine.HandleMethodNotAllowed = true
	proxies := make([]string, len(cfg.TrustedProxies))
	for i, p := range cfg.TrustedProxies {
		proxies[i] = p.String()
	}
	if len(proxies) == 0 {
		proxies = nil
	}
	if err := s.engine.SetTrustedProxies(proxies); err != nil {
		return nil, fmt.Errorf("trusted proxies: %w", err)
	}
	s.engine.Use(s.recoverPanics, s.logRequests)
	s.routes()

	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(s.crossOriginDenied))
	s.handler = s.secure(headAsGet(cop.Handler(s.engine)))
	return s, nil
}

// headAsGet answers HEAD as GET without the body (RFC 9110 9.3.2), for
// every page, rather than a HEAD route beside each GET.
func headAsGet(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		g := r.Clone(r.Context())
		g.Method = http.MethodGet
		next.ServeHTTP(headWriter{w}, g)
	})
}

// headWriter drops the body and keeps the headers and status.
type headWriter struct{ http.ResponseWriter }

func (w headWriter) Write(p []byte) (int, error) { return len(p), nil }

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Routes lists method and path of every route, for tests and docs.
func (s *Server) Routes() gin.RoutesInfo { return s.engine.Routes() }

func (s *Server) parseTemplates() error {
	s.pages = map[string]*template.Template{}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	for _, name := range names {
		base := strings.TrimPrefix(name, "templates/")
		if base == "layout.html" {
			continue
		}
		t, err := template.New("layout.html").ParseFS(templateFS, "templates/layout.html", name)
		if err != nil {
			return fmt.Errorf("parsing template %s: %w", base, err)
		}
		s.pages[strings.TrimSuffix(base, ".html")] = t
	}
	return nil
}

// secure sets the security headers on every response and limits the body.
func (s *Server) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		if s.isSecure(r) {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			h.Set("Cache-Control", "no-store")
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBody)
		}
		next.ServeHTTP(w, r)
	})
}

// isSecure reports whether the client reached us over TLS, directly or
// through a trusted proxy that says so.
func (s *Server) isSecure(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	if len(s.cfg.TrustedProxies) == 0 || r.Header.Get("X-Forwarded-Proto") != "https" {
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(ip.Unmap()) {
			return true
		}
	}
	return false
}

func (s *Server) crossOriginDenied(w http.ResponseWriter, r *http.Request) {
	s.log.Warn("cross-origin request refused", "method", r.Method, "path", r.URL.Path)
	msg := "This request came from another site and was refused. Go back to the portal and try again."
	if isAPI(r.URL.Path) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, "{\"error\":%q}\n", msg)
		return
	}
	s.writePage(w, http.StatusForbidden, "error", &view{Title: "Request refused", Error: msg})
}

func isAPI(path string) bool { return strings.HasPrefix(path, "/api/") }

// recoverPanics turns a panic into a 500 page; only the panic value and
// route are logged, never the request.
func (s *Server) recoverPanics(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("panic in handler", "route", c.FullPath(), "panic", fmt.Sprint(r))
			s.fail(c, "error", &view{Title: "Error"}, fmt.Errorf("panic: %v", r))
			c.Abort()
		}
	}()
	c.Next()
}

// logRequests logs method, path, status and duration: no query, no body,
// no cookies.
func (s *Server) logRequests(c *gin.Context) {
	start := time.Now()
	c.Next()
	s.log.Info("request", "method", c.Request.Method, "path", c.Request.URL.Path,
		"status", c.Writer.Status(), "duration", time.Since(start), "ip", c.ClientIP())
}

// view is the data of every page.
type view struct {
	Title  string
	User   *portal.User
	Error  string
	Notice string
	Form   map[string]string // values to show again: never passwords or codes
	Data   any
}

func (s *Server) writePage(w http.ResponseWriter, status int, page string, v *view) {
	t, ok := s.pages[page]
	if !ok {
		s.log.Error("unknown page template", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if v.Form == nil {
		v.Form = map[string]string{}
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, v); err != nil {
		s.log.Error("rendering page", "page", page, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// render writes a page with the signed-in user's menu.
func (s *Server) render(c *gin.Context, status int, page string, v *view) {
	if v.User == nil {
		v.User = fullUser(c)
	}
	s.writePage(c.Writer, status, page, v)
}
