//! The typed operations the core (`oidc`, `signin`, `audit`) performs on the store, inside a
//! transaction: get and put a grant, a session, a user, a code; append to and page through the
//! audit log; sweep what expired.
//!
//! The core speaks only these verbs. It never names a table, a key prefix or an encoding, so
//! another engine could back the same operations (implement [`Reads`] and [`Writes`] for its
//! transactions) without touching the protocol code. Keys that are secrets in the clear
//! (tokens, codes, cookie values) arrive here already hashed by the caller.

use super::*;

/// Reads, on a read snapshot or inside a write transaction (which sees its own writes).
pub trait Reads {
    /// The record at `key` in table `t` (the one primitive; the typed reads below use it).
    fn record<V: DeserializeOwned>(&self, t: &Table<V>, key: &str)
        -> Result<Option<V>, StoreError>;

    /// The registered app with this client ID.
    fn app(&self, client_id: &str) -> Result<Option<App>, StoreError> {
        self.record(&APPS, client_id)
    }
    /// The registered API with this resource indicator.
    fn api(&self, indicator: &str) -> Result<Option<ApiResource>, StoreError> {
        self.record(&APIS, indicator)
    }
    /// The user with this ID (`sub`).
    fn user(&self, user_id: &str) -> Result<Option<User>, StoreError> {
        self.record(&USERS, user_id)
    }
    /// The ID of the user with this lower-cased username.
    fn user_id_by_username(&self, username_key: &str) -> Result<Option<String>, StoreError> {
        self.record(&USERS_BY_USERNAME, username_key)
    }
    /// The group with this name.
    fn group(&self, name: &str) -> Result<Option<Group>, StoreError> {
        self.record(&GROUPS, name)
    }
    /// The records of a user's groups (the ones that still exist).
    fn groups_of(&self, user: &User) -> Result<Vec<Group>, StoreError> {
        let mut out = Vec::with_capacity(user.groups.len());
        for name in &user.groups {
            if let Some(g) = self.group(name)? {
                out.push(g);
            }
        }
        Ok(out)
    }
    /// The ID of the user with this normalised email address.
    fn user_id_by_email(&self, email_key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .record(&USERS_BY_EMAIL, email_key)?
            .filter(|id: &String| !id.is_empty()))
    }
    /// The session whose cookie value hashes to `hash`.
    fn session(&self, hash: &str) -> Result<Option<Session>, StoreError> {
        self.record(&SESSIONS, hash)
    }
    /// The sign-in in progress with this ID.
    fn interaction(&self, id: &str) -> Result<Option<Interaction>, StoreError> {
        self.record(&INTERACTIONS, id)
    }
    /// The codes sent to this normalised address in its current window.
    fn code_sends(&self, email_key: &str) -> Result<Option<AddressSends>, StoreError> {
        self.record(&CODE_SENDS, email_key)
    }
    /// The authorization code that hashes to `hash`.
    fn auth_code(&self, hash: &str) -> Result<Option<AuthCode>, StoreError> {
        self.record(&AUTH_CODES, hash)
    }
    /// The grant (token family) with this ID.
    fn grant(&self, grant_id: &str) -> Result<Option<Grant>, StoreError> {
        self.record(&GRANTS, grant_id)
    }
    /// The access token that hashes to `hash`.
    fn access_token(&self, hash: &str) -> Result<Option<AccessToken>, StoreError> {
        self.record(&ACCESS_TOKENS, hash)
    }
    /// The refresh token that hashes to `hash`.
    fn refresh_token(&self, hash: &str) -> Result<Option<RefreshToken>, StoreError> {
        self.record(&REFRESH_TOKENS, hash)
    }
    /// The device authorization whose device code hashes to `hash`.
    fn device_auth(&self, hash: &str) -> Result<Option<DeviceAuth>, StoreError> {
        self.record(&DEVICE_AUTHS, hash)
    }
    /// The entry of a (normalised) user code.
    fn user_code(&self, code: &str) -> Result<Option<UserCode>, StoreError> {
        self.record(&USER_CODES, code)
    }
    /// The pushed authorization request whose `request_uri` hashes to `hash`.
    fn pushed_request(&self, hash: &str) -> Result<Option<PushedRequest>, StoreError> {
        self.record(&PUSHED_REQUESTS, hash)
    }

    /// The user's authenticator app (TOTP), confirmed or not.
    fn totp(&self, user_id: &str) -> Result<Option<TotpFactor>, StoreError> {
        self.record(&TOTP, user_id)
    }
    /// The user's unused recovery codes.
    fn recovery_codes(&self, user_id: &str) -> Result<Option<RecoveryCodes>, StoreError> {
        self.record(&RECOVERY_CODES, user_id)
    }
    /// The user's wrong second-factor codes in the current window.
    fn factor_guesses(&self, user_id: &str) -> Result<Option<FactorGuesses>, StoreError> {
        self.record(&FACTOR_GUESSES, user_id)
    }

    /// A page of the audit log, newest first: entries recorded at or after `page.since` and
    /// before `page.before`, that `keep` accepts, at most `page.limit` of them; and whether
    /// another accepted entry follows the last one. Reads entries only until the page is full
    /// (plus the one that shows there is more), back to `page.since`.
    fn audit_page<V: DeserializeOwned>(
        &self,
        page: AuditRange,
        keep: &mut dyn FnMut(&AuditKey, &V) -> bool,
    ) -> Result<(Vec<(AuditKey, V)>, bool), StoreError>;

    /// How many entries the audit log holds (no scan).
    fn audit_len(&self) -> Result<u64, StoreError>;

    /// A user's sessions (of both kinds, live or not), keyed by their cookie's hash. A scan of
    /// the sessions table, like [`Writes::end_sessions_of`].
    fn sessions_of(&self, user_id: &str) -> Result<Vec<(String, Session)>, StoreError>;
    /// A user's grants (token families, revoked or not), keyed by grant ID. A scan of the
    /// grants table, like [`Writes::revoke_grants_of`].
    fn grants_of(&self, user_id: &str) -> Result<Vec<(String, Grant)>, StoreError>;
    /// A user's passkeys, in credential ID order.
    fn passkeys_of(&self, user_id: &str) -> Result<Vec<Passkey>, StoreError>;
    /// One passkey of a user, by its credential ID (base64url).
    fn passkey(&self, user_id: &str, credential_id: &str) -> Result<Option<Passkey>, StoreError> {
        self.record(&PASSKEYS, &passkey_key(user_id, credential_id))
    }
    /// When the user was offered to add a passkey after an email code, if ever.
    fn passkey_offered(&self, user_id: &str) -> Result<Option<u64>, StoreError> {
        self.record(&PASSKEY_OFFERS, user_id)
    }
    /// The passkey registration a user has started (from the account page or a sign-in).
    fn passkey_registration(&self, user_id: &str) -> Result<Option<Challenge>, StoreError> {
        self.record(&PASSKEY_REGISTRATIONS, user_id)
    }

    /// The management API key with this ID.
    fn api_key(&self, id: &str) -> Result<Option<ApiKey>, StoreError> {
        self.record(&API_KEYS, id)
    }
    /// The management API key whose key hashes to `hash`.
    fn api_key_by_hash(&self, hash: &str) -> Result<Option<ApiKey>, StoreError> {
        match self.record(&API_KEYS_BY_HASH, hash)? {
            Some(id) => self.api_key(&id),
            None => Ok(None),
        }
    }
}

