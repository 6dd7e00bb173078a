package conformance

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/planetscale/planetscale-go/planetscale"
)

// deployFixture is a MySQL database whose main has rows and safe migrations, plus a
// client and a connection to main that reads and writes rows.
type deployFixture struct {
	c    *client
	db   string
	main *sql.DB
}

func newDeployFixture(t *testing.T) *deployFixture {
	t.Helper()
	c := adminClient(t)
	db := createReadyDatabase(t, c, planetscale.DatabaseEngineMySQL)
	main := connectMySQL(t, createPassword(t, c, db.Name, "main", "admin"))
	execSQL(t, main,
		"CREATE TABLE users (id BIGINT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(64) NOT NULL)",
		"INSERT INTO users (name) VALUES ('ada'), ('grace'), ('linus')")
	_, err := c.ps.DatabaseBranches.EnableSafeMigrations(context.Background(), &planetscale.EnableSafeMigrationsRequest{Organization: organization, Database: db.Name, Branch: "main"})
	must(t, "EnableSafeMigrations on main", err)
	// Safe migrations end the admin's sessions; a readwriter keeps writing rows.
	main = connectMySQL(t, createPassword(t, c, db.Name, "main", "readwriter"))
	return &deployFixture{c: c, db: db.Name, main: main}
}

// branchWith makes a branch of main and runs DDL on it through an admin password.
func (f *deployFixture) branchWith(t *testing.T, statements ...string) string {
	t.Helper()
	branch := createReadyBranch(t, f.c, f.db, "main")
	execSQL(t, connectMySQL(t, createPassword(t, f.c, f.db, branch.Name, "admin")), statements...)
	return branch.Name
}

// open creates a deploy request and waits for its checks.
func (f *deployFixture) open(t *testing.T, branch, notes string) *planetscale.DeployRequest {
	t.Helper()
	ctx := context.Background()
	created, err := f.c.ps.DeployRequests.Create(ctx, &planetscale.CreateDeployRequestRequest{
		Organization: organization, Database: f.db, Branch: branch, IntoBranch: "main", Notes: notes,
	})
	must(t, "DeployRequests.Create", err)
	matchesLast(t, f.c, "DeployRequests.Create", created)
	if created.Branch != branch || created.IntoBranch != "main" || created.State != "open" || created.Notes != notes ||
		created.DeploymentState != "pending" || created.Number == 0 || created.Actor.ID == "" {
		t.Fatalf("DeployRequests.Create: %+v", created)
	}
	return f.waitFor(t, created.Number, "ready", "no_changes", "error")
}

// waitFor polls the deploy request (through the SDK) until its deployment_state is one of
// states.
func (f *deployFixture) waitFor(t *testing.T, number uint64, states ...string) *planetscale.DeployRequest {
	t.Helper()
	var last *planetscale.DeployRequest
	eventually(t, fmt.Sprintf("deploy request %d to reach %v", number, states), deployTimeout, func() (bool, string) {
		got, err := f.c.ps.DeployRequests.Get(context.Background(), &planetscale.GetDeployRequestRequest{Organization: organization, Database: f.db, Number: number})
		must(t, "DeployRequests.Get", err)
		last = got
		return slices.Contains(states, got.DeploymentState), got.DeploymentState
	})
	matchesLast(t, f.c, "DeployRequests.Get", last)
	return last
}

func (f *deployFixture) request(number uint64) (string, string, uint64) {
	return organization, f.db, number
}

