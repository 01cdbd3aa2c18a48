package keyring

import (
	"math"
	"unicode/utf8"
)

// parseFast reads an index as this package writes it, without
// encoding/json's reflection: with a thousand accounts encoding/json took
// most of `twofold code`'s extra time (about 5 ms of a 25 ms command).
// It knows the file's fields by their exact names and takes plain
// strings, integers and booleans; anything else (an escape in a string,
// an unknown or differently spelt field, null, a fraction, bad JSON)
// returns false, and the caller reads the file with encoding/json, which
// then decides, and words any error. When it returns true its file is
// the one encoding/json would give (FuzzParseFast checks).
func parseFast(data []byte) (f file, ok bool) {
	p := &fastParser{data: data}
	if !p.byte('{') {
		return file{}, false
	}
	seenAccounts := false
	for first := true; ; first = false {
		if p.byte('}') {
			break
		}
		if !first && !p.byte(',') {
			return file{}, false
		}
		key, ok := p.str()
		if !ok || !p.byte(':') {
			return file{}, false
		}
		switch key {
		case "version":
			if f.Version, ok = p.int(); !ok {
				return file{}, false
			}
		case "accounts":
			if seenAccounts { // encoding/json would merge the two lists
				return file{}, false
			}
			seenAccounts = true
			if f.Accounts, ok = p.records(); !ok {
				return file{}, false
			}
		default:
			return file{}, false
		}
	}
	p.space()
	if p.i != len(p.data) {
		return file{}, false
	}
	return f, true
}

type fastParser struct {
	data []byte
	i    int
}

func (p *fastParser) space() {
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// byte consumes c, after white space, if it comes next.
func (p *fastParser) byte(c byte) bool {
	p.space()
	if p.i < len(p.data) && p.data[p.i] == c {
		p.i++
		return true
	}
	return false
}

// str reads a string without escapes or control characters, of valid
// UTF-8 (encoding/json would replace invalid bytes).
func (p *fastParser) str() (string, bool) {
	if !p.byte('"') {
		return "", false
	}
	start := p.i
	ascii := true
	for ; p.i < len(p.data); p.i++ {
		switch c := p.data[p.i]; {
		case c == '"':
			s := p.data[start:p.i]
			p.i++
			if !ascii && !utf8.Valid(s) {
				return "", false
			}
			return string(s), true
		case c == '\\' || c < 0x20:
			return "", false
		case c >= 0x80:
			ascii = false
		}
	}
	return "", false
}

// integer reads a JSON integer (an optional minus, no leading zero, no
// fraction or exponent) as its sign and magnitude; false past 2^64-1.
func (p *fastParser) integer() (neg bool, n uint64, ok bool) {
	p.space()
	if p.i < len(p.data) && p.data[p.i] == '-' {
		neg = true
		p.i++
	}
	d := p.i
	for ; p.i < len(p.data) && p.data[p.i] >= '0' && p.data[p.i] <= '9'; p.i++ {
		c := uint64(p.data[p.i] - '0')
		if n > (math.MaxUint64-c)/10 {
			return false, 0, false
		}
		n = n*10 + c
	}
	if digits := p.i - d; digits == 0 || (digits > 1 && p.data[d] == '0') {
		return false, 0, false
	}
	if p.i < len(p.data) {
		if c := p.data[p.i]; c == '.' || c == 'e' || c == 'E' {
			return false, 0, false
		}
	}
	return neg, n, true
}

func (p *fastParser) int() (int, bool) {
	neg, n, ok := p.integer()
	switch {
	case !ok:
		return 0, false
	case neg && n <= -math.MinInt:
		return -int(n), true
	case !neg && n <= math.MaxInt:
		return int(n), true
	}
	return 0, false
}

func (p *fastParser) uint() (uint64, bool) {
	neg, n, ok := p.integer()
	if !ok || neg { // encoding/json refuses even -0 for an unsigned field
		return 0, false
	}
	return n, true
}

func (p *fastParser) bool() (bool, bool) {
	p.space()
	rest := p.data[p.i:]
	switch {
	case len(rest) >= 4 && string(rest[:4]) == "true":
		p.i += 4
		return true, true
	case len(rest) >= 5 && string(rest[:5]) == "false":
		p.i += 5
		return false, true
	}
	return false, false
}

func (p *fastParser) records() ([]record, bool) {
	if !p.byte('[') {
		return nil, false
	}
	list := []record{}
	for first := true; ; first = false {
		if p.byte(']') {
			return list, true
		}
		if !first && !p.byte(',') {
			return nil, false
		}
		r, ok := p.record()
		if !ok {
			return nil, false
		}
		list = append(list, r)
	}
}

func (p *fastParser) record() (r record, ok bool) {
	if !p.byte('{') {
		return record{}, false
	}
	for first := true; ; first = false {
		if p.byte('}') {
			return r, true
		}
		if !first && !p.byte(',') {
			return record{}, false
		}
		key, ok := p.str()
		if !ok || !p.byte(':') {
			return record{}, false
		}
		switch key {
		case "id":
			r.ID, ok = p.str()
		case "issuer":
			r.Issuer, ok = p.str()
		case "account":
			r.Account, ok = p.str()
		case "type":
			r.Type, ok = p.str()
		case "algorithm":
			r.Algorithm, ok = p.str()
		case "digits":
			r.Digits, ok = p.int()
		case "period":
			r.Period, ok = p.int()
		case "counter":
			r.Counter, ok = p.uint()
		case "missing":
			r.Missing, ok = p.bool()
		case "pinned":
			r.Pinned, ok = p.bool()
		default:
			ok = false
		}
		if !ok {
			return record{}, false
		}
	}
}
