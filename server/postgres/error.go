package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"twofold.dev/server/portal"
)

// ErrUnavailable marks errors that mean "the database cannot be reached
// or cannot serve now" (refused or broken connection, server shutting
// down or starting, out of connections), as opposed to a wrong query.
var ErrUnavailable = portal.ErrUnavailable

// wrap adds context to a database error, and ErrUnavailable to the chain
// when the database is down. It returns nil for nil.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if unavailable(err) {
		return fmt.Errorf("%s: %w: %w", op, ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

func unavailable(err error) bool {
	var connect *pgconn.ConnectError
	var pgErr *pgconn.PgError
	var netErr net.Error
	switch {
	case errors.Is(err, ErrUnavailable):
		return true
	case errors.As(err, &pgErr):
		// Class 08: connection exception; 53: insufficient resources;
		// 57P01-57P03: admin shutdown, crash shutdown, cannot connect now.
		return strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "53") ||
			pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"
	case errors.As(err, &connect), errors.As(err, &netErr):
		return true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, context.DeadlineExceeded):
		return true
	case pgconn.SafeToRetry(err), pgconn.Timeout(err):
		return true
	}
	// A connection that died under a query: pgx reports it in text only.
	msg := err.Error()
	return strings.Contains(msg, "conn closed") || strings.Contains(msg, "closed pool") ||
		strings.Contains(msg, "unexpected EOF") || strings.Contains(msg, "connection reset")
}

func isUnique(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}
