package web

import (
	"encoding/base64"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"twofold.dev/server/portal"
	"twofold.dev/shared/qr"
)

// The JSON API mirrors the HTML flow; see README "JSON API".

type credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type userJSON struct {
	Username     string `json:"username"`
	DisplayName  string `json:"display_name"`
	TwoFactor    bool   `json:"two_factor"`
	PendingSetup bool   `json:"pending_setup"`
}

func userOut(u *portal.User) userJSON {
	return userJSON{Username: u.Username, DisplayName: u.DisplayName, TwoFactor: u.TwoFactor(), PendingSetup: u.TOTPPending != nil}
}

func (s *Server) apiSignup(c *gin.Context) {
	var in struct {
		Username        string `json:"username"`
		Password        string `json:"password"`
		PasswordConfirm string `json:"password_confirm"`
		DisplayName     string `json:"display_name"`
	}
	if err := decodeJSON(c, &in); err != nil {
		s.fail(c, "", nil, err)
		return
	}
	if in.PasswordConfirm == "" {
		in.PasswordConfirm = in.Password
	}
	u, err := s.svc.SignUp(c.Request.Context(), in.Username, in.DisplayName, in.Password, in.PasswordConfirm, c.ClientIP())
	if err != nil {
		s.fail(c, "", nil, err)
		return
	}
	sess, err := s.startSession(c, u)
	if err != nil {
		s.fail(c, "", nil, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"user": userOut(u), "signed_in": sess.Stage == portal.StageFull})
}

func (s *Server) apiLogin(c *gin.Context) {
	var in credentials
	if err := decodeJSON(c, &in); err != nil {
		s.fail(c, "", nil, err)
		return
	}
	u, err := s.svc.Login(c.Request.Context(), in.Username, in.Password, c.ClientIP(), s.deviceToken(c))
	if err != nil {
		s.fail(c, "", nil, err)
		return
	}
	sess, err := s.startSession(c, u)
	if err != nil {
		s.fail(c, "", nil, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"signed_in": sess.Stage == portal.StageFull, "code_required": sess.Stage == portal.StagePassword})
}

func (s *Server) apiLoginCode(c *gin.Context) {
	var in struct {
		Code         string `json:"code"`
		RecoveryCode string `json:"recovery_code"`
	}
	if err := decodeJSON(c, &in); err != nil {
		s.fail(c, "", nil, err)
		return
	}
	var token string
	var ns *portal.Session
	var unseen []string
	var err error
	if in.RecoveryCode != "" {
		token, ns, unseen, err = s.svc.LoginRecovery(c.Request.Context(), session(c), in.RecoveryCode, c.ClientIP())
	} else {
		token, ns, unseen, err = s.svc.LoginCode(c.Request.Context(), session(c), in.Code, c.ClientIP())
	}
	if err != nil {
		s.fail(c, "", nil, err)
		return
	}
	s.setSessionCookie(c, token)
	if err := s.rememberDevice(c, ns); err != nil {
		s.fail(c, "", nil, err)
		return
	}
	if unseen != nil {
		// The enrollment's answer never arrived: its codes, once more.
		c.JSON(http.StatusOK, gin.H{"signed_in": true, "recovery_codes": unseen})
		return
	}
	c.JSON(http.StatusOK, gin.H{"signed_in": true})
}

func (s *Server) apiLogout(c *gin.Context) {
	if err := s.svc.Logout(c.Request.Context(), session(c), c.ClientIP()); err != nil {
		s.fail(c, "", nil, err)
		return
	}
	s.clearSessionCookie(c)
	c.Status(http.StatusNoContent)
}

func (s *Server) apiMe(c *gin.Context) {
	c.JSON(http.StatusOK, userOut(user(c)))
}

func (s *Server) apiConfirm(c *gin.Context) {
	var in struct {
		Password string `json:"password"`
	}
	if err := decodeJSON(c, &in); err != nil {
		s.fail(c, "", nil, err)
		return
	}
	token, sess, err := s.svc.ConfirmPassword(c.Request.Context(), session(c), in.Password, c.ClientIP())
	if err != nil {
		s.fail(c, "", nil, err)
		return
	}
	s.setSessionCookie(c, token)
	c.JSON(http.StatusOK, gin.H{"sudo_until": sess.AuthAt.Add(s.svc.Config().SudoWindow).UTC().Format(time.RFC3339)})
}

