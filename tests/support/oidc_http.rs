//! Lets the `openidconnect` crate (built without reqwest) talk HTTP through hyper-util's client.
//!
//! `openidconnect` 4 (through `oauth2` 5) accepts any `&impl AsyncHttpClient<'c>`: a thing that
//! turns an `http::Request<Vec<u8>>` into a future of `http::Response<Vec<u8>>`. [`OidcHttp`]
//! is that thing. It keeps no cookies: a relying party's back channel (discovery, JWKS, token,
//! userinfo, revocation) has none.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use openidconnect::{AsyncHttpClient, HttpRequest, HttpResponse};

/// The back channel must answer; a hung request fails the test instead of hanging it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// An `openidconnect` HTTP client over hyper-util (HTTP/1.1, plain `http://` only).
#[derive(Clone)]
pub struct OidcHttp {
    inner: Client<HttpConnector, Full<Bytes>>,
}

/// Why a back-channel request failed (transport only: HTTP error statuses are responses).
#[derive(Debug)]
pub struct OidcHttpError(pub String);

impl OidcHttp {
    pub fn new() -> OidcHttp {
        // No pooled connections, for the same reason as the browser-side client: tests restart
        // sesame on the same port.
        let inner = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .build_http();
        OidcHttp { inner }
    }

    async fn execute(&self, request: HttpRequest) -> Result<HttpResponse, OidcHttpError> {
        let (parts, body) = request.into_parts();
        let description = format!("{} {}", parts.method, parts.uri);
        let request = hyper::Request::from_parts(parts, Full::new(Bytes::from(body)));
        let exchange = async {
            let response = self
                .inner
                .request(request)
                .await
                .map_err(|e| OidcHttpError(format!("{description}: {e:?}")))?;
            let (parts, body) = response.into_parts();
            let bytes = body
                .collect()
                .await
                .map_err(|e| OidcHttpError(format!("{description}: reading body: {e}")))?
                .to_bytes();
            Ok(hyper::Response::from_parts(parts, bytes.to_vec()))
        };
        tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| {
                OidcHttpError(format!(
                    "{description}: no answer within {REQUEST_TIMEOUT:?}"
                ))
            })?
    }
}

impl Default for OidcHttp {
    fn default() -> Self {
        OidcHttp::new()
    }
}

impl<'c> AsyncHttpClient<'c> for OidcHttp {
    type Error = OidcHttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, OidcHttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.execute(request))
    }
}

impl std::fmt::Display for OidcHttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for OidcHttpError {}