/// Which part of the audit log [`Reads::audit_page`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditRange {
    /// Entries recorded at or after this time (Unix seconds; 0 for all).
    pub since: u64,
    /// Entries before this one (a previous page's last entry); `None` for the newest.
    pub before: Option<AuditKey>,
    /// The most entries returned.
    pub limit: usize,
}

/// Writes, inside a write transaction: nothing is kept unless the transaction commits.
pub trait Writes: Reads {
    /// Inserts or replaces a user (by `user.id`).
    fn put_user(&self, user: &User) -> Result<(), StoreError>;
    /// Removes a user record (not its indexes).
    fn remove_user(&self, user_id: &str) -> Result<bool, StoreError>;
    fn remove_user_email(&self, email_key: &str) -> Result<bool, StoreError>;
    /// Points a lower-cased username at a user ID.
    fn put_user_username(&self, username_key: &str, user_id: &str) -> Result<(), StoreError>;
    fn remove_user_username(&self, username_key: &str) -> Result<bool, StoreError>;
    fn put_group(&self, group: &Group) -> Result<(), StoreError>;
    fn remove_group(&self, name: &str) -> Result<bool, StoreError>;
    /// Every user, in ID order (for group changes that touch members).
    fn all_users(&self) -> Result<Vec<User>, StoreError>;
    /// Every group, in name order.
    fn all_groups(&self) -> Result<Vec<Group>, StoreError>;
    /// Ends every session of a user; returns how many. Like [`Writes::remove_session`], queues
    /// the back-channel logouts of each.
    fn end_sessions_of(&self, user_id: &str) -> Result<usize, StoreError>;
    /// Revokes every grant (token family) of a user; returns how many were live.
    fn revoke_grants_of(&self, user_id: &str) -> Result<usize, StoreError>;
    /// Points a normalised email address at a user ID.
    fn put_user_email(&self, email_key: &str, user_id: &str) -> Result<(), StoreError>;
    fn put_session(&self, hash: &str, session: &Session) -> Result<(), StoreError>;
    /// Ends a session: removes it and, in the same transaction, queues a [`LogoutNotice`] for
    /// each app it signed in to that registered a `backchannel_logout_uri` (delivered by
    /// `oidc::backchannel` once this commits). Sweeping expired sessions queues none.
    fn remove_session(&self, hash: &str) -> Result<bool, StoreError>;
    /// Takes (removes and returns) up to `max` queued back-channel logouts.
    fn take_logout_notices(&self, max: usize) -> Result<Vec<LogoutNotice>, StoreError>;
    fn put_interaction(&self, id: &str, interaction: &Interaction) -> Result<(), StoreError>;
    fn remove_interaction(&self, id: &str) -> Result<bool, StoreError>;
    /// How many sign-ins are pending (expired ones not yet swept included).
    fn pending_sign_ins(&self) -> Result<u64, StoreError>;
    /// Removes the `n` sign-ins least worth keeping: expired ones, then those that have mailed
    /// no code yet, oldest first, then the oldest others; returns how many went. Reads them all.
    fn evict_sign_ins(&self, now: u64, n: usize) -> Result<usize, StoreError>;
    fn put_code_sends(&self, email_key: &str, sends: &AddressSends) -> Result<(), StoreError>;
    fn put_auth_code(&self, hash: &str, code: &AuthCode) -> Result<(), StoreError>;
    fn put_grant(&self, grant_id: &str, grant: &Grant) -> Result<(), StoreError>;
    fn put_access_token(&self, hash: &str, token: &AccessToken) -> Result<(), StoreError>;
    fn remove_access_token(&self, hash: &str) -> Result<bool, StoreError>;
    fn put_refresh_token(&self, hash: &str, token: &RefreshToken) -> Result<(), StoreError>;
    fn put_device_auth(&self, hash: &str, auth: &DeviceAuth) -> Result<(), StoreError>;
    fn put_user_code(&self, code: &str, entry: &UserCode) -> Result<(), StoreError>;
    fn remove_user_code(&self, code: &str) -> Result<bool, StoreError>;
    fn put_pushed_request(&self, hash: &str, request: &PushedRequest) -> Result<(), StoreError>;
    fn remove_pushed_request(&self, hash: &str) -> Result<bool, StoreError>;
    /// Inserts or replaces a management API key, and points its hash at it.
    fn put_api_key(&self, key: &ApiKey) -> Result<(), StoreError>;
    fn put_totp(&self, user_id: &str, factor: &TotpFactor) -> Result<(), StoreError>;
    fn remove_totp(&self, user_id: &str) -> Result<bool, StoreError>;
    fn put_recovery_codes(&self, user_id: &str, codes: &RecoveryCodes) -> Result<(), StoreError>;
    fn remove_recovery_codes(&self, user_id: &str) -> Result<bool, StoreError>;
    fn put_factor_guesses(&self, user_id: &str, guesses: &FactorGuesses) -> Result<(), StoreError>;
    /// Removes every second factor of a user and their guess count (the user is deleted).
    fn remove_factors_of(&self, user_id: &str) -> Result<(), StoreError>;
    /// Inserts or replaces a passkey (by its user and credential ID).
    fn put_passkey(&self, passkey: &Passkey) -> Result<(), StoreError>;
    fn remove_passkey(&self, user_id: &str, credential_id: &str) -> Result<bool, StoreError>;
    fn put_passkey_registration(&self, user_id: &str, c: &Challenge) -> Result<(), StoreError>;
    fn remove_passkey_registration(&self, user_id: &str) -> Result<bool, StoreError>;
    fn put_passkey_offered(&self, user_id: &str, at: u64) -> Result<(), StoreError>;
    /// Removes every record whose lifetime ended at or before `now`, and address send counts
    /// whose window started at or before `sends_window_start`; returns how many went.
    /// (Second-factor guess counts are not swept: one per account at most, and a stale one
    /// reads as a fresh window; they go with their user.)
    fn sweep_expired(&self, now: u64, sends_window_start: u64) -> Result<usize, StoreError>;

