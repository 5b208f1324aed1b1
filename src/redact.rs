//! Secrets out of everything routeflow prints or stores: manifests, summaries, logs.
//!
//! Two shapes carry secrets in routeflow's configuration: URLs (`s3://key:secret@bucket`, a SAS token in
//! `?sig=...`) and ADO.NET connection strings (`Server=...;Password=...`). Both keep their structure,
//! with the secret replaced, so an auditor still sees where data came from.

use url::Url;

/// What replaces a secret.
pub const REDACTED: &str = "***";

/// Keys whose values are secrets, in URLs' query strings and in connection strings (lowercase).
const SECRET_KEYS: &[&str] = &[
    "password",
    "pwd",
    "sig",
    "signature",
    "token",
    "secret",
    "access_key",
    "secret_access_key",
    "sas_token",
    "client_secret",
    "accountkey",
];

fn is_secret_key(key: &str) -> bool {
    let key = key.trim().to_ascii_lowercase().replace([' ', '-'], "_");
    SECRET_KEYS.contains(&key.as_str())
}

/// `text` with every secret it holds replaced by [`REDACTED`].
pub fn redact(text: &str) -> String {
    if text.contains("://")
        && let Ok(mut url) = Url::parse(text)
    {
        if url.password().is_some() {
            let _ = url.set_password(Some(REDACTED));
        }
        if url.query().is_some() {
            let pairs: Vec<(String, String)> = url
                .query_pairs()
                .map(|(k, v)| {
                    let v = if is_secret_key(&k) {
                        REDACTED.to_string()
                    } else {
                        v.into_owned()
                    };
                    (k.into_owned(), v)
                })
                .collect();
            url.query_pairs_mut().clear().extend_pairs(pairs);
        }
        return url.to_string();
    }
    if !text.contains('=') {
        return text.to_string();
    }
    redact_connection_string(text)
}

/// A connection string: `key=value` pairs separated by `;`, where a value may be quoted (`'a;b'`,
/// `"a;b"`, a quote doubled inside) or braced (`{a;b}`), so a `;` inside a password does not end it.
fn redact_connection_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let Some(eq) = rest.find('=') else {
            out.push_str(rest);
            break;
        };
        if let Some(semi) = rest[..eq].find(';') {
            // A part without `=`: keep it as it is.
            out.push_str(&rest[..=semi]);
            rest = &rest[semi + 1..];
            continue;
        }
        let key = &rest[..eq];
        let after = &rest[eq + 1..];
        let (value, tail) = after.split_at(value_len(after));
        out.push_str(key);
        out.push('=');
        out.push_str(if is_secret_key(key) { REDACTED } else { value });
        rest = tail;
        if let Some(next) = rest.strip_prefix(';') {
            out.push(';');
            rest = next;
        }
    }
    out
}

/// Length of the value at the start of `s`, up to the `;` that ends it.
fn value_len(s: &str) -> usize {
    let trimmed = s.trim_start();
    let lead = s.len() - trimmed.len();
    let bytes = trimmed.as_bytes();
    let close = match bytes.first() {
        Some(b'\'') => Some(b'\''),
        Some(b'"') => Some(b'"'),
        Some(b'{') => Some(b'}'),
        _ => None,
    };
    let mut i = 0;
    if let Some(close) = close {
        i = 1;
        while i < bytes.len() {
            if bytes[i] == close {
                if bytes.get(i + 1) == Some(&close) {
                    i += 2;
                    continue;
                }
                i += 1;
                break;
            }
            i += 1;
        }
    }
    lead + trimmed[i..].find(';').map_or(trimmed.len(), |p| i + p)
}

/// Redacts every string inside a JSON value (a configuration rendered for a manifest).
pub fn redact_json(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) => *s = redact(s),
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_json),
        serde_json::Value::Object(map) => map.values_mut().for_each(redact_json),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_passwords_and_tokens_are_replaced() {
        assert_eq!(
            redact("s3://AKIA:hunter2@bucket/plans"),
            "s3://AKIA:***@bucket/plans"
        );
        let sas = redact("az://account/container/dir?sv=2024&sig=abc%2Fdef&se=2026");
        assert!(sas.contains("sig=***") && sas.contains("sv=2024"), "{sas}");
        assert!(!sas.contains("abc"), "{sas}");
    }

    #[test]
    fn connection_string_passwords_are_replaced() {
        let s = "Server=tcp:db,1433;Database=Routes;User Id=etl;Password=p@ss w0rd;Encrypt=true";
        assert_eq!(
            redact(s),
            "Server=tcp:db,1433;Database=Routes;User Id=etl;Password=***;Encrypt=true"
        );
        assert_eq!(redact("server=x;PWD=secret"), "server=x;PWD=***");
        // Quoted and braced values may hold `;`: all of it is the secret.
        assert_eq!(
            redact("Server=x; pwd = 'a;''b' ;Database=d"),
            "Server=x; pwd =***;Database=d"
        );
        assert_eq!(redact("Password=\"p;q\";Encrypt=no"), "Password=***;Encrypt=no");
        assert_eq!(redact("Pwd={p;}}q};Uid=u"), "Pwd=***;Uid=u");
    }

    #[test]
    fn plain_values_are_kept() {
        for s in [
            "fixtures/small",
            "/var/out",
            "file:///tmp/x/",
            "memory://bucket/out",
            "D001",
        ] {
            assert_eq!(redact(s), s);
        }
    }

    #[test]
    fn json_strings_are_redacted_at_any_depth() {
        let mut v = serde_json::json!({"a": ["Server=x;Password=y"], "b": {"c": "s3://k:s@b/p"}, "n": 3});
        redact_json(&mut v);
        assert_eq!(
            v,
            serde_json::json!({"a": ["Server=x;Password=***"], "b": {"c": "s3://k:***@b/p"}, "n": 3})
        );
    }
}
