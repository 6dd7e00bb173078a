//! Test support for `physical.rs`: servers, admin handles, user-side clients.

use std::future::Future;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use dbplane_engine::{
    ClusterAdmin, ClusterKind, CredentialRole, CredentialSpec, LocalClusterConfig, LocalClusters,
    PhysicalName, start_local_clusters,
};
use mysql_async::prelude::Queryable;

/// Both servers, started in a temp dir for one test, with an admin handle on each.
pub struct Fixture {
    // Dropped last: the servers live in it.
    _temp: tempfile::TempDir,
    clusters: LocalClusters,
    mysql: ClusterAdmin,
    postgres: ClusterAdmin,
}

impl Fixture {
    pub async fn start() -> Fixture {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "dbplane_engine=info".into()),
            )
            .with_test_writer()
            .try_init();
        let temp = tempfile::tempdir().expect("create temp dir");
        // The `postgres` OS user must be able to enter it, whatever the umask.
        std::fs::set_permissions(temp.path(), std::fs::Permissions::from_mode(0o755))
            .expect("open up temp dir");
        let config = LocalClusterConfig {
            fast_unsafe: true,
            ..LocalClusterConfig::new(temp.path().join("clusters"))
        };
        let clusters = start_local_clusters(config).await.expect("start clusters");
        let mysql = ClusterAdmin::connect(ClusterKind::Mysql, &clusters.mysql().admin_url())
            .await
            .expect("connect to mariadb");
        let postgres =
            ClusterAdmin::connect(ClusterKind::Postgresql, &clusters.postgresql().admin_url())
                .await
                .expect("connect to postgres");
        Fixture {
            _temp: temp,
            clusters,
            mysql,
            postgres,
        }
    }

    pub fn admin(&self, kind: ClusterKind) -> &ClusterAdmin {
        match kind {
            ClusterKind::Mysql => &self.mysql,
            ClusterKind::Postgresql => &self.postgres,
        }
    }

    /// `host:port` of a cluster.
    pub fn address(&self, kind: ClusterKind) -> (String, u16) {
        let cluster = self.clusters.get(kind);
        (cluster.host().to_string(), cluster.port())
    }

    /// Logs in as `spec`'s user with its password, into its database, over TCP.
    pub async fn login(
        &self,
        kind: ClusterKind,
        spec: &CredentialSpec,
    ) -> Result<UserClient, ClientError> {
        self.connect(
            kind,
            spec.username.as_str(),
            Some(&spec.password),
            spec.database.as_str(),
        )
        .await
    }

    /// A superuser session in database `db`.
    pub async fn superuser(&self, kind: ClusterKind, db: &str) -> UserClient {
        let superuser = match kind {
            ClusterKind::Mysql => "root",
            ClusterKind::Postgresql => "postgres",
        };
        self.connect(kind, superuser, None, db)
            .await
            .expect("superuser logs in")
    }

    async fn connect(
        &self,
        kind: ClusterKind,
        user: &str,
        password: Option<&str>,
        db: &str,
    ) -> Result<UserClient, ClientError> {
        let cluster = self.clusters.get(kind);
        match kind {
            ClusterKind::Mysql => {
                let options = mysql_async::OptsBuilder::default()
                    .ip_or_hostname(cluster.host())
                    .tcp_port(cluster.port())
                    .user(Some(user))
                    .pass(password)
                    .db_name(Some(db))
                    .prefer_socket(false);
                let connection = mysql_async::Conn::new(options)
                    .await
                    .map_err(ClientError::Mysql)?;
                Ok(UserClient::Mysql(tokio::sync::Mutex::new(connection)))
            }
            ClusterKind::Postgresql => {
                let mut config = tokio_postgres::Config::new();
                config
                    .host(cluster.host())
                    .port(cluster.port())
                    .user(user)
                    .dbname(db);
                if let Some(password) = password {
                    config.password(password);
                }
                let (client, connection) = config
                    .connect(tokio_postgres::NoTls)
                    .await
                    .map_err(ClientError::Postgres)?;
                tokio::spawn(connection);
                Ok(UserClient::Postgres(client))
            }
        }
    }

    /// The rows of `table` in `db`, counted as the superuser.
    pub async fn count_rows(&self, kind: ClusterKind, db: &PhysicalName, table: &str) -> u64 {
        let superuser = match kind {
            ClusterKind::Mysql => "root",
            ClusterKind::Postgresql => "postgres",
        };
        let client = self
            .connect(kind, superuser, None, db.as_str())
            .await
            .expect("superuser logs in");
        client
            .scalar(&format!("SELECT count(*) FROM {table}"))
            .await
            .parse()
            .expect("a count")
    }

    pub async fn shutdown(self) {
        for admin in [self.mysql, self.postgres] {
            admin.disconnect().await.expect("disconnect admin");
        }
        self.clusters.shutdown().await.expect("shut down clusters");
    }
}

