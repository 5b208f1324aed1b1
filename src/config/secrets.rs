//! Hiding secrets in the values `routeflow config show` prints.

/// Words of an option name (split at `-` and `_`) whose values are always hidden by [`redact`].
const SENSITIVE_WORDS: [&str; 5] = ["password", "secret", "token", "connection", "key"];
/// Options that hold a whole connection string (but not `mssql-connect-timeout` and the like).
const CONNECTION_OPTIONS: [&str; 1] = ["mssql"];

/// Hides secrets in `value` for display.
///
/// Passwords inside URLs (`scheme://user:***@host`) and the password part of connection
/// strings (`Server=x;Password=***`) are replaced wherever they appear, keeping the rest
/// readable. Any other non-empty value of `mssql`, or of an option whose name has the word
/// `password`, `secret`, `token`, `connection` or `key`, is replaced as a whole.
pub fn redact(name: &str, value: &str) -> String {
    let masked = crate::redact::redact(value);
    if masked != value {
        return masked;
    }
    let name = name.to_ascii_lowercase();
    // `serve --user NAME:HASH`: the user name is worth seeing, the password hash is not.
    if name == "user"
        && let Some((user, _)) = value.split_once(':')
    {
        return format!("{user}:***");
    }
    let sensitive = CONNECTION_OPTIONS.contains(&name.as_str())
        || name.split(['-', '_']).any(|w| SENSITIVE_WORDS.contains(&w));
    if !value.is_empty() && sensitive {
        return "***".to_string();
    }
    value.to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_users_password_hash_is_hidden_but_not_the_user() {
        assert_eq!(
            super::redact("user", "ana:$argon2id$v=19$m=19456,t=2,p=1$abc$def"),
            "ana:***"
        );
    }
}
