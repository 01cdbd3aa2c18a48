package web

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"twofold.dev/server/portal"
)

const (
	sessionCookie = "twofold_session"

	keySession = "twofold.session"
	keyUser    = "twofold.user"
)

// cookie is the name of one of the portal's cookies: __Host- prefixed
// (and Secure) over TLS, so no subdomain or plain-HTTP page can set it.
func (s *Server) cookie(r *http.Request, name string) string {
	if s.isSecure(r) {
		return "__Host-" + name
	}
	return name
}

func (s *Server) cookieName(r *http.Request) string { return s.cookie(r, sessionCookie) }

func (s *Server) setSessionCookie(c *gin.Context, token string) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name: s.cookieName(c.Request), Value: token, Path: "/",
		HttpOnly: true, Secure: s.isSecure(c.Request), SameSite: http.SameSiteLaxMode,
	})
}

// startSession begins u's session in place of the browser's current one
// and sets its cookie; pages and the API answer it each their own way.
func (s *Server) startSession(c *gin.Context, u *portal.User) (*portal.Session, error) {
	token, sess, err := s.svc.BeginSession(c.Request.Context(), session(c), u, c.ClientIP(), c.Request.UserAgent(), s.rememberToken(c))
	if err != nil {
		return nil, err
	}
	s.setSessionCookie(c, token)
	if err := s.setDeviceCookie(c, sess, u); err != nil {
		return nil, err
	}
	return sess, nil
}

// Device cookie names: one per browser, for the account that last
// completed sign-in in it (portal.Service.DeviceToken).
const (
	deviceCookie    = "twofold_device"
	deviceCookieAge = 180 * 24 * 60 * 60
)

func (s *Server) deviceCookieName(r *http.Request) string { return s.cookie(r, deviceCookie) }

// setDeviceCookie gives the browser of a fully signed-in session its
// device cookie; other sessions get none. u is the session's user.
func (s *Server) setDeviceCookie(c *gin.Context, sess *portal.Session, u *portal.User) error {
	token, err := s.svc.DeviceToken(c.Request.Context(), sess, u)
	if err != nil || token == "" {
		return err
	}
	if err := s.svc.NewDeviceSignIn(c.Request.Context(), sess, u, s.deviceToken(c), c.ClientIP(), c.Request.UserAgent()); err != nil {
		return err
	}
	http.SetCookie(c.Writer, &http.Cookie{
		Name: s.deviceCookieName(c.Request), Value: token, Path: "/", MaxAge: deviceCookieAge,
		HttpOnly: true, Secure: s.isSecure(c.Request), SameSite: http.SameSiteLaxMode,
	})
	return nil
}

// deviceToken is the device cookie the browser sent, "" if none.
func (s *Server) deviceToken(c *gin.Context) string {
	ck, err := c.Request.Cookie(s.deviceCookieName(c.Request))
	if err != nil {
		return ""
	}
	return ck.Value
}

// Remember cookie names: the token of a remembered device ("Don't ask
// again on this computer for 30 days", portal.RememberedDevice), set only
// when the user ticks it. Unlike the device cookie above, it skips the
// code at sign-in; it never touches the lockout counters.
const rememberCookie = "twofold_remember"

func (s *Server) rememberCookieName(r *http.Request) string { return s.cookie(r, rememberCookie) }

// setRememberCookie gives the browser the token of its remembered device.
func (s *Server) setRememberCookie(c *gin.Context, token string) {
	if token == "" {
		return
	}
	http.SetCookie(c.Writer, &http.Cookie{
		Name: s.rememberCookieName(c.Request), Value: token, Path: "/", MaxAge: int(portal.RememberFor / time.Second),
		HttpOnly: true, Secure: s.isSecure(c.Request), SameSite: http.SameSiteLaxMode,
	})
}

// rememberToken is the remember cookie the browser sent, "" if none.
func (s *Server) rememberToken(c *gin.Context) string {
	ck, err := c.Request.Cookie(s.rememberCookieName(c.Request))
	if err != nil {
		return ""
	}
	return ck.Value
}

// signedIn sets the cookies of a finished second step: the new session,
// the device cookie, the remember cookie when asked for.
func (s *Server) signedIn(c *gin.Context, in *portal.SignedIn) error {
	s.setSessionCookie(c, in.Token)
	s.setRememberCookie(c, in.Remembered)
	return s.setDeviceCookie(c, in.Session, user(c))
}

func (s *Server) clearSessionCookie(c *gin.Context) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name: s.cookieName(c.Request), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.isSecure(c.Request), SameSite: http.SameSiteLaxMode,
	})
}

