//! Public ids: 12 lowercase alphanumeric characters, as PlanetScale uses. Each entity
//! has its own newtype so an organization id can never be passed where a token id is
//! expected.

use rand::Rng;

const ID_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
/// Length of every public id.
pub const ID_LENGTH: usize = 12;

/// A fresh random public id (62 bits of entropy is far beyond collision range for
/// metadata rows; the store's unique keys still guard against the impossible).
pub fn new_public_id() -> String {
    let mut rng = rand::rng();
    (0..ID_LENGTH)
        .map(|_| ID_ALPHABET[rng.random_range(0..ID_ALPHABET.len())] as char)
        .collect()
}

/// True when `candidate` has the shape of a public id; used to reject garbage early.
pub fn is_public_id(candidate: &str) -> bool {
    candidate.len() == ID_LENGTH
        && candidate
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// Declares a public-id newtype (used here and by other domain modules).
#[macro_export]
macro_rules! public_id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A new random id.
            pub fn generate() -> Self {
                Self($crate::ids::new_public_id())
            }
            /// Wraps an id read back from the store or a request path.
            pub fn from_string(value: impl Into<String>) -> Self {
                Self(value.into())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

public_id_type!(
    /// Id of an organization.
    OrganizationId
);
public_id_type!(
    /// Id of a (human) user.
    UserId
);
public_id_type!(
    /// Id of a service token; the part before `:` in the Authorization header.
    ServiceTokenId
);
public_id_type!(
    /// Id of a database.
    DatabaseId
);
public_id_type!(
    /// Id of one access grant record.
    GrantId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_have_the_public_shape() {
        for _ in 0..100 {
            let id = new_public_id();
            assert!(is_public_id(&id), "{id}");
        }
        assert!(!is_public_id("ABCDEFGHIJKL"));
        assert!(!is_public_id("short"));
    }
}
