//! Requests sesame itself makes to apps: one HTTP/1.1 POST of a form, over plain TCP (an app on
//! this machine or, when its operator allowed it, the LAN) or rustls on the ring provider
//! (https, checked against the Mozilla roots lettre already carries). Used by back-channel
//! logout (`oidc::backchannel`).
//!
//! Deliberately small: one request per connection (`Connection: close`), no redirects followed
//! (a redirect is an answer like any other status: a logout token must not be forwarded
//! where the app did not register), no body read beyond the status line, the whole exchange
//! under one deadline. A full client (hyper-util's legacy client, connection pools) would add
//! more to the binary than this does.

use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Why a POST got no status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostError {
    /// The URL is not an absolute http or https URL with a host.
    BadUrl(String),
    /// The TCP connection failed.
    Connect(String),
    /// The TLS handshake failed (certificate, protocol).
    Tls(String),
    /// Writing the request or reading the answer failed.
    Io(String),
    /// The answer's first line is not an HTTP/1.x status line.
    NotHttp,
    /// The exchange did not end within its deadline.
    Timeout,
}

impl std::fmt::Display for PostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PostError::BadUrl(r) => write!(f, "bad URL: {r}"),
            PostError::Connect(r) => write!(f, "could not connect: {r}"),
            PostError::Tls(r) => write!(f, "TLS failed: {r}"),
            PostError::Io(r) => write!(f, "connection failed: {r}"),
            PostError::NotHttp => write!(f, "the answer is not HTTP"),
            PostError::Timeout => write!(f, "timed out"),
        }
    }
}

impl std::error::Error for PostError {}

/// The TLS settings of every https POST: the Mozilla roots, ring, TLS 1.2 and 1.3. Fails only
/// if the ring provider lacks the default protocol versions (it has them).
pub fn tls_config() -> Result<Arc<rustls::ClientConfig>, rustls::Error> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// POSTs `body` as `application/x-www-form-urlencoded` to `url`; returns the answer's status,
/// or why there is none, within `timeout`. `tls` is needed for https only.
pub async fn post_form(
    url: &url::Url,
    body: &str,
    timeout: Duration,
    tls: Option<&Arc<rustls::ClientConfig>>,
) -> Result<u16, PostError> {
    match tokio::time::timeout(timeout, post(url, body, tls)).await {
        Ok(answer) => answer,
        Err(_) => Err(PostError::Timeout),
    }
}

async fn post(
    url: &url::Url,
    body: &str,
    tls: Option<&Arc<rustls::ClientConfig>>,
) -> Result<u16, PostError> {
    let host = url
        .host_str()
        .ok_or_else(|| PostError::BadUrl("no host".into()))?;
    let port = url
        .port_or_known_default()
        .ok_or_else(|| PostError::BadUrl("no port".into()))?;
    // An IPv6 literal comes bracketed from the URL; connect wants it bare.
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let tcp = TcpStream::connect((bare, port))
        .await
        .map_err(|e| PostError::Connect(e.to_string()))?;
    let _ = tcp.set_nodelay(true);
    let request = request_bytes(url, body);
    match url.scheme() {
        "http" => exchange(tcp, &request).await,
        "https" => {
            let tls = tls.ok_or_else(|| PostError::Tls("no TLS settings".into()))?;
            let name = rustls::pki_types::ServerName::try_from(bare.to_string())
                .map_err(|e| PostError::BadUrl(e.to_string()))?;
            let stream = tokio_rustls::TlsConnector::from(tls.clone())
                .connect(name, tcp)
                .await
                .map_err(|e| PostError::Tls(e.to_string()))?;
            exchange(stream, &request).await
        }
        other => Err(PostError::BadUrl(format!("scheme {other}: is not http(s)"))),
    }
}

/// The request's bytes: the path and query of `url`, its host, the form body.
fn request_bytes(url: &url::Url, body: &str) -> Vec<u8> {
    let mut target = url.path().to_string();
    if let Some(q) = url.query() {
        target.push('?');
        target.push_str(q);
    }
    let host = match url.port() {
        Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_string(),
    };
    format!(
        "POST {target} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: sesame\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Writes the request and reads the status line (`HTTP/1.1 204 No Content`).
async fn exchange(
    mut stream: impl AsyncRead + AsyncWrite + Unpin,
    request: &[u8],
) -> Result<u16, PostError> {
    let io = |e: std::io::Error| PostError::Io(e.to_string());
    stream.write_all(request).await.map_err(io)?;
    stream.flush().await.map_err(io)?;
    // At most 512 bytes: an app cannot make sesame buffer an endless first line.
    let mut line = String::new();
    let mut reader = BufReader::new(stream.take(512));
    reader.read_line(&mut line).await.map_err(io)?;
    status_of(&line).ok_or(PostError::NotHttp)
}

/// The status code of an HTTP/1.x status line.
fn status_of(line: &str) -> Option<u16> {
    let mut parts = line.split(' ');
    let version = parts.next()?;
    if !version.starts_with("HTTP/1.") {
        return None;
    }
    let code = parts.next()?.trim();
    if code.len() != 3 {
        return None;
    }
    code.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_line_gives_its_code_and_anything_else_none() {
        assert_eq!(status_of("HTTP/1.1 204 No Content\r\n"), Some(204));
        assert_eq!(status_of("HTTP/1.0 503\r\n"), Some(503));
        assert_eq!(status_of("SSH-2.0-OpenSSH\r\n"), None);
        assert_eq!(status_of("HTTP/1.1 20\r\n"), None);
        assert_eq!(status_of(""), None);
    }

    #[test]
    fn the_request_names_the_path_query_and_host_and_closes() {
        let url = url::Url::parse("http://127.0.0.1:8080/logout?app=1").unwrap();
        let r = String::from_utf8(request_bytes(&url, "logout_token=x")).unwrap();
        assert!(r.starts_with("POST /logout?app=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"));
        assert!(r.contains("Content-Length: 14\r\n"));
        assert!(r.contains("Connection: close\r\n"));
        assert!(r.ends_with("\r\n\r\nlogout_token=x"));
    }

    #[tokio::test]
    async fn a_closed_port_is_a_connect_error_and_a_silent_server_a_timeout() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let silent = url::Url::parse(&format!("http://{addr}/bc")).unwrap();
        let got = post_form(&silent, "a=b", Duration::from_millis(200), None).await;
        assert_eq!(got, Err(PostError::Timeout));
        drop(listener);
        let got = post_form(&silent, "a=b", Duration::from_secs(5), None).await;
        assert!(matches!(got, Err(PostError::Connect(_))), "{got:?}");
    }
}
