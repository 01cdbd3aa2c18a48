package web

import (
	"context"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"twofold.dev/server/portal"
	"twofold.dev/shared/qr"
	"twofold.dev/shared/totp"
)

// healthz is 200 when the portal can serve, 503 when its database cannot.
func (s *Server) healthz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c, 3*time.Second)
	defer cancel()
	if err := s.svc.Ping(ctx); err != nil {
		s.log.Warn("health check failed", "error", err)
		c.String(http.StatusServiceUnavailable, "database unavailable\n")
		return
	}
	c.String(http.StatusOK, "ok\n")
}

func (s *Server) notFound(c *gin.Context) {
	s.fail(c, "error", &view{Title: "Page not found"}, portal.Errorf(portal.ENOTFOUND, "There is no page at this address."))
}

func (s *Server) methodNotAllowed(c *gin.Context) {
	if isAPI(c.Request.URL.Path) {
		c.AbortWithStatusJSON(http.StatusMethodNotAllowed, gin.H{"error": "This method is not allowed here."})
		return
	}
	s.render(c, http.StatusMethodNotAllowed, "error", &view{Title: "Not allowed", Error: "This method is not allowed here."})
}

func (s *Server) home(c *gin.Context) {
	u := user(c)
	s.render(c, http.StatusOK, "home", &view{Title: "Welcome, " + u.DisplayName, Notice: notices[c.Query("notice")], Data: struct{ TwoFactor bool }{u.TwoFactor()}})
}

// Sign-up and sign-in.

type loginData struct{ Signup bool }

func (s *Server) signupPage(c *gin.Context) {
	if fullUser(c) != nil {
		c.Redirect(http.StatusSeeOther, "/")
		return
	}
	if !s.svc.Config().Signup {
		s.fail(c, "login", &view{Title: "Log in", Data: loginData{}}, portal.Errorf(portal.EFORBIDDEN, "Sign-up is closed on this portal. Ask an administrator for an account."))
		return
	}
	s.render(c, http.StatusOK, "signup", &view{Title: "Sign up", Data: signupData{Mail: s.svc.MailEnabled()}})
}

type signupData struct{ Mail bool }

func (s *Server) signup(c *gin.Context) {
	v := &view{Title: "Sign up", Data: signupData{Mail: s.svc.MailEnabled()}}
	f, err := form(c, "username", "password", "password_confirm", "display_name", "email")
	if err != nil {
		s.fail(c, "signup", v, err)
		return
	}
	v.Form = map[string]string{"username": f["username"], "display_name": f["display_name"], "email": f["email"]}
	u, err := s.svc.SignUp(c.Request.Context(), f["username"], f["display_name"], f["email"], f["password"], f["password_confirm"], c.ClientIP())
	if err != nil {
		s.fail(c, "signup", v, err)
		return
	}
	s.beginSession(c, u, "signup", v)
}

// beginSession starts u's session after a password (the domain chooses
// its stage) and sends the browser on: to the code prompt or home.
func (s *Server) beginSession(c *gin.Context, u *portal.User, page string, v *view) {
	sess, err := s.startSession(c, u)
	if err != nil {
		s.fail(c, page, v, err)
		return
	}
	if sess.Stage == portal.StagePassword {
		c.Redirect(http.StatusSeeOther, "/login/code")
		return
	}
	c.Redirect(http.StatusSeeOther, "/")
}

func (s *Server) loginPage(c *gin.Context) {
	if fullUser(c) != nil {
		c.Redirect(http.StatusSeeOther, "/")
		return
	}
	s.render(c, http.StatusOK, "login", &view{Title: "Log in", Data: loginData{Signup: s.svc.Config().Signup}})
}

func (s *Server) login(c *gin.Context) {
	v := &view{Title: "Log in", Data: loginData{Signup: s.svc.Config().Signup}}
	f, err := form(c, "username", "password")
	if err != nil {
		s.fail(c, "login", v, err)
		return
	}
	v.Form = map[string]string{"username": f["username"]}
	u, err := s.svc.Login(c.Request.Context(), f["username"], f["password"], c.ClientIP(), s.deviceToken(c))
	if err != nil {
		s.fail(c, "login", v, err)
		return
	}
	s.beginSession(c, u, "login", v)
}

func (s *Server) codePage(c *gin.Context) {
	s.render(c, http.StatusOK, "code", &view{Title: "Two-factor authentication"})
}

