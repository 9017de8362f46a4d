//! Client authentication at the token and revocation endpoints (RFC 6749 §2.3):
//! `client_secret_basic`, `client_secret_post`, and `none` for public clients.

use super::error::OAuthError;
use super::params::Params;
use crate::crypto;
use crate::provider::Provider;
use crate::store::{App, Reads};
use base64::Engine;

/// The credentials a client presented, before they are checked.
#[derive(Debug)]
pub struct ClientCredentials {
    pub client_id: String,
    pub secret: Option<String>,
    /// HTTP Basic was used: a failure answers 401 with `WWW-Authenticate` (RFC 6749 §5.2).
    pub basic: bool,
}

impl ClientCredentials {
    /// Reads the credentials from the `Authorization` header or the form. Using two methods at
    /// once is an error (RFC 6749 §2.3).
    pub fn from_request(authorization: Option<&str>, params: &Params) -> Result<Self, OAuthError> {
        let one = |name: &str| {
            params
                .get(name)
                .map_err(|e| OAuthError::invalid_request(e.to_string()))
        };
        let body_id = one("client_id")?;
        let body_secret = one("client_secret")?;
        if let Some(h) = authorization {
            let Some(b64) = super::params::credentials(h, "Basic") else {
                return Err(OAuthError::invalid_client(
                    "the Authorization header must use the Basic scheme for client authentication",
                ));
            };
            if body_secret.is_some() {
                return Err(OAuthError::invalid_request(
                    "the client authenticated twice (Basic header and client_secret); use one method",
                ));
            }
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| basic_error("the Basic credentials are not valid base64"))?;
            let (id, secret) = decoded.split_once(':').ok_or_else(|| {
                basic_error("the Basic credentials lack the ':' between ID and secret")
            })?;
            // RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
            let id = form_decode(id);
            let secret = form_decode(secret);
            if let Some(b) = body_id {
                if b != id {
                    return Err(basic_error(
                        "client_id in the body differs from the Basic credentials",
                    ));
                }
            }
            return Ok(ClientCredentials {
                client_id: id,
                secret: Some(secret),
                basic: true,
            });
        }
        let client_id = body_id.ok_or_else(|| {
            OAuthError::invalid_client(
                "no client authentication: send client_id (and a secret for confidential apps)",
            )
        })?;
        Ok(ClientCredentials {
            client_id: client_id.to_string(),
            secret: body_secret.map(str::to_string),
            basic: false,
        })
    }

    /// Checks the credentials against the registered app.
    pub fn authenticate(&self, p: &Provider) -> Result<App, OAuthError> {
        let app = p
            .store
            .read(|tx| tx.app(&self.client_id))?
            .ok_or_else(|| OAuthError::invalid_client("unknown client"))?;
        match (&app.secret_hash, &self.secret) {
            (Some(expected), Some(given)) => {
                let given = crypto::hash_token(given);
                if crypto::constant_time_eq(expected.as_bytes(), given.as_bytes()) {
                    Ok(app)
                } else {
                    Err(OAuthError::invalid_client("client authentication failed: wrong client secret"))
                }
            }
            (Some(_), None) => Err(OAuthError::invalid_client(
                "this app is confidential: authenticate with its client secret (client_secret_basic or client_secret_post)",
            )),
            (None, None) => Ok(app),
            // `sesame dev`: an app registered on first use takes any secret (crate::apps::dev).
            (None, Some(_)) if p.dev.as_ref().is_some_and(|d| d.accepts_any_secret(&app)) => {
                Ok(app)
            }
            (None, Some(_)) => Err(OAuthError::invalid_client(
                "this app is public and has no secret: send only client_id (with PKCE)",
            )),
        }
    }
}

fn basic_error(msg: &str) -> OAuthError {
    OAuthError::invalid_client(msg)
}

fn form_decode(s: &str) -> String {
    form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(form: &str) -> Params {
        Params::parse(form.as_bytes())
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let b64 = base64::engine::general_purpose::STANDARD.encode("my%20id:s%2Bcret");
        let c =
            ClientCredentials::from_request(Some(&format!("Basic {b64}")), &params("")).unwrap();
        assert_eq!(c.client_id, "my id");
        assert_eq!(c.secret.as_deref(), Some("s+cret"));
        assert!(c.basic);
    }

    #[test]
    fn only_a_dev_provider_takes_any_secret_and_only_from_apps_without_one() {
        use crate::provider::testing::{provider, CLIENT, PUBLIC_CLIENT, SECRET};
        let (_d, p) = provider();
        let creds = |id: &str, secret: &str| ClientCredentials {
            client_id: id.into(),
            secret: Some(secret.into()),
            basic: true,
        };
        assert!(creds(PUBLIC_CLIENT, "anything").authenticate(&p).is_err());
        assert!(creds("unknown", "anything").authenticate(&p).is_err());
        let dev = crate::apps::dev::DevMode::on_loopback("[::1]:9000".parse().unwrap());
        let p = p.with_dev_mode(dev.unwrap());
        assert!(creds(PUBLIC_CLIENT, "anything").authenticate(&p).is_ok());
        assert!(creds(CLIENT, SECRET).authenticate(&p).is_ok());
        assert!(
            creds(CLIENT, "wrong").authenticate(&p).is_err(),
            "a registered secret is still checked"
        );
        assert!(creds("unknown", "anything").authenticate(&p).is_err());
    }

    #[test]
    fn two_methods_at_once_are_refused() {
        let b64 = base64::engine::general_purpose::STANDARD.encode("id:secret");
        let e = ClientCredentials::from_request(
            Some(&format!("Basic {b64}")),
            &params("client_secret=x"),
        );
        assert!(e.is_err());
        let e = ClientCredentials::from_request(None, &params("grant_type=x"));
        assert_eq!(
            e.unwrap_err().code,
            super::super::error::ErrorCode::InvalidClient
        );
    }
}
