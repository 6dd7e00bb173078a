//! Steps interrupted half-way (as by a crash) and their repeats.

use std::time::Duration;

use dbplane_engine::{ClusterKind, CredentialRole};

use crate::support::{self, Fixture, name, spec};

/// What a job step leaves behind when the process dies in the middle of it, and the
/// repeat that must finish the work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_steps_resume_to_the_same_end() {
    let fixture = Fixture::start().await;
    for kind in [ClusterKind::Mysql, ClusterKind::Postgresql] {
        let admin = fixture.admin(kind);
        let maintenance = match kind {
            ClusterKind::Mysql => "mysql",
            ClusterKind::Postgresql => "postgres",
        };
        let root = fixture.superuser(kind, maintenance).await;
        let mysql = kind == ClusterKind::Mysql;

        // create_database stopped after making the owner.
        let db = name("dbp_resume");
        root.execute(if mysql {
            "CREATE USER 'dbp_resume_owner'@'localhost' ACCOUNT LOCK"
        } else {
            "CREATE ROLE dbp_resume_owner NOLOGIN"
        })
        .await
        .unwrap();
        admin
            .create_database(&db)
            .await
            .expect("resume create_database");
        assert_eq!(
            admin.list_owners_with_prefix("dbp_resume").await.unwrap(),
            ["dbp_resume_owner"]
        );
        let inside = fixture.superuser(kind, db.as_str()).await;
        inside
            .execute(if mysql {
                "CREATE TABLE t (id int)"
            } else {
                "SET ROLE dbp_resume_owner; CREATE TABLE t (id int); RESET ROLE"
            })
            .await
            .unwrap();

        // create_credential stopped after creating the user, before any grant.
        let credential = spec("dbp_resumed", &db, CredentialRole::Readwriter, true);
        root.execute(if mysql {
            "CREATE USER 'dbp_resumed'@'%' IDENTIFIED BY 'old'"
        } else {
            "CREATE ROLE dbp_resumed LOGIN PASSWORD 'old'"
        })
        .await
        .unwrap();
        admin
            .create_credential(&credential)
            .await
            .expect("resume create_credential");
        let client = fixture
            .login(kind, &credential)
            .await
            .expect("resumed login");
        client.execute("INSERT INTO t VALUES (1)").await.unwrap();
        assert_eq!(client.scalar("SELECT count(*) FROM t").await, "1");
        support::assert_denied(client.execute("CREATE TABLE u (id int)").await);

        // drop_credential stopped half-way: MariaDB after DROP USER (the session lives
        // on), PostgreSQL after NOLOGIN (the role is still listed, so not lost).
        root.execute(if mysql {
            "DROP USER 'dbp_resumed'@'%'"
        } else {
            "ALTER ROLE dbp_resumed NOLOGIN"
        })
        .await
        .unwrap();
        if !mysql {
            assert_eq!(
                admin.list_credentials_with_prefix("dbp_").await.unwrap(),
                ["dbp_resumed"]
            );
        }
        admin
            .drop_credential(&credential.username, &db)
            .await
            .expect("resume drop_credential");
        support::eventually("the session to be cut", Duration::from_secs(10), || async {
            client.execute("SELECT 1").await.is_err().then_some(())
        })
        .await;
        assert!(!admin.credential_exists(&credential.username).await.unwrap());

        // drop_database while a user is inside a transaction on one of its tables.
        let busy = spec("dbp_busy", &db, CredentialRole::Readwriter, true);
        admin.create_credential(&busy).await.unwrap();
        let busy_client = fixture.login(kind, &busy).await.unwrap();
        busy_client.execute("BEGIN").await.unwrap();
        busy_client
            .execute("INSERT INTO t VALUES (2)")
            .await
            .unwrap();
        drop(inside);
        tokio::time::timeout(Duration::from_secs(30), admin.drop_database(&db))
            .await
            .expect("drop_database does not hang on a busy session")
            .expect("drop busy database");
        admin.drop_credential(&busy.username, &db).await.unwrap();
        assert!(!admin.database_exists(&db).await.unwrap());
        assert_eq!(
            admin.list_owners_with_prefix("dbp_").await.unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(
            admin.list_credentials_with_prefix("dbp_").await.unwrap(),
            Vec::<String>::new()
        );
    }
    fixture.shutdown().await;
}