func (s *Server) loginCode(c *gin.Context) {
	v := &view{Title: "Two-factor authentication"}
	f, err := form(c, "code", "remember")
	if err != nil {
		s.fail(c, "code", v, err)
		return
	}
	remember, err := checkbox(f, "remember")
	if err != nil {
		s.fail(c, "code", v, err)
		return
	}
	in, err := s.svc.LoginCode(c.Request.Context(), session(c), user(c), f["code"], c.ClientIP(), remember)
	if err != nil {
		s.fail(c, "code", v, err)
		return
	}
	if err := s.signedIn(c, in); err != nil {
		s.fail(c, "code", v, err)
		return
	}
	if in.Unseen != nil {
		s.showCodes(c, "Save your recovery codes", unseenNotice, in.Unseen)
		return
	}
	c.Redirect(http.StatusSeeOther, "/")
}

// unseenNotice heads recovery codes shown again at sign-in because the
// answer that first carried them never arrived.
const unseenNotice = "When you turned on two-factor authentication, your recovery codes may not have reached you. Here they are again: save them now."

func (s *Server) recoveryPage(c *gin.Context) {
	s.render(c, http.StatusOK, "recovery", &view{Title: "Use a recovery code"})
}

func (s *Server) loginRecovery(c *gin.Context) {
	v := &view{Title: "Use a recovery code"}
	f, err := form(c, "recovery_code")
	if err != nil {
		s.fail(c, "recovery", v, err)
		return
	}
	in, err := s.svc.LoginRecovery(c.Request.Context(), session(c), user(c), f["recovery_code"], c.ClientIP())
	if err != nil {
		s.fail(c, "recovery", v, err)
		return
	}
	if err := s.signedIn(c, in); err != nil {
		s.fail(c, "recovery", v, err)
		return
	}
	if in.Unseen != nil {
		s.showCodes(c, "Save your recovery codes", unseenNotice, in.Unseen)
		return
	}
	c.Redirect(http.StatusSeeOther, "/settings/security?notice=recovery")
}

func (s *Server) logout(c *gin.Context) {
	if err := s.svc.Logout(c.Request.Context(), session(c), c.ClientIP()); err != nil {
		s.fail(c, "error", nil, err)
		return
	}
	s.clearSessionCookie(c)
	c.Redirect(http.StatusSeeOther, "/login")
}

// Security Settings.

var notices = map[string]string{
	"password":  "Your password was changed. Every other session of your account was signed out.",
	"off":       "Two-factor authentication is off. Your other sessions were logged out.",
	"others":    "Your other sessions were logged out.",
	"recovery":  "You signed in with a recovery code, which is now used up. If you lost your phone, turn two-factor authentication off and on again with a new phone, or create new recovery codes. Any remembered devices were forgotten: each asks for a code again.",
	"forgot":    "The device was forgotten: it will be asked for a code at its next sign-in.",
	"forgotall": "Every remembered device was forgotten: each will be asked for a code at its next sign-in.",
	"skipped":   "Two-factor set-up postponed for this session. It will be asked again at your next sign-in.",
	"email":     "A confirmation link was sent to the new address. Your address changes when you follow it; until then mail goes to the old one.",
	"resent":    "A new confirmation link was sent. Earlier links no longer work.",
}

func (s *Server) securityPage(c *gin.Context) {
	v := &view{Title: "Security Settings", Notice: notices[c.Query("notice")]}
	st, err := s.svc.SecurityStatus(c.Request.Context(), session(c))
	if err != nil {
		s.fail(c, "error", v, err)
		return
	}
	v.Data = st
	s.render(c, http.StatusOK, "security", v)
}

// securityFail re-renders Security Settings with an error.
func (s *Server) securityFail(c *gin.Context, err error) {
	v := &view{Title: "Security Settings"}
	if st, serr := s.svc.SecurityStatus(c.Request.Context(), session(c)); serr == nil {
		v.Data = st
		s.fail(c, "security", v, err)
		return
	}
	s.fail(c, "error", v, err)
}

// safeNext keeps a redirect target inside Security Settings.
func safeNext(next string) string {
	if next == "/settings/security" || (strings.HasPrefix(next, "/settings/security/") && !strings.ContainsAny(next, "\\?#") && !strings.Contains(next, "..")) {
		return next
	}
	return "/settings/security"
}

