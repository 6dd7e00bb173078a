package conformance

import (
	"context"
	"testing"

	"github.com/planetscale/planetscale-go/planetscale"
)

func TestOrganizationsAndRegions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := adminClient(t)

	orgs, err := c.ps.Organizations.List(ctx)
	must(t, "Organizations.List", err)
	matchesLastData(t, c, "Organizations.List", orgs)
	if len(orgs) != 1 || orgs[0].Name != organization {
		t.Fatalf("Organizations.List: %+v, want only %q", orgs, organization)
	}

	org, err := c.ps.Organizations.Get(ctx, &planetscale.GetOrganizationRequest{Organization: organization})
	must(t, "Organizations.Get", err)
	matchesLast(t, c, "Organizations.Get", org)
	if org.Name != organization || org.CreatedAt.IsZero() || org.UpdatedAt.Before(org.CreatedAt) {
		t.Fatalf("Organizations.Get: %+v", org)
	}

	// The public list and the organization's list name the configured region.
	public, err := c.ps.Regions.List(ctx, &planetscale.ListRegionsRequest{})
	must(t, "Regions.List", err)
	matchesLastData(t, c, "Regions.List", public)
	regions, err := c.ps.Organizations.ListRegions(ctx, &planetscale.ListOrganizationRegionsRequest{Organization: organization})
	must(t, "Organizations.ListRegions", err)
	matchesLastData(t, c, "Organizations.ListRegions", regions)
	for _, list := range [][]*planetscale.Region{public, regions} {
		if len(list) != 1 || list[0].Slug != "us-east" || !list[0].Enabled {
			t.Fatalf("regions: %+v, want the one configured region us-east", list)
		}
	}
	if !regions[0].IsDefault {
		t.Fatalf("us-east is the default region: %+v", regions[0])
	}

	// Cluster sizes: a bare array the SDK decodes into its ClusterSKU.
	skus, err := c.ps.Organizations.ListClusterSKUs(ctx, &planetscale.ListOrganizationClusterSKUsRequest{Organization: organization})
	must(t, "Organizations.ListClusterSKUs", err)
	matchesLast(t, c, "Organizations.ListClusterSKUs", skus)
	sizes := map[string]*planetscale.ClusterSKU{}
	for _, sku := range skus {
		sizes[sku.Name] = sku
	}
	for _, name := range []string{"PS_DEV", "PS_10"} {
		sku := sizes[name]
		if sku == nil || !sku.Enabled || sku.Memory != 1<<30 || sku.CPU != "1/8" {
			t.Fatalf("cluster size %s: %+v", name, sku)
		}
	}
}
