package web

import (
	"io/fs"
	"net/http"
)

// routes lists the whole surface of the portal.
func (s *Server) routes() {
	r := s.engine
	static, _ := fs.Sub(staticFS, "static")
	r.GET("/healthz", s.healthz)
	r.StaticFileFS("/static/portal.css", "portal.css", http.FS(static))
	r.NoRoute(s.notFound)
	r.NoMethod(s.methodNotAllowed)

	g := r.Group("/", s.loadSession, s.requireSetup)
	g.GET("/", s.requireFull, s.home)

	// Sign-up and sign-in, step by step.
	g.GET("/signup", s.signupPage)
	g.POST("/signup", s.signup)
	g.GET("/login", s.loginPage)
	g.POST("/login", s.login)
	g.GET("/login/code", s.requirePending, s.codePage)
	g.POST("/login/code", s.requirePending, s.loginCode)
	g.GET("/login/recovery", s.requirePending, s.recoveryPage)
	g.POST("/login/recovery", s.requirePending, s.loginRecovery)
	g.POST("/logout", s.requireSession, s.logout)

	// E-mail confirmation links: a page with a button, so that a mail
	// scanner fetching the link does not use it up.
	g.GET("/email/confirm", s.emailConfirmPage)
	g.POST("/email/confirm", s.emailConfirm)

	// Forgotten password: a link by mail, then the new password (and a
	// code when the account has 2FA).
	g.GET("/password/forgot", s.forgotPage)
	g.POST("/password/forgot", s.forgot)
	g.GET("/password/reset", s.resetPage)
	g.POST("/password/reset", s.reset)

	// Security Settings: only for fully signed-in sessions.
	sec := g.Group("/settings/security", s.requireFull)
	sec.GET("", s.securityPage)
	sec.GET("/confirm", s.confirmPage)
	sec.POST("/confirm", s.confirm)
	sec.POST("/sessions/logout-others", s.logoutOthers)
	sec.POST("/password", s.changePassword)
	sec.GET("/2fa", s.methodPage)                 // "Click here to enable"
	sec.GET("/2fa/totp", s.totpIntro)             // "Time Based Tokens"
	sec.POST("/2fa/totp/start", s.totpStart)      // "Get Started"
	sec.GET("/2fa/totp/setup", s.totpSetup)       // QR code, key, code form
	sec.GET("/2fa/totp/qr.png", s.totpQR)         // the QR code image
	sec.POST("/2fa/totp/verify", s.totpVerify)    // "Verify": on, recovery codes
	sec.POST("/2fa/recovery-codes", s.regenerate) // new recovery codes
	sec.POST("/2fa/disable", s.disable)           // turn off
	sec.POST("/2fa/skip", s.skipSetup)            // postpone a required set-up (grace period)
	sec.POST("/devices/forget", s.forgetDevice)   // one remembered device
	sec.POST("/devices/forget-all", s.forgetAllDevices)
	sec.POST("/email", s.changeEmail)               // new address: a link to it
	sec.POST("/email/resend", s.resendConfirmation) // the link again

	// The support console: admins only (403 for everyone else signed
	// in), every page behind a recent password and code.
	adm := g.Group("/admin", s.requireFull, s.requireAdmin)
	adm.GET("", s.adminHome) // search, audit log
	adm.GET("/confirm", s.adminConfirmPage)
	adm.POST("/confirm", s.adminConfirm)
	adm.GET("/users/:name", s.adminCustomer)
	adm.GET("/users/:name/:action", s.adminActionPage) // confirmation
	adm.POST("/users/:name/:action", s.adminDo)

	// JSON API for automation: same sessions, same limits.
	api := g.Group("/api/v1")
	api.POST("/signup", s.apiSignup)
	api.POST("/login", s.apiLogin)
	api.POST("/login/code", s.requirePending, s.apiLoginCode)
	api.POST("/logout", s.requireSession, s.apiLogout)
	api.POST("/email/confirm", s.apiEmailConfirm)
	api.POST("/password/forgot", s.apiForgot)
	api.POST("/password/reset", s.apiReset)
	full := api.Group("", s.requireFull)
	full.GET("/me", s.apiMe)
	full.POST("/confirm-password", s.apiConfirm)
	full.POST("/password", s.apiChangePassword)
	full.POST("/2fa/totp", s.apiTOTPStart)
	full.POST("/2fa/totp/verify", s.apiTOTPVerify)
	full.GET("/2fa/recovery-codes", s.apiRecoveryStatus)
	full.POST("/2fa/recovery-codes", s.apiRegenerate)
	full.POST("/2fa/disable", s.apiDisable)
	full.GET("/activity", s.apiActivity)
	full.POST("/sessions/logout-others", s.apiLogoutOthers)
	full.POST("/2fa/skip", s.apiSkipSetup)
	full.GET("/devices", s.apiDevices)
	full.POST("/devices/forget", s.apiForgetDevice)
	full.POST("/devices/forget-all", s.apiForgetAllDevices)
	full.POST("/email", s.apiChangeEmail)
}
