//! Credentials: each role's rights, checked by logging in; isolation between branches.

use std::time::{Duration, Instant};

use dbplane_engine::{ClusterAdmin, ClusterKind, CredentialRole, EngineError};

use crate::support::{self, Fixture, Refusal, assert_refused, name, spec};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_get_exactly_their_role() {
    let fixture = Fixture::start().await;
    for kind in [ClusterKind::Mysql, ClusterKind::Postgresql] {
        let admin = fixture.admin(kind);
        let branch = name("dbp_branch");
        let other = name("dbp_other");
        for db in [&branch, &other] {
            admin.create_database(db).await.unwrap();
        }
        let owner = spec("dbp_owner_cred", &branch, CredentialRole::Admin, true);
        admin.create_credential(&owner).await.unwrap();
        let client = fixture.login(kind, &owner).await.unwrap();
        client
            .execute("CREATE TABLE existing (id int PRIMARY KEY, note varchar(20))")
            .await
            .unwrap();
        client
            .execute("INSERT INTO existing VALUES (1, 'one')")
            .await
            .unwrap();
        drop(client);
        let stranger = spec("dbp_stranger", &other, CredentialRole::Admin, true);
        admin.create_credential(&stranger).await.unwrap();
        fixture
            .login(kind, &stranger)
            .await
            .unwrap()
            .execute("CREATE TABLE secret (id int)")
            .await
            .unwrap();

        let started = Instant::now();
        let reader = spec("dbp_reader", &branch, CredentialRole::Reader, true);
        let writer = spec("dbp_writer", &branch, CredentialRole::Writer, true);
        let readwriter = spec("dbp_readwriter", &branch, CredentialRole::Readwriter, true);
        let branch_admin = spec("dbp_admin", &branch, CredentialRole::Admin, true);
        for credential in [&reader, &writer, &readwriter, &branch_admin] {
            admin
                .create_credential(credential)
                .await
                .expect("create credential");
        }
        eprintln!(
            "{kind}: create_credential took {:?} on average",
            started.elapsed() / 4
        );
        // Idempotent: a second run (a resumed job step) changes nothing.
        admin
            .create_credential(&reader)
            .await
            .expect("create reader again");
        assert!(admin.credential_exists(&reader.username).await.unwrap());

        // A table made after the credentials: covered by the default privileges.
        let admin_client = fixture.login(kind, &branch_admin).await.unwrap();
        admin_client
            .execute("CREATE TABLE later (id int PRIMARY KEY, note varchar(20))")
            .await
            .expect("admin ddl");
        admin_client
            .execute("INSERT INTO later VALUES (1, 'one')")
            .await
            .unwrap();
        admin_client
            .execute("CREATE VIEW later_notes AS SELECT note FROM later")
            .await
            .expect("admin creates a view");

        let reader_client = fixture.login(kind, &reader).await.unwrap();
        for table in ["existing", "later"] {
            reader_client
                .scalar(&format!("SELECT count(*) FROM {table}"))
                .await;
            support::assert_denied(
                reader_client
                    .execute(&format!("INSERT INTO {table} VALUES (2, 'x')"))
                    .await,
            );
        }
        support::assert_denied(reader_client.execute("CREATE TABLE nope (id int)").await);

        let writer_client = fixture.login(kind, &writer).await.unwrap();
        for table in ["existing", "later"] {
            writer_client
                .execute(&format!("INSERT INTO {table} VALUES (3, 'w')"))
                .await
                .expect("writer inserts");
            // No SELECT, so no WHERE on a column either: whole-table UPDATE and DELETE.
            writer_client
                .execute(&format!("UPDATE {table} SET note = 'u'"))
                .await
                .expect("writer updates");
            support::assert_denied(
                writer_client
                    .execute(&format!("SELECT * FROM {table}"))
                    .await,
            );
            writer_client
                .execute(&format!("DELETE FROM {table}"))
                .await
                .expect("writer deletes");
        }
        support::assert_denied(writer_client.execute("CREATE TABLE nope (id int)").await);

        let readwriter_client = fixture.login(kind, &readwriter).await.unwrap();
        readwriter_client
            .execute("INSERT INTO later VALUES (4, 'rw')")
            .await
            .unwrap();
        readwriter_client
            .execute("UPDATE later SET note = 'x' WHERE id = 4")
            .await
            .unwrap();
        assert_eq!(
            readwriter_client
                .scalar("SELECT note FROM later WHERE id = 4")
                .await,
            "x"
        );
        readwriter_client
            .execute("DELETE FROM later WHERE id = 4")
            .await
            .unwrap();
        support::assert_denied(
            readwriter_client
                .execute("CREATE TABLE nope (id int)")
                .await,
        );
        support::assert_denied(readwriter_client.execute("DROP TABLE later").await);

        // Safe migrations on: DDL is refused, DML still works, open admin sessions are
        // cut (they would otherwise keep their rights); off again: DDL is back.
        let mut no_ddl = branch_admin.clone();
        no_ddl.ddl_allowed = false;
        admin.set_ddl_allowed(&no_ddl).await.expect("disable ddl");
        support::eventually(
            "the old admin session to be cut",
            Duration::from_secs(10),
            || async {
                admin_client
                    .execute("SELECT 1")
                    .await
                    .is_err()
                    .then_some(())
            },
        )
        .await;
        let restricted = fixture.login(kind, &branch_admin).await.unwrap();
        support::assert_denied(restricted.execute("CREATE TABLE nope (id int)").await);
        support::assert_denied(restricted.execute("DROP TABLE later").await);
        restricted
            .execute("INSERT INTO later VALUES (5, 'a')")
            .await
            .expect("dml without ddl");
        assert_eq!(restricted.scalar("SELECT count(*) FROM later").await, "1");
        // create_credential with the branch's current state keeps DDL off.
        admin.create_credential(&no_ddl).await.unwrap();
        support::assert_denied(
            fixture
                .login(kind, &branch_admin)
                .await
                .unwrap()
                .execute("CREATE TABLE nope (id int)")
                .await,
        );
        admin
            .set_ddl_allowed(&branch_admin)
            .await
            .expect("enable ddl");
        let restored = fixture.login(kind, &branch_admin).await.unwrap();
        restored
            .execute("CREATE TABLE again (id int)")
            .await
            .expect("ddl is back");
        restored.execute("DROP TABLE again").await.unwrap();

        // Nothing reaches the other branch.
        let other_reader = spec("dbp_reader", &other, CredentialRole::Reader, true);
        assert_refused(fixture.login(kind, &other_reader).await, Refusal::Database);
        if kind == ClusterKind::Mysql {
            support::assert_denied(
                reader_client
                    .execute("SELECT * FROM dbp_other.secret")
                    .await,
            );
        } else {
            let mut to_maintenance = reader.clone();
            to_maintenance.database = name("postgres");
            assert_refused(
                fixture.login(kind, &to_maintenance).await,
                Refusal::Database,
            );
        }

        // Passwords are checked and can be replaced.
        let mut wrong = reader.clone();
        wrong.password = "not-the-password".to_owned();
        assert_refused(fixture.login(kind, &wrong).await, Refusal::Password);
        admin
            .set_password(&reader.username, &wrong.password)
            .await
            .unwrap();
        fixture
            .login(kind, &wrong)
            .await
            .expect("new password works");
        assert_refused(fixture.login(kind, &reader).await, Refusal::Password);

        // Dropping cuts the sessions and the login, and can be repeated.
        admin
            .drop_credential(&reader.username, &branch)
            .await
            .expect("drop");
        support::eventually(
            "the reader session to be cut",
            Duration::from_secs(10),
            || async {
                reader_client
                    .execute("SELECT 1")
                    .await
                    .is_err()
                    .then_some(())
            },
        )
        .await;
        assert_refused(fixture.login(kind, &wrong).await, Refusal::Password);
        assert!(!admin.credential_exists(&reader.username).await.unwrap());
        admin
            .drop_credential(&reader.username, &branch)
            .await
            .expect("drop again");
        let missing = admin.set_password(&reader.username, "x").await.unwrap_err();
        assert!(matches!(missing, EngineError::NotFound { .. }), "{missing}");

        // Dropping the admin that created tables and a view leaves them working, owned
        // by the branch (MariaDB: the view's definer moves to the owner account).
        admin
            .drop_credential(&branch_admin.username, &branch)
            .await
            .unwrap();
        assert_eq!(
            admin.table_names(&branch).await.unwrap(),
            ["existing", "later"]
        );
        let readwriter_client = fixture.login(kind, &readwriter).await.unwrap();
        assert_eq!(
            readwriter_client
                .scalar("SELECT count(*) FROM later_notes")
                .await,
            "1"
        );
        for credential in [&writer, &readwriter, &owner] {
            admin
                .drop_credential(&credential.username, &branch)
                .await
                .unwrap();
        }
        admin
            .drop_credential(&stranger.username, &other)
            .await
            .unwrap();
        for db in [&branch, &other] {
            admin.drop_database(db).await.unwrap();
        }
        assert_eq!(
            admin.list_credentials_with_prefix("dbp_").await.unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(
            admin.list_owners_with_prefix("dbp_").await.unwrap(),
            Vec::<String>::new()
        );
    }
    fixture.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_before_reaching_a_server() {
    let fixture = Fixture::start().await;
    for kind in [ClusterKind::Mysql, ClusterKind::Postgresql] {
        let admin: &ClusterAdmin = fixture.admin(kind);
        admin.ping().await.unwrap();
        let db = name("dbp_inputs");
        admin.create_database(&db).await.unwrap();
        let mut empty = spec("dbp_empty", &db, CredentialRole::Reader, true);
        empty.password = String::new();
        assert!(matches!(
            admin.create_credential(&empty).await,
            Err(EngineError::InvalidArgument { .. })
        ));
        // Passwords with quotes and backslashes are data, not SQL.
        let mut tricky = spec("dbp_tricky", &db, CredentialRole::Reader, true);
        tricky.password = "a'b\"c\\d`e;--$$f".to_owned();
        admin.create_credential(&tricky).await.unwrap();
        fixture
            .login(kind, &tricky)
            .await
            .expect("tricky password logs in");
        admin.drop_credential(&tricky.username, &db).await.unwrap();
        admin.drop_database(&db).await.unwrap();
    }
    fixture.shutdown().await;
}

/// Credentials created at the same moment on one database (two API calls, two workers)
/// all succeed: on PostgreSQL, concurrent GRANTs on one schema used to fail with "tuple
/// concurrently updated".
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_credentials_on_one_database_all_succeed() {
    let fixture = Fixture::start().await;
    for kind in [ClusterKind::Mysql, ClusterKind::Postgresql] {
        let admin = fixture.admin(kind);
        let db = name("dbp_busy");
        admin.create_database(&db).await.unwrap();
        let roles = [
            CredentialRole::Reader,
            CredentialRole::Writer,
            CredentialRole::Readwriter,
            CredentialRole::Admin,
        ];
        let specs: Vec<_> = (0..16)
            .map(|i| spec(&format!("dbp_busy_{i}"), &db, roles[i % 4], i % 2 == 0))
            .collect();
        for round in 0..3 {
            let results = futures_util::future::join_all(
                specs
                    .iter()
                    .map(|credential| admin.create_credential(credential)),
            )
            .await;
            for (credential, result) in specs.iter().zip(results) {
                if let Err(error) = result {
                    panic!("{kind} round {round}: {}: {error}", credential.username);
                }
            }
        }
        for credential in &specs {
            fixture
                .login(kind, credential)
                .await
                .expect("every concurrently made credential logs in");
            admin
                .drop_credential(&credential.username, &db)
                .await
                .unwrap();
        }
        admin.drop_database(&db).await.unwrap();
    }
    fixture.shutdown().await;
}
