//! Signing in with a one-time code sent by email, and the sesame session (single sign-on).
//!
//! An interaction is a sign-in waiting for the user: for an app's authorization request, or
//! for a page behind the forward-auth proxy ([`SignInFor`]). Its states:
//!
//! ```text
//!  /auth, /sign-in?rd= ──▶ [email]  ──email posted, code mailed──▶ [code sent, tries=0]
//!                             ▲                                       │  wrong code: tries+1
//!                             └──── "use a different email" ─────────┤  tries = 5: code void
//!                                                                     │  resend (≥ 60 s): new code
//!                                                                     ▼
//!      right code ──▶ session, interaction removed, and then: an app's sign-in gets its
//!                     authorization code; a forward-auth one gets a forward-auth session and
//!                     goes back to its page
//! ```
//!
//! Limits and why:
//! - 6 digits from a CSPRNG, valid 10 minutes (mail can be slow, but a code is a bearer
//!   credential), void after 5 wrong tries.
//! - A new code for the same address in the same sign-in only after 60 s (a double click must
//!   not send two mails).
//! - At most `[tokens] sign_in_codes_per_hour` codes (default [`CODES_PER_ADDRESS_PER_HOUR`]) to
//!   one address per hour, across all sign-ins.
//!   This bounds a guesser: every live code allows 5 tries, so an attacker who starts many
//!   sign-ins for someone else's address gets at most 50 guesses an hour out of a million
//!   codes, and that address's owner at most 10 mails an hour. The slot is reserved in a write
//!   transaction *before* the mail goes out, so parallel requests cannot race past it; a send
//!   that fails gives the slot back. The price: someone who spends an address's budget delays
//!   that person's sign-in by up to an hour (the page says how long).
//! - The mailbox is what is counted: the address with its `+tag` cut off and ASCII case
//!   folded (`Victim+7@Example.com` counts as `victim@example.com`; quoted local parts are
//!   refused at parse), so a flood of tagged variants gets the one mailbox's budget.
//! - At most `[limits] mail_addresses_per_sign_in` distinct mailboxes per sign-in (3): typing
//!   a wrong address and correcting it is normal, cycling through a list is not.
//! - At most `[limits] mail_per_client_per_hour` codes at one client's request (per IP or
//!   IPv6 /64, in memory), and `[limits] mail_per_minute` codes in all: the mail provider's
//!   quota is everyone's, so a flood is refused here, with a page, before the provider blocks
//!   every sign-in. These two count attempts that passed every other check, even if the send
//!   then fails (the provider was asked).
//! - Every refusal by a budget is in the audit log (a `sign_in_failed` with its reason),
//!   recorded in the transaction that refused.
//! - Pending sign-ins are bounded: per client by `[limits] pending_sign_ins_per_client` starts
//!   per 30 minutes (the edge counts it), and in all by `[limits] pending_sign_ins`. At the
//!   total cap, [`start`] drops a tenth of the cap: expired ones first, then those that never
//!   mailed a code, oldest first. A flood of `/auth` requests thus displaces other floods'
//!   and idle sign-ins, never one whose code is on its way; and each stored sign-in is small
//!   (`state`, `nonce` and `login_hint` together at most 2 KiB, see `oidc::authorize`).
//! - Codes are stored salted and hashed and compared in constant time; the page is the same
//!   whether or not the address has an account. Nothing but the reservation is recorded until
//!   the transport has accepted the mail, so a failed send consumes nothing.
//!
//! The pages never render from a form post (Post/Redirect/Get): a refused form keeps why in the
//! interaction ([`Flash`], set by [`set_flash`], cleared when a code is sent) and the browser
//! is redirected to the page, which words the message from the current state (tries left,
//! minutes to wait). A wait for the resend interval is not a refusal: the code page counts down.
//!
//! An app's `prompt=select_account` with a live session starts an interaction too, answered by
//! "continue as X" ([`continue_session`]: the session's user gets the code, as single sign-on
//! would have given it) or "use another account" (the email form above).
//!
//! The interaction is bound to the browser that started it: the `sesame_interaction` cookie
//! (HttpOnly, SameSite=Lax, random per browser) is stored hashed in the interaction, and every
//! form carries the interaction's CSRF token. Another site can neither post into a sign-in nor
//! sign a victim into the attacker's account, and one browser can run several sign-ins (tabs,
//! apps) at once.
//!
//! Five more purposes use the same code machinery: the account page's and the console's
//! sign-ins ([`SignInFor::Account`], [`SignInFor::Console`], each ends there), proving a new address for an account
//! ([`SignInFor::ChangeEmail`]: the right code changes the email, see [`crate::account`], and
//! signs nobody in), first run's setup link ([`SignInFor::FirstAdmin`], see [`setup`]), and
//! re-authentication before a sensitive console action ([`SignInFor::Reauth`]: a code is sent
//! to, and accepted from, only the signed-in account's own address; the new session's
//! `auth_time` is now, and the sign-in ends on the console page it came from). ChangeEmail and
//! FirstAdmin are not refused by the sign-up policy.
//!
//! `dev.rs` is `sesame dev`'s page: signing in as anyone without mail, or answering the app
//! with an error; it ends a sign-in through the same `finish` as a right code.
//!
//! Uses: provider, session, oidc (issuing the code at the end), store (typed operations),
//! crypto, mail, users, apps (the dev policy's type). Never the edge.

