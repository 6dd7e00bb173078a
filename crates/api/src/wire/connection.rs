//! Connection strings handed out with a new secret, and the URLs of resources.

use dbplane_domain::data_plane::DatabaseKind;

/// `mysql://` or `postgresql://<user>:<password>@<host:port>/<database>`, with the user
/// and password percent-encoded.
pub fn connection_url(
    kind: DatabaseKind,
    username: &str,
    password: &str,
    address: &str,
    database: &str,
) -> String {
    format!(
        "{}://{}:{}@{address}/{database}",
        kind.as_str(),
        percent_encode(username),
        percent_encode(password)
    )
}

/// Percent-encodes everything but RFC 3986's unreserved characters, so the value is
/// safe in any URL component.
pub fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// `<base>/v1/organizations/<org>/databases/<db>`.
pub fn database_url(base_url: &str, organization: &str, database: &str) -> String {
    format!(
        "{base_url}/v1/organizations/{}/databases/{}",
        percent_encode(organization),
        percent_encode(database)
    )
}

/// `<database url>/branches/<branch>`.
pub fn branch_url(base_url: &str, organization: &str, database: &str, branch: &str) -> String {
    format!(
        "{}/branches/{}",
        database_url(base_url, organization, database),
        percent_encode(branch)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_urls_encode_credentials() {
        assert_eq!(
            connection_url(
                DatabaseKind::Mysql,
                "dbu_abc",
                "pscale_pw_a/b:c@d",
                "127.0.0.1:3306",
                "dbp_xyz"
            ),
            "mysql://dbu_abc:pscale_pw_a%2Fb%3Ac%40d@127.0.0.1:3306/dbp_xyz"
        );
        assert_eq!(
            connection_url(
                DatabaseKind::Postgresql,
                "us er",
                "p%w",
                "db.local:5432",
                "dbp_1"
            ),
            "postgresql://us%20er:p%25w@db.local:5432/dbp_1"
        );
    }

    #[test]
    fn unreserved_characters_stay() {
        assert_eq!(percent_encode("aZ09-._~"), "aZ09-._~");
        assert_eq!(percent_encode("é"), "%C3%A9");
    }
}