func (s *Server) confirmPage(c *gin.Context) {
	s.render(c, http.StatusOK, "confirm", &view{Title: "Confirm your password", Form: map[string]string{"next": safeNext(c.Query("next"))}})
}

func (s *Server) confirm(c *gin.Context) {
	v := &view{Title: "Confirm your password", Form: map[string]string{"next": "/settings/security"}}
	f, err := form(c, "password", "next")
	if err != nil {
		s.fail(c, "confirm", v, err)
		return
	}
	next := safeNext(f["next"])
	v.Form["next"] = next
	token, _, err := s.svc.ConfirmPassword(c.Request.Context(), session(c), f["password"], c.ClientIP())
	if err != nil {
		s.fail(c, "confirm", v, err)
		return
	}
	s.setSessionCookie(c, token)
	c.Redirect(http.StatusSeeOther, next)
}

func (s *Server) changePassword(c *gin.Context) {
	f, err := form(c, "current_password", "new_password", "new_password_confirm")
	if err != nil {
		s.securityFail(c, err)
		return
	}
	token, _, err := s.svc.ChangePassword(c.Request.Context(), session(c), f["current_password"], f["new_password"], f["new_password_confirm"], c.ClientIP())
	if err != nil {
		s.securityFail(c, err)
		return
	}
	s.setSessionCookie(c, token)
	c.Redirect(http.StatusSeeOther, "/settings/security?notice=password")
}

