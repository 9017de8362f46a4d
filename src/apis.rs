//! The API registry: the resource servers (a home API, a NAS's REST interface) that sesame
//! issues JWT access tokens for (RFC 9068), named by their resource indicator (RFC 8707).
//!
//! An API has an indicator (an absolute `https://` or `http://` URI without a fragment, kept
//! exactly as written: a request's `resource=` must match it byte for byte, as the token's
//! `aud` will), a display name, the scopes it defines, the algorithm its tokens are signed
//! with (ES256 unless set: the fastest of sesame's keys to sign and to verify) and its access
//! tokens' lifetime (10 minutes unless set: a JWT cannot be revoked, so it lives briefly).
//!
//! Who gets which scope is not the API's business: a group's `api_scopes` grants scopes to its
//! members, a machine app's `api_scopes` to the app (`oidc::resource` reads both). Scopes
//! granted there that the API does not define are never issued.
//!
//! APIs come from the CLI, the control socket, the management API and the console (`api.*`
//! commands), or from `[[api]]` in `sesame.toml` (declared: reconciled at every start, not
//! editable elsewhere), like apps.

use crate::alg::Alg;
use crate::store::{ApiResource, ApiScope, Store, StoreError, WriteTx, APIS};
use serde::{Deserialize, Serialize};

/// An access token's lifetime when the API does not set one: 10 minutes.
pub const DEFAULT_ACCESS_TOKEN_TTL: u64 = 600;
/// The longest lifetime an API's access tokens may have: one day.
pub const MAX_ACCESS_TOKEN_TTL: u64 = 86_400;

/// What `api.create` asks for, and an `[[api]]` declaration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewApi {
    /// The resource indicator (`https://api.home/`).
    pub indicator: String,
    pub name: String,
    #[serde(default)]
    pub scopes: Vec<ApiScope>,
    /// ES256 unless given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<Alg>,
    /// Seconds; [`DEFAULT_ACCESS_TOKEN_TTL`] unless given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_ttl: Option<u64>,
}

/// What `api.update` changes; `None` leaves a field as it is. Given scopes replace the list.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<ApiScope>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<Alg>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_ttl: Option<u64>,
}

impl ApiUpdate {
    /// True when the update would leave the API as it is.
    pub fn changes_nothing(&self) -> bool {
        self.name.is_none()
            && self.scopes.is_none()
            && self.alg.is_none()
            && self.access_token_ttl.is_none()
    }
}

/// Why an API registry operation failed.
#[derive(Debug)]
pub enum ApiError {
    /// No API has this indicator.
    NotFound(String),
    /// An API with this indicator exists already.
    Duplicate(String),
    /// The API is declared in `sesame.toml`; it may not be changed or deleted elsewhere.
    Declared(String),
    /// The indicator is not an absolute http(s) URI without a fragment.
    InvalidIndicator { indicator: String, reason: String },
    /// The display name is empty.
    EmptyName,
    /// A scope name is empty, has a space or a quote, or is repeated.
    InvalidScope(String),
    /// The lifetime is 0 or above [`MAX_ACCESS_TOKEN_TTL`].
    InvalidLifetime(u64),
    /// The store failed.
    Store(StoreError),
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::NotFound(i) => write!(f, "no API {i:?} (sesame api list shows them)"),
            ApiError::Duplicate(i) => write!(f, "an API {i:?} exists already"),
            ApiError::Declared(i) => write!(
                f,
                "API {i:?} is declared in sesame.toml; edit it there (it is reconciled at every start)"
            ),
            ApiError::InvalidIndicator { indicator, reason } => {
                write!(f, "resource indicator {indicator:?} {reason}")
            }
            ApiError::EmptyName => write!(f, "the API name must not be empty"),
            ApiError::InvalidScope(s) => write!(
                f,
                "scope {s:?} is not usable: a scope is a non-empty name without spaces, quotes or \
                 backslashes, listed once"
            ),
            ApiError::InvalidLifetime(t) => write!(
                f,
                "access_token_ttl {t} is out of range: 1 to {MAX_ACCESS_TOKEN_TTL} seconds"
            ),
            ApiError::Store(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ApiError {}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::Store(e)
    }
}

/// Registers an API inside the caller's write transaction (the audit entry commits with it).
pub fn create_in(tx: &WriteTx, now: u64, new: NewApi) -> Result<ApiResource, ApiError> {
    let api = checked(new, false, now)?;
    if tx.get(&APIS, &api.indicator)?.is_some() {
        return Err(ApiError::Duplicate(api.indicator));
    }
    tx.put(&APIS, &api.indicator, &api)?;
    Ok(api)
}