/// A failed statement or login of a user-side client.
#[derive(Debug)]
pub enum ClientError {
    Mysql(mysql_async::Error),
    Postgres(tokio_postgres::Error),
}

/// A user's session, as an application would hold it.
pub enum UserClient {
    Mysql(tokio::sync::Mutex<mysql_async::Conn>),
    Postgres(tokio_postgres::Client),
}

impl UserClient {
    pub async fn execute(&self, statement: &str) -> Result<(), ClientError> {
        match self {
            UserClient::Mysql(connection) => connection
                .lock()
                .await
                .query_drop(statement)
                .await
                .map_err(ClientError::Mysql),
            UserClient::Postgres(client) => client
                .batch_execute(statement)
                .await
                .map_err(ClientError::Postgres),
        }
    }

    /// The first column of the first row, as text; panics on any error.
    pub async fn scalar(&self, query: &str) -> String {
        match self {
            UserClient::Mysql(connection) => {
                let value: Option<Option<String>> = connection
                    .lock()
                    .await
                    .query_first(query)
                    .await
                    .expect(query);
                value.flatten().unwrap_or_default()
            }
            UserClient::Postgres(client) => {
                let messages = client.simple_query(query).await.expect(query);
                messages
                    .iter()
                    .find_map(|message| match message {
                        tokio_postgres::SimpleQueryMessage::Row(row) => {
                            Some(row.get(0).unwrap_or_default().to_owned())
                        }
                        _ => None,
                    })
                    .unwrap_or_default()
            }
        }
    }
}

/// Asserts that a statement failed for lack of privileges (not for any other reason).
#[track_caller]
pub fn assert_denied(result: Result<(), ClientError>) {
    /// ER_DBACCESS_DENIED_ERROR, ER_TABLEACCESS_DENIED_ERROR.
    const MYSQL_DENIED: [u16; 2] = [1044, 1142];
    match result {
        Err(ClientError::Mysql(mysql_async::Error::Server(error)))
            if MYSQL_DENIED.contains(&error.code) => {}
        Err(ClientError::Postgres(error))
            if error.code() == Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE) => {}
        other => panic!("expected a privilege error, got {other:?}"),
    }
}

/// Why a login must fail.
#[derive(Clone, Copy, Debug)]
pub enum Refusal {
    /// Unknown user or wrong password.
    Password,
    /// Right password, but no access to that database.
    Database,
}

