module dbplane/tests/clients/go

go 1.26.0

require (
	filippo.io/edwards25519 v1.2.0 // indirect
	github.com/go-sql-driver/mysql v1.10.2 // indirect
	github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
	github.com/lib/pq v1.12.3 // indirect
	github.com/planetscale/planetscale-go v0.162.0 // indirect
	golang.org/x/oauth2 v0.36.0 // indirect
)
