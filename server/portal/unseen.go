package portal

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Recovery codes that may not have reached their owner. Enrollment turns
// two-factor authentication on and shows the codes in one answer; if that
// answer is lost (a crash, a dropped connection) the owner would have 2FA
// on and codes never seen. So the codes are also kept, sealed, with the
// session they were sent to: the first request of that session proves the
// answer arrived and clears them; until then, the next sign-in with a code
// (which proves the owner has the app) shows them again, for up to
// UnseenRecoveryTTL.

// UnseenRecoveryTTL is how long undelivered recovery codes are kept.
const UnseenRecoveryTTL = 24 * time.Hour

func (s *Service) sealUnseen(userID int64, sessID []byte, codes []string) ([]byte, error) {
	plain := "unseen-v1 " + strconv.FormatInt(s.now().UnixNano(), 10) + " " + hex.EncodeToString(sessID) + "\n" + strings.Join(codes, ",")
	return s.keys.Seal(s.rand, userID, []byte(plain))
}

// openUnseen returns the undelivered codes of u and the session they were
// sent to, or nil when there are none or they are too old.
func (s *Service) openUnseen(u *User) ([]string, []byte) {
	if len(u.RecoveryUnseen) == 0 {
		return nil, nil
	}
	plain, err := s.keys.Open(u.ID, u.RecoveryUnseen)
	if err != nil {
		return nil, nil
	}
	head, body, ok := strings.Cut(string(plain), "\n")
	f := strings.Fields(head)
	if !ok || len(f) != 3 || f[0] != "unseen-v1" {
		return nil, nil
	}
	ns, err1 := strconv.ParseInt(f[1], 10, 64)
	sessID, err2 := hex.DecodeString(f[2])
	if err1 != nil || err2 != nil || s.now().Sub(time.Unix(0, ns)) > UnseenRecoveryTTL {
		return nil, nil
	}
	return strings.Split(body, ","), sessID
}

// delivered clears the undelivered codes when sess is the session they
// were sent to: its request proves the answer arrived.
func (s *Service) delivered(ctx context.Context, sess *Session, u *User) error {
	if len(u.RecoveryUnseen) == 0 || sess.Stage != StageFull {
		return nil
	}
	codes, to := s.openUnseen(u)
	if codes != nil && !bytes.Equal(to, sess.ID) {
		return nil
	}
	if err := s.store.SetUnseenRecovery(ctx, u.ID, nil); err != nil {
		return fmt.Errorf("clearing delivered recovery codes: %w", err)
	}
	u.RecoveryUnseen = nil
	return nil
}
