package portal

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// commonPasswordsGz is a sorted list of common passwords, one a line; see
// common-passwords.md for its source and licence.
//
//go:embed common-passwords.txt.gz
var commonPasswordsGz []byte

// commonPasswords is the decompressed list, built on first use (about
// 200,000 entries, a few MB) and searched by binary search.
type commonPasswords struct {
	once sync.Once
	list []string
	err  error
}

func (c *commonPasswords) contains(p string) (bool, error) {
	c.once.Do(func() {
		zr, err := gzip.NewReader(bytes.NewReader(commonPasswordsGz))
		if err != nil {
			c.err = fmt.Errorf("reading common password list: %w", err)
			return
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			c.err = fmt.Errorf("reading common password list: %w", err)
			return
		}
		c.list = strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		if !sort.StringsAreSorted(c.list) {
			c.err = fmt.Errorf("common password list is not sorted")
		}
	})
	if c.err != nil {
		return false, c.err
	}
	i := sort.SearchStrings(c.list, p)
	return i < len(c.list) && c.list[i] == p, nil
}

// Len is the number of entries of the list.
func (c *commonPasswords) Len() (int, error) {
	if _, err := c.contains(""); err != nil {
		return 0, err
	}
	return len(c.list), nil
}

// NormalizePassword returns the form that is hashed: Unicode NFKC, so the
// same password typed on another keyboard or system still matches (NIST
// SP 800-63B 5.1.1.2).
func NormalizePassword(p string) string { return norm.NFKC.String(p) }

// checkNewPassword applies the rule for a new password (NIST SP 800-63B
// 5.1.1.2): 8 to MaxPasswordLen characters, not a common password, not a
// single repeated character or a simple sequence, and not the username or
// display name or an obvious variant of them. Messages say why.
func (s *Service) checkNewPassword(p, username, displayName string) error {
	if !utf8.ValidString(p) {
		return Errorf(EINVALID, "The password is not valid text.")
	}
	p = NormalizePassword(p)
	n := utf8.RuneCountInString(p)
	if n < MinPasswordLen {
		return Errorf(EINVALID, "Choose a password of at least %d characters.", MinPasswordLen)
	}
	if n > MaxPasswordLen {
		return Errorf(EINVALID, "A password has at most %d characters.", MaxPasswordLen)
	}
	lower := strings.ToLower(p)
	if simplePattern(lower) {
		return Errorf(EINVALID, "That password is a repeated character or a simple sequence such as 12345678, which is easy to guess. Choose another one.")
	}
	common, err := s.common.contains(lower)
	if err != nil {
		return err
	}
	if common {
		return Errorf(EINVALID, "That password is on a list of the most common passwords, which attackers try first. Choose another one.")
	}
	for _, name := range []string{username, strings.ToLower(displayName), strings.ToLower(strings.Join(strings.Fields(displayName), ""))} {
		if nearName(lower, name) {
			return Errorf(EINVALID, "That password is too close to your username or name. Choose something others cannot guess from it.")
		}
	}
	return nil
}

// simplePattern: fewer than three different characters (aaaaaaaa,
// abababab, eight spaces) or a run of consecutive characters up or down
// (12345678, abcdefgh, 98765432).
func simplePattern(p string) bool {
	distinct := map[rune]bool{}
	for _, r := range p {
		distinct[r] = true
	}
	if len(distinct) < 3 {
		return true
	}
	rs := []rune(p)
	up, down := true, true
	for i := 1; i < len(rs); i++ {
		up = up && rs[i] == rs[i-1]+1
		down = down && rs[i] == rs[i-1]-1
	}
	return up || down
}

// nearName: the password, without the name (or the name reversed)
// wherever it occurs, is empty or only digits, punctuation and spaces, or
// too short to matter (weak3weak3, joe2024!, Joe Bloggs1).
func nearName(p, name string) bool {
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) < 3 {
		return false
	}
	rest := strings.ReplaceAll(p, name, "")
	rest = strings.ReplaceAll(rest, reverse(name), "")
	if rest == p {
		return false
	}
	letters := 0
	for _, r := range rest {
		if unicode.IsLetter(r) {
			letters++
		}
	}
	return letters == 0 || utf8.RuneCountInString(rest) < 4
}

func reverse(s string) string {
	rs := []rune(s)
	for i, j := 0, len(rs)-1; i < j; i, j = i+1, j-1 {
		rs[i], rs[j] = rs[j], rs[i]
	}
	return string(rs)
}
