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
	Email        string `json:"email"`         // confirmed; "" when none
	EmailPending string `json:"email_pending"` // waiting for its link
}

func userOut(u *portal.User) userJSON {
	return userJSON{Username: u.Username, DisplayName: u.DisplayName, TwoFactor: u.TwoFactor(), PendingSetup: u.TOTPPending != nil,
		Email: u.Email, EmailPending: u.EmailPending}
}

func (s *Server) apiSignup(c *gin.Context) {
	var in struct {
		Username        string `json:"username"`
		Password        string `json:"password"`
		PasswordConfirm string `json:"password_confirm"`
		DisplayName     string `json:"display_name"`
		Email           string `json:"email"`
	}
	if err := decodeJSON(c, &in); err != nil {
		s.fail(c, "", nil, err)
		return
	}
	if in.PasswordConfirm == "" {
		in.PasswordConfirm = in.Password
	}
	u, err := s.svc.SignUp(c.Request.Context(), in.Username, in.DisplayName, in.Email, in.Password, in.PasswordConfirm, c.ClientIP())
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
	c.JSON(http.StatusOK, gin.H{"signed_in": sess.Stage == portal.StageFull, "code_required": sess.Stage == portal.StagePassword,
		"remembered_device": u.TwoFactor() && sess.Stage == portal.StageFull})
}

func (s *Server) apiLoginCode(c *gin.Context) {
	var in struct {
		Code           string `json:"code"`
		RecoveryCode   string `json:"recovery_code"`
		RememberDevice bool   `json:"remember_device"`
	}
	if err := decodeJSON(c, &in); err != nil {
		s.fail(c, "", nil, err)
		return
	}
	var out *portal.SignedIn
	var err error
	if in.RecoveryCode != "" {
		if in.RememberDevice {
			s.fail(c, "", nil, portal.Errorf(portal.EINVALID, "A device is remembered only at a sign-in with a code from the app, not with a recovery code."))
			return
		}
		out, err = s.svc.LoginRecovery(c.Request.Context(), session(c), user(c), in.RecoveryCode, c.ClientIP())
	} else {
		out, err = s.svc.LoginCode(c.Request.Context(), session(c), user(c), in.Code, c.ClientIP(), in.RememberDevice)
	}
	if err != nil {
		s.fail(c, "", nil, err)
		return
	}
	if err := s.signedIn(c, out); err != nil {
		s.fail(c, "", nil, err)
		return
	}
	body := gin.H{"signed_in": true, "device_remembered": out.Remembered != ""}
	if out.Unseen != nil {
		// The enrollment's answer never arrived: its codes, once more.
		body["recovery_codes"] = out.Unseen
	}
	c.JSON(http.StatusOK, body)
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

func (s *Server) apiSkipSetup(c *gin.Context) {
	if err := s.svc.SkipSetup(c.Request.Context(), session(c), c.ClientIP()); err != nil {
		s.fail(c, "", nil, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"setup_skipped": true})
}

type deviceJSON struct {
	ID        int64  `json:"id"`
	Browser   string `json:"browser"`
	FirstUsed string `json:"first_used"`
	LastUsed  string `json:"last_used"`
	IP        string `json:"ip"`
	Expires   string `json:"expires"`
}

func (s *Server) apiDevices(c *gin.Context) {
	devs, err := s.svc.RememberedDevices(c.Request.Context(), session(c))
	if err != nil {
		s.fail(c, "", nil, err)
		return
	}
	out := make([]deviceJSON, len(devs))
	for i, d := range devs {
		out[i] = deviceJSON{ID: d.ID, Browser: d.Browser, FirstUsed: d.CreatedAt.UTC().Format(time.RFC3339), LastUsed: d.LastUsedAt.UTC().Format(time.RFC3339),
			IP: d.IP, Expires: d.ExpiresAt().UTC().Format(time.RFC3339)}
	}
	c.JSON(http.StatusOK, gin.H{"devices": out})
}

func (s *Server) apiForgetDevice(c *gin.Context) {
	var in struct {
		ID int64 `json:"id"`
	}
	if err := decodeJSON(c, &in); err != nil {
		s.fail(c, "", nil, err)
		return
	}
	if in.ID <= 0 {
		s.fail(c, "", nil, portal.Errorf(portal.EINVALID, "Give the \"id\" of a device from GET /api/v1/devices."))
		return
	}
	if err := s.svc.ForgetDevice(c.Request.Context(), session(c), in.ID, c.ClientIP()); err != nil {
		s.fail(c, "", nil, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"forgotten": 1})
}

func (s *Server) apiForgetAllDevices(c *gin.Context) {
	n, err := s.svc.ForgetAllDevices(c.Request.Context(), session(c), c.ClientIP())
	if err != nil {
		s.fail(c, "", nil, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"forgotten": n})
}

func (s *Server) apiChangeEmail(c *gin.Context) {
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := decodeJSON(c, &in); err != nil {
		s.fail(c, "", nil, err)
		return
	}
	if err := s.svc.ChangeEmail(c.Request.Context(), session(c), in.Email, in.Password, c.ClientIP()); err != nil {
		s.fail(c, "", nil, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"email_pending": in.Email, "confirmation_sent": true})
}

func (s *Server) apiEmailConfirm(c *gin.Context) {
	var in struct {
		Token string `json:"token"`
	}
	if err := decodeJSON(c, &in); err != nil {
		s.fail(c, "", nil, err)
		return
	}
	u, err := s.svc.ConfirmEmail(c.Request.Context(), in.Token, c.ClientIP())
	if err != nil {
		s.fail(c, "", nil, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"email": u.Email})
}

func (s *Server) apiForgot(c *gin.Context) {
	var in struct {
		Username string `json:"username"`
	}
	if err := decodeJSON(c, &in); err != nil {
		s.fail(c, "", nil, err)
		return
	}
	if err := s.svc.ForgotPassword(c.Request.Context(), in.Username, c.ClientIP()); err != nil {
		s.fail(c, "", nil, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"message": portal.ResetAnswer})
}

func (s *Server) apiReset(c *gin.Context) {
	var in struct {
		Token           string `json:"token"`
		Password        string `json:"password"`
		PasswordConfirm string `json:"password_confirm"`
		Code            string `json:"code"`
		RecoveryCode    string `json:"recovery_code"`
	}
	if err := decodeJSON(c, &in); err != nil {
		s.fail(c, "", nil, err)
		return
	}
	if in.PasswordConfirm == "" {
		in.PasswordConfirm = in.Password
	}
	if err := s.svc.ResetPassword(c.Request.Context(), in.Token, in.Password, in.PasswordConfirm, in.Code, in.RecoveryCode, c.ClientIP()); err != nil {
		s.fail(c, "", nil, err)
		return
	}
	s.clearSessionCookie(c)
	c.JSON(http.StatusOK, gin.H{"password_reset": true, "signed_in": false})
}
