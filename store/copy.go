package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jmoiron/sqlx"
)

// ErrTargetNotEmpty is returned by [CopyLedger] when the PostgreSQL ledger
// already holds rows: a copy never merges into, or overwrites, a ledger.
var ErrTargetNotEmpty = errors.New("target ledger is not empty")

// copyOrder lists the tables in an order that satisfies their foreign
// keys. Tables not listed (added by later migrations) are copied after
// these, in name order.
var copyOrder = []string{
	"notifications", "trades", "refunds", "transfers", "ledger_events", "quarantine",
	"bills", "recon_runs", "discrepancies", "audit", "job_runs", "deliveries", "expected_orders",
	"events", "endpoints", "event_deliveries",
}

// copySkip are tables that are not ledger content: the migrations (each
// side has its own), the readiness probe's scratch row, and the quarantine
// totals (kept by triggers on the target as rows arrive; the drop count is
// carried over separately), and the console's sessions (people sign in
// again on the new ledger).
var copySkip = []string{"schema_migrations", "health_probe", "quarantine_usage", "console_sessions"}

// CopiedTable is what [CopyLedger] moved of one table, as counted on both
// sides after the copy: the rows and the sum of every money (…_fen) column.
type CopiedTable struct {
	Name string
	Rows int64
	Sums map[string]int64 // column → sum, in fen
}

// CopyLedger copies every table of the SQLite ledger src into the
// PostgreSQL ledger dst, which must be empty (else [ErrTargetNotEmpty]),
// in one transaction: reading src in one snapshot, then checking that the
// row count and the sum of every money column of every table agree on both
// sides before committing. A copy that fails leaves dst as it was.
func CopyLedger(ctx context.Context, src, dst *DB) ([]CopiedTable, error) {
	if src.pg || !dst.pg {
		return nil, errors.New("copy ledger: copies a SQLite ledger into a PostgreSQL one")
	}
	sv, err := src.SchemaVersion(ctx)
	if err != nil {
		return nil, fmt.Errorf("copy ledger: %w", err)
	}
	dv, err := dst.SchemaVersion(ctx)
	if err != nil {
		return nil, fmt.Errorf("copy ledger: %w", err)
	}
	if sv != dv {
		return nil, fmt.Errorf("copy ledger: source schema %s, target %s", sv, dv)
	}
	stx, err := src.read.BeginTxx(ctx, nil) // one snapshot of a ledger that may be in use
	if err != nil {
		return nil, fmt.Errorf("copy ledger: %w", err)
	}
	defer stx.Rollback()
	tables, err := copyTables(ctx, stx)
	if err != nil {
		return nil, fmt.Errorf("copy ledger: %w", err)
	}
	conn, err := dst.write.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("copy ledger: %w", err)
	}
	defer conn.Close()
	var out []CopiedTable
	err = conn.Raw(func(dc any) error {
		rc, ok := dc.(rebindConn)
		if !ok {
			return fmt.Errorf("unexpected connection %T", dc)
		}
		out, err = copyInto(ctx, stx, rc.c.Conn(), tables)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("copy ledger: %w", err)
	}
	return out, nil
}

// copyTables lists the source's tables in copy order.
func copyTables(ctx context.Context, stx *sqlx.Tx) ([]string, error) {
	var all []string
	if err := stx.SelectContext(ctx, &all, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' ORDER BY name`); err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	var out []string
	for _, t := range copyOrder {
		if slices.Contains(all, t) {
			out = append(out, t)
		}
	}
	for _, t := range all {
		if !slices.Contains(copyOrder, t) && !slices.Contains(copySkip, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

// copyInto runs the copy in one PostgreSQL transaction on c.
func copyInto(ctx context.Context, stx *sqlx.Tx, c *pgx.Conn, tables []string) ([]CopiedTable, error) {
	tx, err := c.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	for _, t := range tables {
		var n int64
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{t}.Sanitize()).Scan(&n); err != nil {
			return nil, fmt.Errorf("count target %s: %w", t, err)
		}
		if n > 0 {
			return nil, fmt.Errorf("%s holds %d rows: %w", t, n, ErrTargetNotEmpty)
		}
	}
	for _, t := range tables {
		if err := copyTable(ctx, stx, tx, t); err != nil {
			return nil, fmt.Errorf("copy %s: %w", t, err)
		}
	}
	if err := copyQuarantineDrops(ctx, stx, tx); err != nil {
		return nil, err
	}
	out, err := verifyCopy(ctx, stx, tx, tables)
	if err != nil {
		return nil, err
	}
	return out, tx.Commit(ctx)
}

// pgColumns returns the target table's columns and their types.
func pgColumns(ctx context.Context, tx pgx.Tx, table string) (map[string]string, error) {
	rows, err := tx.Query(ctx, `SELECT column_name, data_type FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = $1`, table)
	if err != nil {
		return nil, err
	}
	cols, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]string, error) {
		var c [2]string
		err := r.Scan(&c[0], &c[1])
		return c, err
	})
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(cols))
	for _, c := range cols {
		m[c[0]] = c[1]
	}
	return m, nil
}

