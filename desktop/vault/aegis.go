package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/scrypt"

	"twofold.dev/shared/totp"
)

// Encrypted backups in Aegis's vault format (docs/vault.md of
// beemdevelopment/Aegis): a random 256-bit master key encrypts the entries
// with AES-256-GCM; a password slot holds that key wrapped with a key that
// scrypt derives from the password. Aegis on a phone restores these files,
// and so does Twofold.

// Errors of encrypted backups; test with errors.Is.
var (
	// ErrWrongPassword is returned when no password slot opens with the
	// password given (or the file was changed since it was written).
	ErrWrongPassword = errors.New("wrong password for this backup")
	// ErrPasswordNeeded is returned when an encrypted backup is read
	// without a password.
	ErrPasswordNeeded = errors.New("this backup is encrypted: its password is needed")
	// ErrEmptyPassword refuses to encrypt with an empty password.
	ErrEmptyPassword = errors.New("the password is empty")
)

// The scrypt parameters Aegis uses (and documents); they are stored in the
// slot, so a reader takes them from the file.
const (
	scryptN = 1 << 15
	scryptR = 8
	scryptP = 1
)

// Bounds on the scrypt parameters a file may ask for: a hostile file must
// not make us allocate gigabytes (scrypt needs 128·N·r bytes) nor compute
// for minutes (the work grows with N·r·p). Aegis's own, N=2^15, r=8, p=1,
// take 32 MiB; the bounds are 128 MiB and four times Aegis's work.
const (
	maxScryptNR  = 1 << 20
	maxScryptP   = 16
	maxScryptNRP = 1 << 20
)

type aegisParams struct {
	Nonce string `json:"nonce"`
	Tag   string `json:"tag"`
}

type aegisSlot struct {
	Type      int         `json:"type"`
	UUID      string      `json:"uuid"`
	Key       string      `json:"key"`
	KeyParams aegisParams `json:"key_params"`
	N         int         `json:"n,omitempty"`
	R         int         `json:"r,omitempty"`
	P         int         `json:"p,omitempty"`
	Salt      string      `json:"salt,omitempty"`
	Repaired  bool        `json:"repaired,omitempty"`
}

type aegisHeader struct {
	Slots  []aegisSlot  `json:"slots"`
	Params *aegisParams `json:"params"`
}

type aegisFile struct {
	Version int             `json:"version"`
	Header  aegisHeader     `json:"header"`
	DB      json.RawMessage `json:"db"`
}

type aegisInfo struct {
	Secret  string  `json:"secret"`
	Algo    string  `json:"algo"`
	Digits  int     `json:"digits"`
	Period  int     `json:"period,omitempty"`
	Counter *uint64 `json:"counter,omitempty"`
}

type aegisEntry struct {
	Type     string    `json:"type"`
	UUID     string    `json:"uuid"`
	Name     string    `json:"name"`
	Issuer   string    `json:"issuer"`
	Note     string    `json:"note"`
	Favorite bool      `json:"favorite"`
	Icon     *string   `json:"icon"`
	Info     aegisInfo `json:"info"`
}

type aegisDB struct {
	Version int          `json:"version"`
	Entries []aegisEntry `json:"entries"`
}

// slotTypePassword is Aegis's id of a password (scrypt) slot.
const slotTypePassword = 1

// EncryptAegis writes keys as an encrypted Aegis vault that opens with
// password; the keys in pinned are Aegis favourites, which it lists first
// as Twofold lists pinned accounts. Every random byte (master key, salt,
// nonces, UUIDs) is read from rand.
func EncryptAegis(keys []*totp.Key, pinned map[*totp.Key]bool, password []byte, rand io.Reader) ([]byte, error) {
	if len(password) == 0 {
		return nil, ErrEmptyPassword
	}
	master, salt := make([]byte, 32), make([]byte, 32)
	if _, err := io.ReadFull(rand, master); err != nil {
		return nil, fmt.Errorf("encrypting backup: %w", err)
	}
	if _, err := io.ReadFull(rand, salt); err != nil {
		return nil, fmt.Errorf("encrypting backup: %w", err)
	}
	wrap, err := scrypt.Key(password, salt, scryptN, scryptR, scryptP, 32)
	if err != nil {
		return nil, fmt.Errorf("encrypting backup: %w", err)
	}
	slotUUID, err := uuid4(rand)
	if err != nil {
		return nil, err
	}
	wrapped, wrappedParams, err := sealGCM(wrap, master, rand)
	if err != nil {
		return nil, err
	}
	db := aegisDB{Version: 1, Entries: make([]aegisEntry, 0, len(keys))}
	for _, k := range keys {
		id, err := uuid4(rand)
		if err != nil {
			return nil, err
		}
		e := aegisEntry{
			Type: k.Type.String(), UUID: id, Name: k.Account, Issuer: k.Issuer, Favorite: pinned[k],
			Info: aegisInfo{Secret: k.SecretBase32(), Algo: k.Algorithm.String(), Digits: k.Digits},
		}
		if k.Type == totp.HOTP {
			c := k.Counter
			e.Info.Counter = &c
		} else {
			e.Info.Period = k.Period
		}
		db.Entries = append(db.Entries, e)
	}
	plain, err := json.Marshal(db)
	if err != nil {
		return nil, fmt.Errorf("encrypting backup: %w", err)
	}
	ct, params, err := sealGCM(master, plain, rand)
	if err != nil {
		return nil, err
	}
	encDB, _ := json.Marshal(base64.StdEncoding.EncodeToString(ct))
	f := aegisFile{
		Version: 1,
		Header: aegisHeader{
			Slots: []aegisSlot{{
				Type: slotTypePassword, UUID: slotUUID,
				Key: hex.EncodeToString(wrapped), KeyParams: wrappedParams,
				N: scryptN, R: scryptR, P: scryptP, Salt: hex.EncodeToString(salt), Repaired: true,
			}},
			Params: &params,
		},
		DB: encDB,
	}
	out, err := json.MarshalIndent(f, "", "    ")
	if err != nil {
		return nil, fmt.Errorf("encrypting backup: %w", err)
	}
	return append(out, '\n'), nil
}

