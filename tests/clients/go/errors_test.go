package conformance

import (
	"context"
	"testing"

	"github.com/planetscale/planetscale-go/planetscale"
)

// Errors reach tools as the SDK's codes: they branch on them (the CLI prints "does not
// exist" for ErrNotFound, asks to log in again for ErrPermission).
func TestErrorsMapToTheSDKCodes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := adminClient(t)

	_, err := c.ps.Databases.Get(ctx, &planetscale.GetDatabaseRequest{Organization: organization, Database: "no-such-database"})
	wantCode(t, "Databases.Get of a missing database", err, planetscale.ErrNotFound)
	_, err = c.ps.DatabaseBranches.Get(ctx, &planetscale.GetDatabaseBranchRequest{Organization: organization, Database: "no-such-database", Branch: "main"})
	wantCode(t, "DatabaseBranches.Get in a missing database", err, planetscale.ErrNotFound)
	_, err = c.ps.Organizations.Get(ctx, &planetscale.GetOrganizationRequest{Organization: "someone-else"})
	wantCode(t, "Organizations.Get of another organization", err, planetscale.ErrNotFound)

	// A database name with characters PlanetScale refuses.
	_, err = c.ps.Databases.Create(ctx, &planetscale.CreateDatabaseRequest{Organization: organization, Name: "Not A Valid Name!"})
	wantCode(t, "Databases.Create with an invalid name", err, planetscale.ErrInvalid)
	// A kind the API does not know.
	_, err = c.ps.Databases.Create(ctx, &planetscale.CreateDatabaseRequest{Organization: organization, Name: uniqueName("db"), Kind: "oracle"})
	wantCode(t, "Databases.Create with an unknown kind", err, planetscale.ErrInvalid)

	// A token that does not exist, and one whose secret is wrong: unauthorized.
	stranger := newClient(t, "pscale_tkn_nobody", "pscale_tkn_secret")
	_, err = stranger.ps.Organizations.List(ctx)
	wantCode(t, "Organizations.List with an unknown token", err, planetscale.ErrPermission)
	wrongSecret := newClient(t, suite.token.ID, "not-the-secret")
	_, err = wrongSecret.ps.Databases.List(ctx, &planetscale.ListDatabasesRequest{Organization: organization})
	wantCode(t, "Databases.List with a wrong secret", err, planetscale.ErrPermission)
}

func TestBranchErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := adminClient(t)
	db := createReadyDatabase(t, c, planetscale.DatabaseEngineMySQL)

	_, err := c.ps.DatabaseBranches.Create(ctx, &planetscale.CreateDatabaseBranchRequest{Organization: organization, Database: db.Name, Name: "Bad Branch!", ParentBranch: "main"})
	wantCode(t, "DatabaseBranches.Create with an invalid name", err, planetscale.ErrInvalid)
	_, err = c.ps.DatabaseBranches.Create(ctx, &planetscale.CreateDatabaseBranchRequest{Organization: organization, Database: db.Name, Name: uniqueName("branch"), ParentBranch: "no-such-parent"})
	// The parent is a parameter of the call: an unknown one is an invalid parameter.
	wantCode(t, "DatabaseBranches.Create from a missing parent", err, planetscale.ErrInvalid)
	_, err = c.ps.Passwords.Create(ctx, &planetscale.DatabaseBranchPasswordRequest{Organization: organization, Database: db.Name, Branch: "main", Role: "superhero", Name: uniqueName("pw")})
	wantCode(t, "Passwords.Create with an unknown role", err, planetscale.ErrInvalid)
	_, err = c.ps.DeployRequests.Get(ctx, &planetscale.GetDeployRequestRequest{Organization: organization, Database: db.Name, Number: 999})
	wantCode(t, "DeployRequests.Get of a missing number", err, planetscale.ErrNotFound)
	_, err = c.ps.Backups.Get(ctx, &planetscale.GetBackupRequest{Organization: organization, Database: db.Name, Branch: "main", Backup: "nonexistent"})
	wantCode(t, "Backups.Get of a missing backup", err, planetscale.ErrNotFound)
}
