//! Token secrets: random, prefixed `pscale_tkn_`, stored only as a SHA-256 digest.
//! A fast digest is right here because the secret is 256 bits of randomness, not a
//! human password: brute force is infeasible, and auth stays cheap on the hot path.

use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Prefix of every service-token secret (GitHub secret scanning keys on it).
pub const SERVICE_TOKEN_PREFIX: &str = "pscale_tkn_";
const SECRET_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const SECRET_RANDOM_CHARS: usize = 43; // ~256 bits from a 62-symbol alphabet

/// A freshly generated secret; the plain text leaves the process once, in the
/// creation response, and is never logged (no Debug/Display of the text).
pub struct NewSecret {
    plain_text: String,
}

impl NewSecret {
    pub fn generate(prefix: &str) -> Self {
        let mut rng = rand::rng();
        let random: String = (0..SECRET_RANDOM_CHARS)
            .map(|_| SECRET_ALPHABET[rng.random_range(0..SECRET_ALPHABET.len())] as char)
            .collect();
        Self {
            plain_text: format!("{prefix}{random}"),
        }
    }
    pub fn expose(&self) -> &str {
        &self.plain_text
    }
    pub fn digest(&self) -> SecretDigest {
        SecretDigest::of(&self.plain_text)
    }
}

impl std::fmt::Debug for NewSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewSecret(<redacted>)")
    }
}

/// Hex SHA-256 of a secret, the only form that is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretDigest(String);

impl SecretDigest {
    pub fn of(plain_text: &str) -> Self {
        Self(hex::encode(Sha256::digest(plain_text.as_bytes())))
    }
    pub fn from_stored(hex_digest: String) -> Self {
        Self(hex_digest)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Constant-time comparison with a presented secret.
    pub fn matches(&self, presented_plain_text: &str) -> bool {
        let presented = SecretDigest::of(presented_plain_text);
        self.0.as_bytes().ct_eq(presented.0.as_bytes()).into()
    }
}

impl std::fmt::Debug for SecretDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretDigest(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_matches_only_itself() {
        let secret = NewSecret::generate(SERVICE_TOKEN_PREFIX);
        assert!(secret.expose().starts_with("pscale_tkn_"));
        assert_eq!(secret.expose().len(), SERVICE_TOKEN_PREFIX.len() + 43);
        let digest = secret.digest();
        assert!(digest.matches(secret.expose()));
        assert!(!digest.matches("pscale_tkn_wrong"));
        assert!(!format!("{secret:?}{digest:?}").contains(secret.expose()));
    }
}
