//! Where tables live: a local directory or an object-store URL, resolved to one `ObjectStore` and a
//! prefix inside it.
//!
//! Local paths and `file://` always work; `memory://` stores must be registered on the session first
//! (tests do); `s3://`, `gs://` and `az://` work when built with the `cloud` feature and are configured
//! from the usual environment variables of each cloud.

use std::sync::Arc;

use datafusion::error::Result;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::prelude::SessionContext;
use object_store::ObjectStore;
use object_store::path::Path;
use url::Url;

/// A resolved directory in an object store.
#[derive(Debug, Clone)]
pub struct Location {
    /// What the user gave, for messages.
    pub display: String,
    /// The store's root URL, e.g. `file://` or `s3://bucket`.
    pub store_url: ObjectStoreUrl,
    pub store: Arc<dyn ObjectStore>,
    /// The directory inside the store.
    pub prefix: Path,
}

impl Location {
    /// Resolves `dir_or_url` and registers its store on `ctx` so DataFusion can read it too.
    pub fn resolve(ctx: &SessionContext, dir_or_url: &str) -> Result<Self> {
        let url = to_url(dir_or_url)?;
        let store_url = ObjectStoreUrl::parse(&url[..url::Position::BeforePath])?;
        let prefix = Path::from_url_path(url.path())
            .map_err(|e| crate::error::bad_input(format!("bad path in {dir_or_url}: {e}")))?;
        let runtime = ctx.runtime_env();
        let store = match runtime.object_store(&store_url) {
            Ok(store) => store,
            Err(_) => {
                let (store, _) = object_store::parse_url(&url).map_err(|e| {
                    crate::error::bad_input(format!(
                        "cannot open {dir_or_url}: {e} (s3://, gs:// and az:// need a build with \
                         the `cloud` feature; memory:// stores must be registered by the caller)"
                    ))
                })?;
                let store: Arc<dyn ObjectStore> = Arc::from(store);
                runtime.register_object_store(store_url.as_ref(), Arc::clone(&store));
                store
            }
        };
        Ok(Self {
            display: dir_or_url.to_string(),
            store_url,
            store,
            prefix,
        })
    }

    /// The path of `name` directly under this location.
    pub fn child(&self, name: &str) -> Path {
        self.prefix.clone().join(name)
    }

    /// The directory `name` under this location, as a location of its own.
    pub fn subdir(&self, name: &str) -> Location {
        Location {
            display: format!("{}/{name}", self.display.trim_end_matches('/')),
            store_url: self.store_url.clone(),
            store: Arc::clone(&self.store),
            prefix: self.child(name),
        }
    }

    /// The URL of `path` (a path in this location's store) as DataFusion's listing tables take it.
    pub fn url_of(&self, path: &Path) -> String {
        format!("{}{path}/", self.store_url.as_str())
    }
}

/// Turns a local path (relative or absolute) or a URL into a URL that names a directory.
fn to_url(dir_or_url: &str) -> Result<Url> {
    let has_scheme = dir_or_url
        .split_once("://")
        .is_some_and(|(scheme, _)| !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphanumeric()));
    if has_scheme {
        return Url::parse(dir_or_url)
            .map_err(|e| crate::error::bad_input(format!("bad URL {dir_or_url}: {e}")));
    }
    let path = std::path::absolute(dir_or_url)
        .map_err(|e| crate::error::bad_input(format!("bad path {dir_or_url}: {e}")))?;
    Url::from_directory_path(&path).map_err(|_| crate::error::bad_input(format!("bad path {dir_or_url}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_become_file_urls() {
        let url = to_url("/tmp/some dir").unwrap();
        assert_eq!(url.scheme(), "file");
        assert!(url.path().ends_with("/tmp/some%20dir/"));
        let rel = to_url("fixtures/small").unwrap();
        assert!(rel.path().ends_with("fixtures/small/"));
    }

    #[test]
    fn urls_are_kept() {
        assert_eq!(to_url("memory://bucket/x").unwrap().as_str(), "memory://bucket/x");
        assert_eq!(to_url("s3://b/p").unwrap().scheme(), "s3");
    }
}
