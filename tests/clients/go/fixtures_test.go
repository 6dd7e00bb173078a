package conformance

// Resources the tests build through the SDK, each waited for with a deadline and removed
// when its test ends, and connections to the real databases behind them.

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/lib/pq"
	"github.com/planetscale/planetscale-go/planetscale"
)

const (
	readyTimeout  = 60 * time.Second
	deployTimeout = 120 * time.Second
	backupTimeout = 120 * time.Second
)

// createReadyDatabase creates a database through the SDK, waits until it is ready and
// deletes it when the test ends.
func createReadyDatabase(t *testing.T, c *client, kind planetscale.DatabaseEngine) *planetscale.Database {
	t.Helper()
	ctx := context.Background()
	name := uniqueName("db")
	notes := "made by " + t.Name()
	created, err := c.ps.Databases.Create(ctx, &planetscale.CreateDatabaseRequest{
		Organization: organization,
		Name:         name,
		Notes:        notes,
		Kind:         kind,
		Region:       "us-east",
	})
	must(t, "Databases.Create", err)
	matchesLast(t, c, "Databases.Create", created)
	if created.Name != name || created.Kind != kind || created.Region.Slug != "us-east" || created.Notes != notes {
		t.Fatalf("Databases.Create: %+v", created)
	}
	if created.State != planetscale.DatabasePending && created.State != planetscale.DatabaseReady {
		t.Fatalf("Databases.Create: state %q", created.State)
	}
	t.Cleanup(func() {
		_, _ = c.ps.Databases.Delete(context.Background(), &planetscale.DeleteDatabaseRequest{Organization: organization, Database: name})
	})
	var ready *planetscale.Database
	eventually(t, "database "+name+" ready", readyTimeout, func() (bool, string) {
		db, err := c.ps.Databases.Get(ctx, &planetscale.GetDatabaseRequest{Organization: organization, Database: name})
		must(t, "Databases.Get", err)
		ready = db
		return db.State == planetscale.DatabaseReady, string(db.State)
	})
	matchesLast(t, c, "Databases.Get", ready)
	if ready.Notes != notes {
		t.Fatalf("notes %q, want %q", ready.Notes, notes)
	}
	return ready
}

// createReadyBranch creates a branch of parent through the SDK and waits until it is ready.
func createReadyBranch(t *testing.T, c *client, database, parent string) *planetscale.DatabaseBranch {
	t.Helper()
	return createBranchWith(t, c, &planetscale.CreateDatabaseBranchRequest{
		Organization: organization,
		Database:     database,
		Name:         uniqueName("branch"),
		ParentBranch: parent,
	})
}

func createBranchWith(t *testing.T, c *client, request *planetscale.CreateDatabaseBranchRequest) *planetscale.DatabaseBranch {
	t.Helper()
	ctx := context.Background()
	created, err := c.ps.DatabaseBranches.Create(ctx, request)
	must(t, "DatabaseBranches.Create", err)
	matchesLast(t, c, "DatabaseBranches.Create", created)
	if created.Name != request.Name || created.ParentBranch != request.ParentBranch || created.Production {
		t.Fatalf("DatabaseBranches.Create: %+v", created)
	}
	return waitBranchReady(t, c, request.Database, request.Name)
}

func waitBranchReady(t *testing.T, c *client, database, branch string) *planetscale.DatabaseBranch {
	t.Helper()
	var ready *planetscale.DatabaseBranch
	eventually(t, "branch "+branch+" ready", readyTimeout, func() (bool, string) {
		got, err := c.ps.DatabaseBranches.Get(context.Background(), &planetscale.GetDatabaseBranchRequest{
			Organization: organization, Database: database, Branch: branch,
		})
		must(t, "DatabaseBranches.Get", err)
		ready = got
		return got.Ready, fmt.Sprintf("%+v", got)
	})
	matchesLast(t, c, "DatabaseBranches.Get", ready)
	return ready
}