use crate::audit::{self, Actor, AuditEntry, AuditEvent, MailOutcome, SignInFailure};
use crate::crypto;
use crate::limits::Kind;
use crate::mail::{CodeMail, Purpose};
use crate::oidc::authorize::success_redirect;
use crate::oidc::grant::Family;
use crate::provider::{Provider, CODE_SEND_WINDOW};
use crate::session;
use crate::store::{
    AddressSends, AuthRequest, Authn, Flash, Interaction, PendingCode, Reads, SecondStep,
    SignInFor, StoreError, User, Writes,
};
use std::net::IpAddr;

/// Wrong entries after which a code is void.
pub const MAX_CODE_TRIES: u32 = 5;
/// How long an interaction (a sign-in in progress) lives.
pub const INTERACTION_TTL: u64 = 30 * 60;
/// Digits in a sign-in code.
pub const CODE_DIGITS: usize = 6;
/// Codes sent to one address per hour, across all sign-ins.
pub const CODES_PER_ADDRESS_PER_HOUR: u32 = 10;

/// Why a sign-in step failed; the HTTP edge has a page (or a message on the form) for each.
#[derive(Debug)]
pub enum SignInError {
    /// The interaction is unknown or expired: start again from the app.
    Expired,
    /// The browser lacks the interaction cookie (another browser, or cookies blocked).
    WrongBrowser,
    /// The form's CSRF token is missing or wrong.
    BadCsrf,
    /// The typed address is not an email address (and why).
    InvalidEmail(EmailError),
    /// The account is disabled: no code is sent.
    Disabled,
    /// A code was sent to this address in this sign-in less than the resend interval ago.
    ResendTooSoon { wait: u64 },
    /// The mailbox has had its hourly number of codes.
    TooManyCodes { wait: u64 },
    /// This sign-in has mailed codes to as many distinct addresses as it may.
    TooManyAddresses { allowed: u32 },
    /// This client (IP address) has had its hourly number of codes.
    ClientMailBudget { wait: u64 },
    /// sesame has sent as many codes as it may this minute (for everyone).
    GlobalMailBudget { wait: u64 },
    /// The mail transport did not accept the message.
    SendFailed,
    /// No code has been sent in this interaction yet.
    NoCode,
    /// The code is wrong; `tries_left` more attempts.
    WrongCode { tries_left: u32 },
    /// Too many wrong tries: this code no longer works.
    CodeVoid,
    /// The code is older than its lifetime.
    CodeExpired,
    /// The proved address cannot become the account's (taken meanwhile, or the account is
    /// declared in `sesame.toml`); why, in words.
    EmailChangeRefused(String),
    /// A re-authentication ([`SignInFor::Reauth`]) was given an address that is not the
    /// signed-in account's: only that account's own mailbox can prove it is still them.
    NotTheSameAccount,
    /// A second factor was offered, but this sign-in is not waiting for one (or one was to
    /// be set up, but the user has one already).
    NoSecondStep,
    /// Too many wrong codes at the second step: the sign-in has ended.
    SecondVoid,
    /// The passkey was not accepted (why, in words: see `crypto::webauthn`).
    PasskeyRefused(String),
    /// Storage failed.
    Store(StoreError),
}

impl From<StoreError> for SignInError {
    fn from(e: StoreError) -> Self {
        SignInError::Store(e)
    }
}

pub use crate::users::{Email, EmailError};

/// An audit entry about a sign-in attempt for `email` at `client_id` (none for forward-auth),
/// by nobody known yet.
fn attempt(event: AuditEvent, email: &str, client_id: Option<&str>) -> AuditEntry {
    let entry = AuditEntry::new(Actor::Anonymous, event).email(email);
    match client_id {
        Some(c) => entry.client(c),
        None => entry,
    }
}

fn failed(reason: SignInFailure) -> AuditEvent {
    AuditEvent::SignInFailed { reason }
}

/// Starts an interaction for a validated authorization request or return-to URL; returns its
/// ID. `browser` is the value of this browser's `sesame_interaction` cookie.
/// At the total cap of pending sign-ins, some are dropped first (see the module notes).
pub fn start(p: &Provider, purpose: SignInFor, browser: &str) -> Result<String, StoreError> {
    start_at(p, purpose, browser, None)
}