    /// Appends an entry to the audit log at time `at`; returns its key, with the next sequence
    /// number (never given out before, even if every entry has been removed since).
    fn append_audit<V: Serialize>(&self, at: u64, entry: &V) -> Result<AuditKey, StoreError>;
    /// Removes the audit entries recorded before `at`; returns how many went. Reads only those.
    fn remove_audit_before(&self, at: u64) -> Result<u64, StoreError>;
    /// Removes the `n` oldest audit entries (all of them if there are fewer); returns how many
    /// went. Reads only those.
    fn remove_oldest_audit(&self, n: u64) -> Result<u64, StoreError>;
}

/// [`Reads`] for both kinds of transaction: the same calls on a read snapshot or inside a
/// write (which sees its own writes).
macro_rules! reads_for {
    ($($tx:ty),+) => {$(
        impl Reads for $tx {
            fn record<V: DeserializeOwned>(
                &self,
                t: &Table<V>,
                key: &str,
            ) -> Result<Option<V>, StoreError> {
                self.get(t, key)
            }
            fn audit_page<V: DeserializeOwned>(
                &self,
                page: AuditRange,
                keep: &mut dyn FnMut(&AuditKey, &V) -> bool,
            ) -> Result<(Vec<(AuditKey, V)>, bool), StoreError> {
                audit_page_in(&self.tx.open_table(audit_def())?, page, keep)
            }
            fn audit_len(&self) -> Result<u64, StoreError> {
                audit_len_in(&self.tx.open_table(audit_def())?)
            }
            fn sessions_of(&self, user_id: &str) -> Result<Vec<(String, Session)>, StoreError> {
                let mut all = self.scan(&SESSIONS)?;
                all.retain(|(_, s)| s.user_id == user_id);
                Ok(all)
            }
            fn grants_of(&self, user_id: &str) -> Result<Vec<(String, Grant)>, StoreError> {
                let mut all = self.scan(&GRANTS)?;
                all.retain(|(_, g)| g.user_id == user_id);
                Ok(all)
            }
            fn passkeys_of(&self, user_id: &str) -> Result<Vec<Passkey>, StoreError> {
                let under = passkey_key(user_id, "");
                let found = under_in(&self.tx.open_table(PASSKEYS.def())?, &PASSKEYS, &under)?;
                Ok(found.into_iter().map(|(_, v)| v).collect())
            }
        }
    )+};
}

