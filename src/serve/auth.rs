//! Who may query: users with Argon2id password hashes (from the config file), a basic-auth handshake
//! that returns a bearer token, and the token on every later call. Plain passwords never appear in
//! configuration: `routeflow hash-password` makes the hash.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ring::rand::{SecureRandom, SystemRandom};
use tonic::Status;

/// How long a bearer token stays valid: a working day, after which the client logs in again.
pub const TOKEN_TTL: Duration = Duration::from_secs(12 * 3600);

/// The user name queries run as when authentication is off (`--no-auth`, loopback only).
pub const ANONYMOUS: &str = "anonymous";

/// Users and their password hashes, from `--user NAME:HASH` (one per user, normally in the config file).
#[derive(Debug, Clone, Default)]
pub struct Users(HashMap<String, String>);

impl Users {
    /// Parses `NAME:PHC_HASH` entries; refuses anything that is not an Argon2 hash, so a plain
    /// password given by mistake is never accepted as one.
    pub fn parse(entries: &[String]) -> datafusion::error::Result<Self> {
        let mut users = HashMap::new();
        for entry in entries {
            let (name, hash) = entry
                .split_once(':')
                .filter(|(n, _)| !n.is_empty())
                .ok_or_else(|| {
                    crate::error::bad_input(
                        "--user takes NAME:HASH (make the hash with `routeflow hash-password`)",
                    )
                })?;
            let parsed = PasswordHash::new(hash)
                .ok()
                .filter(|h| h.algorithm.as_str().starts_with("argon2"));
            if parsed.is_none() {
                return Err(crate::error::bad_input(format!(
                    "--user {name}: the value after ':' is not an Argon2 password hash; \
                     make one with `routeflow hash-password` (never put a plain password in the configuration)"
                )));
            }
            if users.insert(name.to_string(), hash.to_string()).is_some() {
                return Err(crate::error::bad_input(format!("--user {name} is given twice")));
            }
        }
        Ok(Self(users))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `password` is `user`'s. Unknown users cost the same hash work, so timing does not
    /// tell which user names exist.
    fn verify(&self, user: &str, password: &str) -> bool {
        const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$mOvsLhyqEk3sCY+9hEu0+q4oMdqEV7M6RGw7ktwHqSk";
        let hash = self.0.get(user).map(String::as_str).unwrap_or(DUMMY);
        let ok = PasswordHash::new(hash)
            .map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
            .unwrap_or(false);
        ok && self.0.contains_key(user)
    }
}

/// An Argon2id hash (PHC string) of `password` with a fresh random salt.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    SystemRandom::new()
        .fill(&mut salt)
        .map_err(|_| anyhow::anyhow!("the system random number generator failed"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing: {e}"))?
        .to_string())
}

/// Who may connect, and the tokens handed out.
#[derive(Debug)]
pub enum Auth {
    /// `--no-auth`: everyone is [`ANONYMOUS`].
    Disabled,
    Users {
        users: Users,
        tokens: Mutex<HashMap<String, (String, Instant)>>,
    },
}

impl Auth {
    pub fn users(users: Users) -> Arc<Self> {
        Arc::new(Self::Users {
            users,
            tokens: Mutex::new(HashMap::new()),
        })
    }

    /// The handshake: checks `Basic` credentials and returns the user and a new bearer token.
    pub async fn login(self: &Arc<Self>, authorization: Option<&str>) -> Result<(String, String), Status> {
        match self.as_ref() {
            Auth::Disabled => Ok((ANONYMOUS.to_string(), String::new())),
            Auth::Users { tokens, .. } => {
                let user = self.check_basic(authorization).await?;
                let token = new_token()?;
                let mut tokens = tokens.lock().unwrap_or_else(|e| e.into_inner());
                let now = Instant::now();
                tokens.retain(|_, (_, expiry)| *expiry > now);
                tokens.insert(token.clone(), (user.clone(), now + TOKEN_TTL));
                Ok((user, token))
            }
        }
    }

