package keyring

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"twofold.dev/desktop/vault"
	"twofold.dev/shared/totp"
)

// indexOf n accounts, as save writes it.
func indexBytes(tb testing.TB, n int) []byte {
	tb.Helper()
	f := file{Version: 1, Accounts: []record{}}
	for i := range n {
		a := vault.Account{ID: fmt.Sprintf("%032x", i), Issuer: fmt.Sprintf("Service %03d", i), Account: fmt.Sprintf("user%d@example.com", i),
			Type: totp.TOTP, Algorithm: totp.SHA256, Digits: 8, Period: 30, Pinned: i%7 == 0, Missing: i%11 == 0}
		if i%5 == 0 {
			a.Type, a.Period, a.Counter = totp.HOTP, 0, uint64(i)*1000
		}
		f.Accounts = append(f.Accounts, recordOf(a))
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	return append(data, '\n')
}

// The index save writes, the common case, is read by the fast path, to
// what encoding/json reads.
func TestParseFastReadsWhatSaveWrites(t *testing.T) {
	for _, n := range []int{0, 1, 1000} {
		data := indexBytes(t, n)
		got, ok := parseFast(data)
		if !ok {
			t.Fatalf("%d accounts: the fast path refused the index save writes", n)
		}
		var want file
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%d accounts: fast path read\n%+v\nencoding/json read\n%+v", n, got, want)
		}
	}
}

// Whatever it is given, the fast path either declines or reads exactly
// what encoding/json reads, from input encoding/json accepts.
func FuzzParseFast(f *testing.F) {
	f.Add(indexBytes(f, 3))
	for _, s := range []string{
		`{"version":1,"accounts":[]}`, `{}`, `{"version":1}`, `{"version":1,"accounts":null}`,
		`{"accounts":[{"id":"a"}],"accounts":[{"issuer":"b"}]}`, `{"version":1,"version":2}`,
		`{"version":1,"accounts":[{"id":"a","id":"b","digits":-0}]}`, `{"Version":1}`, `{"version":01}`,
		`{"version":1.0}`, `{"version":1e0}`, `{"accounts":[{"issuer":"A\u0026B"}]}`, `{"accounts":[{"issuer":"é"}]}`,
		"{\"accounts\":[{\"issuer\":\"\xff\"}]}", `{"accounts":[{"counter":18446744073709551615}]}`,
		`{"accounts":[{"counter":-1}]}`, `{"accounts":[{"counter":-0}]}`, `{"accounts":[{"counter":18446744073709551616}]}`,
		`{"version":-9223372036854775808}`, `{"version":9223372036854775808}`, `{"version":-}`, `{"accounts":[{"pinned":true,"missing":false}]}`, `{"accounts":[{"pinned":tru}]}`,
		`{"accounts":[{},]}`, `{"version":1} x`, ` {"version":1} `, `{"version":1,}`, `{"accounts":[{"extra":1}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, ok := parseFast(data)
		if !ok {
			return
		}
		var want file
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatalf("the fast path read %q, which encoding/json refuses: %v", data, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: fast path read\n%+v\nencoding/json read\n%+v", data, got, want)
		}
	})
}

// BenchmarkParseIndex is the index of 1000 accounts read by the fast path
// and, as the baseline, by encoding/json.
func BenchmarkParseIndex(b *testing.B) {
	data := indexBytes(b, 1000)
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			if _, ok := parseFast(data); !ok {
				b.Fatal("refused")
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			var f file
			if err := json.Unmarshal(data, &f); err != nil {
				b.Fatal(err)
			}
		}
	})
}