// loadSession finds the session of the cookie, if any and still valid.
func (s *Server) loadSession(c *gin.Context) {
	ck, err := c.Request.Cookie(s.cookieName(c.Request))
	if err != nil || ck.Value == "" {
		c.Next()
		return
	}
	sess, u, err := s.svc.Authenticate(c.Request.Context(), ck.Value)
	if code := portal.ErrorCode(err); code == portal.EINTERNAL || code == portal.EUNAVAILABLE {
		s.fail(c, "error", nil, err)
		return
	} else if err != nil {
		s.clearSessionCookie(c)
		c.Next()
		return
	}
	c.Set(keySession, sess)
	c.Set(keyUser, u)
	c.Next()
}

func session(c *gin.Context) *portal.Session {
	if v, ok := c.Get(keySession); ok {
		return v.(*portal.Session)
	}
	return nil
}

func user(c *gin.Context) *portal.User {
	if v, ok := c.Get(keyUser); ok {
		return v.(*portal.User)
	}
	return nil
}

// fullUser is the user of a fully signed-in session, else nil.
func fullUser(c *gin.Context) *portal.User {
	if s := session(c); s != nil && s.Stage == portal.StageFull {
		return user(c)
	}
	return nil
}

// requireFull lets only fully signed-in sessions through. A session that
// passed only the password is sent to the code page.
func (s *Server) requireFull(c *gin.Context) {
	sess := session(c)
	switch {
	case sess != nil && sess.Stage == portal.StageFull:
		c.Next()
	case isAPI(c.Request.URL.Path):
		msg := "Please sign in."
		if sess != nil {
			msg = "Enter the code from your authenticator app first (POST /api/v1/login/code)."
		}
		s.fail(c, "", nil, &portal.Error{Code: portal.EUNAUTHORIZED, Message: msg})
	case sess != nil:
		c.Redirect(http.StatusSeeOther, "/login/code")
		c.Abort()
	default:
		c.Redirect(http.StatusSeeOther, "/login")
		c.Abort()
	}
}

// requirePending lets only sessions waiting for their code through.
func (s *Server) requirePending(c *gin.Context) {
	sess := session(c)
	switch {
	case sess != nil && sess.Stage == portal.StagePassword:
		c.Next()
	case isAPI(c.Request.URL.Path):
		s.fail(c, "", nil, portal.Errorf(portal.EUNAUTHORIZED, "Sign in with your password first (POST /api/v1/login)."))
	case sess != nil:
		c.Redirect(http.StatusSeeOther, "/")
		c.Abort()
	default:
		c.Redirect(http.StatusSeeOther, "/login")
		c.Abort()
	}
}

// requireSession lets any session through (logout).
func (s *Server) requireSession(c *gin.Context) {
	if session(c) != nil {
		c.Next()
		return
	}
	if isAPI(c.Request.URL.Path) {
		s.fail(c, "", nil, portal.Errorf(portal.EUNAUTHORIZED, "Please sign in."))
		return
	}
	c.Redirect(http.StatusSeeOther, "/login")
	c.Abort()
}

// setupRoutes stay reachable while the portal requires 2FA of a user who
// has not set it up: the set-up itself (from "Time Based Tokens" on), the
// password prompt it may need, skipping it, and logging out.
var setupRoutes = map[string]bool{
	"POST /logout":                            true,
	"GET /settings/security/confirm":          true,
	"POST /settings/security/confirm":         true,
	"GET /settings/security/2fa":              true,
	"GET /settings/security/2fa/totp":         true,
	"POST /settings/security/2fa/totp/start":  true,
	"GET /settings/security/2fa/totp/setup":   true,
	"GET /settings/security/2fa/totp/qr.png":  true,
	"POST /settings/security/2fa/totp/verify": true,
	"POST /settings/security/2fa/skip":        true,
	"POST /api/v1/logout":                     true,
	"POST /api/v1/confirm-password":           true,
	"POST /api/v1/2fa/totp":                   true,
	"POST /api/v1/2fa/totp/verify":            true,
	"POST /api/v1/2fa/skip":                   true,
}

// requireSetup refuses every other route to a signed-in user who must set
// up 2FA first (portal.Config.Require2FA): fail sends pages to the set-up
// and answers the API with 403.
func (s *Server) requireSetup(c *gin.Context) {
	sess := session(c)
	if sess == nil || sess.Stage != portal.StageFull || setupRoutes[c.Request.Method+" "+c.FullPath()] {
		c.Next()
		return
	}
	req, err := s.svc.SetupRequired(c.Request.Context(), sess, user(c))
	if err != nil {
		s.fail(c, "error", nil, err)
		return
	}
	if req != nil {
		s.fail(c, "error", nil, req.Err())
		return
	}
	c.Next()
}
