package portal

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// Recovery codes that may not have reached their owner. Enrollment turns
// two-factor authentication on and shows the codes in one answer; if that
// answer is lost (a crash after the commit, a dropped connection) or the
// page closed unread, the owner would have 2FA on and codes never seen.
// So the codes are also kept, sealed, bound to the session they were
// sent to, until the owner acknowledges them ("I have saved these
// codes") from that session. Until then that session is shown them
// again, and the next sign-in with a code (which proves the owner has
// the app) shows them again and binds them to the new session. Signing
// in with a recovery code proves the owner has them; new codes, turning
// 2FA off and an administrator's reset drop them.

func (s *Service) sealUnseen(userID int64, sessID []byte, codes []string) ([]byte, error) {
	plain := "unseen-v1 " + strconv.FormatInt(s.now().UnixNano(), 10) + " " + hex.EncodeToString(sessID) + "\n" + strings.Join(codes, ",")
	return s.keys.Seal(s.rand, userID, []byte(plain))
}

// openUnseen returns the unacknowledged codes of u and the session they
// were last sent to, or nil when there are none.
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
	sessID, err := hex.DecodeString(f[2])
	if err != nil {
		return nil, nil
	}
	return strings.Split(body, ","), sessID
}

// UnseenRecoveryCodes returns the recovery codes sent to the signed-in
// session sess and not acknowledged yet: show them (again) until
// AcknowledgeRecoveryCodes. nil almost always.
func (s *Service) UnseenRecoveryCodes(ctx context.Context, sess *Session) ([]string, error) {
	u, err := s.fullUser(ctx, sess)
	if err != nil {
		return nil, err
	}
	codes, to := s.openUnseen(u)
	if codes == nil || !bytes.Equal(to, sess.ID) {
		return nil, nil
	}
	return codes, nil
}

// AcknowledgeRecoveryCodes records that the owner saved the recovery codes
// shown to sess: they are no longer kept nor shown. Codes sent to another
// session are kept (this one never showed them).
func (s *Service) AcknowledgeRecoveryCodes(ctx context.Context, sess *Session) error {
	u, err := s.fullUser(ctx, sess)
	if err != nil {
		return err
	}
	codes, to := s.openUnseen(u)
	if len(u.RecoveryUnseen) == 0 || (codes != nil && !bytes.Equal(to, sess.ID)) {
		return nil
	}
	if err := s.store.SetUnseenRecovery(ctx, u.ID, nil); err != nil {
		return fmt.Errorf("clearing acknowledged recovery codes: %w", err)
	}
	return nil
}
