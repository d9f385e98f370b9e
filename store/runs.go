package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"

	"github.com/jmoiron/sqlx"

	"github.com/payrecon/payrecon"
)

type runRow struct {
	ID         int64          `db:"id"`
	Account    string         `db:"account"`
	Date       string         `db:"bill_date"`
	StartedAt  string         `db:"started_at"`
	FinishedAt sql.NullString `db:"finished_at"`
	Status     string         `db:"status"`
	Trigger    string         `db:"trigger"`
	BillID     sql.NullInt64  `db:"bill_id"`
	Counts     string         `db:"counts"`
	Workbook   string         `db:"workbook"`
	Error      string         `db:"error"`
	Totals     string         `db:"totals"`
	Owner      string         `db:"owner"`
}

func (r runRow) run() (payrecon.Run, error) {
	out := payrecon.Run{ID: r.ID, Account: r.Account, Status: payrecon.RunStatus(r.Status), Trigger: r.Trigger,
		BillID: r.BillID.Int64, Workbook: r.Workbook, Error: r.Error, Counts: map[payrecon.Code]int{}}
	var err error
	if out.Day, err = payrecon.ParseDay(r.Date); err != nil {
		return out, err
	}
	if out.StartedAt, err = parseTime(r.StartedAt); err != nil {
		return out, err
	}
	if out.FinishedAt, err = parseNullTime(r.FinishedAt); err != nil {
		return out, err
	}
	if r.Counts != "" && r.Counts != "null" {
		if err := json.Unmarshal([]byte(r.Counts), &out.Counts); err != nil {
			return out, fmt.Errorf("counts: %w", err)
		}
	}
	if r.Totals != "" && r.Totals != "{}" {
		out.Totals = new(payrecon.TieOut)
		if err := json.Unmarshal([]byte(r.Totals), out.Totals); err != nil {
			return out, fmt.Errorf("totals: %w", err)
		}
	}
	return out, nil
}

// StartRun records the start of a reconciliation run.
func (db *DB) StartRun(ctx context.Context, account string, day payrecon.Day, trigger string) (int64, error) {
	var id int64
	err := db.update(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		return tx.QueryRowxContext(ctx, `INSERT INTO recon_runs (account, bill_date, started_at, status, trigger, owner) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
			account, day.String(), fmtTime(db.opt.Now()), payrecon.RunRunning, trigger, ProcessOwner(os.Getpid())).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("start run: %w", err)
	}
	return id, nil
}

// FinishRun records how a run ended: ok, cancelled, or failed with runErr
// (see [payrecon.RunStatusOf]).
func (db *DB) FinishRun(ctx context.Context, id int64, billID int64, counts map[payrecon.Code]int, workbook string, runErr error) error {
	status, msg := payrecon.RunStatusOf(runErr), ""
	if runErr != nil {
		msg = runErr.Error()
	}
	c, err := json.Marshal(counts)
	if err != nil {
		return fmt.Errorf("finish run: %w", err)
	}
	var bill any
	if billID > 0 {
		bill = billID
	}
	err = db.update(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE recon_runs SET finished_at = ?, status = ?, bill_id = ?, counts = ?, workbook = ?, error = ? WHERE id = ?`,
			fmtTime(db.opt.Now()), status, bill, string(c), workbook, msg, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("finish run: %w", err)
	}
	return nil
}

// Runs lists reconciliation runs, newest first.
func (db *DB) Runs(ctx context.Context, limit int) ([]payrecon.Run, error) {
	var rows []runRow
	if err := db.read.SelectContext(ctx, &rows, `SELECT * FROM recon_runs ORDER BY id DESC LIMIT ?`, limit); err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return convert(rows, runRow.run, "list runs")
}

type jobRunRow struct {
	ID         int64          `db:"id"`
	Job        string         `db:"job"`
	Account    string         `db:"account"`
	Day        string         `db:"day"`
	Trigger    string         `db:"trigger"`
	StartedAt  string         `db:"started_at"`
	FinishedAt sql.NullString `db:"finished_at"`
	Status     string         `db:"status"`
	Error      string         `db:"error"`
	Owner      string         `db:"owner"`
}

func (r jobRunRow) jobRun() (payrecon.JobRun, error) {
	out := payrecon.JobRun{ID: r.ID, Job: r.Job, Account: r.Account, Trigger: r.Trigger, Status: payrecon.RunStatus(r.Status), Error: r.Error}
	var err error
	if out.Day, err = payrecon.ParseDay(r.Day); err != nil {
		return out, err
	}
	if out.StartedAt, err = parseTime(r.StartedAt); err != nil {
		return out, err
	}
	out.FinishedAt, err = parseNullTime(r.FinishedAt)
	return out, err
}

// StartJob records a job run's start.
func (db *DB) StartJob(ctx context.Context, job, account string, day payrecon.Day, trigger string) (int64, error) {
	var id int64
	err := db.update(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		return tx.QueryRowxContext(ctx, `INSERT INTO job_runs (job, account, day, trigger, started_at, status, owner) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			job, account, day.String(), trigger, fmtTime(db.opt.Now()), payrecon.RunRunning, ProcessOwner(os.Getpid())).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("start job: %w", err)
	}
	return id, nil
}

// FinishJob records a job run's end.
func (db *DB) FinishJob(ctx context.Context, id int64, runErr error) error {
	status, msg := payrecon.RunStatusOf(runErr), ""
	if runErr != nil {
		msg = runErr.Error()
	}
	err := db.update(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE job_runs SET finished_at = ?, status = ?, error = ? WHERE id = ?`, fmtTime(db.opt.Now()), status, msg, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("finish job: %w", err)
	}
	return nil
}

// SucceededDays returns the days on which job succeeded for account.
func (db *DB) SucceededDays(ctx context.Context, job, account string) (map[payrecon.Day]bool, error) {
	var days []string
	if err := db.read.SelectContext(ctx, &days, `SELECT DISTINCT day FROM job_runs WHERE job = ? AND account = ? AND status = ?`, job, account, payrecon.RunOK); err != nil {
		return nil, fmt.Errorf("succeeded days: %w", err)
	}
	out := map[payrecon.Day]bool{}
	for _, s := range days {
		d, err := payrecon.ParseDay(s)
		if err != nil {
			return nil, fmt.Errorf("succeeded days: %w", err)
		}
		out[d] = true
	}
	return out, nil
}

// JobRuns lists job runs, newest first.
func (db *DB) JobRuns(ctx context.Context, limit int) ([]payrecon.JobRun, error) {
	var rows []jobRunRow
	if err := db.read.SelectContext(ctx, &rows, `SELECT * FROM job_runs ORDER BY id DESC LIMIT ?`, limit); err != nil {
		return nil, fmt.Errorf("job runs: %w", err)
	}
	return convert(rows, jobRunRow.jobRun, "job runs")
}