// sealGCM encrypts plain with AES-256-GCM under a fresh random nonce and
// returns the ciphertext without its tag, and the nonce and tag in hex, as
// Aegis stores them.
func sealGCM(key, plain []byte, rand io.Reader) ([]byte, aegisParams, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, aegisParams{}, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := io.ReadFull(rand, nonce); err != nil {
		return nil, aegisParams{}, fmt.Errorf("encrypting backup: %w", err)
	}
	sealed := aead.Seal(nil, nonce, plain, nil)
	n := len(sealed) - aead.Overhead()
	return sealed[:n], aegisParams{Nonce: hex.EncodeToString(nonce), Tag: hex.EncodeToString(sealed[n:])}, nil
}

// openGCM is sealGCM's inverse; any failure means a wrong key or a changed
// file, which GCM cannot tell apart.
func openGCM(key, ct []byte, p aegisParams) ([]byte, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	nonce, err1 := hex.DecodeString(p.Nonce)
	tag, err2 := hex.DecodeString(p.Tag)
	if err1 != nil || err2 != nil || len(nonce) != aead.NonceSize() || len(tag) != aead.Overhead() {
		return nil, errors.New("bad nonce or tag")
	}
	plain, err := aead.Open(nil, nonce, append(append([]byte(nil), ct...), tag...), nil)
	if err != nil {
		return nil, ErrWrongPassword
	}
	return plain, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("backup key: %w", err)
	}
	return cipher.NewGCM(block)
}

// uuid4 is a random (version 4) UUID, as Aegis gives every slot and entry.
func uuid4(rand io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return "", fmt.Errorf("encrypting backup: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}

// decryptAegis opens an encrypted Aegis vault's db with password, trying
// every password slot, and returns the db's JSON.
func decryptAegis(f *aegisFile, password []byte) (json.RawMessage, error) {
	var enc string
	if err := json.Unmarshal(f.DB, &enc); err != nil {
		return nil, fmt.Errorf("db: %w", err)
	}
	ct, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return nil, fmt.Errorf("db is not base64")
	}
	if f.Header.Params == nil {
		return nil, errors.New("encrypted, but its header has no params")
	}
	if len(password) == 0 {
		return nil, ErrPasswordNeeded
	}
	var tried bool
	for _, s := range f.Header.Slots {
		if s.Type != slotTypePassword {
			continue // biometric slots open only on the phone that made them
		}
		if s.N < 2 || s.N&(s.N-1) != 0 || s.R < 1 || s.N > maxScryptNR/s.R || s.P < 1 || s.P > maxScryptP || s.N*s.R > maxScryptNRP/s.P {
			return nil, fmt.Errorf("unusual scrypt parameters n=%d r=%d p=%d", s.N, s.R, s.P)
		}
		salt, err1 := hex.DecodeString(s.Salt)
		wrapped, err2 := hex.DecodeString(s.Key)
		if err1 != nil || err2 != nil {
			return nil, errors.New("a password slot is damaged")
		}
		tried = true
		wrap, err := scrypt.Key(password, salt, s.N, s.R, s.P, 32)
		if err != nil {
			return nil, err
		}
		master, err := openGCM(wrap, wrapped, s.KeyParams)
		if errors.Is(err, ErrWrongPassword) {
			continue
		}
		if err != nil {
			return nil, err
		}
		plain, err := openGCM(master, ct, *f.Header.Params)
		if errors.Is(err, ErrWrongPassword) {
			return nil, errors.New("the password is right but the contents were changed or damaged")
		}
		return plain, err
	}
	if !tried {
		return nil, errors.New("it has no password slot (only the phone that made it can open it)")
	}
	return nil, ErrWrongPassword
}

// twoFASIterations is the PBKDF2-SHA256 count of 2FAS's encrypted backups.
const twoFASIterations = 10000

// decrypt2FAS opens servicesEncrypted, "base64(ciphertext+tag):base64(salt):
// base64(iv)", and returns the services' JSON array.
func decrypt2FAS(enc string, password []byte) (json.RawMessage, error) {
	parts := strings.Split(enc, ":")
	if len(parts) < 3 {
		return nil, errors.New("servicesEncrypted is not data:salt:iv")
	}
	var raw [3][]byte
	for i := range raw {
		b, err := base64.StdEncoding.DecodeString(parts[i])
		if err != nil {
			return nil, errors.New("servicesEncrypted is not base64")
		}
		raw[i] = b
	}
	data, salt, iv := raw[0], raw[1], raw[2]
	if len(password) == 0 {
		return nil, ErrPasswordNeeded
	}
	key, err := pbkdf2.Key(sha256.New, string(password), salt, twoFASIterations, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	if len(iv) == 0 {
		return nil, errors.New("empty iv")
	}
	aead, err := cipher.NewGCMWithNonceSize(block, len(iv))
	if err != nil {
		return nil, err
	}
	plain, err := aead.Open(nil, iv, data, nil)
	if err != nil {
		return nil, ErrWrongPassword
	}
	return plain, nil
}