reads_for!(ReadTx, WriteTx);

/// A passkey's key: its user, then its credential ID (user IDs and base64url never hold `/`),
/// so one user's passkeys are one key range.
fn passkey_key(user_id: &str, credential_id: &str) -> String {
    format!("{user_id}/{credential_id}")
}

/// [`Reads::audit_page`] on an open audit table (read or write transaction alike).
fn audit_page_in<V: DeserializeOwned>(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    page: AuditRange,
    keep: &mut dyn FnMut(&AuditKey, &V) -> bool,
) -> Result<(Vec<(AuditKey, V)>, bool), StoreError> {
    let from = AuditKey::first_at(page.since);
    let to = page
        .before
        .map_or_else(|| AUDIT_COUNTER.to_string(), |k| k.stored());
    let mut found = Vec::new();
    if page.limit == 0 || from >= to {
        return Ok((found, false));
    }
    for item in table.range(from.as_str()..to.as_str())?.rev() {
        let (k, v) = item?;
        let stored = k.value();
        let key = AuditKey::from_stored(stored).ok_or_else(|| StoreError::Corrupt {
            table: AUDIT,
            key: stored.to_string(),
            reason: "not an audit key".into(),
        })?;
        let entry: V = decode(AUDIT, stored, v.value())?;
        if !keep(&key, &entry) {
            continue;
        }
        if found.len() == page.limit {
            return Ok((found, true));
        }
        found.push((key, entry));
    }
    Ok((found, false))
}

