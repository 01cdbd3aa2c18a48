package portal

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// MasterKeySize is the size of the key in the secret key file.
const MasterKeySize = 32

// Keys holds the keys derived from the master key: one AES-256-GCM key for
// TOTP secrets at rest, one for the bodies of queued mail, one HMAC key for
// recovery code hashes (so a copy of the database alone does not allow
// guessing them offline).
type Keys struct {
	aead     cipher.AEAD
	mail     cipher.AEAD
	recovery []byte
	device   []byte // signs device cookies
}

// NewKeys derives the keys from a 32-byte master key.
func NewKeys(master []byte) (*Keys, error) {
	if len(master) != MasterKeySize {
		return nil, fmt.Errorf("master key: want %d bytes, got %d", MasterKeySize, len(master))
	}
	aead, err := newGCM(derive(master, "twofold totp secret encryption v1"))
	if err != nil {
		return nil, err
	}
	mail, err := newGCM(derive(master, "twofold outbox body encryption v1"))
	if err != nil {
		return nil, err
	}
	return &Keys{aead: aead, mail: mail, recovery: derive(master, "twofold recovery code hash v1"), device: derive(master, "twofold device cookie v1")}, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("creating cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("creating GCM: %w", err)
	}
	return aead, nil
}

func derive(master []byte, label string) []byte {
	m := hmac.New(sha256.New, master)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// Seal encrypts a TOTP secret for user userID (the id is authenticated, so
// a sealed secret cannot be moved to another account).
func (k *Keys) Seal(rand io.Reader, userID int64, secret []byte) ([]byte, error) {
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := io.ReadFull(rand, nonce); err != nil {
		return nil, fmt.Errorf("reading nonce: %w", err)
	}
	return k.aead.Seal(nonce, nonce, secret, aad(userID)), nil
}

// Open decrypts what Seal returned.
func (k *Keys) Open(userID int64, sealed []byte) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("opening secret: too short")
	}
	secret, err := k.aead.Open(nil, sealed[:n], sealed[n:], aad(userID))
	if err != nil {
		return nil, fmt.Errorf("opening secret: %w", err)
	}
	return secret, nil
}

// sealedBody starts a queued mail body sealed by SealMail. A message may
// carry a single-use link (a password reset, an address confirmation):
// until it is sent it must not sit readable in the database. Sending
// empties the bodies (MarkMailSent).
const sealedBody = "sealed:v1:"

// SealMail encrypts m's bodies in place, bound to its Message-ID.
func (k *Keys) SealMail(rand io.Reader, m *Mail) error {
	for _, body := range []*string{&m.Text, &m.HTML} {
		nonce := make([]byte, k.mail.NonceSize())
		if _, err := io.ReadFull(rand, nonce); err != nil {
			return fmt.Errorf("reading nonce: %w", err)
		}
		sealed := k.mail.Seal(nonce, nonce, []byte(*body), mailAAD(m.MessageID))
		*body = sealedBody + base64.RawStdEncoding.EncodeToString(sealed)
	}
	return nil
}

// OpenMail decrypts m's bodies in place. Bodies queued before they were
// sealed are left as they are; with no keys (k nil) only those pass.
func (k *Keys) OpenMail(m *Mail) error {
	for _, body := range []*string{&m.Text, &m.HTML} {
		rest, ok := strings.CutPrefix(*body, sealedBody)
		if !ok {
			continue
		}
		if k == nil {
			return errors.New("opening mail: no key to open a sealed body")
		}
		b, err := base64.RawStdEncoding.DecodeString(rest)
		n := k.mail.NonceSize()
		if err != nil || len(b) < n {
			return errors.New("opening mail: damaged body")
		}
		plain, err := k.mail.Open(nil, b[:n], b[n:], mailAAD(m.MessageID))
		if err != nil {
			return fmt.Errorf("opening mail (was the secret key replaced?): %w", err)
		}
		*body = string(plain)
	}
	return nil
}

func mailAAD(messageID string) []byte { return []byte("twofold-mail:" + messageID) }