/// [`start`], at the step `second` when a first factor is already proved (a step-up of a live
/// session, see [`second::step_up`]).
pub fn start_at(
    p: &Provider,
    purpose: SignInFor,
    browser: &str,
    second: Option<SecondStep>,
) -> Result<String, StoreError> {
    let id = crypto::random_token();
    let now = p.now();
    let interaction = Interaction {
        purpose,
        browser: crypto::hash_token(browser),
        csrf: crypto::random_token(),
        expires_at: now + INTERACTION_TTL,
        code: None,
        mailed: Vec::new(),
        flash: None,
        second,
        challenge: None,
        offer_passkey: false,
    };
    let cap = u64::from(p.limits.config.pending_sign_ins);
    p.store.write(|tx| {
        if tx.pending_sign_ins()? >= cap {
            // A tenth at a time, so the scan this takes is paid once per tenth of the cap.
            let evicted = tx.evict_sign_ins(now, (cap / 10).max(1) as usize)?;
            p.limits.hit(Kind::PendingSignInsTotal);
            tracing::warn!(
                "{cap} sign-ins pending ([limits] pending_sign_ins): dropped the {evicted} least worth keeping"
            );
        }
        tx.put_interaction(&id, &interaction)
    })?;
    Ok(id)
}

/// Loads a live interaction, checking that this browser started it.
pub fn load(p: &Provider, id: &str, browser: Option<&str>) -> Result<Interaction, SignInError> {
    let now = p.now();
    let i = p.store.read(|tx| tx.interaction(id))?;
    let Some(i) = i.filter(|i| now < i.expires_at) else {
        return Err(SignInError::Expired);
    };
    match browser {
        Some(b)
            if crypto::constant_time_eq(crypto::hash_token(b).as_bytes(), i.browser.as_bytes()) =>
        {
            Ok(i)
        }
        _ => Err(SignInError::WrongBrowser),
    }
}

/// Checks a form's CSRF token against the interaction's.
pub fn check_csrf(i: &Interaction, given: Option<&str>) -> Result<(), SignInError> {
    match given {
        Some(g) if crypto::constant_time_eq(g.as_bytes(), i.csrf.as_bytes()) => Ok(()),
        _ => Err(SignInError::BadCsrf),
    }
}

/// Notes that the browser of sign-in `id` has a platform authenticator (the email page's
/// script asked it), so its user may be offered a passkey after the code.
pub fn note_platform_authenticator(p: &Provider, id: &str) -> Result<(), StoreError> {
    p.store.write(|tx| {
        if let Some(mut i) = tx.interaction(id)? {
            if !i.offer_passkey {
                i.offer_passkey = true;
                tx.put_interaction(id, &i)?;
            }
        }
        Ok(())
    })
}

/// Keeps (or with `None` clears) what the sign-in pages say about the last refused form; see
/// [`Flash`]. An interaction that has gone is left alone: its pages say so themselves.
pub fn set_flash(p: &Provider, id: &str, flash: Option<Flash>) -> Result<(), StoreError> {
    p.store.write(|tx| {
        if let Some(mut i) = tx.interaction(id)? {
            if i.flash != flash {
                i.flash = flash;
                tx.put_interaction(id, &i)?;
            }
        }
        Ok(())
    })
}

/// A send slot reserved by [`reserve_code`]: the code may now be mailed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reservation {
    /// When the slot was taken (the code's lifetime and the resend interval count from it).
    pub at: u64,
    /// The address has no account yet: the mail uses the Register template.
    pub new_user: bool,
    /// The address may not sign in (no account, and the sign-up policy does not admit it):
    /// nothing is mailed, and the pages go on exactly as if it had been (no enumeration).
    pub refused: bool,
    /// The code proves a new address for an account ([`SignInFor::ChangeEmail`]): the mail
    /// uses the Generic template, and the sign-up policy does not apply.
    pub changing_email: bool,
}

