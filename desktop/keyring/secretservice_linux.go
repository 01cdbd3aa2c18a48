package keyring

import (
	"errors"
	"fmt"
	"strings"

	dbus "github.com/godbus/dbus/v5"
	gokeyring "github.com/zalando/go-keyring"
	ss "github.com/zalando/go-keyring/secret_service"
)

// defaultBackend on Linux is the Secret Service, spoken through
// go-keyring's secret_service package: go-keyring's Set cannot give an
// item a label or attributes of its own, nor list items.
func defaultBackend() Backend { return secretService{} }

const (
	itemLabelProp = "org.freedesktop.Secret.Item.Label"
	itemAttrsProp = "org.freedesktop.Secret.Item.Attributes"
)

// secretService keeps items in the default ("login") collection, as
// go-keyring does, so items either wrote are found by both.
type secretService struct{}

func (secretService) open() (*ss.SecretService, dbus.BusObject, error) {
	svc, err := ss.NewSecretService()
	if err != nil {
		return nil, nil, err
	}
	coll := svc.GetLoginCollection()
	if err := svc.Unlock(coll.Path()); err != nil {
		return nil, nil, err
	}
	return svc, coll, nil
}

func (b secretService) find(svc *ss.SecretService, coll dbus.BusObject, service, user string) ([]dbus.ObjectPath, error) {
	return svc.SearchItems(coll, map[string]string{AttrService: service, AttrUser: user})
}

func (secretService) Get(service, user string) (string, error) { return gokeyring.Get(service, user) }

func (b secretService) Set(service, user, secret string) error {
	return b.SetItem(service, user, secret, fmt.Sprintf("Password for '%s' on '%s'", user, service),
		map[string]string{AttrService: service, AttrUser: user})
}

// itemsOf finds user's items, gokeyring.ErrNotFound when there is none.
func (b secretService) itemsOf(service, user string) (*ss.SecretService, []dbus.ObjectPath, error) {
	svc, coll, err := b.open()
	if err != nil {
		return nil, nil, err
	}
	paths, err := b.find(svc, coll, service, user)
	if err != nil {
		return nil, nil, err
	}
	if len(paths) == 0 {
		return nil, nil, gokeyring.ErrNotFound
	}
	return svc, paths, nil
}

// Delete removes every item of user, not only the first found.
func (b secretService) Delete(service, user string) error {
	svc, paths, err := b.itemsOf(service, user)
	if err != nil {
		return err
	}
	for _, p := range paths {
		if err := svc.Delete(p); err != nil {
			return err
		}
	}
	return nil
}

func (b secretService) SetItem(service, user, secret, label string, attrs map[string]string) error {
	svc, coll, err := b.open()
	if err != nil {
		return err
	}
	old, err := b.find(svc, coll, service, user)
	if err != nil {
		return err
	}
	session, err := svc.OpenSession()
	if err != nil {
		return err
	}
	defer svc.Close(session)
	attrs = withIdentity(attrs, service, user)
	// CreateItem's "replace" only replaces an item with the very same
	// attributes; an older item of user's is deleted after the new one is
	// in, so user always has a secret.
	if err := svc.CreateItem(coll, label, attrs, ss.NewSecret(session.Path(), secret)); err != nil {
		return err
	}
	now, err := b.find(svc, coll, service, user)
	if err != nil {
		return err
	}
	for _, p := range old {
		if len(now) > 1 && contains(now, p) {
			if err := svc.Delete(p); err != nil {
				return err
			}
		}
	}
	return nil
}

func contains(paths []dbus.ObjectPath, p dbus.ObjectPath) bool {
	for _, q := range paths {
		if q == p {
			return true
		}
	}
	return false
}

func (b secretService) Describe(service, user, label string, attrs map[string]string) error {
	svc, paths, err := b.itemsOf(service, user)
	if err != nil {
		return err
	}
	attrs = withIdentity(attrs, service, user)
	for _, p := range paths {
		item := svc.Object("org.freedesktop.secrets", p)
		if err := item.SetProperty(itemAttrsProp, dbus.MakeVariant(attrs)); err != nil {
			return err
		}
		if err := item.SetProperty(itemLabelProp, dbus.MakeVariant(label)); err != nil {
			return err
		}
	}
	return nil
}

func (b secretService) Items(service string) ([]Item, error) {
	svc, coll, err := b.open()
	if err != nil {
		return nil, err
	}
	paths, err := svc.SearchItems(coll, map[string]string{AttrService: service})
	if err != nil {
		return nil, err
	}
	items := make([]Item, 0, len(paths))
	for _, p := range paths {
		obj := svc.Object("org.freedesktop.secrets", p)
		var attrs map[string]string
		var label string
		err := obj.StoreProperty(itemAttrsProp, &attrs)
		if err == nil {
			err = obj.StoreProperty(itemLabelProp, &label)
		}
		if vanished(err) {
			continue // deleted by another Twofold since the search
		}
		if err != nil {
			return nil, err
		}
		items = append(items, Item{User: attrs[AttrUser], Label: label, Attrs: attrs})
	}
	return items, nil
}

// vanished tells an item deleted between a search and a read of it:
// gnome-keyring answers "Object does not exist at path …" with GDBus's
// UnknownMethod (TestItemsSkipsAVanishedItem), other services may say
// UnknownObject.
func vanished(err error) bool {
	var de dbus.Error
	return errors.As(err, &de) && (de.Name == "org.freedesktop.DBus.Error.UnknownMethod" || de.Name == "org.freedesktop.DBus.Error.UnknownObject")
}

// withIdentity is attrs with the service and username every item keeps.
func withIdentity(attrs map[string]string, service, user string) map[string]string {
	m := make(map[string]string, len(attrs)+2)
	for k, v := range attrs {
		m[k] = v
	}
	m[AttrService], m[AttrUser] = service, user
	return m
}

// cause is an unavailable keyring's error in a user's words where
// go-keyring passes on D-Bus's: a socket path or a missing dbus-launch
// tells a user nothing.
func cause(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "dbus-launch"), strings.Contains(msg, "dial unix"), strings.Contains(msg, "DBUS_SESSION_BUS_ADDRESS"):
		return "there is no session bus (D-Bus) to reach it on"
	case strings.Contains(msg, "org.freedesktop.secrets"):
		return "no program provides the Secret Service on the session bus"
	}
	return msg
}
