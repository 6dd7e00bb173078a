package conformance

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/planetscale/planetscale-go/planetscale"
)

func TestBranchesLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := adminClient(t)
	db := createReadyDatabase(t, c, planetscale.DatabaseEngineMySQL)
	main := connectMySQL(t, createPassword(t, c, db.Name, "main", "admin"))
	execSQL(t, main,
		"CREATE TABLE users (id BIGINT PRIMARY KEY, name VARCHAR(64) NOT NULL)",
		"INSERT INTO users VALUES (1, 'ada'), (2, 'grace')")

	// A development branch: the parent's schema, none of its rows.
	branch := createReadyBranch(t, c, db.Name, "main")
	if branch.ParentBranch != "main" || branch.Production || branch.Region.Slug != "us-east" || branch.SafeMigrations {
		t.Fatalf("branch: %+v", branch)
	}
	dev := connectMySQL(t, createPassword(t, c, db.Name, branch.Name, "admin"))
	if got := columns(t, dev, "users"); got != "id,name" {
		t.Fatalf("branch users columns %q, want the parent's", got)
	}
	if rows := queryInt(t, dev, "SELECT COUNT(*) FROM users"); rows != 0 {
		t.Fatalf("a new branch holds %d rows, want none", rows)
	}

	list, err := c.ps.DatabaseBranches.List(ctx, &planetscale.ListDatabaseBranchesRequest{Organization: organization, Database: db.Name})
	must(t, "DatabaseBranches.List", err)
	matchesLastData(t, c, "DatabaseBranches.List", list)
	var listed []string
	for _, b := range list {
		listed = append(listed, b.Name)
	}
	slices.Sort(listed)
	if want := []string{branch.Name, "main"}; !slices.Equal(listed, want) {
		t.Fatalf("DatabaseBranches.List: %v, want %v", listed, want)
	}
	got, err := c.ps.DatabaseBranches.Get(ctx, &planetscale.GetDatabaseBranchRequest{Organization: organization, Database: db.Name, Branch: branch.Name})
	must(t, "DatabaseBranches.Get", err)
	matchesLast(t, c, "DatabaseBranches.Get", got)
	if got.ID != branch.ID || !got.Ready {
		t.Fatalf("DatabaseBranches.Get: %+v", got)
	}

	// Schema changes on the branch show in its schema, its diff and its lint.
	execSQL(t, dev,
		"ALTER TABLE users ADD COLUMN email VARCHAR(255) NULL",
		"CREATE TABLE notes (body TEXT)")
	schema, err := c.ps.DatabaseBranches.Schema(ctx, &planetscale.BranchSchemaRequest{Organization: organization, Database: db.Name, Branch: branch.Name})
	must(t, "DatabaseBranches.Schema", err)
	matchesLastData(t, c, "DatabaseBranches.Schema", schema)
	byName := map[string]string{}
	for _, table := range schema {
		byName[table.Name] = table.Raw
	}
	if !strings.Contains(byName["users"], "`email`") || !strings.HasPrefix(byName["notes"], "CREATE TABLE `notes`") {
		t.Fatalf("DatabaseBranches.Schema: %+v", byName)
	}
	diff, err := c.ps.DatabaseBranches.Diff(ctx, &planetscale.DiffBranchRequest{Organization: organization, Database: db.Name, Branch: branch.Name})
	must(t, "DatabaseBranches.Diff", err)
	matchesLastData(t, c, "DatabaseBranches.Diff", diff)
	changed := map[string]string{}
	for _, d := range diff {
		changed[d.Name] = d.Raw
	}
	if !strings.Contains(changed["users"], "+  `email`") || !strings.Contains(changed["notes"], "+CREATE TABLE `notes`") {
		t.Fatalf("DatabaseBranches.Diff: %+v", changed)
	}
	lint, err := c.ps.DatabaseBranches.LintSchema(ctx, &planetscale.LintSchemaRequest{Organization: organization, Database: db.Name, Branch: branch.Name})
	must(t, "DatabaseBranches.LintSchema", err)
	matchesLastData(t, c, "DatabaseBranches.LintSchema", lint)
	if len(lint) != 1 || lint[0].LintError != "NO_UNIQUE_KEY" || lint[0].Table != "notes" || lint[0].ErrorDescription == "" {
		t.Fatalf("DatabaseBranches.LintSchema: %+v", lint)
	}

	// Keyspaces: one unsharded keyspace named after the database.
	keyspaces, err := c.ps.Keyspaces.List(ctx, &planetscale.ListKeyspacesRequest{Organization: organization, Database: db.Name, Branch: branch.Name})
	must(t, "Keyspaces.List", err)
	matchesLastData(t, c, "Keyspaces.List", keyspaces)
	if len(keyspaces) != 1 || keyspaces[0].Sharded || keyspaces[0].Shards != 1 {
		t.Fatalf("Keyspaces.List: %+v", keyspaces)
	}
	keyspace, err := c.ps.Keyspaces.Get(ctx, &planetscale.GetKeyspaceRequest{Organization: organization, Database: db.Name, Branch: branch.Name, Keyspace: keyspaces[0].Name})
	must(t, "Keyspaces.Get", err)
	matchesLast(t, c, "Keyspaces.Get", keyspace)
	if keyspace.ID != keyspaces[0].ID || !keyspace.Ready {
		t.Fatalf("Keyspaces.Get: %+v", keyspace)
	}

	// Promote and demote.
	promoted, err := c.ps.DatabaseBranches.Promote(ctx, &planetscale.PromoteRequest{Organization: organization, Database: db.Name, Branch: branch.Name})
	must(t, "DatabaseBranches.Promote", err)
	matchesLast(t, c, "DatabaseBranches.Promote", promoted)
	if !promoted.Production {
		t.Fatalf("DatabaseBranches.Promote: %+v", promoted)
	}
	// A production branch can change size (update_branch_cluster_config; not in the SDK).
	path := "/v1/organizations/" + organization + "/databases/" + db.Name + "/branches/" + branch.Name
	resized := c.raw(t, http.MethodPatch, path+"/cluster", map[string]any{"cluster_size": "PS_10"})
	if resized.status != http.StatusNoContent {
		t.Fatalf("update_branch_cluster_config: %d %s", resized.status, resized.body)
	}
	if name := field(c.rawInto(t, http.MethodGet, path, nil, &planetscale.DatabaseBranch{}), "cluster_name"); name != "PS_10" {
		t.Fatalf("cluster_name after resize: %v", name)
	}
	unknownSize := c.raw(t, http.MethodPatch, path+"/cluster", map[string]any{"cluster_size": "PS_NOPE"})
	if unknownSize.status != http.StatusBadRequest || field(unknownSize.json(t), "code") != "invalid_params" {
		t.Fatalf("update_branch_cluster_config with an unknown size: %d %s", unknownSize.status, unknownSize.body)
	}
	demoted, err := c.ps.DatabaseBranches.Demote(ctx, &planetscale.DemoteRequest{Organization: organization, Database: db.Name, Branch: branch.Name})
	must(t, "DatabaseBranches.Demote", err)
	matchesLast(t, c, "DatabaseBranches.Demote", demoted)
	if demoted.Production {
		t.Fatalf("DatabaseBranches.Demote: %+v", demoted)
	}

	// Safe migrations take DDL away from every credential of the branch.
	enabled, err := c.ps.DatabaseBranches.EnableSafeMigrations(ctx, &planetscale.EnableSafeMigrationsRequest{Organization: organization, Database: db.Name, Branch: "main"})
	must(t, "DatabaseBranches.EnableSafeMigrations", err)
	matchesLast(t, c, "DatabaseBranches.EnableSafeMigrations", enabled)
	if !enabled.SafeMigrations {
		t.Fatalf("EnableSafeMigrations: %+v", enabled)
	}
	guarded := connectMySQL(t, createPassword(t, c, db.Name, "main", "admin"))
	if _, err := guarded.Exec("CREATE TABLE refused (id INT PRIMARY KEY)"); err == nil {
		t.Fatal("DDL went through on a branch with safe migrations")
	}
	execSQL(t, guarded, "INSERT INTO users VALUES (3, 'linus')")
	disabled, err := c.ps.DatabaseBranches.DisableSafeMigrations(ctx, &planetscale.DisableSafeMigrationsRequest{Organization: organization, Database: db.Name, Branch: "main"})
	must(t, "DatabaseBranches.DisableSafeMigrations", err)
	matchesLast(t, c, "DatabaseBranches.DisableSafeMigrations", disabled)
	if disabled.SafeMigrations {
		t.Fatalf("DisableSafeMigrations: %+v", disabled)
	}
	eventually(t, "DDL allowed again", readyTimeout, func() (bool, string) {
		fresh := connectMySQL(t, createPassword(t, c, db.Name, "main", "admin"))
		_, err := fresh.Exec("CREATE TABLE allowed (id INT PRIMARY KEY)")
		return err == nil, "DDL refused"
	})

	// Delete: the branch and its database go.
	must(t, "DatabaseBranches.Delete", c.ps.DatabaseBranches.Delete(ctx, &planetscale.DeleteDatabaseBranchRequest{Organization: organization, Database: db.Name, Branch: branch.Name}))
	_, err = c.ps.DatabaseBranches.Get(ctx, &planetscale.GetDatabaseBranchRequest{Organization: organization, Database: db.Name, Branch: branch.Name})
	wantCode(t, "DatabaseBranches.Get after delete", err, planetscale.ErrNotFound)
	eventually(t, "the deleted branch's database to go", readyTimeout, func() (bool, string) {
		_, err := dev.Exec("SELECT 1 FROM users")
		return err != nil, "it still answers"
	})
}