    /// The user behind a call: its bearer token, or basic credentials sent with the call itself.
    pub async fn user(self: &Arc<Self>, authorization: Option<&str>) -> Result<String, Status> {
        let Auth::Users { tokens, .. } = self.as_ref() else {
            return Ok(ANONYMOUS.to_string());
        };
        match authorization {
            Some(h) if h.starts_with("Bearer ") => {
                let token = &h["Bearer ".len()..];
                let tokens = tokens.lock().unwrap_or_else(|e| e.into_inner());
                match tokens.get(token) {
                    Some((user, expiry)) if *expiry > Instant::now() => Ok(user.clone()),
                    Some(_) => Err(Status::unauthenticated("the token has expired: log in again")),
                    None => Err(Status::unauthenticated("unknown token: log in again")),
                }
            }
            Some(h) if h.starts_with("Basic ") => self.check_basic(authorization).await,
            _ => Err(Status::unauthenticated(
                "log in first: user and password (basic auth handshake)",
            )),
        }
    }

    /// Checks `Basic base64(user:password)`; the hash work runs off the async threads.
    async fn check_basic(self: &Arc<Self>, authorization: Option<&str>) -> Result<String, Status> {
        let (user, password) = parse_basic(authorization)?;
        let auth = Arc::clone(self);
        let name = user.clone();
        let ok = tokio::task::spawn_blocking(move || match auth.as_ref() {
            Auth::Users { users, .. } => users.verify(&name, &password),
            Auth::Disabled => true,
        })
        .await
        .map_err(|e| Status::internal(format!("password check failed: {e}")))?;
        if ok {
            Ok(user)
        } else {
            tracing::warn!(target: "routeflow::serve", user = %user, "login refused: wrong user or password");
            Err(Status::unauthenticated("wrong user or password"))
        }
    }
}

fn parse_basic(authorization: Option<&str>) -> Result<(String, String), Status> {
    let encoded = authorization
        .and_then(|h| h.strip_prefix("Basic "))
        .ok_or_else(|| Status::unauthenticated("log in with a user and password (basic auth)"))?;
    let decoded = BASE64
        .decode(encoded.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| Status::unauthenticated("malformed basic credentials"))?;
    let (user, password) = decoded
        .split_once(':')
        .ok_or_else(|| Status::unauthenticated("malformed basic credentials"))?;
    Ok((user.to_string(), password.to_string()))
}

/// 32 random bytes, hex: unguessable, and safe in a header.
fn new_token() -> Result<String, Status> {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| Status::internal("the system random number generator failed"))?;
    Ok(crate::snapshot::manifest::hex(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user: &str, password: &str) -> String {
        format!("Basic {}", BASE64.encode(format!("{user}:{password}")))
    }

    #[tokio::test]
    async fn a_hashed_password_logs_in_and_its_token_names_the_user() {
        let hash = hash_password("s3cret: with colon").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        let auth = Auth::users(Users::parse(&[format!("ana:{hash}")]).unwrap());
        let (user, token) = auth
            .login(Some(&basic("ana", "s3cret: with colon")))
            .await
            .unwrap();
        assert_eq!(user, "ana");
        assert_eq!(auth.user(Some(&format!("Bearer {token}"))).await.unwrap(), "ana");
        assert!(auth.login(Some(&basic("ana", "wrong"))).await.is_err());
        assert!(
            auth.login(Some(&basic("bob", "s3cret: with colon")))
                .await
                .is_err()
        );
        assert!(auth.user(Some("Bearer 00")).await.is_err());
        assert!(auth.user(None).await.is_err());
    }

    #[test]
    fn a_plain_password_is_not_accepted_as_a_hash() {
        let err = Users::parse(&["ana:hunter2".to_string()]).unwrap_err();
        assert!(err.to_string().contains("not an Argon2 password hash"), "{err}");
        assert!(Users::parse(&["nocolon".to_string()]).is_err());
    }
}
