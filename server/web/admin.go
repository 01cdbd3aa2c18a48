package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"twofold.dev/server/portal"
)

// The support console (/admin): only for a fully signed-in admin, every
// page behind a recent password and code (portal.AdminSudoWindow).

// requireAdmin answers 403 to a signed-in user who is not an admin.
func (s *Server) requireAdmin(c *gin.Context) {
	if _, err := s.svc.Admin(c.Request.Context(), session(c)); err != nil {
		s.fail(c, "error", &view{Title: "Forbidden"}, err)
		return
	}
	c.Next()
}

// safeAdminNext keeps a redirect target inside the console.
func safeAdminNext(next string) string {
	if next == "/admin" || (strings.HasPrefix(next, "/admin/") && !strings.ContainsAny(next, "\\?#") && !strings.Contains(next, "..") && !strings.Contains(next, "//")) {
		return next
	}
	return "/admin"
}

// adminFail is fail, with the console's own password-and-code prompt
// when the sudo window is closed: back to next afterwards.
func (s *Server) adminFail(c *gin.Context, page string, v *view, next string, err error) {
	if portal.ErrorCode(err) == portal.EREAUTH {
		c.Redirect(http.StatusSeeOther, "/admin/confirm?next="+url.QueryEscape(safeAdminNext(next)))
		c.Abort()
		return
	}
	s.fail(c, page, v, err)
}

func (s *Server) adminConfirmPage(c *gin.Context) {
	s.render(c, http.StatusOK, "admin_confirm", &view{Title: "Support console: confirm it is you", Form: map[string]string{"next": safeAdminNext(c.Query("next"))}})
}

func (s *Server) adminConfirm(c *gin.Context) {
	v := &view{Title: "Support console: confirm it is you", Form: map[string]string{"next": "/admin"}}
	f, err := form(c, "password", "code", "next")
	if err != nil {
		s.fail(c, "admin_confirm", v, err)
		return
	}
	next := safeAdminNext(f["next"])
	v.Form["next"] = next
	token, _, err := s.svc.ConfirmAdmin(c.Request.Context(), session(c), f["password"], f["code"], c.ClientIP())
	if err != nil {
		s.fail(c, "admin_confirm", v, err)
		return
	}
	s.setSessionCookie(c, token)
	c.Redirect(http.StatusSeeOther, next)
}

type adminHomeData struct {
	Query    string
	Searched bool
	Results  []*portal.User
	More     bool
	Max      int
	Audit    []*portal.AuditEntry
}

func (s *Server) adminHome(c *gin.Context) {
	ctx := c.Request.Context()
	d := &adminHomeData{Max: portal.MaxSearchResults}
	v := &view{Title: "Support console", Data: d}
	audit, err := s.svc.AuditLog(ctx, session(c))
	if err != nil {
		s.adminFail(c, "error", nil, "/admin", err)
		return
	}
	d.Audit = audit
	if q, ok := c.GetQuery("q"); ok {
		d.Query, d.Searched = clip(q), true
		if d.Results, d.More, err = s.svc.FindCustomers(ctx, session(c), q); err != nil {
			d.Searched = false
			s.adminFail(c, "admin", v, "/admin", err)
			return
		}
		d.Query = q
	}
	s.render(c, http.StatusOK, "admin", v)
}

type adminAction struct {
	Action      portal.SupportAction
	Unavailable string // why it does not apply now; "" when it does
}

type customerData struct {
	*portal.Customer
	Actions []adminAction
}

// adminNotices confirm a finished action on the customer page.
var adminNotices = map[string]string{
	string(portal.ActionResetTwoFactor): "Two-factor authentication was turned off; the customer was signed out everywhere and told by e-mail (when the portal sends mail).",
	string(portal.ActionEndSessions):    "Every session of the customer was ended.",
	string(portal.ActionForgetDevices):  "Every remembered device of the customer was forgotten.",
	string(portal.ActionDisable):        "The account is disabled: it cannot sign in.",
	string(portal.ActionEnable):         "The account is enabled again.",
	string(portal.ActionSendReset):      "A password-reset link is on its way to the customer's confirmed address.",
}

func (s *Server) customer(c *gin.Context) (*customerData, bool) {
	name := c.Param("name")
	cu, err := s.svc.Customer(c.Request.Context(), session(c), name)
	if err != nil {
		s.adminFail(c, "error", &view{Title: "Support console"}, c.Request.URL.Path, err)
		return nil, false
	}
	d := &customerData{Customer: cu}
	for _, a := range portal.SupportActions {
		aa := adminAction{Action: a}
		if err := a.Available(cu); err != nil {
			aa.Unavailable = portal.ErrorMessage(err)
		}
		d.Actions = append(d.Actions, aa)
	}
	return d, true
}

func (s *Server) adminCustomer(c *gin.Context) {
	d, ok := s.customer(c)
	if !ok {
		return
	}
	s.render(c, http.StatusOK, "admin_customer", &view{Title: "Customer " + d.User.Username, Notice: adminNotices[c.Query("notice")], Data: d})
}

type actionData struct {
	*customerData
	Action portal.SupportAction
}

// adminAction returns the action of the URL, or answers 404.
func (s *Server) adminAction(c *gin.Context) (portal.SupportAction, bool) {
	a, ok := portal.ParseSupportAction(c.Param("action"))
	if !ok {
		s.notFound(c)
		c.Abort()
	}
	return a, ok
}

// adminActionPage asks for confirmation of one action.
func (s *Server) adminActionPage(c *gin.Context) {
	a, ok := s.adminAction(c)
	if !ok {
		return
	}
	d, ok := s.customer(c)
	if !ok {
		return
	}
	v := &view{Title: a.Label() + "?", Data: &actionData{customerData: d, Action: a}}
	if err := a.Available(d.Customer); err != nil {
		s.fail(c, "admin_action", v, err)
		return
	}
	s.render(c, http.StatusOK, "admin_action", v)
}

// adminDo runs a confirmed action.
func (s *Server) adminDo(c *gin.Context) {
	a, ok := s.adminAction(c)
	if !ok {
		return
	}
	name := c.Param("name")
	back := "/admin/users/" + url.PathEscape(portal.NormalizeUsername(name))
	if _, err := form(c); err != nil {
		s.adminFail(c, "error", &view{Title: a.Label()}, back, err)
		return
	}
	if err := s.svc.DoSupportAction(c.Request.Context(), session(c), name, a, c.ClientIP()); err != nil {
		// Closed sudo window: the prompt, then this confirmation page.
		s.adminFail(c, "error", &view{Title: a.Label()}, back+"/"+string(a), err)
		return
	}
	c.Redirect(http.StatusSeeOther, back+"?notice="+url.QueryEscape(string(a)))
}
