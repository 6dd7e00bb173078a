//! The checks run on an external cluster at start: a managed cluster passes, and an
//! admin URL with too few rights is refused with a message saying what is missing.

use crate::support::{Fixture, name, spec};
use dbplane_engine::{ClusterAdmin, ClusterKind, CredentialRole};

#[tokio::test]
async fn managed_clusters_meet_the_requirements_and_weak_admins_do_not() {
    let fixture = Fixture::start().await;
    for kind in [ClusterKind::Mysql, ClusterKind::Postgresql] {
        let admin = fixture.admin(kind);
        assert_eq!(
            admin.requirement_problems().await.expect("check"),
            Vec::<String>::new(),
            "{kind}"
        );
        let db = name("dbp_requirements");
        admin.create_database(&db).await.expect("create database");
        let weak = spec("dbu_weakadmin", &db, CredentialRole::Admin, true);
        admin
            .create_credential(&weak)
            .await
            .expect("create credential");
        let (host, port) = fixture.address(kind);
        let url = match kind {
            ClusterKind::Mysql => format!(
                "mysql://{}:{}@{host}:{port}/{}",
                weak.username.as_str(),
                weak.password,
                db.as_str()
            ),
            ClusterKind::Postgresql => {
                format!(
                    "postgres://{}:{}@{host}:{port}/{}",
                    weak.username.as_str(),
                    weak.password,
                    db.as_str()
                )
            }
        };
        let weak_admin = ClusterAdmin::connect(kind, &url)
            .await
            .expect("connect as a branch admin");
        let problems = weak_admin.requirement_problems().await.expect("check");
        assert_eq!(problems.len(), 1, "{kind}: {problems:?}");
        assert!(problems[0].contains("needs"), "{problems:?}");
    }
    fixture.shutdown().await;
}
