package vault

// The keyring on Windows is the Credential Manager (wincred).
const (
	keyringUnavailableAdvice = "Windows Credential Manager did not answer: sign out of Windows and in again, and check that the Credential Manager service is running"
	keyringLockedAdvice      = "Sign in to Windows with your own account (Credential Manager is per user)"
)
