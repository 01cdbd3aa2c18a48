package vault

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"twofold.dev/shared/totp"
)

// Memory is a Store that keeps everything in memory, for tests and demos.
// Err, when set, makes every call fail with it (to show error handling).
type Memory struct {
	mu       sync.Mutex
	accounts []Account
	orphans  []Account // in the "keyring" only, as after a crash
	secrets  map[string][]byte
	next     int
	Err      error
}

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory { return &Memory{secrets: map[string][]byte{}} }

var _ Store = (*Memory)(nil)

func (m *Memory) List(ctx context.Context) ([]Account, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return nil, m.Err
	}
	return append([]Account(nil), m.accounts...), nil
}

func (m *Memory) Add(ctx context.Context, k *totp.Key) (Account, error) {
	return m.AddWith(ctx, k, RefuseTaken)
}

func (m *Memory) AddWith(ctx context.Context, k *totp.Key, taken OnLabelTaken) (Account, error) {
	if err := k.Validate(); err != nil {
		return Account{}, fmt.Errorf("adding %s: %w", k.Label(), err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return Account{}, m.Err
	}
	same := SameLabel(m.accounts, k.Label(), "")
	for _, a := range same {
		if bytes.Equal(m.secrets[a.ID], k.Secret) {
			return Account{}, fmt.Errorf("adding %s: %w", k.Label(), ErrDuplicate)
		}
	}
	if len(same) > 0 && taken == RefuseTaken {
		return Account{}, fmt.Errorf("adding %s: %w", k.Label(), &LabelTakenError{Label: k.Label(), Existing: same[0]})
	}
	m.next++
	a := AccountOf(fmt.Sprintf("%08x", m.next), k)
	m.accounts = append(m.accounts, a)
	m.secrets[a.ID] = bytes.Clone(k.Secret)
	if taken == ReplaceTaken {
		for _, old := range same {
			i, _ := m.find(old.ID)
			m.accounts = append(m.accounts[:i], m.accounts[i+1:]...)
			delete(m.secrets, old.ID)
		}
	}
	return a, nil
}

// SameLabel returns the accounts other than id whose label is label, case
// aside: the ones a new or renamed account would be confused with.
func SameLabel(list []Account, label, id string) []Account {
	var same []Account
	for _, a := range list {
		if a.ID != id && strings.EqualFold(a.Label(), label) {
			same = append(same, a)
		}
	}
	return same
}

// Orphan keeps k's secret but not its account, as a crash between a
// keyring store's two writes would; Orphans lists it, Repair restores it.
func (m *Memory) Orphan(k *totp.Key) Account {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.next++
	a := AccountOf(fmt.Sprintf("%08x", m.next), k)
	m.orphans = append(m.orphans, a)
	m.secrets[a.ID] = bytes.Clone(k.Secret)
	return a
}

func (m *Memory) Orphans(ctx context.Context) ([]Account, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return nil, m.Err
	}
	return append([]Account(nil), m.orphans...), nil
}

// Repair restores the orphans; an Err that is ErrIndexDamaged stands for a
// damaged list, which it "keeps aside" and clears.
func (m *Memory) Repair(ctx context.Context) (RepairReport, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var r RepairReport
	if errors.Is(m.Err, ErrIndexDamaged) {
		r.KeptAside, r.Damage, m.Err = "memory.damaged", m.Err.Error(), nil
	}
	if m.Err != nil {
		return RepairReport{}, m.Err
	}
	r.Kept = len(m.accounts)
	r.Restored, m.orphans = m.orphans, nil
	m.accounts = append(m.accounts, r.Restored...)
	return r, nil
}

func (m *Memory) find(id string) (int, error) {
	if m.Err != nil {
		return -1, m.Err
	}
	for i, a := range m.accounts {
		if a.ID == id {
			return i, nil
		}
	}
	return -1, fmt.Errorf("account %s: %w", id, ErrNotFound)
}

func (m *Memory) Rename(ctx context.Context, id, issuer, account string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	i, err := m.find(id)
	if err != nil {
		return err
	}
	if err := CheckName(account); err != nil {
		return err
	}
	label := Account{Issuer: issuer, Account: account}.Label()
	if same := SameLabel(m.accounts, label, id); len(same) > 0 {
		return fmt.Errorf("renaming: %w", &LabelTakenError{Label: label, Existing: same[0]})
	}
	m.accounts[i].Issuer, m.accounts[i].Account = issuer, account
	return nil
}

func (m *Memory) Delete(ctx context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	i, err := m.find(id)
	if err != nil {
		return err
	}
	m.accounts = append(m.accounts[:i], m.accounts[i+1:]...)
	delete(m.secrets, id)
	return nil
}

func (m *Memory) Move(ctx context.Context, id string, to int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	i, err := m.find(id)
	if err != nil {
		return err
	}
	m.accounts = MoveAccount(m.accounts, i, to)
	return nil
}

func (m *Memory) Pin(ctx context.Context, id string, pinned bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	i, err := m.find(id)
	if err != nil {
		return err
	}
	m.accounts[i].Pinned = pinned
	return nil
}

func (m *Memory) Key(ctx context.Context, id string) (*totp.Key, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	i, err := m.find(id)
	if err != nil {
		return nil, err
	}
	s, ok := m.secrets[id]
	if !ok {
		m.accounts[i].Missing = true
		return nil, fmt.Errorf("%s: %w", m.accounts[i].Label(), ErrSecretMissing)
	}
	return m.accounts[i].Key(bytes.Clone(s)), nil
}

// Vanish forgets an account's secret but keeps the account, as when a
// keyring item is deleted behind the app's back.
func (m *Memory) Vanish(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.secrets, id)
}

func (m *Memory) Code(ctx context.Context, id string, now time.Time) (string, error) {
	k, err := m.Key(ctx, id)
	if err != nil {
		return "", err
	}
	return k.Code(now)
}

func (m *Memory) NextHOTP(ctx context.Context, id string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	i, err := m.find(id)
	if err != nil {
		return "", err
	}
	a := m.accounts[i]
	secret, ok := m.secrets[id]
	if !ok {
		m.accounts[i].Missing = true
		return "", fmt.Errorf("%s: %w", a.Label(), ErrSecretMissing)
	}
	if a.Type != totp.HOTP {
		return "", fmt.Errorf("%s: %w: not an HOTP account", a.Label(), ErrWrongType)
	}
	code, err := a.Key(secret).HOTPCode(a.Counter)
	if err != nil {
		return "", err
	}
	m.accounts[i].Counter = a.Counter + 1 // saved before the code is returned
	return code, nil
}

// MoveAccount returns list with the element at from moved to index to
// (clamped), shifting the others.
func MoveAccount(list []Account, from, to int) []Account {
	if to < 0 {
		to = 0
	}
	if to > len(list)-1 {
		to = len(list) - 1
	}
	a := list[from]
	list = append(list[:from], list[from+1:]...)
	list = append(list[:to], append([]Account{a}, list[to:]...)...)
	return list
}

// CheckName refuses an empty account name; an issuer may be empty.
func CheckName(account string) error {
	if account == "" {
		return &totp.FieldError{Field: "account", Reason: "must not be empty"}
	}
	return nil
}