/// Sends a new code to `email` for interaction `id` (first send or resend): reserves a slot,
/// mails the code, then records it in the interaction. A failed send gives the slot back.
/// `client`: who asked (`None`: no socket, as in-process tests), for the per-client budget.
pub async fn send_code(
    p: &Provider,
    id: &str,
    email: &Email,
    client: Option<IpAddr>,
) -> Result<(), SignInError> {
    let reservation = tokio::task::block_in_place(|| reserve_code(p, id, email, client))?;
    let code = crypto::random_digits(CODE_DIGITS);
    if reservation.refused {
        tracing::info!(
            email = %email.address,
            mode = p.sign_up().mode.as_str(),
            "sign-in refused: the address has no account and the sign-up policy does not admit it; no code was sent"
        );
        return tokio::task::block_in_place(|| record_code(p, id, email, &code, reservation));
    }
    let purpose = if reservation.changing_email {
        Purpose::Generic
    } else if reservation.new_user {
        Purpose::Register
    } else {
        Purpose::SignIn
    };
    let mail = CodeMail {
        code,
        product: p.product_name(),
        app: tokio::task::block_in_place(|| signing_in_to(p, id))?
            .unwrap_or_else(|| p.product_name()),
        minutes: p.tokens.sign_in_code_ttl.div_ceil(60).max(1),
        email: email.address.clone(),
    };
    let code = &mail.code;
    let mailer = p.mailer();
    if let Err(e) = mailer.send_code(purpose, &mail).await {
        tracing::warn!("could not send the sign-in code: {e}");
        let reason = e.to_string();
        if let Err(e) = tokio::task::block_in_place(|| release_code(p, id, email, reason)) {
            tracing::warn!("could not release the code reservation: {e}");
        }
        return Err(SignInError::SendFailed);
    }
    tokio::task::block_in_place(|| record_code(p, id, email, code, reservation))
}

/// What sign-in `id` is for, as its email names it: the app's name, or the host of the page
/// behind the proxy.
fn signing_in_to(p: &Provider, id: &str) -> Result<Option<String>, StoreError> {
    p.store.read(|tx| {
        let Some(i) = tx.interaction(id)? else {
            return Ok(None);
        };
        Ok(match &i.purpose {
            SignInFor::App(request) => tx.app(&request.client_id)?.map(|a| a.name),
            SignInFor::ReturnTo(url) => url::Url::parse(url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string)),
            SignInFor::Account
            | SignInFor::Console
            | SignInFor::ChangeEmail { .. }
            | SignInFor::FirstAdmin
            | SignInFor::Device { .. }
            | SignInFor::Reauth { .. } => None,
        })
    })
}

/// Reserves the send of a code to `email` for interaction `id`, before it happens, so parallel
/// requests cannot all pass the limits: the resend interval within this sign-in, the distinct
/// mailboxes of this sign-in, the hourly budget of the mailbox, then the client's and the
/// server's mail budgets ([`crate::limits`]). A refusal by a budget is audited.
pub fn reserve_code(
    p: &Provider,
    id: &str,
    email: &Email,
    client: Option<IpAddr>,
) -> Result<Reservation, SignInError> {
    let now = p.now();
    let resend_after = p.tokens.sign_in_code_resend_after;
    let mailbox = email.mailbox();
    p.store.write(|tx| {
        let Some(mut i) = tx.interaction(id)?.filter(|i| now < i.expires_at) else {
            return Ok(Err(SignInError::Expired));
        };
        if !reauth_address(tx, &i.purpose, email)? {
            return Ok(Err(SignInError::NotTheSameAccount));
        }
        if let Some(pc) = &i.code {
            if pc.email.eq_ignore_ascii_case(&email.address) && now < pc.sent_at + resend_after {
                return Ok(Err(SignInError::ResendTooSoon {
                    wait: pc.sent_at + resend_after - now,
                }));
            }
        }
        let client_id = i.purpose.client_id().map(str::to_string);
        let refuse = |tx: &crate::store::WriteTx, reason: SignInFailure, kind: Kind| {
            p.limits.hit(kind);
            let entry = attempt(failed(reason), &email.address, client_id.as_deref());
            audit::record(tx, now, entry)
        };
        let allowed = p.limits.config.mail_addresses_per_sign_in;
        if !i.mailed.contains(&mailbox) && i.mailed.len() >= allowed as usize {
            refuse(tx, SignInFailure::TooManyAddresses, Kind::MailAddresses)?;
            return Ok(Err(SignInError::TooManyAddresses { allowed }));
        }
        let mut sends = tx.code_sends(&mailbox)?.unwrap_or_default();
        if now >= sends.window_start + CODE_SEND_WINDOW {
            sends = AddressSends {
                window_start: now,
                count: 0,
            };
        }
        if sends.count >= p.tokens.sign_in_codes_per_hour {
            refuse(tx, SignInFailure::MailboxBudget, Kind::MailPerMailbox)?;
            return Ok(Err(SignInError::TooManyCodes {
                wait: sends.window_start + CODE_SEND_WINDOW - now,
            }));
        }
        let user = match tx.user_id_by_email(&email.key)? {
            Some(uid) => tx.user(&uid)?,
            None => None,
        };
        if let Some(u) = user.as_ref().filter(|u| u.disabled) {
            let entry = attempt(
                failed(SignInFailure::Disabled),
                &email.address,
                client_id.as_deref(),
            );
            audit::record(tx, now, entry.user(&u.id))?;
            return Ok(Err(SignInError::Disabled));
        }
        if let Err(e) = mail_budgets(p, client, now) {
            let reason = match e {
                SignInError::ClientMailBudget { .. } => SignInFailure::ClientMailBudget,
                _ => SignInFailure::GlobalMailBudget,
            };
            // The check counted the hit; the audit entry is this one's.
            let entry = attempt(failed(reason), &email.address, client_id.as_deref());
            audit::record(tx, now, entry)?;
            return Ok(Err(e));
        }
        // Refused addresses use up the budget like real ones: the limits must not tell them apart.
        sends.count += 1;
        tx.put_code_sends(&mailbox, &sends)?;
        if !i.mailed.contains(&mailbox) {
            i.mailed.push(mailbox.clone());
            tx.put_interaction(id, &i)?;
        }
        let new_user = user.is_none();
        let changing_email = matches!(i.purpose, SignInFor::ChangeEmail { .. });
        // The setup link admits the first administrator whatever the sign-up policy.
        let admitted =
            changing_email || i.purpose == SignInFor::FirstAdmin || p.sign_up().admits(email);
        let refused = new_user && !admitted;
        if refused {
            let entry = attempt(
                failed(SignInFailure::NotAllowed),
                &email.address,
                client_id.as_deref(),
            );
            audit::record(tx, now, entry)?;
        }
        Ok::<_, StoreError>(Ok(Reservation {
            at: now,
            new_user,
            refused,
            changing_email,
        }))
    })?
}