func aad(userID int64) []byte { return []byte("twofold-user:" + strconv.FormatInt(userID, 10)) }

// HashRecoveryCode returns the keyed hash under which a recovery code is
// stored. The code is normalised first (see NormalizeRecoveryCode).
func (k *Keys) HashRecoveryCode(userID int64, code string) []byte {
	m := hmac.New(sha256.New, k.recovery)
	m.Write(aad(userID))
	m.Write([]byte{0})
	m.Write([]byte(NormalizeRecoveryCode(code)))
	return m.Sum(nil)
}

// LoadOrCreateKeyFile reads the hex master key at path, or creates it with
// mode 0600 (and its directory with 0700) when create is true and it does
// not exist. A key file readable by others is refused.
func LoadOrCreateKeyFile(rand io.Reader, path string, create bool) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		key := make([]byte, MasterKeySize)
		if _, err := io.ReadFull(rand, key); err != nil {
			return nil, fmt.Errorf("creating secret key: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("creating secret key directory: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("creating secret key file: %w", err)
		}
		if _, err := f.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
			f.Close()
			return nil, fmt.Errorf("writing secret key file: %w", err)
		}
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("writing secret key file: %w", err)
		}
		return key, nil
	} else if err != nil {
		return nil, fmt.Errorf("reading secret key file: %w", err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("secret key file %s is readable by others (mode %v): chmod 600 it", path, fi.Mode().Perm())
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != MasterKeySize {
		return nil, fmt.Errorf("secret key file %s: want %d bytes in hex", path, MasterKeySize)
	}
	return key, nil
}

// ErrKeyMismatch: the secret key does not open the secrets in the database.
var ErrKeyMismatch = errors.New("the secret key does not open the two-factor secrets in the database")

// SealedSecretFinder is a store that can find one sealed secret without
// reading every user: at a million accounts ListUsers holds hundreds of
// MiB at start (issue 16). HasSealedSecrets and CheckKeys use it when the
// store has it.
type SealedSecretFinder interface {
	// AnySealedSecret returns a user's active (else pending) sealed
	// secret; found is false when no user has one.
	AnySealedSecret(ctx context.Context) (userID int64, sealed []byte, found bool, err error)
}

// HasSealedSecrets reports whether any user has an active or pending
// sealed secret: such a database is useless without its key.
func HasSealedSecrets(ctx context.Context, store Store) (bool, error) {
	if f, ok := store.(SealedSecretFinder); ok {
		_, _, found, err := f.AnySealedSecret(ctx)
		if err != nil {
			return false, fmt.Errorf("looking for a sealed secret: %w", err)
		}
		return found, nil
	}
	users, err := store.ListUsers(ctx)
	if err != nil {
		return false, fmt.Errorf("listing users: %w", err)
	}
	for _, u := range users {
		if len(u.TOTPSecret) > 0 || len(u.TOTPPending) > 0 {
			return true, nil
		}
	}
	return false, nil
}

// CheckKeys opens the first sealed secret in the store with keys: a key
// file from another installation is refused at start, not found out by
// every user's next sign-in.
func CheckKeys(ctx context.Context, store Store, keys *Keys) error {
	if f, ok := store.(SealedSecretFinder); ok {
		id, sealed, found, err := f.AnySealedSecret(ctx)
		if err != nil {
			return fmt.Errorf("looking for a sealed secret: %w", err)
		}
		if _, err := keys.Open(id, sealed); found && err != nil {
			return ErrKeyMismatch
		}
		return nil
	}
	users, err := store.ListUsers(ctx)
	if err != nil {
		return fmt.Errorf("listing users: %w", err)
	}
	for _, u := range users {
		for _, sealed := range [][]byte{u.TOTPSecret, u.TOTPPending} {
			if len(sealed) == 0 {
				continue
			}
			if _, err := keys.Open(u.ID, sealed); err != nil {
				return ErrKeyMismatch
			}
			return nil
		}
	}
	return nil
}
