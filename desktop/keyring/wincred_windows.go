package keyring

import (
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/danieljoos/wincred"
	gokeyring "github.com/zalando/go-keyring"
)

// defaultBackend on Windows is the Credential Manager through wincred,
// with go-keyring's naming (target "service:user", user name user, the
// secret as the blob), so items either wrote are found by both. The label
// is the credential's Comment and the attributes its Attributes.
func defaultBackend() Backend { return credManager{} }

// maxAttrValue is CRED_MAX_VALUE_SIZE: longer names are cut.
const maxAttrValue = 256

type credManager struct{}

func target(service, user string) string { return service + ":" + user }

func notFound(err error) error {
	if errors.Is(err, wincred.ErrElementNotFound) {
		return gokeyring.ErrNotFound
	}
	return err
}

func (credManager) Get(service, user string) (string, error) {
	c, err := wincred.GetGenericCredential(target(service, user))
	if err != nil {
		return "", notFound(err)
	}
	return string(c.CredentialBlob), nil
}

func (b credManager) Set(service, user, secret string) error {
	return b.SetItem(service, user, secret, "", map[string]string{AttrService: service, AttrUser: user})
}

func (credManager) Delete(service, user string) error {
	c, err := wincred.GetGenericCredential(target(service, user))
	if err != nil {
		return notFound(err)
	}
	return c.Delete()
}

func (credManager) SetItem(service, user, secret, label string, attrs map[string]string) error {
	if len(secret) > 2560 {
		return gokeyring.ErrSetDataTooBig
	}
	c := wincred.NewGenericCredential(target(service, user))
	c.UserName = user
	c.CredentialBlob = []byte(secret)
	describe(&c.Credential, label, attrs)
	// CredWrite replaces a credential with the same target in one call.
	return c.Write()
}

func (credManager) Describe(service, user, label string, attrs map[string]string) error {
	c, err := wincred.GetGenericCredential(target(service, user))
	if err != nil {
		return notFound(err)
	}
	describe(&c.Credential, label, attrs)
	return c.Write()
}

func describe(c *wincred.Credential, label string, attrs map[string]string) {
	c.Comment = label
	c.Attributes = c.Attributes[:0]
	for k, v := range attrs {
		c.Attributes = append(c.Attributes, wincred.CredentialAttribute{Keyword: k, Value: []byte(cut(v))})
	}
}

// cut shortens s to maxAttrValue bytes on a character boundary.
func cut(s string) string {
	if len(s) <= maxAttrValue {
		return s
	}
	s = s[:maxAttrValue]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

func (credManager) Items(service string) ([]Item, error) {
	creds, err := wincred.FilteredList(service + ":*")
	if err != nil {
		return nil, err
	}
	var items []Item
	for _, c := range creds {
		user, ok := strings.CutPrefix(c.TargetName, service+":")
		if !ok {
			continue
		}
		attrs := map[string]string{}
		for _, a := range c.Attributes {
			attrs[a.Keyword] = string(a.Value)
		}
		attrs[AttrService], attrs[AttrUser] = service, user
		items = append(items, Item{User: user, Label: c.Comment, Attrs: attrs})
	}
	return items, nil
}