// createPassword creates a password of role on a MySQL branch through the SDK.
func createPassword(t *testing.T, c *client, database, branch, role string) *planetscale.DatabaseBranchPassword {
	t.Helper()
	name := uniqueName("pw-" + role)
	password, err := c.ps.Passwords.Create(context.Background(), &planetscale.DatabaseBranchPasswordRequest{
		Organization: organization, Database: database, Branch: branch, Role: role, Name: name,
	})
	must(t, "Passwords.Create", err)
	matchesLast(t, c, "Passwords.Create", password)
	if password.Name != name || password.Role != role || password.PlainText == "" || password.Username == "" ||
		password.Hostname == "" || password.Branch.Name != branch {
		t.Fatalf("Passwords.Create: %+v", password)
	}
	return password
}

// mysqlConfig is how a MySQL client connects with a password the SDK returned: its host,
// user name and secret, nothing else.
func mysqlConfig(password *planetscale.DatabaseBranchPassword, database string) *mysql.Config {
	config := mysql.NewConfig()
	config.User = password.Username
	config.Passwd = password.PlainText
	config.Net = "tcp"
	config.Addr = password.Hostname
	config.DBName = database
	config.Timeout = 10 * time.Second
	config.MultiStatements = false
	return config
}

// connectMySQL connects with the SDK's password and finds the branch's database the way
// a client would: the account sees exactly one database, its branch's.
func connectMySQL(t *testing.T, password *planetscale.DatabaseBranchPassword) *sql.DB {
	t.Helper()
	bare, err := sql.Open("mysql", mysqlConfig(password, "").FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer bare.Close()
	visible := queryStrings(t, bare, "SHOW DATABASES")
	visible = slices.DeleteFunc(visible, func(name string) bool { return name == "information_schema" })
	if len(visible) != 1 {
		t.Fatalf("password %s sees databases %v, want exactly its branch's", password.Name, visible)
	}
	db, err := sql.Open("mysql", mysqlConfig(password, visible[0]).FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(2)
	t.Cleanup(func() { db.Close() })
	if err := db.Ping(); err != nil {
		t.Fatalf("connect as %s: %v", password.Username, err)
	}
	return db
}

// mysqlLoginFails reports whether the server refuses the password's login.
func mysqlLoginFails(password *planetscale.DatabaseBranchPassword) error {
	db, err := sql.Open("mysql", mysqlConfig(password, "").FormatDSN())
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Ping(); err == nil {
		return fmt.Errorf("%s still logs in", password.Username)
	}
	return nil
}

// connectPostgres connects with a role the SDK returned: host, user name, password and
// database name, all from the SDK's type.
func connectPostgres(t *testing.T, role *planetscale.PostgresRole) (*sql.DB, error) {
	t.Helper()
	host, port, err := net.SplitHostPort(role.AccessHostURL)
	if err != nil {
		t.Fatalf("access_host_url %q: %v", role.AccessHostURL, err)
	}
	dsn := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(role.Username, role.Password),
		Host:     net.JoinHostPort(host, port),
		Path:     "/" + role.DatabaseName,
		RawQuery: "sslmode=disable&connect_timeout=10",
	}
	db, err := sql.Open("postgres", dsn.String())
	if err != nil {
		return nil, err
	}
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, err
	}
	t.Cleanup(func() { db.Close() })
	return db, nil
}

func execSQL(t *testing.T, db *sql.DB, statements ...string) {
	t.Helper()
	for _, statement := range statements {
		if _, err := db.Exec(statement); err != nil {
			t.Fatalf("%s: %v", statement, err)
		}
	}
}

func queryStrings(t *testing.T, db *sql.DB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var values []string
	for rows.Next() {
		var value string
		if err := rows.Scan(&value); err != nil {
			t.Fatal(err)
		}
		values = append(values, value)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return values
}

func queryInt(t *testing.T, db *sql.DB, query string) int {
	t.Helper()
	var value int
	if err := db.QueryRow(query).Scan(&value); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return value
}

// columns lists a MySQL table's columns in order.
func columns(t *testing.T, db *sql.DB, table string) string {
	t.Helper()
	return strings.Join(queryStrings(t, db,
		"SELECT column_name FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position",
		table), ",")
}

// tables lists a MySQL branch's base tables.
func tables(t *testing.T, db *sql.DB) []string {
	t.Helper()
	return queryStrings(t, db,
		"SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY table_name")
}
