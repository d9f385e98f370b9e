package store

import (
	"io/fs"
	"path"
	"slices"
	"testing"
)

// TestMigrationsHavePostgresTwins: every SQLite migration has a PostgreSQL
// twin of the same name and the other way round, so both backends record
// the same schema versions (a migration added for one backend only fails
// here, not on a customer's database).
func TestMigrationsHavePostgresTwins(t *testing.T) {
	names := func(fsys fs.FS, dir string) []string {
		files, err := fs.Glob(fsys, dir+"/*.sql")
		if err != nil {
			t.Fatal(err)
		}
		for i, f := range files {
			files[i] = path.Base(f)
		}
		slices.Sort(files)
		return files
	}
	lite, pg := names(migrations, "migrations"), names(pgMigrations, "migrations/postgres")
	if len(lite) < 9 {
		t.Fatalf("only %d SQLite migrations embedded: %v", len(lite), lite)
	}
	if !slices.Equal(lite, pg) {
		t.Fatalf("every store/migrations/NAME.sql needs its PostgreSQL twin store/migrations/postgres/NAME.sql, and no twin is alone:\nSQLite     %v\nPostgreSQL %v", lite, pg)
	}
}
