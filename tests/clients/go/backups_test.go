package conformance

import (
	"context"
	"slices"
	"testing"

	"github.com/planetscale/planetscale-go/planetscale"
)

func TestBackupsAndRestore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := adminClient(t)
	db := createReadyDatabase(t, c, planetscale.DatabaseEngineMySQL)
	main := connectMySQL(t, createPassword(t, c, db.Name, "main", "admin"))
	execSQL(t, main,
		"CREATE TABLE orders (id INT PRIMARY KEY, total DECIMAL(10,2) NOT NULL)",
		"INSERT INTO orders VALUES (1, 9.99), (2, 20.00), (3, 0.50)")

	name := uniqueName("backup")
	created, err := c.ps.Backups.Create(ctx, &planetscale.CreateBackupRequest{
		Organization: organization, Database: db.Name, Branch: "main",
		Name: name, RetentionUnit: "day", RetentionValue: 2,
	})
	must(t, "Backups.Create", err)
	matchesLast(t, c, "Backups.Create", created)
	if created.Name != name || created.PublicID == "" || (created.State != "pending" && created.State != "running") {
		t.Fatalf("Backups.Create: %+v", created)
	}
	var backup *planetscale.Backup
	eventually(t, "backup "+name+" to finish", backupTimeout, func() (bool, string) {
		got, err := c.ps.Backups.Get(ctx, &planetscale.GetBackupRequest{Organization: organization, Database: db.Name, Branch: "main", Backup: created.PublicID})
		must(t, "Backups.Get", err)
		backup = got
		return got.State == "success" || got.State == "failed", got.State
	})
	matchesLast(t, c, "Backups.Get", backup)
	if backup.State != "success" || backup.Size <= 0 || backup.CompletedAt.IsZero() || backup.StartedAt.IsZero() ||
		backup.ExpiresAt.Sub(backup.CreatedAt).Hours() < 47 {
		t.Fatalf("Backups.Get: %+v", backup)
	}
	list, err := c.ps.Backups.List(ctx, &planetscale.ListBackupsRequest{Organization: organization, Database: db.Name, Branch: "main"})
	must(t, "Backups.List", err)
	matchesLastData(t, c, "Backups.List", list)
	if !slices.ContainsFunc(list, func(b *planetscale.Backup) bool { return b.PublicID == backup.PublicID && b.State == "success" }) {
		t.Fatalf("Backups.List has no %s", backup.PublicID)
	}

	// Rows written after the backup are not in the restore.
	execSQL(t, main, "INSERT INTO orders VALUES (4, 1.00)")
	restored := createBranchWith(t, c, &planetscale.CreateDatabaseBranchRequest{
		Organization: organization, Database: db.Name, Name: uniqueName("restored"),
		ParentBranch: "main", BackupID: backup.PublicID, ClusterSize: "PS_10",
	})
	conn := connectMySQL(t, createPassword(t, c, db.Name, restored.Name, "reader"))
	if got := queryStrings(t, conn, "SELECT CONCAT(id, ':', total) FROM orders ORDER BY id"); !slices.Equal(got, []string{"1:9.99", "2:20.00", "3:0.50"}) {
		t.Fatalf("restored rows %v", got)
	}

	must(t, "Backups.Delete", c.ps.Backups.Delete(ctx, &planetscale.DeleteBackupRequest{Organization: organization, Database: db.Name, Branch: "main", Backup: backup.PublicID}))
	_, err = c.ps.Backups.Get(ctx, &planetscale.GetBackupRequest{Organization: organization, Database: db.Name, Branch: "main", Backup: backup.PublicID})
	wantCode(t, "Backups.Get after delete", err, planetscale.ErrNotFound)
}