/// Every API, by indicator.
pub fn list(store: &Store) -> Result<Vec<ApiResource>, ApiError> {
    Ok(store
        .read(|tx| tx.scan(&APIS))?
        .into_iter()
        .map(|(_, a)| a)
        .collect())
}

/// One API by indicator.
pub fn get(store: &Store, indicator: &str) -> Result<ApiResource, ApiError> {
    store
        .read(|tx| tx.get(&APIS, indicator))?
        .ok_or_else(|| ApiError::NotFound(indicator.to_string()))
}

/// How long a retired signing key must stay in JWKS: `id_token_ttl`, or the longest lifetime of
/// a registered API's access tokens if that is longer (they are signed by the same keys).
pub fn key_lifetime(store: &Store, id_token_ttl: u64) -> Result<u64, StoreError> {
    let apis = store.read(|tx| tx.scan(&APIS))?;
    Ok(apis
        .iter()
        .map(|(_, a)| a.access_token_ttl)
        .fold(id_token_ttl, u64::max))
}

/// Changes an API inside the caller's write transaction.
pub fn update_in(
    tx: &WriteTx,
    now: u64,
    indicator: &str,
    change: ApiUpdate,
) -> Result<ApiResource, ApiError> {
    let mut api = editable(tx.get(&APIS, indicator)?, indicator)?;
    if let Some(name) = change.name {
        api.name = check_name(&name)?;
    }
    if let Some(scopes) = change.scopes {
        api.scopes = check_scopes(scopes)?;
    }
    if let Some(alg) = change.alg {
        api.alg = alg;
    }
    if let Some(ttl) = change.access_token_ttl {
        api.access_token_ttl = check_ttl(ttl)?;
    }
    api.updated_at = now;
    tx.put(&APIS, &api.indicator, &api)?;
    Ok(api)
}

/// Deletes an API inside the caller's write transaction. Tokens already issued for it stay
/// valid until they expire (they are JWTs: nothing is stored to revoke); none is issued again.
pub fn delete_in(tx: &WriteTx, indicator: &str) -> Result<ApiResource, ApiError> {
    let api = editable(tx.get(&APIS, indicator)?, indicator)?;
    tx.remove(&APIS, indicator)?;
    Ok(api)
}

/// Makes the registry match `[[api]]`, in one transaction: declared APIs are created or
/// replaced; APIs no longer declared are kept as ordinary ones. Returns the indicators
/// declared.
pub fn reconcile(store: &Store, now: u64, decls: &[NewApi]) -> Result<Vec<String>, ApiError> {
    let wanted = decls
        .iter()
        .map(|d| checked(d.clone(), true, now))
        .collect::<Result<Vec<_>, _>>()?;
    store.write(|tx| {
        for (indicator, mut api) in tx.scan(&APIS)? {
            if api.declared && !wanted.iter().any(|w| w.indicator == indicator) {
                api.declared = false;
                tx.put(&APIS, &indicator, &api)?;
            }
        }
        for api in &wanted {
            let mut api = api.clone();
            if let Some(old) = tx.get(&APIS, &api.indicator)? {
                api.created_at = old.created_at;
            }
            tx.put(&APIS, &api.indicator, &api)?;
        }
        Ok(wanted.iter().map(|a| a.indicator.clone()).collect())
    })
}

/// RFC 8707 §2: a resource indicator is an absolute URI without a fragment; sesame takes
/// `https://` and `http://` ones (an API at home may have no TLS).
pub fn check_indicator(indicator: &str) -> Result<(), String> {
    let url = url::Url::parse(indicator).map_err(|e| format!("is not an absolute URI ({e})"))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err("must start with https:// or http://".into());
    }
    if url.fragment().is_some() || indicator.contains('#') {
        return Err("must not have a fragment (RFC 8707 §2)".into());
    }
    if indicator
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err("must not contain spaces".into());
    }
    Ok(())
}

