//! A new client secret, shown once: the create form's answer is a redirect (Post/Redirect/Get),
//! so the secret waits here, in memory, for the app page that follows. It is keyed by the
//! session that created the app (a hash of its cookie) and the client ID, taken (removed) by
//! the first page that shows it, and forgotten after [`REVEAL_TTL`] if that page never comes.
//! At most [`MAX_WAITING`] wait: a full table drops the oldest. A restart forgets them all (the
//! admin rotates the secret then).

use std::collections::HashMap;
use std::sync::Mutex;

/// How long a secret waits for its page, in seconds.
pub const REVEAL_TTL: u64 = 300;
/// How many secrets may wait at once.
pub const MAX_WAITING: usize = 64;

/// Secrets waiting to be shown, each once.
#[derive(Debug, Default)]
pub struct Reveals {
    waiting: Mutex<HashMap<String, (String, u64)>>,
}

fn key(session_cookie: &str, client_id: &str) -> String {
    format!("{}\0{client_id}", crate::crypto::hash_token(session_cookie))
}

impl Reveals {
    /// Keeps `secret` of `client_id` for the session `session_cookie` until `now + REVEAL_TTL`.
    pub fn put(&self, session_cookie: &str, client_id: &str, secret: String, now: u64) {
        let mut waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        waiting.retain(|_, (_, until)| *until > now);
        if waiting.len() >= MAX_WAITING {
            let oldest = waiting
                .iter()
                .min_by_key(|(_, (_, until))| *until)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                waiting.remove(&k);
            }
        }
        waiting.insert(key(session_cookie, client_id), (secret, now + REVEAL_TTL));
    }

    /// The secret waiting for this session and app, removed: a second call gets `None`.
    pub fn take(&self, session_cookie: &str, client_id: &str, now: u64) -> Option<String> {
        let mut waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        match waiting.remove(&key(session_cookie, client_id)) {
            Some((secret, until)) if until > now => Some(secret),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_taken_once_by_its_session_only_and_not_after_its_time() {
        let r = Reveals::default();
        r.put("cookie-a", "app1", "s3cret".into(), 100);
        assert_eq!(r.take("cookie-b", "app1", 101), None, "another session");
        assert_eq!(r.take("cookie-a", "app2", 101), None, "another app");
        assert_eq!(r.take("cookie-a", "app1", 101).as_deref(), Some("s3cret"));
        assert_eq!(r.take("cookie-a", "app1", 102), None, "once");
        r.put("cookie-a", "app1", "late".into(), 100);
        assert_eq!(
            r.take("cookie-a", "app1", 100 + REVEAL_TTL),
            None,
            "expired"
        );
    }

    #[test]
    fn a_full_table_drops_the_oldest() {
        let r = Reveals::default();
        for i in 0..=MAX_WAITING as u64 {
            r.put("c", &format!("app{i}"), format!("s{i}"), 1000 + i);
        }
        assert_eq!(r.take("c", "app0", 1100), None);
        assert!(r.take("c", &format!("app{MAX_WAITING}"), 1100).is_some());
    }
}