/// [`Reads::audit_len`] on an open audit table: its length, less the counter once there is one.
fn audit_len_in(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
) -> Result<u64, StoreError> {
    let counter = u64::from(table.get(AUDIT_COUNTER)?.is_some());
    Ok(table.len()?.saturating_sub(counter))
}

impl Writes for WriteTx {
    fn put_user(&self, user: &User) -> Result<(), StoreError> {
        self.put(&USERS, &user.id, user)
    }
    fn remove_user(&self, user_id: &str) -> Result<bool, StoreError> {
        self.remove(&USERS, user_id)
    }
    fn remove_user_email(&self, email_key: &str) -> Result<bool, StoreError> {
        self.remove(&USERS_BY_EMAIL, email_key)
    }
    fn put_user_username(&self, username_key: &str, user_id: &str) -> Result<(), StoreError> {
        self.put(&USERS_BY_USERNAME, username_key, &user_id.to_string())
    }
    fn remove_user_username(&self, username_key: &str) -> Result<bool, StoreError> {
        self.remove(&USERS_BY_USERNAME, username_key)
    }
    fn put_group(&self, group: &Group) -> Result<(), StoreError> {
        self.put(&GROUPS, &group.name, group)
    }
    fn remove_group(&self, name: &str) -> Result<bool, StoreError> {
        self.remove(&GROUPS, name)
    }
    fn all_users(&self) -> Result<Vec<User>, StoreError> {
        Ok(self.scan(&USERS)?.into_iter().map(|(_, u)| u).collect())
    }
    fn all_groups(&self) -> Result<Vec<Group>, StoreError> {
        Ok(self.scan(&GROUPS)?.into_iter().map(|(_, g)| g).collect())
    }
    fn end_sessions_of(&self, user_id: &str) -> Result<usize, StoreError> {
        let mine = self.sessions_of(user_id)?;
        for (hash, _) in &mine {
            self.remove_session(hash)?;
        }
        Ok(mine.len())
    }
    fn revoke_grants_of(&self, user_id: &str) -> Result<usize, StoreError> {
        let mut n = 0;
        for (id, mut g) in self.scan(&GRANTS)? {
            if g.user_id == user_id && !g.revoked {
                g.revoked = true;
                self.put(&GRANTS, &id, &g)?;
                n += 1;
            }
        }
        Ok(n)
    }
    fn put_user_email(&self, email_key: &str, user_id: &str) -> Result<(), StoreError> {
        self.put(&USERS_BY_EMAIL, email_key, &user_id.to_string())
    }
    fn put_session(&self, hash: &str, session: &Session) -> Result<(), StoreError> {
        self.put(&SESSIONS, hash, session)
    }
    fn remove_session(&self, hash: &str) -> Result<bool, StoreError> {
        let Some(session) = self.session(hash)? else {
            return Ok(false);
        };
        if let Some(sid) = &session.sid {
            for client_id in &session.apps {
                let told = self
                    .app(client_id)?
                    .is_some_and(|a| a.backchannel_logout_uri.is_some());
                if told {
                    let notice = LogoutNotice {
                        client_id: client_id.clone(),
                        sid: sid.clone(),
                        user_id: session.user_id.clone(),
                    };
                    self.put(&LOGOUT_NOTICES, &crate::crypto::random_id(), &notice)?;
                    self.logout_queued.set(true);
                }
            }
        }
        self.remove(&SESSIONS, hash)
    }
    fn take_logout_notices(&self, max: usize) -> Result<Vec<LogoutNotice>, StoreError> {
        let mut taken = Vec::new();
        for (key, notice) in self.scan(&LOGOUT_NOTICES)?.into_iter().take(max) {
            self.remove(&LOGOUT_NOTICES, &key)?;
            taken.push(notice);
        }
        Ok(taken)
    }
    fn put_interaction(&self, id: &str, interaction: &Interaction) -> Result<(), StoreError> {
        self.put(&INTERACTIONS, id, interaction)
    }
    fn remove_interaction(&self, id: &str) -> Result<bool, StoreError> {
        self.remove(&INTERACTIONS, id)
    }
    fn pending_sign_ins(&self) -> Result<u64, StoreError> {
        self.len(&INTERACTIONS)
    }
    fn evict_sign_ins(&self, now: u64, n: usize) -> Result<usize, StoreError> {
        let mut all: Vec<(bool, bool, u64, String)> = self
            .scan(&INTERACTION_AGES)?
            .into_iter()
            .map(|(id, i)| (i.expires_at > now, i.mailed.is_some(), i.expires_at, id))
            .collect();
        // false sorts first: expired, then unmailed; within each, the oldest first.
        all.sort_unstable();
        let doomed = &all[..n.min(all.len())];
        for (_, _, _, id) in doomed {
            self.remove(&INTERACTIONS, id)?;
        }
        Ok(doomed.len())
    }
    fn put_code_sends(&self, email_key: &str, sends: &AddressSends) -> Result<(), StoreError> {
        self.put(&CODE_SENDS, email_key, sends)
    }
    fn put_auth_code(&self, hash: &str, code: &AuthCode) -> Result<(), StoreError> {
        self.put(&AUTH_CODES, hash, code)
    }
    fn put_grant(&self, grant_id: &str, grant: &Grant) -> Result<(), StoreError> {
        self.put(&GRANTS, grant_id, grant)
    }
    fn put_access_token(&self, hash: &str, token: &AccessToken) -> Result<(), StoreError> {
        self.put(&ACCESS_TOKENS, hash, token)
    }
    fn remove_access_token(&self, hash: &str) -> Result<bool, StoreError> {
        self.remove(&ACCESS_TOKENS, hash)
    }
    fn put_refresh_token(&self, hash: &str, token: &RefreshToken) -> Result<(), StoreError> {
        self.put(&REFRESH_TOKENS, hash, token)
    }
    fn put_device_auth(&self, hash: &str, auth: &DeviceAuth) -> Result<(), StoreError> {
        self.put(&DEVICE_AUTHS, hash, auth)
    }
    fn put_user_code(&self, code: &str, entry: &UserCode) -> Result<(), StoreError> {
        self.put(&USER_CODES, code, entry)
    }
    fn remove_user_code(&self, code: &str) -> Result<bool, StoreError> {
        self.remove(&USER_CODES, code)
    }
    fn put_pushed_request(&self, hash: &str, request: &PushedRequest) -> Result<(), StoreError> {
        self.put(&PUSHED_REQUESTS, hash, request)
    }
    fn remove_pushed_request(&self, hash: &str) -> Result<bool, StoreError> {
        self.remove(&PUSHED_REQUESTS, hash)
    }
    fn put_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        self.put(&API_KEYS_BY_HASH, &key.key_hash, &key.id)?;
        self.put(&API_KEYS, &key.id, key)
    }
    fn put_totp(&self, user_id: &str, factor: &TotpFactor) -> Result<(), StoreError> {
        self.put(&TOTP, user_id, factor)
    }
    fn remove_totp(&self, user_id: &str) -> Result<bool, StoreError> {
        self.remove(&TOTP, user_id)
    }
    fn put_recovery_codes(&self, user_id: &str, codes: &RecoveryCodes) -> Result<(), StoreError> {
        self.put(&RECOVERY_CODES, user_id, codes)
    }
    fn remove_recovery_codes(&self, user_id: &str) -> Result<bool, StoreError> {
        self.remove(&RECOVERY_CODES, user_id)
    }
    fn put_factor_guesses(&self, user_id: &str, guesses: &FactorGuesses) -> Result<(), StoreError> {
        self.put(&FACTOR_GUESSES, user_id, guesses)
    }
    fn remove_factors_of(&self, user_id: &str) -> Result<(), StoreError> {
        self.remove(&TOTP, user_id)?;
        self.remove(&RECOVERY_CODES, user_id)?;
        self.remove(&FACTOR_GUESSES, user_id)?;
        for pk in self.passkeys_of(user_id)? {
            self.remove_passkey(user_id, &pk.credential_id)?;
        }
        self.remove(&PASSKEY_REGISTRATIONS, user_id)?;
        self.remove(&PASSKEY_OFFERS, user_id)?;
        Ok(())
    }
    fn put_passkey(&self, passkey: &Passkey) -> Result<(), StoreError> {
        let key = passkey_key(&passkey.user_id, &passkey.credential_id);
        self.put(&PASSKEYS, &key, passkey)
    }
    fn remove_passkey(&self, user_id: &str, credential_id: &str) -> Result<bool, StoreError> {
        self.remove(&PASSKEYS, &passkey_key(user_id, credential_id))
    }
    fn put_passkey_registration(&self, user_id: &str, c: &Challenge) -> Result<(), StoreError> {
        self.put(&PASSKEY_REGISTRATIONS, user_id, c)
    }
    fn remove_passkey_registration(&self, user_id: &str) -> Result<bool, StoreError> {
        self.remove(&PASSKEY_REGISTRATIONS, user_id)
    }
    fn put_passkey_offered(&self, user_id: &str, at: u64) -> Result<(), StoreError> {
        self.put(&PASSKEY_OFFERS, user_id, &at)
    }
    fn sweep_expired(&self, now: u64, sends_window_start: u64) -> Result<usize, StoreError> {
        let mut n = 0;
        n += self.sweep(&INTERACTION_AGES, |v| v.expires_at <= now)?;
        n += self.sweep(&AUTH_CODES, |v| v.expires_at <= now)?;
        n += self.sweep(&ACCESS_TOKENS, |v| v.expires_at <= now)?;
        n += self.sweep(&REFRESH_TOKENS, |v| v.expires_at <= now)?;
        n += self.sweep(&GRANTS, |v| v.expires_at <= now)?;
        n += self.sweep(&DEVICE_AUTHS, |v| v.expires_at <= now)?;
        n += self.sweep(&USER_CODES, |v| v.expires_at <= now)?;
        n += self.sweep(&PUSHED_REQUESTS, |v| v.expires_at <= now)?;
        n += self.sweep(&SESSIONS, |v| v.expires_at <= now)?;
        n += self.sweep(&CODE_SENDS, |v| v.window_start <= sends_window_start)?;
        Ok(n)
    }
    fn append_audit<V: Serialize>(&self, at: u64, entry: &V) -> Result<AuditKey, StoreError> {
        let mut table = self.tx.open_table(audit_def())?;
        let counter: AuditCounter = match table.get(AUDIT_COUNTER)? {
            Some(v) => decode(AUDIT, AUDIT_COUNTER, v.value())?,
            None => AuditCounter::default(),
        };
        // Sequence numbers start at 1.
        let key = AuditKey {
            at,
            seq: counter.next_seq.max(1),
        };
        table.insert(key.stored().as_str(), encode(entry).as_slice())?;
        let next = AuditCounter {
            next_seq: key.seq + 1,
        };
        table.insert(AUDIT_COUNTER, encode(&next).as_slice())?;
        Ok(key)
    }
    fn remove_audit_before(&self, at: u64) -> Result<u64, StoreError> {
        let mut table = self.tx.open_table(audit_def())?;
        let before = table.len()?;
        let end = AuditKey::first_at(at);
        table.retain_in::<&str, _>(..end.as_str(), |_, _| false)?;
        Ok(before - table.len()?)
    }
    fn remove_oldest_audit(&self, n: u64) -> Result<u64, StoreError> {
        let Some(skip) = n.checked_sub(1) else {
            return Ok(0);
        };
        let mut table = self.tx.open_table(audit_def())?;
        let before = table.len()?;
        // The newest entry to go, found by reading only the doomed ones; every entry's key
        // sorts before the counter's.
        let last = match table.range::<&str>(..AUDIT_COUNTER)?.nth(skip as usize) {
            Some(item) => item?.0.value().to_string(),
            None => AUDIT_COUNTER.to_string(),
        };
        if last == AUDIT_COUNTER {
            table.retain_in::<&str, _>(..AUDIT_COUNTER, |_, _| false)?;
        } else {
            table.retain_in::<&str, _>(..=last.as_str(), |_, _| false)?;
        }
        Ok(before - table.len()?)
    }
}