fn checked(new: NewApi, declared: bool, now: u64) -> Result<ApiResource, ApiError> {
    let indicator = new.indicator.trim().to_string();
    check_indicator(&indicator).map_err(|reason| ApiError::InvalidIndicator {
        indicator: indicator.clone(),
        reason,
    })?;
    Ok(ApiResource {
        indicator,
        name: check_name(&new.name)?,
        scopes: check_scopes(new.scopes)?,
        alg: new.alg.unwrap_or(Alg::Es256),
        access_token_ttl: check_ttl(new.access_token_ttl.unwrap_or(DEFAULT_ACCESS_TOKEN_TTL))?,
        declared,
        created_at: now,
        updated_at: now,
    })
}

fn editable(api: Option<ApiResource>, indicator: &str) -> Result<ApiResource, ApiError> {
    let api = api.ok_or_else(|| ApiError::NotFound(indicator.to_string()))?;
    if api.declared {
        return Err(ApiError::Declared(api.indicator));
    }
    Ok(api)
}

fn check_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ApiError::EmptyName);
    }
    Ok(name.to_string())
}

/// RFC 6749 §3.3: a scope token is printable ASCII except space, `"` and `\`.
fn check_scopes(scopes: Vec<ApiScope>) -> Result<Vec<ApiScope>, ApiError> {
    let mut seen: Vec<&str> = Vec::new();
    for s in &scopes {
        let ok = !s.name.is_empty()
            && s.name
                .bytes()
                .all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\');
        if !ok || seen.contains(&s.name.as_str()) {
            return Err(ApiError::InvalidScope(s.name.clone()));
        }
        seen.push(&s.name);
    }
    Ok(scopes)
}

fn check_ttl(ttl: u64) -> Result<u64, ApiError> {
    if ttl == 0 || ttl > MAX_ACCESS_TOKEN_TTL {
        return Err(ApiError::InvalidLifetime(ttl));
    }
    Ok(ttl)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(indicator: &str) -> NewApi {
        NewApi {
            indicator: indicator.into(),
            name: "Home API".into(),
            scopes: vec![ApiScope {
                name: "read".into(),
                description: "Read things".into(),
            }],
            alg: None,
            access_token_ttl: None,
        }
    }

    #[test]
    fn an_api_gets_es256_and_ten_minutes_unless_told() {
        let api = checked(new("https://api.home/"), false, 5).unwrap();
        assert_eq!(api.alg, Alg::Es256);
        assert_eq!(api.access_token_ttl, DEFAULT_ACCESS_TOKEN_TTL);
    }

    #[test]
    fn indicators_must_be_absolute_http_uris_without_fragment() {
        for bad in [
            "api.home",
            "/relative",
            "ftp://api.home/",
            "https://api.home/#x",
            "urn:x",
        ] {
            assert!(
                matches!(
                    checked(new(bad), false, 0),
                    Err(ApiError::InvalidIndicator { .. })
                ),
                "{bad}"
            );
        }
        assert!(checked(new("http://nas.lan:8080/api"), false, 0).is_ok());
    }

    #[test]
    fn scopes_are_tokens_listed_once_and_lifetimes_bounded() {
        let mut n = new("https://api.home/");
        n.scopes.push(n.scopes[0].clone());
        assert!(matches!(
            checked(n, false, 0),
            Err(ApiError::InvalidScope(_))
        ));
        let mut n = new("https://api.home/");
        n.scopes[0].name = "read all".into();
        assert!(matches!(
            checked(n, false, 0),
            Err(ApiError::InvalidScope(_))
        ));
        let mut n = new("https://api.home/");
        n.access_token_ttl = Some(0);
        assert!(matches!(
            checked(n, false, 0),
            Err(ApiError::InvalidLifetime(0))
        ));
    }

    #[test]
    fn declared_apis_are_reconciled_and_not_editable() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.redb")).unwrap();
        reconcile(&store, 1, &[new("https://api.home/")]).unwrap();
        let err = store
            .write(|tx| update_in(tx, 2, "https://api.home/", ApiUpdate::default()))
            .unwrap_err();
        assert!(matches!(err, ApiError::Declared(_)));
        reconcile(&store, 3, &[]).unwrap();
        let api = store
            .write(|tx| {
                update_in(
                    tx,
                    4,
                    "https://api.home/",
                    ApiUpdate {
                        name: Some("Renamed".into()),
                        ..ApiUpdate::default()
                    },
                )
            })
            .unwrap();
        assert_eq!((api.name.as_str(), api.created_at), ("Renamed", 1));
        store
            .write(|tx| delete_in(tx, "https://api.home/"))
            .unwrap();
        assert!(matches!(
            get(&store, "https://api.home/"),
            Err(ApiError::NotFound(_))
        ));
    }
}