/// The in-memory mail budgets: the client's per hour, then the server's per minute.
fn mail_budgets(p: &Provider, client: Option<IpAddr>, now: u64) -> Result<(), SignInError> {
    // No socket (in-process callers): counted as one client, the unspecified address.
    let ip = client.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    p.limits
        .check(Kind::MailPerClient, ip, now)
        .map_err(|r| SignInError::ClientMailBudget {
            wait: r.retry_after,
        })?;
    p.limits
        .check(Kind::MailGlobal, ip, now)
        .map_err(|r| SignInError::GlobalMailBudget {
            wait: r.retry_after,
        })
}

/// Gives back a slot whose mail was not sent (`reason`: the mailer's): a failed send consumes
/// nothing, and the audit log says why it failed.
pub fn release_code(
    p: &Provider,
    id: &str,
    email: &Email,
    reason: String,
) -> Result<(), StoreError> {
    let now = p.now();
    p.store.write(|tx| {
        if let Some(mut sends) = tx.code_sends(&email.mailbox())? {
            sends.count = sends.count.saturating_sub(1);
            tx.put_code_sends(&email.mailbox(), &sends)?;
        }
        let client_id = tx
            .interaction(id)?
            .and_then(|i| i.purpose.client_id().map(str::to_string));
        let mut entry = AuditEntry::new(
            Actor::Anonymous,
            AuditEvent::CodeSend {
                mail: MailOutcome::Failed { reason },
            },
        )
        .email(&email.address);
        if let Some(c) = client_id {
            entry = entry.client(c);
        }
        audit::record(tx, now, entry)
    })
}

/// Records a mailed code in the interaction (salted and hashed); earlier codes stop working.
pub fn record_code(
    p: &Provider,
    id: &str,
    email: &Email,
    code: &str,
    reservation: Reservation,
) -> Result<(), SignInError> {
    let salt = crypto::random_id();
    let pending = PendingCode {
        email: email.address.clone(),
        code_hash: crypto::hash_code(&salt, code),
        salt,
        expires_at: reservation.at + p.tokens.sign_in_code_ttl,
        sent_at: reservation.at,
        tries: 0,
        new_user: reservation.new_user,
        refused: reservation.refused,
    };
    p.store.write(|tx| {
        let Some(mut i) = tx.interaction(id)? else {
            return Ok(Err(SignInError::Expired));
        };
        if !reservation.refused {
            let sent = AuditEvent::CodeSend {
                mail: MailOutcome::Sent,
            };
            audit::record(
                tx,
                reservation.at,
                attempt(sent, &email.address, i.purpose.client_id()),
            )?;
        }
        i.code = Some(pending);
        i.flash = None;
        tx.put_interaction(id, &i)?;
        Ok::<_, StoreError>(Ok(()))
    })?
}

/// What a right code produces.
#[derive(Debug)]
pub struct SignedIn {
    /// The new session cookie value.
    pub session_cookie: String,
    pub next: Next,
}

/// Where a signed-in browser goes next.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// Back to the client's redirect URI with the authorization code.
    Redirect(String),
    /// The user may not use this app (its `allowed_groups`): sesame says so, and offers to
    /// sign in with another account for the same request.
    NotAllowed {
        app_name: String,
        request: AuthRequest,
    },
    /// Back to the page behind the forward-auth proxy, with a new forward-auth session (the
    /// cookie value). Whether this user may see that page is the proxy's next question.
    ReturnTo {
        url: String,
        forward_auth_session: String,
    },
    /// To the account page (a sign-in that began there, or a proved new address).
    Account,
    /// To the console (a sign-in that began there): the page below `/console` (`""`: its
    /// start; a re-authentication's `back`).
    Console(String),
    /// To the device page (a sign-in that began there), with the user code it carried
    /// (normalised; empty for none).
    Device { user_code: String },
    /// To the second step of this sign-in (`second`): the first factor is proved, another is
    /// needed. Nobody is signed in yet.
    SecondFactor,
}