func (s *Server) logoutOthers(c *gin.Context) {
	if _, err := form(c); err != nil {
		s.securityFail(c, err)
		return
	}
	if _, err := s.svc.LogoutOthers(c.Request.Context(), session(c), c.ClientIP()); err != nil {
		s.securityFail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/settings/security?notice=others")
}

// beforeEnrollment shows the enrollment pages only to a user the domain
// lets enroll: with 2FA on already, back to the settings; without a recent
// password, to the password prompt (fail's answer to EREAUTH).
func (s *Server) beforeEnrollment(c *gin.Context) bool {
	err := s.svc.CanEnroll(c.Request.Context(), session(c))
	switch {
	case errors.Is(err, portal.ErrAlreadyOn):
		c.Redirect(http.StatusSeeOther, "/settings/security")
		return false
	case err != nil:
		s.fail(c, "error", nil, err)
		return false
	}
	return true
}

func (s *Server) methodPage(c *gin.Context) {
	if !s.beforeEnrollment(c) {
		return
	}
	s.render(c, http.StatusOK, "method", &view{Title: "Two Factor Authentication"})
}

func (s *Server) totpIntro(c *gin.Context) {
	if !s.beforeEnrollment(c) {
		return
	}
	v := &view{Title: "Time Based Tokens"}
	req, err := s.svc.SetupRequired(c.Request.Context(), session(c), user(c))
	if err != nil {
		s.fail(c, "error", nil, err)
		return
	}
	v.Data = req // nil unless the portal requires 2FA now
	s.render(c, http.StatusOK, "totp_intro", v)
}

func (s *Server) skipSetup(c *gin.Context) {
	v := &view{Title: "Time Based Tokens"}
	if _, err := form(c); err != nil {
		s.fail(c, "error", v, err)
		return
	}
	if err := s.svc.SkipSetup(c.Request.Context(), session(c), c.ClientIP()); err != nil {
		s.fail(c, "error", v, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/?notice=skipped")
}

func (s *Server) forgetDevice(c *gin.Context) {
	f, err := form(c, "id")
	if err != nil {
		s.securityFail(c, err)
		return
	}
	id, err := strconv.ParseInt(f["id"], 10, 64)
	if err != nil || id <= 0 {
		s.securityFail(c, portal.Errorf(portal.EINVALID, "Choose a device to forget."))
		return
	}
	if err := s.svc.ForgetDevice(c.Request.Context(), session(c), id, c.ClientIP()); err != nil {
		s.securityFail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/settings/security?notice=forgot")
}

func (s *Server) forgetAllDevices(c *gin.Context) {
	if _, err := form(c); err != nil {
		s.securityFail(c, err)
		return
	}
	if _, err := s.svc.ForgetAllDevices(c.Request.Context(), session(c), c.ClientIP()); err != nil {
		s.securityFail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/settings/security?notice=forgotall")
}

// checkbox reads an HTML checkbox: absent is false, "on" true.
func checkbox(f map[string]string, name string) (bool, error) {
	switch v, ok := f[name]; {
	case !ok:
		return false, nil
	case v == "on":
		return true, nil
	}
	return false, portal.Errorf(portal.EINVALID, "The field %q is a checkbox: send \"on\" or nothing.", name)
}

func (s *Server) totpStart(c *gin.Context) {
	if _, err := form(c); err != nil {
		s.fail(c, "totp_intro", &view{Title: "Time Based Tokens"}, err)
		return
	}
	if _, err := s.svc.StartEnrollment(c.Request.Context(), session(c)); err != nil {
		s.fail(c, "totp_intro", &view{Title: "Time Based Tokens"}, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/settings/security/2fa/totp/setup")
}

type setupData struct {
	Groups, Issuer, Account string
	// URI is the key's otpauth:// URI, the same text as in the QR code,
	// for an authenticator on this computer that handles the scheme.
	// template.URL: html/template would blank a scheme it does not know.
	URI template.URL
}

// groups writes a key in groups of four for typing by hand.
func groups(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (s *Server) setupView(k *totp.Key) *view {
	return &view{Title: "Set up your authenticator app", Data: setupData{
		Groups: groups(k.SecretBase32()), Issuer: k.Issuer, Account: k.Account, URI: template.URL(k.URI()),
	}}
}

func (s *Server) totpSetup(c *gin.Context) {
	k, err := s.svc.PendingEnrollment(c.Request.Context(), session(c))
	if portal.ErrorCode(err) == portal.ENOTFOUND {
		c.Redirect(http.StatusSeeOther, "/settings/security/2fa/totp")
		return
	} else if err != nil {
		s.fail(c, "error", nil, err)
		return
	}
	s.render(c, http.StatusOK, "totp_setup", s.setupView(k))
}

func (s *Server) totpQR(c *gin.Context) {
	k, err := s.svc.PendingEnrollment(c.Request.Context(), session(c))
	if err != nil {
		s.fail(c, "error", nil, err)
		return
	}
	png, err := qr.PNG(k.URI(), 240)
	if err != nil {
		s.fail(c, "error", nil, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Data(http.StatusOK, "image/png", png)
}

type codesData struct {
	Codes    []string
	Download any
}

func (s *Server) showCodes(c *gin.Context, title, notice string, codes []string) {
	text := "Twofold Portal recovery codes for " + user(c).Username + "\nEach code works once.\n\n" + strings.Join(codes, "\n") + "\n"
	href := "data:text/plain;charset=utf-8;base64," + base64.StdEncoding.EncodeToString([]byte(text))
	c.Header("Cache-Control", "no-store")
	s.render(c, http.StatusOK, "recovery_codes", &view{Title: title, Notice: notice, Data: codesData{Codes: codes, Download: safeURL(href)}})
}

func (s *Server) totpVerify(c *gin.Context) {
	f, err := form(c, "code")
	if err != nil {
		s.verifyFail(c, err)
		return
	}
	codes, token, _, err := s.svc.CompleteEnrollment(c.Request.Context(), session(c), f["code"], c.ClientIP())
	if err != nil {
		s.verifyFail(c, err)
		return
	}
	s.setSessionCookie(c, token)
	s.showCodes(c, "Two-factor authentication is on", "Two-factor authentication is now on for your account.", codes)
}

// verifyFail shows the same key again with the error: no rescan.
func (s *Server) verifyFail(c *gin.Context, err error) {
	k, kerr := s.svc.PendingEnrollment(c.Request.Context(), session(c))
	if kerr != nil {
		s.fail(c, "error", nil, err)
		return
	}
	s.fail(c, "totp_setup", s.setupView(k), err)
}

func (s *Server) regenerate(c *gin.Context) {
	f, err := form(c, "code")
	if err != nil {
		s.securityFail(c, err)
		return
	}
	codes, err := s.svc.RegenerateRecoveryCodes(c.Request.Context(), session(c), f["code"], c.ClientIP())
	if err != nil {
		s.securityFail(c, err)
		return
	}
	s.showCodes(c, "New recovery codes", "Your old recovery codes no longer work.", codes)
}

func (s *Server) disable(c *gin.Context) {
	f, err := form(c, "password", "code", "recovery_code")
	if err != nil {
		s.securityFail(c, err)
		return
	}
	if err := s.svc.DisableTwoFactor(c.Request.Context(), session(c), f["password"], f["code"], f["recovery_code"], c.ClientIP()); err != nil {
		s.securityFail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/settings/security?notice=off")
}

// safeURL marks a data: URL that this package built as safe for href.
func safeURL(s string) template.URL { return template.URL(s) }

func (s *Server) changeEmail(c *gin.Context) {
	f, err := form(c, "email", "password")
	if err != nil {
		s.securityFail(c, err)
		return
	}
	if err := s.svc.ChangeEmail(c.Request.Context(), session(c), f["email"], f["password"], c.ClientIP()); err != nil {
		s.securityFail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/settings/security?notice=email")
}

func (s *Server) resendConfirmation(c *gin.Context) {
	if _, err := form(c); err != nil {
		s.securityFail(c, err)
		return
	}
	if err := s.svc.ResendConfirmation(c.Request.Context(), session(c), c.ClientIP()); err != nil {
		s.securityFail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/settings/security?notice=resent")
}

func (s *Server) emailConfirmPage(c *gin.Context) {
	s.render(c, http.StatusOK, "email_confirm", &view{Title: "Confirm your e-mail address", Form: map[string]string{"token": c.Query("token")}})
}

func (s *Server) emailConfirm(c *gin.Context) {
	v := &view{Title: "Confirm your e-mail address"}
	f, err := form(c, "token")
	if err != nil {
		s.fail(c, "email_confirm", v, err)
		return
	}
	u, err := s.svc.ConfirmEmail(c.Request.Context(), f["token"], c.ClientIP())
	if err != nil {
		s.fail(c, "email_confirm", v, err)
		return
	}
	v.Notice = "Thank you: " + u.Email + " is confirmed. Security notices for " + u.Username + " go to it from now on."
	v.Data = true
	s.render(c, http.StatusOK, "email_confirm", v)
}

func (s *Server) forgotPage(c *gin.Context) {
	s.render(c, http.StatusOK, "forgot", &view{Title: "Forgot your password?", Data: s.svc.MailEnabled()})
}

func (s *Server) forgot(c *gin.Context) {
	v := &view{Title: "Forgot your password?", Data: s.svc.MailEnabled()}
	f, err := form(c, "username")
	if err != nil {
		s.fail(c, "forgot", v, err)
		return
	}
	v.Form = map[string]string{"username": f["username"]}
	if err := s.svc.ForgotPassword(c.Request.Context(), f["username"], c.ClientIP()); err != nil {
		s.fail(c, "forgot", v, err)
		return
	}
	v.Notice = portal.ResetAnswer
	s.render(c, http.StatusOK, "forgot", v)
}

// resetData is the reset form: the token back, and whether to ask for a
// code.
type resetData struct {
	Token     string
	TwoFactor bool
}

func (s *Server) resetPage(c *gin.Context) {
	v := &view{Title: "Set a new password"}
	token := c.Query("token")
	twoFactor, err := s.svc.ResetTarget(c.Request.Context(), token)
	if err != nil {
		s.fail(c, "reset", v, err)
		return
	}
	v.Data = &resetData{Token: token, TwoFactor: twoFactor}
	s.render(c, http.StatusOK, "reset", v)
}

func (s *Server) reset(c *gin.Context) {
	v := &view{Title: "Set a new password"}
	f, err := form(c, "token", "password", "password_confirm", "code", "recovery_code")
	if err != nil {
		s.fail(c, "reset", v, err)
		return
	}
	if twoFactor, terr := s.svc.ResetTarget(c.Request.Context(), f["token"]); terr == nil {
		v.Data = &resetData{Token: f["token"], TwoFactor: twoFactor}
	}
	err = s.svc.ResetPassword(c.Request.Context(), f["token"], f["password"], f["password_confirm"], f["code"], f["recovery_code"], c.ClientIP())
	if err != nil {
		s.fail(c, "reset", v, err)
		return
	}
	// Every session of the account ended, this browser's too if it had one.
	s.clearSessionCookie(c)
	s.render(c, http.StatusOK, "login", &view{Title: "Log in", Notice: "Your new password is set and every session was signed out. Log in with it.",
		Data: loginData{Signup: s.svc.Config().Signup}})
}
