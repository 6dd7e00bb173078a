// Package conformance drives PlanetScale's own Go SDK (github.com/planetscale/planetscale-go),
// unchanged but for its base URL, against the real dbplane binary and real MariaDB and
// PostgreSQL servers. Every call must decode into the SDK's types, every value must be the
// one the API sent and the databases hold, and every error must map to the SDK's codes.
package conformance

import (
	"fmt"
	"os"
	"testing"
)

// suiteState is shared by every test: one server (starting managed clusters costs
// seconds), one organization; each test makes its own databases.
type suiteState struct {
	server *server
	token  *bootstrapToken
}

var suite suiteState

const (
	organization = "conformance"
	adminEmail   = "admin@conformance.test"
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	binary, err := dbplaneBinary()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	srv, err := startServer(binary)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	token, err := srv.bootstrap(organization, adminEmail)
	if err != nil {
		srv.stop()
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	suite = suiteState{server: srv, token: token}
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "dbplane data dir kept for its log: %s\n--- server log (tail) ---\n%s\n", srv.dataDir, srv.logTail())
	}
	srv.stop()
	if code == 0 {
		if err := os.RemoveAll(srv.dataDir); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	return code
}