/// Verifies a typed code. A wrong code is counted (and the count committed) before the error
/// returns; a right one ends the interaction, signs the user in (creating the account on first
/// sign-in), ends the sessions the browser had (`old_sessions`: their cookie values) and issues
/// the authorization code or the forward-auth session, all in one transaction.
pub fn verify_code<'a>(
    p: &Provider,
    id: &str,
    typed: &str,
    old_sessions: impl IntoIterator<Item = &'a str>,
) -> Result<SignedIn, SignInError> {
    let now = p.now();
    let typed: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    let result = p.store.write(|tx| {
        let Some(mut i) = tx.interaction(id)?.filter(|i| now < i.expires_at) else {
            return Ok(Err(SignInError::Expired));
        };
        let Some(pc) = i.code.as_mut() else {
            return Ok(Err(SignInError::NoCode));
        };
        let address = pc.email.clone();
        let client_id = i.purpose.client_id().map(str::to_string);
        let refuse =
            |reason: SignInFailure| attempt(failed(reason), &address, client_id.as_deref());
        if pc.tries >= MAX_CODE_TRIES {
            audit::record(tx, now, refuse(SignInFailure::TooManyTries))?;
            return Ok(Err(SignInError::CodeVoid));
        }
        if now >= pc.expires_at {
            audit::record(tx, now, refuse(SignInFailure::CodeExpired))?;
            return Ok(Err(SignInError::CodeExpired));
        }
        let right = typed.len() == CODE_DIGITS
            && crypto::constant_time_eq(
                crypto::hash_code(&pc.salt, &typed).as_bytes(),
                pc.code_hash.as_bytes(),
            );
        // A refused address was sent no code, so no code is right (the page looks the same).
        if !right || pc.refused {
            pc.tries += 1;
            let left = MAX_CODE_TRIES - pc.tries;
            tx.put_interaction(id, &i)?;
            let reason = if left == 0 {
                SignInFailure::TooManyTries
            } else {
                SignInFailure::WrongCode
            };
            audit::record(tx, now, refuse(reason))?;
            return Ok(Err(if left == 0 {
                SignInError::CodeVoid
            } else {
                SignInError::WrongCode { tries_left: left }
            }));
        }
        let email = Email::parse(&pc.email)
            .map_err(|_| StoreError::Db("stored email does not parse".into()))?;
        if let SignInFor::ChangeEmail { user_id } = &i.purpose {
            return change_email(tx, now, id, user_id, &email);
        }
        // Checked when the code was sent, and again here: the account's address may have
        // changed since.
        if !reauth_address(tx, &i.purpose, &email)? {
            return Ok(Err(SignInError::NotTheSameAccount));
        }
        let existing = match tx.user_id_by_email(&email.key)? {
            Some(uid) => tx.user(&uid)?,
            None => None,
        };
        let new_user = existing.is_none();
        let mut user = match existing {
            Some(u) if u.disabled => {
                audit::record(tx, now, refuse(SignInFailure::Disabled).user(&u.id))?;
                return Ok(Err(SignInError::Disabled));
            }
            Some(u) => u,
            // The policy may have changed since the code was sent: ask again.
            None if i.purpose == SignInFor::FirstAdmin || p.sign_up().admits(&email) => {
                create_user(tx, &email, now)?
            }
            None => {
                audit::record(tx, now, refuse(SignInFailure::NotAllowed))?;
                return Ok(Err(SignInError::WrongCode {
                    tries_left: MAX_CODE_TRIES - pc.tries,
                }));
            }
        };
        user.email_verified = true;
        let authn = Authn::email_code(now);
        if crate::factors::needed(tx, &i.purpose, &user, &authn)? {
            let done = second::ask(tx, id, i, &user, (&address, new_user), authn.amr)?;
            return Ok(Ok(done));
        }
        if i.offer_passkey && crate::factors::passkeys::offer_once(tx, &p.issuer, &user.id, now)? {
            let done = second::offer_passkey(tx, id, i, &user, (&address, new_user), authn.amr)?;
            return Ok(Ok(done));
        }
        let done = finish(
            tx,
            p,
            &authn,
            (id, i.purpose),
            &address,
            user,
            new_user,
            old_sessions,
        )?;
        Ok::<_, StoreError>(Ok(done))
    });
    let result = result.map_err(SignInError::Store).and_then(|r| r);
    crate::metrics::sign_in(outcome(&result));
    result
}