/// Asserts that a login failed, for the given reason.
#[track_caller]
pub fn assert_refused(result: Result<UserClient, ClientError>, refusal: Refusal) {
    // ER_ACCESS_DENIED_ERROR and ER_DBACCESS_DENIED_ERROR.
    let mysql_code: u16 = match refusal {
        Refusal::Password => 1045,
        Refusal::Database => 1044,
    };
    let postgres_state = match refusal {
        Refusal::Password => &tokio_postgres::error::SqlState::INVALID_PASSWORD,
        Refusal::Database => &tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE,
    };
    match result {
        Err(ClientError::Mysql(mysql_async::Error::Server(error))) if error.code == mysql_code => {}
        Err(ClientError::Postgres(error)) if error.code() == Some(postgres_state) => {}
        Ok(_) => panic!("expected a {refusal:?} refusal, but the login worked"),
        Err(other) => panic!("expected a {refusal:?} refusal, got {other:?}"),
    }
}

pub fn name(name: &str) -> PhysicalName {
    PhysicalName::new(name).expect("valid test name")
}

/// A credential spec whose password is derived from the user name.
pub fn spec(
    username: &str,
    db: &PhysicalName,
    role: CredentialRole,
    ddl_allowed: bool,
) -> CredentialSpec {
    CredentialSpec {
        username: name(username),
        password: format!("pscale_pw_{username}_s3cret"),
        database: db.clone(),
        role,
        ddl_allowed,
    }
}

/// Polls `attempt` until it yields a value; fails the test past `deadline`.
pub async fn eventually<T, Attempt, Outcome>(
    what: &str,
    deadline: Duration,
    mut attempt: Attempt,
) -> T
where
    Attempt: FnMut() -> Outcome,
    Outcome: Future<Output = Option<T>>,
{
    let give_up_at = Instant::now() + deadline;
    let mut ticks = tokio::time::interval(Duration::from_millis(20));
    loop {
        ticks.tick().await;
        if let Some(value) = attempt().await {
            return value;
        }
        assert!(Instant::now() < give_up_at, "timed out waiting for {what}");
    }
}

/// Creates `tables` tables in `db`, each with a primary key, a unique and a composite
/// index, a check, and a foreign key to the previous table, as the database's owner.
pub async fn create_wide_schema(
    fixture: &Fixture,
    kind: ClusterKind,
    db: &PhysicalName,
    tables: usize,
) {
    let mut statements = Vec::new();
    for index in 0..tables {
        let foreign_key = if index == 0 {
            String::new()
        } else {
            format!(
                ", CONSTRAINT t{index:03}_parent FOREIGN KEY (parent_id) REFERENCES t{:03} (id)",
                index - 1
            )
        };
        statements.push(match kind {
            ClusterKind::Mysql => format!(
                "CREATE TABLE t{index:03} (id BIGINT AUTO_INCREMENT PRIMARY KEY, parent_id BIGINT, \
                 name VARCHAR(100) NOT NULL, value DECIMAL(10, 2) NOT NULL DEFAULT 0, \
                 created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, \
                 UNIQUE KEY t{index:03}_name (name), KEY t{index:03}_value (value, created_at), \
                 CONSTRAINT t{index:03}_positive CHECK (value >= 0){foreign_key})"
            ),
            ClusterKind::Postgresql => format!(
                "CREATE TABLE t{index:03} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, \
                 parent_id bigint, name varchar(100) NOT NULL UNIQUE, \
                 value numeric(10, 2) NOT NULL DEFAULT 0 CHECK (value >= 0), \
                 created_at timestamptz NOT NULL DEFAULT now(){foreign_key}); \
                 CREATE INDEX t{index:03}_value ON t{index:03} (value, created_at)"
            ),
        });
    }
    let owner = db.owner().expect("owner name");
    let script = match kind {
        ClusterKind::Mysql => statements.join(";\n"),
        ClusterKind::Postgresql => format!(
            "BEGIN; SET LOCAL ROLE {owner}; {}; COMMIT;",
            statements.join(";\n")
        ),
    };
    let superuser = match kind {
        ClusterKind::Mysql => "root",
        ClusterKind::Postgresql => "postgres",
    };
    let client = fixture
        .connect(kind, superuser, None, db.as_str())
        .await
        .expect("superuser logs in");
    client.execute(&script).await.expect("create wide schema");
}
