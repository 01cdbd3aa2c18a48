package vaulttest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"twofold.dev/shared/migration"
	"twofold.dev/shared/qr"
)

// The photo must be hard enough to be a real test and still readable by a
// decoder we did not write.
func TestPhotoReadByZbarAndUs(t *testing.T) {
	dir := Write(t)
	f := filepath.Join(dir, ExportPhoto)
	out, err := exec.Command("zbarimg", "--nodbus", "-q", "--raw", f).Output()
	if err != nil {
		t.Fatalf("zbarimg (Debian zbar-tools) cannot read the photo: %v", err)
	}
	data, _ := os.ReadFile(f)
	texts, err := qr.DecodeBytes(data)
	if err != nil || len(texts) != 1 || texts[0] != strings.TrimSpace(string(out)) {
		t.Fatalf("our decoder: %q, %v; zbarimg: %q", texts, err, out)
	}
	b, err := migration.Decode(texts[0])
	if err != nil || len(b.Keys) != len(PhotoAccounts) {
		t.Fatalf("export in photo: %v", err)
	}
	for i, k := range b.Keys {
		if got := k.Label() + "=" + k.SecretBase32(); got != PhotoAccounts[i] {
			t.Errorf("account %d: %s, want %s", i, got, PhotoAccounts[i])
		}
	}
	plus, _ := os.ReadFile(filepath.Join(dir, ExportPlus))
	if !strings.Contains(string(plus), "+") {
		t.Error("the plus export has no '+'")
	}
}