/// The outcome label of `sesame_sign_ins_total`.
fn outcome(result: &Result<SignedIn, SignInError>) -> &'static str {
    match result {
        // Counted again when the second step ends.
        Ok(SignedIn {
            next: Next::SecondFactor,
            ..
        }) => "second_factor_asked",
        Ok(_) => "signed_in",
        Err(SignInError::WrongCode { .. }) => "wrong_code",
        Err(SignInError::CodeVoid) => "code_void",
        Err(SignInError::CodeExpired) => "code_expired",
        Err(SignInError::Expired) => "expired",
        Err(SignInError::NoCode) => "no_code",
        Err(SignInError::Disabled) => "disabled",
        Err(SignInError::WrongBrowser | SignInError::BadCsrf) => "refused",
        Err(SignInError::InvalidEmail(_)) => "invalid_email",
        Err(
            SignInError::ResendTooSoon { .. }
            | SignInError::TooManyCodes { .. }
            | SignInError::SendFailed,
        ) => "refused",
        Err(
            SignInError::TooManyAddresses { .. }
            | SignInError::ClientMailBudget { .. }
            | SignInError::GlobalMailBudget { .. },
        ) => "rate_limited",
        Err(SignInError::Store(_)) => "error",
        Err(SignInError::NoSecondStep | SignInError::PasskeyRefused(_)) => "refused",
        Err(SignInError::SecondVoid) => "code_void",
        Err(SignInError::EmailChangeRefused(_) | SignInError::NotTheSameAccount) => "refused",
    }
}

/// Ends a sign-in once the user has proved who they are, as `authn` says (inside the caller's
/// transaction): the interaction goes, the user is signed in (a new session replacing
/// `old_session`), and the app gets an authorization code, or the user hears they may not use
/// it. The one ending every way of signing in shares; `address` is the one the user signed in
/// with (for the audit log).
#[allow(clippy::too_many_arguments)]
pub(crate) fn finish<'a>(
    tx: &impl Writes,
    p: &Provider,
    authn: &Authn,
    (id, purpose): (&str, SignInFor),
    address: &str,
    mut user: User,
    new_user: bool,
    old_sessions: impl IntoIterator<Item = &'a str>,
) -> Result<SignedIn, StoreError> {
    let now = authn.time;
    let family = Family {
        tokens: &p.tokens,
        now,
    };
    let client_id = purpose.client_id().map(str::to_string);
    let entry = |event: AuditEvent, user_id: &str| {
        attempt(event, address, client_id.as_deref()).user(user_id)
    };
    tx.remove_interaction(id)?;
    user.last_sign_in_at = Some(now);
    if purpose == SignInFor::FirstAdmin {
        setup::promote_if_first(tx, now, &mut user)?;
    }
    tx.put_user(&user)?;
    let cookie = session::create_proved(tx, &user.id, authn, p.tokens.session_ttl)?;
    for old in old_sessions {
        session::replace(tx, old, &cookie)?;
    }
    let succeeded = AuditEvent::SignInSucceeded { new_user };
    let next = match purpose {
        SignInFor::App(request) => match tx.app(&request.client_id)? {
            Some(app) if !crate::users::may_use(&app, &user) => {
                tracing::info!(sub = %user.id, client_id = %app.client_id, "sign-in refused for this app: the user is in none of its allowed groups");
                audit::record(tx, now, entry(failed(SignInFailure::NotAllowed), &user.id))?;
                Next::NotAllowed {
                    app_name: app.name,
                    request,
                }
            }
            _ => {
                let sid = session::signs_in_to(tx, &cookie, &request.client_id)?;
                let code = family.issue_code(tx, &request, &user.id, authn, sid)?;
                audit::record(tx, now, entry(succeeded, &user.id))?;
                Next::Redirect(success_redirect(&p.issuer, &request, &code))
            }
        },
        SignInFor::Account => {
            audit::record(tx, now, entry(succeeded, &user.id))?;
            Next::Account
        }
        // The new administrator lands in the console, where first-run setup goes on (an
        // administrator already made by someone else in the meantime: the account page).
        SignInFor::FirstAdmin => {
            audit::record(tx, now, entry(succeeded, &user.id))?;
            if user.in_group(crate::users::ADMINS) {
                Next::Console(String::new())
            } else {
                Next::Account
            }
        }
        SignInFor::Console => {
            audit::record(tx, now, entry(succeeded, &user.id))?;
            Next::Console(String::new())
        }
        // Another account (only `sesame dev`'s sign-in as anyone gets here: a code must be the
        // account's own) is a plain console sign-in, not the re-authentication of this one.
        SignInFor::Reauth { user_id, back } => {
            audit::record(tx, now, entry(succeeded, &user.id))?;
            Next::Console(if user_id == user.id {
                back
            } else {
                String::new()
            })
        }
        SignInFor::Device { user_code } => {
            audit::record(tx, now, entry(succeeded, &user.id))?;
            Next::Device { user_code }
        }
        // verify_code ends these before finish; nobody is signed in by them.
        SignInFor::ChangeEmail { .. } => Next::Account,
        SignInFor::ReturnTo(url) => {
            // It lives as long as the sesame session made with it, not longer.
            let expires_at = now + p.tokens.session_ttl;
            let forward_auth_session = session::create_forward_auth(tx, &user.id, now, expires_at)?;
            audit::record(tx, now, entry(succeeded, &user.id))?;
            Next::ReturnTo {
                url,
                forward_auth_session,
            }
        }
    };
    Ok(SignedIn {
        session_cookie: cookie,
        next,
    })
}