func (s *Server) apiChangePassword(c *gin.Context) {
	var in struct {
		Current string `json:"current_password"`
		New     string `json:"new_password"`
	}
	if err := decodeJSON(c, &in); err != nil {
		s.fail(c, "", nil, err)
		return
	}
	// One new password in JSON: a program does not mistype it twice.
	token, _, err := s.svc.ChangePassword(c.Request.Context(), session(c), in.Current, in.New, in.New, c.ClientIP())
	if err != nil {
		s.fail(c, "", nil, err)
		return
	}
	s.setSessionCookie(c, token)
	c.JSON(http.StatusOK, gin.H{"password_changed": true})
}

func (s *Server) apiTOTPStart(c *gin.Context) {
	k, err := s.svc.StartEnrollment(c.Request.Context(), session(c))
	if err != nil {
		s.fail(c, "", nil, err)
		return
	}
	png, err := qr.PNG(k.URI(), 240)
	if err != nil {
		s.fail(c, "", nil, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{
		"otpauth_uri":   k.URI(),
		"secret":        k.SecretBase32(),
		"issuer":        k.Issuer,
		"account":       k.Account,
		"qr_png_base64": base64.StdEncoding.EncodeToString(png),
	})
}

func (s *Server) apiTOTPVerify(c *gin.Context) {
	var in struct {
		Code string `json:"code"`
	}
	if err := decodeJSON(c, &in); err != nil {
		s.fail(c, "", nil, err)
		return
	}
	codes, token, _, err := s.svc.CompleteEnrollment(c.Request.Context(), session(c), in.Code, c.ClientIP())
	if err != nil {
		s.fail(c, "", nil, err)
		return
	}
	s.setSessionCookie(c, token)
	c.JSON(http.StatusOK, gin.H{"two_factor": true, "recovery_codes": codes})
}

func (s *Server) apiRecoveryStatus(c *gin.Context) {
	st, err := s.svc.SecurityStatus(c.Request.Context(), session(c))
	if err != nil {
		s.fail(c, "", nil, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"two_factor": st.TwoFactor, "remaining": st.RecoveryLeft})
}

func (s *Server) apiRegenerate(c *gin.Context) {
	var in struct {
		Code string `json:"code"`
	}
	if err := decodeJSON(c, &in); err != nil {
		s.fail(c, "", nil, err)
		return
	}
	codes, err := s.svc.RegenerateRecoveryCodes(c.Request.Context(), session(c), in.Code, c.ClientIP())
	if err != nil {
		s.fail(c, "", nil, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"recovery_codes": codes})
}

func (s *Server) apiDisable(c *gin.Context) {
	var in struct {
		Password     string `json:"password"`
		Code         string `json:"code"`
		RecoveryCode string `json:"recovery_code"`
	}
	if err := decodeJSON(c, &in); err != nil {
		s.fail(c, "", nil, err)
		return
	}
	if err := s.svc.DisableTwoFactor(c.Request.Context(), session(c), in.Password, in.Code, in.RecoveryCode, c.ClientIP()); err != nil {
		s.fail(c, "", nil, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"two_factor": false})
}

type eventJSON struct {
	Kind  string `json:"kind"`
	Label string `json:"label"`
	IP    string `json:"ip"`
	At    string `json:"at"`
}

func (s *Server) apiActivity(c *gin.Context) {
	st, err := s.svc.SecurityStatus(c.Request.Context(), session(c))
	if err != nil {
		s.fail(c, "", nil, err)
		return
	}
	events := make([]eventJSON, len(st.Events))
	for i, e := range st.Events {
		events[i] = eventJSON{Kind: string(e.Kind), Label: e.Kind.Label(), IP: e.IP, At: e.At.UTC().Format(time.RFC3339Nano)}
	}
	c.JSON(http.StatusOK, gin.H{"events": events})
}

func (s *Server) apiLogoutOthers(c *gin.Context) {
	n, err := s.svc.LogoutOthers(c.Request.Context(), session(c), c.ClientIP())
	if err != nil {
		s.fail(c, "", nil, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"ended": n})
}