func TestDeployRequestsDeployRevertSkipAndClose(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newDeployFixture(t)
	c := f.c
	branch := f.branchWith(t,
		"ALTER TABLE users ADD COLUMN email VARCHAR(255) NULL",
		"CREATE TABLE audit (id BIGINT PRIMARY KEY, note TEXT)")

	ready := f.open(t, branch, "email and audit")
	if ready.Deployment == nil || !ready.Deployment.Deployable || len(ready.Deployment.LintErrors) != 0 || ready.Deployment.IntoBranch != "main" {
		t.Fatalf("deploy request checks: %+v", ready.Deployment)
	}
	org, db, number := f.request(ready.Number)

	diff, err := c.ps.DeployRequests.Diff(ctx, &planetscale.DiffRequest{Organization: org, Database: db, Number: number})
	must(t, "DeployRequests.Diff", err)
	matchesLastData(t, c, "DeployRequests.Diff", diff)
	var diffNames []string
	for _, d := range diff {
		diffNames = append(diffNames, d.Name)
	}
	slices.Sort(diffNames)
	if !slices.Equal(diffNames, []string{"audit", "users"}) || !strings.Contains(diff[slices.Index(diffNames, "users")].Raw, "email") {
		t.Fatalf("DeployRequests.Diff: %+v", diff)
	}
	operations, err := c.ps.DeployRequests.GetDeployOperations(ctx, &planetscale.GetDeployOperationsRequest{Organization: org, Database: db, Number: number})
	must(t, "DeployRequests.GetDeployOperations", err)
	matchesLastData(t, c, "DeployRequests.GetDeployOperations", operations)
	var planned []string
	for _, op := range operations {
		planned = append(planned, op.Operation+" "+op.Table)
	}
	slices.Sort(planned)
	if !slices.Equal(planned, []string{"ALTER users", "CREATE audit"}) {
		t.Fatalf("DeployRequests.GetDeployOperations: %v", planned)
	}

	// Reviews. With approvals required, the request's own token may comment but neither
	// approve nor deploy; another token holding approve_deploy_request approves it.
	databasePath := "/v1/organizations/" + org + "/databases/" + db
	c.rawInto(t, http.MethodPatch, databasePath, map[string]any{"require_approval_for_deploy": true}, &planetscale.Database{})
	review, err := c.ps.DeployRequests.CreateReview(ctx, &planetscale.ReviewDeployRequestRequest{Organization: org, Database: db, Number: number, CommentText: "looks right", ReviewAction: planetscale.ReviewComment})
	must(t, "DeployRequests.CreateReview", err)
	matchesLast(t, c, "DeployRequests.CreateReview", review)
	if review.Body != "looks right" || review.State != "commented" || review.Actor.ID != ready.Actor.ID || review.ID == "" {
		t.Fatalf("DeployRequests.CreateReview: %+v", review)
	}
	_, err = c.ps.DeployRequests.CreateReview(ctx, &planetscale.ReviewDeployRequestRequest{Organization: org, Database: db, Number: number, ReviewAction: planetscale.ReviewApprove})
	// 403 forbidden: the SDK maps no code to it, tools show the message.
	wantCode(t, "DeployRequests.CreateReview approving one's own request", err, "")
	_, err = c.ps.DeployRequests.Deploy(ctx, &planetscale.PerformDeployRequest{Organization: org, Database: db, Number: number})
	wantCode(t, "DeployRequests.Deploy without an approval", err, planetscale.ErrRetry)
	approver := tokenWith(t, c, db, "approve_deploy_request")
	approval, err := approver.ps.DeployRequests.CreateReview(ctx, &planetscale.ReviewDeployRequestRequest{Organization: org, Database: db, Number: number, CommentText: "ship it", ReviewAction: planetscale.ReviewApprove})
	must(t, "DeployRequests.CreateReview approving", err)
	matchesLast(t, approver, "DeployRequests.CreateReview approving", approval)
	if approval.State != "approved" || approval.Body != "ship it" {
		t.Fatalf("approval: %+v", approval)
	}
	approved, err := c.ps.DeployRequests.Get(ctx, &planetscale.GetDeployRequestRequest{Organization: org, Database: db, Number: number})
	must(t, "DeployRequests.Get", err)
	if !approved.Approved {
		t.Fatalf("approved is false after an approving review: %+v", approved)
	}

	listed, err := c.ps.DeployRequests.List(ctx, &planetscale.ListDeployRequestsRequest{Organization: org, Database: db, State: "open", Branch: branch, IntoBranch: "main"})
	must(t, "DeployRequests.List", err)
	matchesLastData(t, c, "DeployRequests.List", listed)
	if len(listed) != 1 || listed[0].Number != number {
		t.Fatalf("DeployRequests.List: %+v", listed)
	}

	// Deploy: queued, then online, then the revert window.
	deployed, err := c.ps.DeployRequests.Deploy(ctx, &planetscale.PerformDeployRequest{Organization: org, Database: db, Number: number})
	must(t, "DeployRequests.Deploy", err)
	matchesLast(t, c, "DeployRequests.Deploy", deployed)
	if deployed.DeploymentState != "queued" && deployed.DeploymentState != "in_progress" {
		t.Fatalf("DeployRequests.Deploy: %s", deployed.DeploymentState)
	}
	pending := f.waitFor(t, number, "complete_pending_revert", "complete_error", "error")
	c.rawInto(t, http.MethodPatch, databasePath, map[string]any{"require_approval_for_deploy": false}, &planetscale.Database{})
	if pending.DeploymentState != "complete_pending_revert" || pending.DeployedAt == nil {
		t.Fatalf("deploy: %+v", pending)
	}
	if got := columns(t, f.main, "users"); got != "id,name,email" {
		t.Fatalf("main users after deploy: %s", got)
	}
	done, err := c.ps.DeployRequests.GetDeployOperations(ctx, &planetscale.GetDeployOperationsRequest{Organization: org, Database: db, Number: number})
	must(t, "DeployRequests.GetDeployOperations after the deploy", err)
	matchesLastData(t, c, "DeployRequests.GetDeployOperations after the deploy", done)
	for _, op := range done {
		if op.State != "complete" || op.ProgressPercentage != 100 {
			t.Fatalf("operation after the deploy: %+v", op)
		}
	}
	if !slices.Contains(tables(t, f.main), "audit") {
		t.Fatal("main has no audit table after deploy")
	}
	// The deploy queue holds it (the SDK has the type, not the call).
	var queue struct {
		Data []*planetscale.QueuedDeployment `json:"data"`
	}
	rawQueue := c.rawInto(t, http.MethodGet, "/v1/organizations/"+org+"/databases/"+db+"/deploy-queue", nil, &queue)
	matchesRaw(t, "deploy queue", queue.Data, field(rawQueue, "data"))
	if len(queue.Data) != 1 || queue.Data[0].DeployRequestNumber != number || queue.Data[0].State != "complete_pending_revert" {
		t.Fatalf("deploy queue: %+v", queue.Data)
	}

	// Rows written in the window survive the revert.
	execSQL(t, f.main, "INSERT INTO users (name, email) VALUES ('late', 'late@example.com')")
	reverted, err := c.ps.DeployRequests.RevertDeploy(ctx, &planetscale.RevertDeployRequestRequest{Organization: org, Database: db, Number: number})
	must(t, "DeployRequests.RevertDeploy", err)
	matchesLast(t, c, "DeployRequests.RevertDeploy", reverted)
	revertDone := f.waitFor(t, number, "complete_revert", "complete_revert_error")
	if revertDone.DeploymentState != "complete_revert" || revertDone.State != "closed" {
		t.Fatalf("revert: %+v", revertDone)
	}
	if got := columns(t, f.main, "users"); got != "id,name" {
		t.Fatalf("main users after revert: %s", got)
	}
	if n := queryInt(t, f.main, "SELECT COUNT(*) FROM users"); n != 4 {
		t.Fatalf("main users after revert: %d rows, want 4", n)
	}

	// Deploy again, gated: auto-apply off stops it before the cutover, apply lets it go.
	again := f.open(t, branch, "")
	gated, err := c.ps.DeployRequests.AutoApplyDeploy(ctx, &planetscale.AutoApplyDeployRequestRequest{Organization: org, Database: db, Number: again.Number, Enable: false})
	must(t, "DeployRequests.AutoApplyDeploy", err)
	matchesLast(t, c, "DeployRequests.AutoApplyDeploy", gated)
	_, err = c.ps.DeployRequests.Deploy(ctx, &planetscale.PerformDeployRequest{Organization: org, Database: db, Number: again.Number})
	must(t, "DeployRequests.Deploy (gated)", err)
	f.waitFor(t, again.Number, "pending_cutover")
	applied, err := c.ps.DeployRequests.ApplyDeploy(ctx, &planetscale.ApplyDeployRequestRequest{Organization: org, Database: db, Number: again.Number})
	must(t, "DeployRequests.ApplyDeploy", err)
	matchesLast(t, c, "DeployRequests.ApplyDeploy", applied)
	f.waitFor(t, again.Number, "complete_pending_revert")
	skipped, err := c.ps.DeployRequests.SkipRevertDeploy(ctx, &planetscale.SkipRevertDeployRequestRequest{Organization: org, Database: db, Number: again.Number})
	must(t, "DeployRequests.SkipRevertDeploy", err)
	matchesLast(t, c, "DeployRequests.SkipRevertDeploy", skipped)
	final := f.waitFor(t, again.Number, "complete")
	if final.State != "closed" {
		t.Fatalf("after skip revert: %+v", final)
	}
	if got := columns(t, f.main, "users"); got != "id,name,email" {
		t.Fatalf("main users after the second deploy: %s", got)
	}

	// A third request is closed without deploying.
	other := f.branchWith(t, "CREATE TABLE unused (id INT PRIMARY KEY)")
	third := f.open(t, other, "never")
	closed, err := c.ps.DeployRequests.CloseDeploy(ctx, &planetscale.CloseDeployRequestRequest{Organization: org, Database: db, Number: third.Number})
	must(t, "DeployRequests.CloseDeploy", err)
	matchesLast(t, c, "DeployRequests.CloseDeploy", closed)
	if closed.State != "closed" || closed.ClosedAt == nil || closed.DeployedAt != nil {
		t.Fatalf("DeployRequests.CloseDeploy: %+v", closed)
	}
	if slices.Contains(tables(t, f.main), "unused") {
		t.Fatal("a closed deploy request changed main")
	}
}

