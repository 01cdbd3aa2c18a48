package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"twofold.dev/server/portal"
)

// setupStart is where a user who must set up 2FA is sent: the
// announcement's "Time Based Tokens".
const setupStart = "/settings/security/2fa/totp"

// status maps an error code to its HTTP status: the one place that does.
func status(code string) int {
	switch code {
	case portal.EINVALID:
		return http.StatusBadRequest
	case portal.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case portal.EFORBIDDEN, portal.EREAUTH, portal.ESETUP:
		return http.StatusForbidden
	case portal.ENOTFOUND:
		return http.StatusNotFound
	case portal.ECONFLICT:
		return http.StatusConflict
	case portal.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case portal.ETOOMANY:
		return http.StatusTooManyRequests
	case portal.EUNSUPPORTED:
		return http.StatusUnsupportedMediaType
	case portal.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// fail answers err: the page (or JSON under /api/) with the user message
// and the status of its code. Internal errors are logged, and only those.
func (s *Server) fail(c *gin.Context, page string, v *view, err error) {
	code := portal.ErrorCode(err)
	switch code {
	case portal.EINTERNAL:
		s.log.Error("internal error", "method", c.Request.Method, "route", c.FullPath(), "error", err)
	case portal.EUNAVAILABLE:
		s.log.Warn("database unavailable", "method", c.Request.Method, "route", c.FullPath(), "error", err)
		c.Header("Retry-After", "5")
	}
	var pe *portal.Error
	if errors.As(err, &pe) && pe.RetryAfter > 0 {
		c.Header("Retry-After", strconv.Itoa(int((pe.RetryAfter+999_999_999)/1_000_000_000)))
	}
	msg := portal.ErrorMessage(err)
	if isAPI(c.Request.URL.Path) {
		body := gin.H{"error": msg}
		if code == portal.EREAUTH {
			body["reauth"] = true
		}
		if code == portal.ESETUP {
			body["setup_required"] = true
		}
		c.AbortWithStatusJSON(status(code), body)
		return
	}
	if code == portal.EREAUTH {
		next := "/settings/security"
		switch {
		case c.Request.Method == http.MethodGet:
			next = c.Request.URL.Path
		case strings.HasPrefix(c.Request.URL.Path, "/settings/security/2fa/totp/"):
			// Back to the same key after the password: no rescan.
			next = "/settings/security/2fa/totp/setup"
		}
		c.Redirect(http.StatusSeeOther, "/settings/security/confirm?next="+url.QueryEscape(next))
		c.Abort()
		return
	}
	if code == portal.ESETUP {
		c.Redirect(http.StatusSeeOther, setupStart)
		c.Abort()
		return
	}
	if v == nil {
		v = &view{}
	}
	if v.Title == "" {
		v.Title = http.StatusText(status(code))
	}
	v.Error = msg
	s.render(c, status(code), page, v)
	c.Abort()
}
