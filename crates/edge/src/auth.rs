//! Password verification at the edge, and the edge's own login to the backend.
//!
//! The edge keeps no password. What it verifies against is what MariaDB itself stores for
//! the branch password's account: `SHA1(SHA1(password))` (the `mysql_native_password`
//! hash). A `mysql_native_password` answer to the edge's nonce yields, once verified,
//! `SHA1(password)` — exactly what the edge needs to log in to MariaDB as the same account
//! (so MariaDB still enforces that password's grants), held in memory only.
//!
//! `caching_sha2_password` (MySQL 8 clients' default) sends, on its fast path, a value
//! that proves `SHA256(password)`, which says nothing of `SHA1(password)`; so the first
//! login of an account since the edge started takes the full path (the password itself,
//! over TLS), after which the edge caches `SHA256(SHA256(password))` and `SHA1(password)` in
//! memory for that account's later fast logins.

use sha1::Sha1;
use sha2::{Digest, Sha256};

/// `SHA1(SHA1(password))`: what MariaDB stores (`*` + 40 hex digits in `mysql.user`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NativeHash(pub [u8; 20]);

impl NativeHash {
    /// From MariaDB's `authentication_string` (`*6BB4837EB74329105EE4568DDA7DC67ED2CA2AD9`).
    pub fn parse(text: &str) -> Option<NativeHash> {
        let hex_part = text.strip_prefix('*')?;
        let bytes = hex::decode(hex_part).ok()?;
        Some(NativeHash(bytes.try_into().ok()?))
    }

    pub fn of_password(password: &[u8]) -> NativeHash {
        NativeHash(Sha1::digest(Sha1::digest(password)).into())
    }
}

/// `SHA1(password)`: enough to answer MariaDB's `mysql_native_password` challenge.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct NativeKey(pub [u8; 20]);

impl std::fmt::Debug for NativeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NativeKey(redacted)")
    }
}

impl NativeKey {
    pub fn of_password(password: &[u8]) -> NativeKey {
        NativeKey(Sha1::digest(password).into())
    }

    pub fn hash(&self) -> NativeHash {
        NativeHash(Sha1::digest(self.0).into())
    }

    /// The `mysql_native_password` answer to `nonce`.
    pub fn scramble(&self, nonce: &[u8]) -> [u8; 20] {
        xor(&self.0, &native_mask(nonce, &self.hash()))
    }
}

fn native_mask(nonce: &[u8], hash: &NativeHash) -> [u8; 20] {
    let mut digest = Sha1::new();
    digest.update(nonce);
    digest.update(hash.0);
    digest.finalize().into()
}

fn xor<const N: usize>(a: &[u8; N], b: &[u8; N]) -> [u8; N] {
    let mut out = [0u8; N];
    for i in 0..N {
        out[i] = a[i] ^ b[i];
    }
    out
}

/// Verifies a `mysql_native_password` answer against the stored hash; the key it proves
/// on success.
pub fn verify_native(nonce: &[u8], answer: &[u8], hash: &NativeHash) -> Option<NativeKey> {
    let answer: &[u8; 20] = answer.try_into().ok()?;
    let key = NativeKey(xor(answer, &native_mask(nonce, hash)));
    (key.hash() == *hash).then_some(key)
}

/// `SHA256(SHA256(password))`, the `caching_sha2_password` fast path's verifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sha2Hash(pub [u8; 32]);

impl Sha2Hash {
    pub fn of_password(password: &[u8]) -> Sha2Hash {
        Sha2Hash(Sha256::digest(Sha256::digest(password)).into())
    }
}

/// Verifies a `caching_sha2_password` fast-path answer:
/// `SHA256(p) XOR SHA256(SHA256(SHA256(p)) || nonce)`.
pub fn verify_sha2_fast(nonce: &[u8], answer: &[u8], cached: &Sha2Hash) -> bool {
    let Ok(answer) = <&[u8; 32]>::try_from(answer) else {
        return false;
    };
    let mut mask = Sha256::new();
    mask.update(cached.0);
    mask.update(nonce);
    let mask: [u8; 32] = mask.finalize().into();
    let stage1 = xor(answer, &mask);
    let stage2: [u8; 32] = Sha256::digest(stage1).into();
    stage2 == cached.0
}

/// The `caching_sha2_password` fast-path answer a client computes (tests use it).
pub fn sha2_fast_answer(password: &[u8], nonce: &[u8]) -> [u8; 32] {
    let stage1: [u8; 32] = Sha256::digest(password).into();
    let stage2: [u8; 32] = Sha256::digest(stage1).into();
    let mut mask = Sha256::new();
    mask.update(stage2);
    mask.update(nonce);
    xor(&stage1, &mask.finalize().into())
}

/// A fresh 20-byte nonce of printable, non-NUL bytes (as servers send).
pub fn nonce() -> [u8; 20] {
    use rand::Rng;
    let mut rng = rand::rng();
    let mut out = [0u8; 20];
    for byte in &mut out {
        *byte = rng.random_range(0x21..0x7f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_native_answer_proves_the_key_mariadb_needs() {
        let hash = NativeHash::parse("*6BB4837EB74329105EE4568DDA7DC67ED2CA2AD9").unwrap();
        assert_eq!(hash, NativeHash::of_password(b"123456"));
        let key = NativeKey::of_password(b"123456");
        let nonce = nonce();
        let answer = key.scramble(&nonce);
        assert_eq!(verify_native(&nonce, &answer, &hash), Some(key));
        let wrong = NativeKey::of_password(b"12345").scramble(&nonce);
        assert_eq!(verify_native(&nonce, &wrong, &hash), None);
        assert_eq!(verify_native(&nonce, &answer[..19], &hash), None);
        assert_eq!(NativeHash::parse("6BB4"), None);
    }

    #[test]
    fn a_sha2_fast_answer_is_checked_against_the_cache() {
        let nonce = nonce();
        let cached = Sha2Hash::of_password(b"secret");
        assert!(verify_sha2_fast(
            &nonce,
            &sha2_fast_answer(b"secret", &nonce),
            &cached
        ));
        assert!(!verify_sha2_fast(
            &nonce,
            &sha2_fast_answer(b"other", &nonce),
            &cached
        ));
        assert!(!verify_sha2_fast(&nonce, b"short", &cached));
    }
}
