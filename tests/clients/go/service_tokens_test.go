package conformance

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/planetscale/planetscale-go/planetscale"
)

func TestServiceTokensAndAccesses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := adminClient(t)
	db := createReadyDatabase(t, c, planetscale.DatabaseEngineMySQL)

	name := uniqueName("token")
	ttl := 3600
	token, err := c.ps.ServiceTokens.Create(ctx, &planetscale.CreateServiceTokenRequest{Organization: organization, Name: &name, TTL: &ttl})
	must(t, "ServiceTokens.Create", err)
	matchesLast(t, c, "ServiceTokens.Create", token)
	if token.ID == "" || token.Token == "" || token.Name == nil || *token.Name != name || token.ExpiresAt == nil ||
		token.ExpiresAt.Sub(token.CreatedAt).Round(time.Minute) != time.Hour {
		t.Fatalf("ServiceTokens.Create: %+v", token)
	}
	tokens, err := c.ps.ServiceTokens.List(ctx, &planetscale.ListServiceTokensRequest{Organization: organization})
	must(t, "ServiceTokens.List", err)
	matchesLastData(t, c, "ServiceTokens.List", tokens)
	if !slices.ContainsFunc(tokens, func(s *planetscale.ServiceToken) bool { return s.ID == token.ID && s.Token == "" }) {
		t.Fatalf("ServiceTokens.List: %+v", tokens)
	}

	// A token without accesses sees nothing: not found, as PlanetScale answers.
	holder := newClient(t, token.ID, token.Token)
	getDB := func() error {
		_, err := holder.ps.Databases.Get(ctx, &planetscale.GetDatabaseRequest{Organization: organization, Database: db.Name})
		return err
	}
	wantCode(t, "Databases.Get without access", getDB(), planetscale.ErrNotFound)
	accesses, err := c.ps.ServiceTokens.GetAccess(ctx, &planetscale.GetServiceTokenAccessRequest{Organization: organization, ID: token.ID})
	must(t, "ServiceTokens.GetAccess", err)
	matchesLastData(t, c, "ServiceTokens.GetAccess", accesses)
	if len(accesses) != 0 {
		t.Fatalf("a new token holds %+v", accesses)
	}

	// Database accesses: read_database lets it read that database and no other.
	added, err := c.ps.ServiceTokens.AddAccess(ctx, &planetscale.AddServiceTokenAccessRequest{
		Organization: organization, ID: token.ID, Database: db.Name, Accesses: []string{"read_database", "read_branch"},
	})
	must(t, "ServiceTokens.AddAccess", err)
	matchesLastData(t, c, "ServiceTokens.AddAccess", added)
	var held []string
	for _, a := range added {
		if a.Resource.Name != db.Name || a.Resource.Type != "Database" {
			t.Fatalf("ServiceTokens.AddAccess: %+v", a)
		}
		held = append(held, a.Access)
	}
	slices.Sort(held)
	if !slices.Equal(held, []string{"read_branch", "read_database"}) {
		t.Fatalf("ServiceTokens.AddAccess: %v", held)
	}
	eventually(t, "the granted access to apply", readyTimeout, func() (bool, string) {
		err := getDB()
		return err == nil, errString(err)
	})
	branches, err := holder.ps.DatabaseBranches.List(ctx, &planetscale.ListDatabaseBranchesRequest{Organization: organization, Database: db.Name})
	must(t, "DatabaseBranches.List with read_branch", err)
	if len(branches) != 1 || branches[0].Name != "main" {
		t.Fatalf("DatabaseBranches.List with read_branch: %+v", branches)
	}
	// Reading is not writing: a branch cannot be created.
	_, err = holder.ps.DatabaseBranches.Create(ctx, &planetscale.CreateDatabaseBranchRequest{Organization: organization, Database: db.Name, Name: "nope", ParentBranch: "main"})
	wantCode(t, "DatabaseBranches.Create without create_branch", err, planetscale.ErrNotFound)

	grants, err := c.ps.ServiceTokens.ListGrants(ctx, &planetscale.ListServiceTokenGrantsRequest{Organization: organization, ID: token.ID})
	must(t, "ServiceTokens.ListGrants", err)
	matchesLastData(t, c, "ServiceTokens.ListGrants", grants)
	if len(grants) != 1 || grants[0].ResourceName != db.Name || grants[0].ResourceType != "Database" || len(grants[0].Accesses) != 2 {
		t.Fatalf("ServiceTokens.ListGrants: %+v", grants)
	}

	must(t, "ServiceTokens.DeleteAccess", c.ps.ServiceTokens.DeleteAccess(ctx, &planetscale.DeleteServiceTokenAccessRequest{
		Organization: organization, ID: token.ID, Database: db.Name, Accesses: []string{"read_database", "read_branch"},
	}))
	eventually(t, "the removed access to stop applying", readyTimeout, func() (bool, string) {
		err := getDB()
		return isCode(err, planetscale.ErrNotFound), errString(err)
	})

	// A deleted token no longer authenticates.
	must(t, "ServiceTokens.Delete", c.ps.ServiceTokens.Delete(ctx, &planetscale.DeleteServiceTokenRequest{Organization: organization, ID: token.ID}))
	eventually(t, "the deleted token to stop authenticating", readyTimeout, func() (bool, string) {
		_, err := holder.ps.Organizations.List(ctx)
		return isCode(err, planetscale.ErrPermission), errString(err)
	})
}

// tokenWith creates a service token holding accesses on one database and a client that
// uses it; the token is deleted when the test ends.
func tokenWith(t *testing.T, c *client, database string, accesses ...string) *client {
	t.Helper()
	ctx := context.Background()
	name := uniqueName("token")
	token, err := c.ps.ServiceTokens.Create(ctx, &planetscale.CreateServiceTokenRequest{Organization: organization, Name: &name})
	must(t, "ServiceTokens.Create", err)
	t.Cleanup(func() {
		_ = c.ps.ServiceTokens.Delete(context.Background(), &planetscale.DeleteServiceTokenRequest{Organization: organization, ID: token.ID})
	})
	_, err = c.ps.ServiceTokens.AddAccess(ctx, &planetscale.AddServiceTokenAccessRequest{Organization: organization, ID: token.ID, Database: database, Accesses: accesses})
	must(t, "ServiceTokens.AddAccess", err)
	return newClient(t, token.ID, token.Token)
}