func TestDeployRequestCancel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newDeployFixture(t)
	branch := f.branchWith(t, "ALTER TABLE users ADD COLUMN age INT NULL")
	ready := f.open(t, branch, "")
	_, err := f.c.ps.DeployRequests.AutoApplyDeploy(ctx, &planetscale.AutoApplyDeployRequestRequest{Organization: organization, Database: f.db, Number: ready.Number, Enable: false})
	must(t, "DeployRequests.AutoApplyDeploy", err)
	_, err = f.c.ps.DeployRequests.Deploy(ctx, &planetscale.PerformDeployRequest{Organization: organization, Database: f.db, Number: ready.Number})
	must(t, "DeployRequests.Deploy", err)
	f.waitFor(t, ready.Number, "pending_cutover")
	cancelled, err := f.c.ps.DeployRequests.CancelDeploy(ctx, &planetscale.CancelDeployRequestRequest{Organization: organization, Database: f.db, Number: ready.Number})
	must(t, "DeployRequests.CancelDeploy", err)
	matchesLast(t, f.c, "DeployRequests.CancelDeploy", cancelled)
	f.waitFor(t, ready.Number, "complete_cancel")
	if got := columns(t, f.main, "users"); got != "id,name" {
		t.Fatalf("main users after cancel: %s", got)
	}
}
