package portal

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
)

// notice is one mail to a user, written for both parts: a greeting, a
// few paragraphs, at most one link (the only place a token may appear),
// and the advice of what to do if it was not them. No secret, code or
// token goes anywhere else in a notice.
type notice struct {
	Subject   string
	Name      string   // display name
	Lines     []string // paragraphs
	Link      string   // "" when none
	LinkLabel string
	NotYou    string // what to do if this was not the user ("" for none)
}

var noticeText = texttemplate.Must(texttemplate.New("text").Parse(`Hello {{.Name}},
{{range .Lines}}
{{.}}
{{end}}{{if .Link}}
{{.LinkLabel}}:
{{.Link}}
{{end}}{{if .NotYou}}
{{.NotYou}}
{{end}}
-- 
{{.Issuer}}
This message was sent automatically; replies are not read.
`))

var noticeHTML = htmltemplate.Must(htmltemplate.New("html").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body style="font-family: sans-serif; color: #1a1a1a; max-width: 36em">
<p>Hello {{.Name}},</p>
{{range .Lines}}<p>{{.}}</p>
{{end}}{{if .Link}}<p><a href="{{.Link}}">{{.LinkLabel}}</a></p>
{{end}}{{if .NotYou}}<p><strong>{{.NotYou}}</strong></p>
{{end}}<p style="color: #555">{{.Issuer}}. This message was sent automatically; replies are not read.</p>
</body></html>
`))

func (n notice) render(issuer string) (text, html string, err error) {
	data := struct {
		notice
		Issuer string
	}{n, issuer}
	var t, h bytes.Buffer
	if err := noticeText.Execute(&t, data); err != nil {
		return "", "", fmt.Errorf("writing mail text: %w", err)
	}
	if err := noticeHTML.Execute(&h, data); err != nil {
		return "", "", fmt.Errorf("writing mail html: %w", err)
	}
	return strings.ReplaceAll(t.String(), "\r", ""), h.String(), nil
}

const notYou = "If this was not you, sign in and change your password now, then check Security Settings; if you cannot sign in, contact support."

func confirmNotice(u *User, link string) notice {
	return notice{Subject: "Confirm your e-mail address", Name: u.DisplayName,
		Lines: []string{
			fmt.Sprintf("Please confirm that this address belongs to the account %s. The portal sends it security notices and password-reset links only once it is confirmed.", u.Username),
			fmt.Sprintf("The link works once, for %d hours.", int(ConfirmEmailFor.Hours())),
		},
		Link: link, LinkLabel: "Confirm this address",
		NotYou: "If you did not ask for this, ignore this message: the address will not be used."}
}

func emailChangedNotice(u *User, old, next string) notice {
	return notice{Subject: "Your e-mail address was changed", Name: u.DisplayName,
		Lines:  []string{fmt.Sprintf("The e-mail address of the account %s was changed from %s to %s. Notices now go to the new address; this is the last one sent here.", u.Username, old, next)},
		NotYou: notYou}
}
