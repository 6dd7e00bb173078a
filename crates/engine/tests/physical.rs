//! Physical operations (databases, schema copy, credentials) against real MariaDB and
//! PostgreSQL servers started for each test. Every credential check logs in with a real
//! client over TCP, as a user would.

#[path = "physical/credentials.rs"]
mod credentials;
#[path = "physical/requirements.rs"]
mod requirements;
#[path = "physical/resume.rs"]
mod resume;
#[path = "physical/schema_copy.rs"]
mod schema_copy;
#[path = "physical/support.rs"]
mod support;
