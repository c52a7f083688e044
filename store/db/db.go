// Package db is the SQLite database of one data dir: settings, devices,
// buckets and their version log, mount configs and conflict records.
//
// The database is an index: a bucket's truth is its signed manifests in the
// blob store, and the version log can be rebuilt from them. Migrations are
// embedded and applied in order on open; PRAGMA user_version records how many.
package db

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"

	_ "github.com/mattn/go-sqlite3" // the SQLite driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// ErrNotFound is returned when a row does not exist.
var ErrNotFound = errors.New("not found")

// DB is an open database.
type DB struct {
	*sql.DB
}

// Open opens or creates the database at path and brings its schema up to date.
func Open(path string) (*DB, error) {
	dsn := "file:" + path + "?_journal_mode=WAL&_busy_timeout=10000&_foreign_keys=on&_synchronous=NORMAL&_txlock=immediate"
	sdb, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	d := &DB{sdb}
	if err := d.migrate(); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return d, nil
}

func (d *DB) migrate() error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	var have int
	if err := d.QueryRow("PRAGMA user_version").Scan(&have); err != nil {
		return err
	}
	if have > len(names) {
		return fmt.Errorf("database schema %d is newer than this program knows (%d): upgrade jax", have, len(names))
	}
	for i := have; i < len(names); i++ {
		b, err := migrations.ReadFile(names[i])
		if err != nil {
			return err
		}
		err = d.Tx(context.Background(), func(tx *sql.Tx) error {
			if _, err := tx.Exec(string(b)); err != nil {
				return fmt.Errorf("migration %s: %w", names[i], err)
			}
			_, err := tx.Exec(fmt.Sprintf("PRAGMA user_version = %d", i+1))
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Tx runs f in a transaction, committing if it returns nil.
func (d *DB) Tx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := d.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Setting returns a setting's value, or def when it is unset.
func (d *DB) Setting(key, def string) (string, error) {
	var v string
	err := d.QueryRow("SELECT value FROM settings WHERE key = ?", key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return def, nil
	}
	return v, err
}

// SetSetting stores a setting.
func (d *DB) SetSetting(key, value string) error {
	_, err := d.Exec("INSERT INTO settings(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", key, value)
	return err
}
