//! The edge's TLS: rustls with a certificate from configuration, or one generated per data
//! dir on first start (self-signed, kept for later starts so clients that pinned it keep
//! connecting).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Where the certificate comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CertificateSource {
    /// PEM files named in configuration.
    Files { certificate: PathBuf, key: PathBuf },
    /// Generated once into this directory, for these host names (and loopback).
    Generated { dir: PathBuf, hosts: Vec<String> },
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} holds no PEM {what}")]
    Pem { path: PathBuf, what: &'static str },
    #[error("generating the edge's certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("the certificate and key do not go together: {0}")]
    Config(#[from] rustls::Error),
}

const CERTIFICATE_FILE: &str = "edge-cert.pem";
const KEY_FILE: &str = "edge-key.pem";

/// The server configuration sessions upgrade with.
pub fn server_config(source: &CertificateSource) -> Result<Arc<ServerConfig>, TlsError> {
    let (certificate, key) = match source {
        CertificateSource::Files { certificate, key } => (certificate.clone(), key.clone()),
        CertificateSource::Generated { dir, hosts } => generated(dir, hosts)?,
    };
    let chain = read(&certificate)?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&chain)
        .filter_map(Result::ok)
        .collect();
    if chain.is_empty() {
        return Err(TlsError::Pem {
            path: certificate,
            what: "certificate",
        });
    }
    let key_pem = read(&key)?;
    let key_der = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| TlsError::Pem {
        path: key.clone(),
        what: "private key",
    })?;
    // ring's provider: MySQL clients do not negotiate post-quantum key exchange, and ring
    // builds without the C toolchain aws-lc needs.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)?;
    Ok(Arc::new(config))
}

/// The generated certificate's files, made on first use.
fn generated(dir: &Path, hosts: &[String]) -> Result<(PathBuf, PathBuf), TlsError> {
    let certificate = dir.join(CERTIFICATE_FILE);
    let key = dir.join(KEY_FILE);
    if certificate.exists() && key.exists() {
        return Ok((certificate, key));
    }
    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    for host in hosts {
        if !names.contains(host) {
            names.push(host.clone());
        }
    }
    let generated = rcgen::generate_simple_self_signed(names)?;
    write_private(&key, generated.key_pair.serialize_pem().as_bytes())?;
    write_private(&certificate, generated.cert.pem().as_bytes())?;
    Ok((certificate, key))
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes a file only its owner reads, through a temporary name (a crash leaves no half
/// file under the final name).
fn write_private(path: &Path, contents: &[u8]) -> Result<(), TlsError> {
    write_private_file(path, contents).map_err(|source| TlsError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// [`write_private`] for any caller (the HTTP session key).
pub(crate) fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let temporary = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)?;
    file.write_all(contents)?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_certificate_is_kept_for_later_starts() {
        let dir = std::env::temp_dir().join(format!("edge-tls-{}", std::process::id()));
        let source = CertificateSource::Generated {
            dir: dir.clone(),
            hosts: vec!["db.example".into()],
        };
        server_config(&source).unwrap();
        let first = std::fs::read(dir.join(CERTIFICATE_FILE)).unwrap();
        server_config(&source).unwrap();
        assert_eq!(first, std::fs::read(dir.join(CERTIFICATE_FILE)).unwrap());
        let mode = std::fs::metadata(dir.join(KEY_FILE)).unwrap();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
            0o600
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
