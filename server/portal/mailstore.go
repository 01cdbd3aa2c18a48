package portal

import "time"

// Mail is one message of the outbox. MessageID is its idempotency key: a
// message sent twice (a sender killed between the SMTP server's answer
// and recording it) carries the same Message-ID both times, so the
// receiving side can drop the copy.
type Mail struct {
	ID        int64
	MessageID string // without angle brackets: random@host
	To        string
	Subject   string
	Text      string
	HTML      string
	CreatedAt time.Time
	// Attempts counts the deliveries started; NextAttemptAt is when the
	// next one is due.
	Attempts      int
	NextAttemptAt time.Time
	LeaseUntil    time.Time // zero: not leased
	LastError     string
	SentAt        time.Time // zero: not sent yet
}

// Purposes of mail tokens.
const (
	TokenConfirmEmail  = "confirm_email"
	TokenResetPassword = "reset_password"
)

// MailToken is a single-use link sent by mail; the store keeps the
// SHA-256 of the token only.
type MailToken struct {
	Hash      []byte
	UserID    int64
	Purpose   string
	Address   string // the address it was sent to
	CreatedAt time.Time
	ExpiresAt time.Time
}
