//! Name rules for user-chosen names (semantics.md §0): organization and branch names
//! are lowercase alphanumerics and hyphens; database names also allow `_`.

/// Why a name was refused; the message names the rule.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("{field} must not be empty")]
    Empty { field: &'static str },
    #[error("{field} must be at most {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("{field} may contain only {allowed}")]
    InvalidCharacters {
        field: &'static str,
        allowed: &'static str,
    },
    #[error("{field} must start and end with a letter or digit")]
    BadEdge { field: &'static str },
}

const MAX_NAME_LENGTH: usize = 63;

fn validate(
    field: &'static str,
    name: &str,
    allowed: &'static str,
    extra: &[u8],
) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty { field });
    }
    if name.len() > MAX_NAME_LENGTH {
        return Err(NameError::TooLong {
            field,
            max: MAX_NAME_LENGTH,
        });
    }
    let valid = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || extra.contains(&b);
    if !name.bytes().all(valid) {
        return Err(NameError::InvalidCharacters { field, allowed });
    }
    let edge_ok = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = name.as_bytes();
    if !edge_ok(bytes[0]) || !edge_ok(bytes[bytes.len() - 1]) {
        return Err(NameError::BadEdge { field });
    }
    Ok(())
}

/// Organization names: lowercase letters, digits and hyphens.
pub fn validate_organization_name(name: &str) -> Result<(), NameError> {
    validate(
        "organization",
        name,
        "lowercase letters, digits and hyphens",
        b"-",
    )
}

/// Branch names: lowercase letters, digits and hyphens.
pub fn validate_branch_name(name: &str) -> Result<(), NameError> {
    validate("name", name, "lowercase letters, digits and hyphens", b"-")
}

/// Database names: lowercase letters, digits, underscores and hyphens.
pub fn validate_database_name(name: &str) -> Result<(), NameError> {
    validate(
        "name",
        name,
        "lowercase letters, digits, underscores and hyphens",
        b"-_",
    )
}

/// Free-text labels (token or password names): printable, bounded.
pub fn validate_label(field: &'static str, label: &str) -> Result<(), NameError> {
    if label.chars().count() > 255 {
        return Err(NameError::TooLong { field, max: 255 });
    }
    if label.chars().any(char::is_control) {
        return Err(NameError::InvalidCharacters {
            field,
            allowed: "printable characters",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_names() {
        assert!(validate_branch_name("add-index-2").is_ok());
        assert!(matches!(
            validate_branch_name(""),
            Err(NameError::Empty { .. })
        ));
        assert!(matches!(
            validate_branch_name("Main"),
            Err(NameError::InvalidCharacters { .. })
        ));
        assert!(matches!(
            validate_branch_name("-x"),
            Err(NameError::BadEdge { .. })
        ));
        assert!(matches!(
            validate_branch_name(&"a".repeat(64)),
            Err(NameError::TooLong { .. })
        ));
        assert!(validate_database_name("my_db").is_ok());
        assert!(validate_branch_name("my_db").is_err());
    }
}
