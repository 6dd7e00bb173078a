//! Errors of the store layer.

/// What went wrong in the metadata store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write (the entity already exists).
    #[error("{entity} already exists")]
    Conflict { entity: &'static str },
    /// A row read back from the store did not decode (corruption or a bad migration).
    #[error("corrupt {entity} row: {detail}")]
    Corrupt {
        entity: &'static str,
        detail: String,
    },
    /// The database could not be reached or the statement failed.
    #[error("metadata store failure")]
    Database(#[from] sqlx::Error),
    /// Applying migrations failed at start.
    #[error("metadata store migration failed")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    /// Maps a sqlx error, turning unique violations into `Conflict`.
    pub(crate) fn from_write(entity: &'static str, error: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db_error) = &error
            && db_error.is_unique_violation()
        {
            return StoreError::Conflict { entity };
        }
        StoreError::Database(error)
    }
}