// copyTable streams one table with COPY, converting SQLite's storage
// classes to the target column types (0/1 to boolean, text to bytea and
// back).
func copyTable(ctx context.Context, stx *sqlx.Tx, tx pgx.Tx, table string) error {
	types, err := pgColumns(ctx, tx, table)
	if err != nil {
		return err
	}
	if len(types) == 0 {
		return fmt.Errorf("no such table on PostgreSQL (a migration without its PostgreSQL twin?)")
	}
	rows, err := stx.QueryxContext(ctx, `SELECT * FROM "`+table+`"`)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	for _, c := range cols {
		if types[c] == "" {
			return fmt.Errorf("column %s missing on PostgreSQL", c)
		}
	}
	next := func() ([]any, error) {
		vals, err := rows.SliceScan()
		if err != nil {
			return nil, err
		}
		for i, v := range vals {
			vals[i] = pgValue(v, types[cols[i]])
		}
		return vals, nil
	}
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if !rows.Next() {
			return nil, rows.Err()
		}
		return next()
	})
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{table}, cols, src); err != nil {
		return err
	}
	return resetIdentity(ctx, tx, table)
}

// pgValue converts a value read from SQLite for a column of pgType.
func pgValue(v any, pgType string) any {
	switch x := v.(type) {
	case int64:
		if pgType == "boolean" {
			return x != 0
		}
	case string:
		if pgType == "bytea" {
			return []byte(x)
		}
	case []byte:
		if pgType != "bytea" {
			return string(x)
		}
	}
	return v
}

// resetIdentity moves the table's identity column past the copied ids.
func resetIdentity(ctx context.Context, tx pgx.Tx, table string) error {
	var col sql.NullString
	err := tx.QueryRow(ctx, `SELECT column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = $1 AND is_identity = 'YES'`, table).Scan(&col)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	id := pgx.Identifier{col.String}.Sanitize()
	_, err = tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence($1, $2), COALESCE(max(`+id+`), 0) + 1, false) FROM `+pgx.Identifier{table}.Sanitize(),
		pgx.Identifier{table}.Sanitize(), col.String)
	return err
}

// copyQuarantineDrops carries over how many quarantined rows the source
// dropped (the target's triggers counted the rows and bytes copied), then
// checks that both sides' quarantine totals agree.
func copyQuarantineDrops(ctx context.Context, stx *sqlx.Tx, tx pgx.Tx) error {
	const q = `SELECT rows, bytes, dropped FROM quarantine_usage WHERE id = 1`
	var a, b [3]int64
	if err := stx.QueryRowxContext(ctx, q).Scan(&a[0], &a[1], &a[2]); err != nil {
		return fmt.Errorf("quarantine usage: %w", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE quarantine_usage SET dropped = $1 WHERE id = 1`, a[2]); err != nil {
		return fmt.Errorf("quarantine usage: %w", err)
	}
	if err := tx.QueryRow(ctx, q).Scan(&b[0], &b[1], &b[2]); err != nil {
		return fmt.Errorf("quarantine usage: %w", err)
	}
	if a != b {
		return fmt.Errorf("verify quarantine_usage: rows, bytes, dropped %v on SQLite, %v on PostgreSQL", a, b)
	}
	return nil
}

// verifyCopy counts every table's rows and sums its money columns on both
// sides, and fails on any difference.
func verifyCopy(ctx context.Context, stx *sqlx.Tx, tx pgx.Tx, tables []string) ([]CopiedTable, error) {
	out := make([]CopiedTable, 0, len(tables))
	for _, t := range tables {
		types, err := pgColumns(ctx, tx, t)
		if err != nil {
			return nil, err
		}
		exprs := []string{"count(*)"}
		var money []string
		for c := range types {
			if strings.HasSuffix(c, "_fen") {
				money = append(money, c)
			}
		}
		slices.Sort(money)
		for _, c := range money {
			exprs = append(exprs, `CAST(COALESCE(sum("`+c+`"), 0) AS BIGINT)`)
		}
		q := "SELECT " + strings.Join(exprs, ", ") + ` FROM "` + t + `"`
		a, b := make([]int64, len(exprs)), make([]int64, len(exprs))
		if err := stx.QueryRowxContext(ctx, q).Scan(ptrs(a)...); err != nil {
			return nil, fmt.Errorf("verify %s on SQLite: %w", t, err)
		}
		if err := tx.QueryRow(ctx, q).Scan(ptrs(b)...); err != nil {
			return nil, fmt.Errorf("verify %s on PostgreSQL: %w", t, err)
		}
		ct := CopiedTable{Name: t, Rows: a[0], Sums: map[string]int64{}}
		for i := range a {
			if a[i] != b[i] {
				return nil, fmt.Errorf("verify %s: %s is %d on SQLite, %d on PostgreSQL", t, exprs[i], a[i], b[i])
			}
			if i > 0 {
				ct.Sums[money[i-1]] = a[i]
			}
		}
		out = append(out, ct)
	}
	return out, nil
}

func ptrs(v []int64) []any {
	p := make([]any, len(v))
	for i := range v {
		p[i] = &v[i]
	}
	return p
}
