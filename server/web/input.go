package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"twofold.dev/server/portal"
)

const maxField = 2048

func tooLarge() error {
	return portal.Errorf(portal.ETOOLARGE, "The request is too large.")
}

// readBody reads the whole (size-limited) body.
func readBody(c *gin.Context) ([]byte, error) {
	b, err := io.ReadAll(c.Request.Body)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, tooLarge()
	} else if err != nil {
		return nil, portal.Errorf(portal.EINVALID, "The request could not be read.")
	}
	return b, nil
}

// form parses a urlencoded POST body that may hold only the named fields,
// each at most once, in valid UTF-8.
func form(c *gin.Context, fields ...string) (map[string]string, error) {
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		return nil, &portal.Error{Code: portal.EUNSUPPORTED, Message: "Send the form as application/x-www-form-urlencoded."}
	}
	body, err := readBody(c)
	if err != nil {
		return nil, err
	}
	values, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, portal.Errorf(portal.EINVALID, "The form could not be read.")
	}
	allowed := map[string]bool{}
	for _, f := range fields {
		allowed[f] = true
	}
	out := map[string]string{}
	for k, vs := range values {
		if !allowed[k] {
			return nil, portal.Errorf(portal.EINVALID, "The form has an unknown field %q.", clip(k))
		}
		if len(vs) != 1 {
			return nil, portal.Errorf(portal.EINVALID, "The field %q was sent more than once.", k)
		}
		if !utf8.ValidString(vs[0]) {
			return nil, portal.Errorf(portal.EINVALID, "The field %q is not valid UTF-8 text.", k)
		}
		if len(vs[0]) > maxField {
			return nil, portal.Errorf(portal.EINVALID, "The field %q is too long.", k)
		}
		out[k] = vs[0]
	}
	return out, nil
}

// clip shortens and sanitises user text echoed in a message.
func clip(s string) string {
	if !utf8.ValidString(s) {
		return "?"
	}
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// decodeJSON reads a JSON object into v: no unknown fields, no trailing
// data, valid UTF-8, fields of the right type.
func decodeJSON(c *gin.Context, v any) error {
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if mt != "application/json" {
		return &portal.Error{Code: portal.EUNSUPPORTED, Message: "Send a JSON body with Content-Type: application/json."}
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	if !utf8.Valid(body) {
		return portal.Errorf(portal.EINVALID, "The body is not valid UTF-8.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te) && te.Field == "":
			return portal.Errorf(portal.EINVALID, "The body is not the JSON object expected.")
		case errors.As(err, &te):
			return portal.Errorf(portal.EINVALID, "The field %q must be a %s.", te.Field, te.Type.String())
		case errors.Is(err, io.EOF):
			return portal.Errorf(portal.EINVALID, "The body is empty: send a JSON object.")
		default:
			return portal.Errorf(portal.EINVALID, "The body is not the JSON object expected: %s.", clip(jsonReason(err)))
		}
	}
	if dec.More() {
		return portal.Errorf(portal.EINVALID, "The body has data after the JSON object.")
	}
	return nil
}

func jsonReason(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	}
	return err.Error()
}
