package conformance

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/planetscale/planetscale-go/planetscale"
)

func TestPostgresBranchesAndRoles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := adminClient(t)
	db := createReadyDatabase(t, c, planetscale.DatabaseEnginePostgres)
	if db.Kind != planetscale.DatabaseEnginePostgres {
		t.Fatalf("kind %q", db.Kind)
	}

	// The SDK's Postgres branch service reads the same branches.
	branches, err := c.ps.PostgresBranches.List(ctx, &planetscale.ListPostgresBranchesRequest{Organization: organization, Database: db.Name})
	must(t, "PostgresBranches.List", err)
	matchesLastData(t, c, "PostgresBranches.List", branches)
	if len(branches) != 1 || branches[0].Name != "main" || !branches[0].Production || !branches[0].Ready || branches[0].Kind != "postgresql" {
		t.Fatalf("PostgresBranches.List: %+v", branches)
	}
	mainBranch, err := c.ps.PostgresBranches.Get(ctx, &planetscale.GetPostgresBranchRequest{Organization: organization, Database: db.Name, Branch: "main"})
	must(t, "PostgresBranches.Get", err)
	matchesLast(t, c, "PostgresBranches.Get", mainBranch)

	// A role inheriting pg_read_all_data and pg_write_all_data logs in and writes.
	name := uniqueName("role")
	role, err := c.ps.PostgresRoles.Create(ctx, &planetscale.CreatePostgresRoleRequest{
		Organization: organization, Database: db.Name, Branch: "main", Name: name,
		InheritedRoles: []string{"pg_read_all_data", "pg_write_all_data"},
	})
	must(t, "PostgresRoles.Create", err)
	matchesLast(t, c, "PostgresRoles.Create", role)
	if role.Name != name || role.Password == "" || role.Username == "" || role.DatabaseName == "" || role.AccessHostURL == "" {
		t.Fatalf("PostgresRoles.Create: %+v", role)
	}
	admin, err := c.ps.PostgresRoles.Create(ctx, &planetscale.CreatePostgresRoleRequest{
		Organization: organization, Database: db.Name, Branch: "main", Name: uniqueName("owner"),
		InheritedRoles: []string{"postgres"},
	})
	must(t, "PostgresRoles.Create owner", err)
	owner, err := connectPostgres(t, admin)
	must(t, "connect as the owner role", err)
	execSQL(t, owner, "CREATE TABLE notes (id INT PRIMARY KEY, body TEXT)")
	conn, err := connectPostgres(t, role)
	must(t, "connect with the created role", err)
	execSQL(t, conn, "INSERT INTO notes VALUES (1, 'hello')")
	if n := queryInt(t, conn, "SELECT COUNT(*) FROM notes"); n != 1 {
		t.Fatalf("notes: %d rows", n)
	}
	if who := queryStrings(t, conn, "SELECT current_user"); len(who) != 1 || who[0] != role.Username {
		t.Fatalf("current_user %v, want %s", who, role.Username)
	}

	// The branch's schema through the SDK's Postgres service.
	schema, err := c.ps.PostgresBranches.Schema(ctx, &planetscale.PostgresBranchSchemaRequest{Organization: organization, Database: db.Name, Branch: "main"})
	must(t, "PostgresBranches.Schema", err)
	matchesLastData(t, c, "PostgresBranches.Schema", schema)
	if !slices.ContainsFunc(schema, func(s *planetscale.PostgresBranchSchema) bool {
		return s.Name == "notes" && strings.Contains(s.Raw, "CREATE TABLE")
	}) {
		t.Fatalf("PostgresBranches.Schema: %+v", schema)
	}

	roles, err := c.ps.PostgresRoles.List(ctx, &planetscale.ListPostgresRolesRequest{Organization: organization, Database: db.Name, Branch: "main"})
	must(t, "PostgresRoles.List", err)
	matchesLastData(t, c, "PostgresRoles.List", roles)
	if !slices.ContainsFunc(roles, func(r *planetscale.PostgresRole) bool { return r.ID == role.ID && r.Password == "" }) {
		t.Fatalf("PostgresRoles.List: %+v", roles)
	}
	got, err := c.ps.PostgresRoles.Get(ctx, &planetscale.GetPostgresRoleRequest{Organization: organization, Database: db.Name, Branch: "main", RoleId: role.ID})
	must(t, "PostgresRoles.Get", err)
	matchesLast(t, c, "PostgresRoles.Get", got)
	if got.Username != role.Username || got.Password != "" {
		t.Fatalf("PostgresRoles.Get: %+v", got)
	}

	renamed, err := c.ps.PostgresRoles.Update(ctx, &planetscale.UpdatePostgresRoleRequest{Organization: organization, Database: db.Name, Branch: "main", RoleId: role.ID, Name: name + "-renamed"})
	must(t, "PostgresRoles.Update", err)
	matchesLast(t, c, "PostgresRoles.Update", renamed)
	if renamed.Name != name+"-renamed" || renamed.Username != role.Username {
		t.Fatalf("PostgresRoles.Update: %+v", renamed)
	}

	// A role with a TTL renews.
	expiring, err := c.ps.PostgresRoles.Create(ctx, &planetscale.CreatePostgresRoleRequest{
		Organization: organization, Database: db.Name, Branch: "main", Name: uniqueName("ttl"), TTL: 3600,
		InheritedRoles: []string{"pg_read_all_data"},
	})
	must(t, "PostgresRoles.Create with ttl", err)
	matchesLast(t, c, "PostgresRoles.Create with ttl", expiring)
	renewed, err := c.ps.PostgresRoles.Renew(ctx, &planetscale.RenewPostgresRoleRequest{Organization: organization, Database: db.Name, Branch: "main", RoleId: expiring.ID})
	must(t, "PostgresRoles.Renew", err)
	matchesLast(t, c, "PostgresRoles.Renew", renewed)
	if renewed.ID != expiring.ID || renewed.Password != "" || field(c.lastJSON(t), "ttl") != float64(3600) || field(c.lastJSON(t), "expires_at") == nil {
		t.Fatalf("PostgresRoles.Renew: %+v %s", renewed, c.recorder.last(t).body)
	}

	// Reset: a new secret; the old one no longer logs in, the new one does.
	reset, err := c.ps.PostgresRoles.ResetPassword(ctx, &planetscale.ResetPostgresRolePasswordRequest{Organization: organization, Database: db.Name, Branch: "main", RoleId: role.ID})
	must(t, "PostgresRoles.ResetPassword", err)
	matchesLast(t, c, "PostgresRoles.ResetPassword", reset)
	if reset.Password == "" || reset.Password == role.Password {
		t.Fatalf("PostgresRoles.ResetPassword: %+v", reset)
	}
	if _, err := connectPostgres(t, role); err == nil {
		t.Fatal("the old secret still logs in after reset")
	}
	if _, err := connectPostgres(t, reset); err != nil {
		t.Fatalf("the new secret: %v", err)
	}

	// The default role's password rotates.
	defaultRole, err := c.ps.PostgresRoles.ResetDefaultRole(ctx, &planetscale.ResetDefaultRoleRequest{Organization: organization, Database: db.Name, Branch: "main"})
	must(t, "PostgresRoles.ResetDefaultRole", err)
	matchesLast(t, c, "PostgresRoles.ResetDefaultRole", defaultRole)
	if defaultRole.Password == "" || defaultRole.Username == "" {
		t.Fatalf("PostgresRoles.ResetDefaultRole: %+v", defaultRole)
	}
	if _, err := connectPostgres(t, defaultRole); err != nil {
		t.Fatalf("the default role's new secret: %v", err)
	}

	// Reassign, then delete. Roles with DDL create as the branch's owner role (SET ROLE
	// at login), so the objects they made stay with the branch when they go.
	execSQL(t, owner, "CREATE TABLE owned (id INT)")
	must(t, "PostgresRoles.ReassignObjects", c.ps.PostgresRoles.ReassignObjects(ctx, &planetscale.ReassignPostgresRoleObjectsRequest{
		Organization: organization, Database: db.Name, Branch: "main", RoleId: admin.ID, Successor: role.Username,
	}))
	tableOwner := queryStrings(t, conn, "SELECT tableowner FROM pg_tables WHERE tablename = 'owned'")
	if len(tableOwner) != 1 || !strings.HasSuffix(tableOwner[0], "_owner") {
		t.Fatalf("owned belongs to %v, want the branch's owner role", tableOwner)
	}
	must(t, "PostgresRoles.Delete", c.ps.PostgresRoles.Delete(ctx, &planetscale.DeletePostgresRoleRequest{Organization: organization, Database: db.Name, Branch: "main", RoleId: admin.ID}))
	_, err = c.ps.PostgresRoles.Get(ctx, &planetscale.GetPostgresRoleRequest{Organization: organization, Database: db.Name, Branch: "main", RoleId: admin.ID})
	wantCode(t, "PostgresRoles.Get after delete", err, planetscale.ErrNotFound)
	if _, err := connectPostgres(t, admin); err == nil {
		t.Fatal("the deleted role still logs in")
	}
	if n := queryInt(t, conn, "SELECT COUNT(*) FROM owned"); n != 0 {
		t.Fatalf("owned has %d rows", n)
	}
}
