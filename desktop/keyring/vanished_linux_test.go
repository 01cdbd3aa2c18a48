package keyring

import (
	"testing"

	gokeyring "github.com/zalando/go-keyring"
	ss "github.com/zalando/go-keyring/secret_service"
)

// An item another Twofold deletes between Items' search and its read is
// skipped, not an error that stops a repair: the error is the one a real
// gnome-keyring gives for it.
func TestItemsSkipsAVanishedItem(t *testing.T) {
	const service = "twofold-vanish-test"
	if err := gokeyring.Set(service, "gone", "s"); err != nil {
		t.Fatalf("no Secret Service (run through scripts/with-keyring.sh): %v", err)
	}
	svc, err := ss.NewSecretService()
	if err != nil {
		t.Fatal(err)
	}
	paths, err := svc.SearchItems(svc.GetLoginCollection(), map[string]string{AttrService: service})
	if err != nil || len(paths) != 1 {
		t.Fatalf("search: %v %v", paths, err)
	}
	if err := gokeyring.Delete(service, "gone"); err != nil {
		t.Fatal(err)
	}
	var attrs map[string]string
	err = svc.Object("org.freedesktop.secrets", paths[0]).StoreProperty(itemAttrsProp, &attrs)
	if err == nil || !vanished(err) {
		t.Fatalf("reading a deleted item: %v; vanished says %v", err, vanished(err))
	}
	items, err := secretService{}.Items(service)
	if err != nil || len(items) != 0 {
		t.Fatalf("Items after the delete: %v, %v", items, err)
	}
}
