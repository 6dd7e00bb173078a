package conformance

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/planetscale/planetscale-go/planetscale"
)

func TestDatabasesLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := adminClient(t)
	db := createReadyDatabase(t, c, planetscale.DatabaseEngineMySQL)
	if db.Kind != planetscale.DatabaseEngineMySQL || db.Region.Slug != "us-east" || db.CreatedAt.IsZero() {
		t.Fatalf("Databases.Get: %+v", db)
	}

	list, err := c.ps.Databases.List(ctx, &planetscale.ListDatabasesRequest{Organization: organization})
	must(t, "Databases.List", err)
	matchesLastData(t, c, "Databases.List", list)
	if !slices.ContainsFunc(list, func(d *planetscale.Database) bool { return d.Name == db.Name && d.State == planetscale.DatabaseReady }) {
		t.Fatalf("Databases.List has no ready %s", db.Name)
	}
	// Pages as the SDK asks for them.
	page, err := c.ps.Databases.List(ctx, &planetscale.ListDatabasesRequest{Organization: organization}, planetscale.WithPerPage(1), planetscale.WithPage(1))
	must(t, "Databases.List page 1", err)
	if len(page) != 1 {
		t.Fatalf("per_page=1 answered %d databases", len(page))
	}

	// The production branch `main` is a real database: a password on it logs in.
	password := createPassword(t, c, db.Name, "main", "admin")
	conn := connectMySQL(t, password)
	execSQL(t, conn, "CREATE TABLE probe (id INT PRIMARY KEY)")

	// Settings (the SDK has no method for them): deletion protection refuses the delete.
	path := "/v1/organizations/" + organization + "/databases/" + db.Name
	updated := c.rawInto(t, http.MethodPatch, path, map[string]any{"deletion_protected": true}, &planetscale.Database{})
	if field(updated, "deletion_protected") != true {
		t.Fatalf("update settings: %v", updated)
	}
	_, err = c.ps.Databases.Delete(ctx, &planetscale.DeleteDatabaseRequest{Organization: organization, Database: db.Name})
	// 422 unprocessable, which the SDK names ErrRetry.
	wantCode(t, "Databases.Delete of a protected database", err, planetscale.ErrRetry)
	got, err := c.ps.Databases.Get(ctx, &planetscale.GetDatabaseRequest{Organization: organization, Database: db.Name})
	must(t, "Databases.Get", err)
	matchesLast(t, c, "Databases.Get", got)
	c.rawInto(t, http.MethodPatch, path, map[string]any{"deletion_protected": false}, &planetscale.Database{})

	// No read-only replicas exist, so no read-only regions.
	readOnly := c.raw(t, http.MethodGet, path+"/read-only-regions", nil)
	if readOnly.status != http.StatusOK {
		t.Fatalf("list_read_only_regions: %d %s", readOnly.status, readOnly.body)
	}
	if data, ok := field(readOnly.json(t), "data").([]any); !ok || len(data) != 0 {
		t.Fatalf("list_read_only_regions: %s", readOnly.body)
	}

	deleted, err := c.ps.Databases.Delete(ctx, &planetscale.DeleteDatabaseRequest{Organization: organization, Database: db.Name})
	must(t, "Databases.Delete", err)
	if deleted != nil {
		t.Fatalf("Databases.Delete answers 204 with no body, the SDK decoded %+v", deleted)
	}
	_, err = c.ps.Databases.Get(ctx, &planetscale.GetDatabaseRequest{Organization: organization, Database: db.Name})
	wantCode(t, "Databases.Get after delete", err, planetscale.ErrNotFound)
	// The branch's account went with it.
	eventually(t, "the deleted database's password to stop working", readyTimeout, func() (bool, string) {
		err := mysqlLoginFails(password)
		return err == nil, "login still accepted"
	})
}