/// Answers an app's `prompt=select_account` sign-in with "continue as the signed-in user": the
/// session named by `session_cookie` gets the authorization code, as single sign-on would
/// have given it, and the interaction ends. `Ok(None)`: the session has ended meanwhile (or
/// the sign-in is not an app's), so the person signs in with a code instead.
pub fn continue_session(
    p: &Provider,
    id: &str,
    session_cookie: Option<&str>,
) -> Result<Option<Next>, SignInError> {
    let Some((s, user)) = session::signed_in(p, session_cookie, crate::store::SessionKind::Sesame)?
    else {
        return Ok(None);
    };
    let now = p.now();
    let family = Family {
        tokens: &p.tokens,
        now,
    };
    p.store.write(|tx| {
        let Some(mut i) = tx.interaction(id)?.filter(|i| now < i.expires_at) else {
            return Ok(Err(SignInError::Expired));
        };
        let SignInFor::App(request) = i.purpose.clone() else {
            return Ok(Ok(None));
        };
        let Some(app) = tx.app(&request.client_id)? else {
            return Ok(Err(SignInError::Expired));
        };
        let allowed = crate::users::may_use(&app, &user);
        if allowed && crate::factors::needed(tx, &i.purpose, &user, &s.authn())? {
            // Continuing as this user takes the factor their sign-in lacks (after a passkey
            // that was one factor: the email code first, then the second step).
            let Some(step) = second::step_up(&s, &user) else {
                return Ok(Ok(None));
            };
            i.second = Some(step);
            tx.put_interaction(id, &i)?;
            return Ok(Ok(Some(Next::SecondFactor)));
        }
        tx.remove_interaction(id)?;
        if !allowed {
            return Ok(Ok(Some(Next::NotAllowed {
                app_name: app.name,
                request,
            })));
        }
        let cookie = session_cookie.unwrap_or_default();
        let sid = session::signs_in_to(tx, cookie, &request.client_id)?;
        let code = family.issue_code(tx, &request, &s.user_id, &s.authn(), sid)?;
        Ok::<_, StoreError>(Ok(Some(Next::Redirect(success_redirect(
            &p.issuer, &request, &code,
        )))))
    })?
}

/// The right code of a [`SignInFor::ChangeEmail`]: the interaction ends and the account's
/// email becomes the proved address ([`crate::account::apply_email_change`]), in the caller's
/// transaction. `SignedIn::session_cookie` is empty: nobody new is signed in.
fn change_email(
    tx: &impl Writes,
    now: u64,
    id: &str,
    user_id: &str,
    email: &Email,
) -> Result<Result<SignedIn, SignInError>, StoreError> {
    tx.remove_interaction(id)?;
    Ok(
        match crate::account::apply_email_change(tx, now, user_id, email)? {
            Ok(()) => Ok(SignedIn {
                session_cookie: String::new(),
                next: Next::Account,
            }),
            Err(None) => Err(SignInError::Expired),
            Err(Some(why)) => Err(SignInError::EmailChangeRefused(why)),
        },
    )
}

/// Whether `email` may receive or prove a code for `purpose`: for a re-authentication only
/// the address of the account being re-proved; for every other purpose, any address.
fn reauth_address(tx: &impl Reads, purpose: &SignInFor, email: &Email) -> Result<bool, StoreError> {
    match purpose {
        SignInFor::Reauth { user_id, .. } => {
            Ok(tx.user_id_by_email(&email.key)?.as_deref() == Some(user_id.as_str()))
        }
        _ => Ok(true),
    }
}

fn create_user(tx: &impl Writes, email: &Email, now: u64) -> Result<User, StoreError> {
    let mut user = User::new(crypto::random_id(), email.address.clone(), now);
    user.email_verified = true;
    tx.put_user(&user)?;
    tx.put_user_email(&email.key, &user.id)?;
    tracing::info!(sub = %user.id, "new account created by sign-up with an email code (the sign-up policy admits the address)");
    Ok(user)
}

pub mod dev;
pub mod passkey;
pub mod second;
pub mod setup;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod limits_tests;

#[cfg(test)]
mod second_tests;
