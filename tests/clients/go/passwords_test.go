package conformance

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/planetscale/planetscale-go/planetscale"
)

func TestPasswordsConnectWithTheirRoles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := adminClient(t)
	db := createReadyDatabase(t, c, planetscale.DatabaseEngineMySQL)
	admin := createPassword(t, c, db.Name, "main", "admin")
	adminConn := connectMySQL(t, admin)
	execSQL(t, adminConn, "CREATE TABLE items (id INT PRIMARY KEY, label VARCHAR(32))", "INSERT INTO items VALUES (1, 'one')")

	// Each role does on the real server what its name says, and no more.
	reader := connectMySQL(t, createPassword(t, c, db.Name, "main", "reader"))
	if queryInt(t, reader, "SELECT COUNT(*) FROM items") != 1 {
		t.Fatal("reader cannot read")
	}
	if _, err := reader.Exec("INSERT INTO items VALUES (2, 'two')"); err == nil {
		t.Fatal("reader wrote a row")
	}
	writer := connectMySQL(t, createPassword(t, c, db.Name, "main", "writer"))
	execSQL(t, writer, "INSERT INTO items VALUES (2, 'two')")
	if _, err := writer.Exec("CREATE TABLE nope (id INT PRIMARY KEY)"); err == nil {
		t.Fatal("writer ran DDL")
	}
	readwriter := connectMySQL(t, createPassword(t, c, db.Name, "main", "readwriter"))
	execSQL(t, readwriter, "UPDATE items SET label = 'uno' WHERE id = 1")
	if got := queryStrings(t, adminConn, "SELECT label FROM items ORDER BY id"); !slices.Equal(got, []string{"uno", "two"}) {
		t.Fatalf("rows %v", got)
	}

	// A password with a TTL: renewable, and renew pushes expires_at forward.
	expiring, err := c.ps.Passwords.Create(ctx, &planetscale.DatabaseBranchPasswordRequest{
		Organization: organization, Database: db.Name, Branch: "main", Role: "reader", Name: uniqueName("pw-ttl"), TTL: 3600,
	})
	must(t, "Passwords.Create with ttl", err)
	matchesLast(t, c, "Passwords.Create with ttl", expiring)
	if expiring.TTL != 3600 || !expiring.Renewable || expiring.ExpiresAt.Sub(expiring.CreatedAt).Round(time.Second) != time.Hour {
		t.Fatalf("Passwords.Create with ttl: %+v", expiring)
	}
	connectMySQL(t, expiring)

	list, err := c.ps.Passwords.List(ctx, &planetscale.ListDatabaseBranchPasswordRequest{Organization: organization, Database: db.Name, Branch: "main"})
	must(t, "Passwords.List", err)
	matchesLastData(t, c, "Passwords.List", list)
	if len(list) != 5 {
		t.Fatalf("Passwords.List: %d passwords, want 5", len(list))
	}
	for _, p := range list {
		if p.PlainText != "" {
			t.Fatalf("Passwords.List shows the secret of %s", p.Name)
		}
	}

	got, err := c.ps.Passwords.Get(ctx, &planetscale.GetDatabaseBranchPasswordRequest{Organization: organization, Database: db.Name, Branch: "main", PasswordId: expiring.PublicID})
	must(t, "Passwords.Get", err)
	matchesLast(t, c, "Passwords.Get", got)
	if got.Name != expiring.Name || got.Username != expiring.Username || got.PlainText != "" || got.Branch.Name != "main" {
		t.Fatalf("Passwords.Get: %+v", got)
	}

	// Renew: expires_at becomes the renewal's time plus the ttl.
	before := time.Now().Add(-time.Second)
	renewed, err := c.ps.Passwords.Renew(ctx, &planetscale.RenewDatabaseBranchPasswordRequest{Organization: organization, Database: db.Name, Branch: "main", PasswordId: expiring.PublicID})
	must(t, "Passwords.Renew", err)
	matchesLast(t, c, "Passwords.Renew", renewed)
	after := time.Now().Add(time.Second)
	if renewed.ExpiresAt.Before(before.Add(time.Hour)) || renewed.ExpiresAt.After(after.Add(time.Hour)) ||
		renewed.ExpiresAt.Before(expiring.ExpiresAt) || renewed.PlainText != "" {
		t.Fatalf("Passwords.Renew: expires_at %s, want about an hour from now", renewed.ExpiresAt)
	}

	// Delete: the account goes from the server.
	must(t, "Passwords.Delete", c.ps.Passwords.Delete(ctx, &planetscale.DeleteDatabaseBranchPasswordRequest{Organization: organization, Database: db.Name, Branch: "main", PasswordId: expiring.PublicID}))
	_, err = c.ps.Passwords.Get(ctx, &planetscale.GetDatabaseBranchPasswordRequest{Organization: organization, Database: db.Name, Branch: "main", PasswordId: expiring.PublicID})
	wantCode(t, "Passwords.Get after delete", err, planetscale.ErrNotFound)
	eventually(t, "the deleted password's login to fail", readyTimeout, func() (bool, string) {
		err := mysqlLoginFails(expiring)
		return err == nil, "login still accepted"
	})
}
