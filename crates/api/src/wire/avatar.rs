//! Avatar URLs: Gravatar's identicon for a SHA-256 of the identity, so every actor has
//! a stable picture without dbplane hosting images.

use sha2::{Digest, Sha256};

pub fn avatar_url(identity: &str) -> String {
    let digest = hex::encode(Sha256::digest(identity.trim().to_lowercase().as_bytes()));
    format!("https://www.gravatar.com/avatar/{digest}?d=identicon")
}
