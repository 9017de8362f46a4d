//! The command set: what each control command does to a [`Store`], the same whether a
//! running server received it (on the control socket or the management API) or the CLI runs it
//! on the file.
//!
//! It uses [`crate::apps`] for apps, [`crate::users`] for the directory, [`crate::api_keys`]
//! for API keys, [`KeySet::rotate_with`] for keys, `handle/connector.rs` (the store's
//! `CONNECTORS` table and [`crate::mail`]) for connectors, and [`crate::audit`] for the audit
//! log; it has no socket and no running server, so anything a server must do afterwards is
//! returned as an [`Effect`] (`live.rs` applies it).
//!
//! Every command that changes something records an audit entry naming the actor, the command
//! and what changed (secrets masked: [`Changes`]), in the same write transaction as the change
//! (through the registry's `*_in` functions and [`KeySet::rotate_with`]): the change and its
//! entry commit together or not at all, and share one fsync.

mod connector;

use super::error::AdminError;
use super::protocol::{
    group_info, ApiChange, ApiKeyRef, ApiRef, AppChange, AppInfo, AppRef, BackupTo, Command,
    GroupEdit, GroupRef, KeyRotation, KeyWindow, Membership, PasskeyRef, UserEdit, UserQuery,
    UserRef,
};

/// A listing's page size when the command does not say.
const DEFAULT_PAGE: usize = 100;
/// How long a retired key stays in JWKS when `keys.list` or `keys.prune` does not say: the
/// default ID token lifetime.
const DEFAULT_TOKEN_LIFETIME: u64 = 3600;
use crate::api_keys::{self, ApiKeyInfo};
use crate::apis;
use crate::apps;
use crate::audit::{self, Actor, AuditEntry, AuditQuery, Changes, KindFilter};
use crate::config::MailConfig;
use crate::crypto::keys::KeySet;
use crate::factors;
use crate::mail::Mailer;
use crate::store::{Reads, Store, StoreError, WriteTx, SETTINGS};
use crate::users::{self, UserError};
use serde::Serialize;
use serde_json::{json, Value};

/// Carries out one command on the store for `actor`, whom the audit log names for every
/// change (the control socket and the CLI pass [`Actor::Cli`], the management API the API key
/// or admin). `mail` is the configuration's `[mail]`, against which a new connector is tried
/// before it is stored. The error stays typed: the control socket sends its text
/// ([`Response`](super::Response)), the management API maps it onto a status.
pub fn handle(
    store: &Store,
    mail: &MailConfig,
    actor: &Actor,
    command: Command,
) -> Result<Done, AdminError> {
    run(store, mail, actor, command)
}

/// What a running server must do after a command succeeded.
pub enum Effect {
    /// The signing keys changed in the store: load them again.
    ReloadKeys,
    /// The mail connector changed: send with this mailer from now on.
    SwapMailer(Box<Mailer>),
    /// The sign-in experience changed: use this record (`None`: the file alone) and this
    /// mailer (its templates follow the record) from now on.
    SetExperience(Option<crate::experience::Experience>, Box<Mailer>),
}

/// A command carried out: the result for the client, and what a running server must do.
pub struct Done {
    pub result: Value,
    pub effect: Option<Effect>,
}

impl Done {
    /// A result and nothing for the server to do.
    fn result(result: Value) -> Done {
        Done {
            result,
            effect: None,
        }
    }
}

/// Who is changing something with which command, and when: what each of the command's audit
/// entries says.
struct Audit<'a> {
    actor: &'a Actor,
    command: &'static str,
    at: u64,
}

impl Audit<'_> {
    /// Runs a directory change and records what it returned (the user or group as it is now),
    /// both in one write transaction: the change and its audit entry commit together.
    fn change<T: Serialize>(
        &self,
        store: &Store,
        client_id: Option<&str>,
        f: impl FnOnce(&WriteTx, u64) -> Result<T, UserError>,
    ) -> Result<Done, AdminError> {
        let result = store.write(|tx| {
            let result = f(tx, self.at)?;
            self.record(tx, client_id, Changes::of(&result))?;
            Ok::<_, AdminError>(result)
        })?;
        Ok(Done::result(to_json(&result)))
    }

    /// Records, inside `tx`, that the command changed `changes` (of app `client_id`, if any).
    fn record(
        &self,
        tx: &WriteTx,
        client_id: Option<&str>,
        changes: Changes,
    ) -> Result<(), StoreError> {
        let mut entry = AuditEntry::admin_change(self.actor.clone(), self.command, changes);
        if let Some(client_id) = client_id {
            entry = entry.client(client_id);
        }
        audit::record(tx, self.at, entry)
    }
}

fn run(
    store: &Store,
    mail: &MailConfig,
    actor: &Actor,
    command: Command,
) -> Result<Done, AdminError> {
    let info = |app: &crate::store::App| to_json(&AppInfo::of(app, None));
    let audit = Audit {
        actor,
        command: command.name(),
        at: crate::clock::now(),
    };
    Ok(match command {
        Command::AppCreate(new) => app_create(store, &audit, new)?,
        Command::AppList(_) => {
            let infos: Vec<AppInfo> = apps::list(store)?
                .iter()
                .map(|a| AppInfo::of(a, None))
                .collect();
            Done::result(to_json(&infos))
        }
        Command::AppShow(AppRef { client_id }) => {
            Done::result(info(&apps::get(store, &client_id)?))
        }
        Command::AppUpdate(change) => app_update(store, &audit, change)?,
        Command::AppDelete(AppRef { client_id }) => {
            let app = store.write(|tx| {
                let app = apps::delete_in(tx, &client_id)?;
                audit.record(tx, Some(&client_id), Changes::of(AppInfo::of(&app, None)))?;
                Ok::<_, AdminError>(app)
            })?;
            Done::result(info(&app))
        }
        Command::AppRotateSecret(AppRef { client_id }) => {
            app_rotate_secret(store, &audit, client_id)?
        }
        Command::ConnectorSet(settings) => connector::set(store, mail, &audit, settings)?,
        Command::ConnectorShow(connector) => connector::show(store, connector)?,
        Command::ConnectorDelete(connector) => connector::delete(store, mail, &audit, connector)?,
        Command::ExperienceShow(_) => {
            let stored =
                crate::experience::load(store).map_err(AdminError::ExperienceDoesNotLoad)?;
            Done::result(json!({ "stored": stored }))
        }
        Command::ExperienceSet(e) => experience_set(store, mail, &audit, e)?,
        Command::ExperienceReset(_) => experience_reset(store, mail, &audit)?,
        Command::KeysRotate(KeyRotation { alg }) => {
            let kid = KeySet::rotate_with(store, alg, |tx, kid| {
                audit.record(tx, None, Changes::of(json!({ "alg": alg, "kid": kid })))
            })
            .map_err(AdminError::KeyRotation)?;
            Done {
                result: json!({ "alg": alg, "kid": kid }),
                effect: Some(Effect::ReloadKeys),
            }
        }
        Command::KeysList(KeyWindow { token_lifetime }) => {
            let lifetime = token_lifetime.unwrap_or(DEFAULT_TOKEN_LIFETIME);
            let lifetime = apis::key_lifetime(store, lifetime).map_err(AdminError::Keys)?;
            let keys = crate::crypto::keys::list(store, lifetime).map_err(AdminError::Keys)?;
            Done::result(to_json(&keys))
        }
        Command::KeysPrune(KeyWindow { token_lifetime }) => {
            let lifetime = token_lifetime.unwrap_or(DEFAULT_TOKEN_LIFETIME);
            let lifetime = apis::key_lifetime(store, lifetime).map_err(AdminError::Keys)?;
            let now = crate::clock::now();
            let pruned = crate::crypto::keys::prune_with(store, now, lifetime, |tx, gone| {
                let kids: Vec<&str> = gone.iter().map(|k| k.kid.as_str()).collect();
                audit.record(tx, None, Changes::of(json!({ "pruned": kids })))
            })
            .map_err(AdminError::Keys)?;
            Done {
                result: json!({ "pruned": to_json(&pruned) }),
                effect: (!pruned.is_empty()).then_some(Effect::ReloadKeys),
            }
        }
        Command::Backup(BackupTo { path }) => {
            if !path.is_absolute() {
                return Err(AdminError::RelativeBackupPath(path));
            }
            let report = store.backup_to(&path).map_err(AdminError::Backup)?;
            Done::result(to_json(&report))
        }
        Command::MailTest(_) => return Err(AdminError::MailTestNeedsServer),
        Command::UserAdd(new) => audit.change(store, None, |tx, at| users::add_in(tx, at, new))?,
        Command::UserList(UserQuery {
            group,
            q,
            after,
            limit,
        }) => Done::result(to_json(&users::list(
            store,
            group.as_deref(),
            q.as_deref(),
            after.as_deref(),
            limit.unwrap_or(DEFAULT_PAGE),
        )?)),
        Command::UserShow(UserRef { user }) => Done::result(to_json(&users::get(store, &user)?)),
        Command::UserUpdate(UserEdit { user, change }) => audit.change(store, None, |tx, at| {
            users::update_in(tx, at, &user, change)
        })?,
        Command::UserDisable(UserRef { user }) => audit.change(store, None, |tx, at| {
            users::set_disabled_in(tx, at, &user, true)
        })?,
        Command::UserEnable(UserRef { user }) => audit.change(store, None, |tx, at| {
            users::set_disabled_in(tx, at, &user, false)
        })?,
        Command::UserDelete(UserRef { user }) => {
            audit.change(store, None, |tx, _| users::delete_in(tx, &user))?
        }
        Command::UserSignOut(UserRef { user }) => audit.change(store, None, |tx, _| {
            let (user, sessions) = users::sign_out_in(tx, &user)?;
            Ok(json!({ "user": user.id, "email": user.email, "sessions_ended": sessions }))
        })?,
        Command::UserFactors(UserRef { user }) => {
            let user = users::get(store, &user)?;
            let summary = store.read(|tx| factors::summary(tx, &user.id))?;
            let mut shown = to_json(&summary);
            shown["user"] = json!(user.id);
            shown["email"] = json!(user.email);
            Done::result(shown)
        }
        Command::UserResetFactors(UserRef { user }) => audit.change(store, None, |tx, _| {
            let user = users::find(tx, &user)?;
            let reset = factors::totp::reset_in(tx, &user.id)?;
            Ok(json!({
                "user": user.id,
                "email": user.email,
                "totp_removed": reset.totp,
                "recovery_codes_removed": reset.recovery_codes,
                "passkeys_removed": reset.passkeys,
            }))
        })?,
        Command::UserRemovePasskey(target) => remove_passkey(store, &audit, target)?,
        Command::GroupAdd(new) => audit.change(store, None, |tx, at| {
            users::add_group_in(tx, at, new).map(|g| group_info(&g))
        })?,
        Command::GroupList(_) => {
            let groups = users::list_groups(store)?;
            Done::result(Value::Array(groups.iter().map(group_info).collect()))
        }
        Command::GroupShow(GroupRef { name }) => {
            let group = users::get_group(store, &name)?;
            let members: Vec<Value> = users::list(store, Some(&name), None, None, users::MAX_PAGE)?
                .items
                .iter()
                .map(|u| json!({ "id": u.id, "email": u.email }))
                .collect();
            let mut v = group_info(&group);
            v["members"] = Value::Array(members);
            Done::result(v)
        }
        Command::GroupUpdate(GroupEdit { name, change }) => {
            audit.change(store, None, |tx, at| {
                users::update_group_in(tx, at, &name, change).map(|g| group_info(&g))
            })?
        }
        Command::GroupDelete(GroupRef { name }) => {
            audit.change(store, None, |tx, at| users::delete_group_in(tx, at, &name))?
        }
        Command::GroupAddMember(Membership { group, user }) => {
            audit.change(store, None, |tx, at| {
                users::add_member_in(tx, at, &group, &user)
            })?
        }
        Command::GroupRemoveMember(Membership { group, user }) => {
            audit.change(store, None, |tx, at| {
                users::remove_member_in(tx, at, &group, &user)
            })?
        }
        Command::AuditList(query) => Done::result(to_json(&audit_list(store, query)?)),
        Command::ApiKeyCreate(new) => {
            let now = crate::clock::now();
            let (key, clear) = api_keys::create(store, now, new)?;
            // Recorded right after the key is stored, in a transaction of its own (the key's
            // own write is inside api_keys); the entry never holds the key itself.
            let info = ApiKeyInfo::of(&key, now, None);
            audit::record_now(
                store,
                now,
                AuditEntry::admin_change(actor.clone(), "api-key.create", Changes::of(&info)),
            )?;
            Done::result(to_json(&ApiKeyInfo::of(&key, now, Some(clear))))
        }
        Command::ApiKeyList(_) => {
            let now = crate::clock::now();
            let infos: Vec<ApiKeyInfo> = api_keys::list(store)?
                .iter()
                .map(|k| ApiKeyInfo::of(k, now, None))
                .collect();
            Done::result(to_json(&infos))
        }
        Command::ApiKeyRevoke(ApiKeyRef { id }) => {
            let now = crate::clock::now();
            let key = api_keys::revoke(store, now, &id)?;
            let info = ApiKeyInfo::of(&key, now, None);
            audit::record_now(
                store,
                now,
                AuditEntry::admin_change(actor.clone(), "api-key.revoke", Changes::of(&info)),
            )?;
            Done::result(to_json(&info))
        }
        Command::ApiCreate(new) => {
            api_change(store, &audit, |tx, at| apis::create_in(tx, at, new))?
        }
        Command::ApiList(_) => Done::result(to_json(&apis::list(store)?)),
        Command::ApiShow(ApiRef { indicator }) => {
            Done::result(to_json(&apis::get(store, &indicator)?))
        }
        Command::ApiUpdate(ApiChange { indicator, change }) => {
            api_change(store, &audit, |tx, at| {
                apis::update_in(tx, at, &indicator, change)
            })?
        }
        Command::ApiDelete(ApiRef { indicator }) => {
            api_change(store, &audit, |tx, _| apis::delete_in(tx, &indicator))?
        }
    })
}

/// Removes one passkey of a user; the entry is about the user too, as the account page's own
/// removals are (`audit --user` finds both).
fn remove_passkey(store: &Store, audit: &Audit, target: PasskeyRef) -> Result<Done, AdminError> {
    let PasskeyRef {
        user,
        credential_id,
    } = target;
    let removed = store.write(|tx| {
        let user = users::find(tx, &user)?;
        let Some(pk) = factors::passkeys::remove_in(tx, &user.id, &credential_id)? else {
            let user = user.email;
            return Err(UserError::UnknownPasskey {
                user,
                credential_id,
            }
            .into());
        };
        let removed = json!({
            "user": user.id,
            "email": user.email,
            "removed": factors::PasskeyInfo::of(&pk),
        });
        let changes = Changes::of(&removed);
        let entry = AuditEntry::admin_change(audit.actor.clone(), audit.command, changes);
        audit::record(tx, audit.at, entry.user(&user.id))?;
        Ok::<_, AdminError>(removed)
    })?;
    Ok(Done::result(removed))
}

/// Runs an API registry change and records the API as it is now (or was, deleted), in one
/// write transaction.
fn api_change(
    store: &Store,
    audit: &Audit,
    f: impl FnOnce(&WriteTx, u64) -> Result<crate::store::ApiResource, apis::ApiError>,
) -> Result<Done, AdminError> {
    let api = store.write(|tx| {
        let api = f(tx, audit.at)?;
        audit.record(tx, None, Changes::of(&api))?;
        Ok::<_, AdminError>(api)
    })?;
    Ok(Done::result(to_json(&api)))
}

/// Registers an app; the entry records it as created, its new secret masked.
fn app_create(store: &Store, audit: &Audit, new: apps::NewApp) -> Result<Done, AdminError> {
    let (app, secret) = store.write(|tx| {
        let (app, secret) = apps::create_in(tx, new)?;
        let created = Changes::of(AppInfo::of(&app, secret.clone()));
        audit.record(tx, Some(&app.client_id), created)?;
        Ok::<_, AdminError>((app, secret))
    })?;
    apps::warn_if_insecure(&app);
    Ok(Done::result(to_json(&AppInfo::of(&app, secret))))
}

/// Changes an app; the entry records each changed field, from and to.
fn app_update(store: &Store, audit: &Audit, update: AppChange) -> Result<Done, AdminError> {
    let AppChange { client_id, change } = update;
    let app = store.write(|tx| {
        let before = tx.app(&client_id)?.map(|a| AppInfo::of(&a, None));
        let app = apps::update_in(tx, &client_id, change)?;
        let changed = Changes::between(before, AppInfo::of(&app, None));
        audit.record(tx, Some(&client_id), changed)?;
        Ok::<_, AdminError>(app)
    })?;
    apps::warn_if_insecure(&app);
    Ok(Done::result(to_json(&AppInfo::of(&app, None))))
}

/// Gives an app a new secret; the entry records that it changed (masked).
fn app_rotate_secret(store: &Store, audit: &Audit, client_id: String) -> Result<Done, AdminError> {
    let secret = store.write(|tx| {
        let secret = apps::rotate_secret_in(tx, &client_id)?;
        let rotated = Changes::of(json!({ "client_secret": secret }));
        audit.record(tx, Some(&client_id), rotated)?;
        Ok::<_, AdminError>(secret)
    })?;
    Ok(Done::result(
        json!({ "client_id": client_id, "client_secret": secret }),
    ))
}

/// A page of the audit log. A command name given as the kind must be one of ours: a typo would
/// otherwise look like "nothing happened".
fn audit_list(store: &Store, query: AuditQuery) -> Result<audit::AuditPage, AdminError> {
    if let Some(KindFilter::Command(name)) = &query.kind {
        let known = Command::NAMES
            .iter()
            .chain(crate::account::COMMANDS)
            .any(|c| *c == name);
        if !known {
            return Err(AdminError::UnknownAuditKind(name.clone()));
        }
    }
    Ok(store.read(|tx| audit::list(tx, &query))?)
}

/// `experience.set`: checks every field, then stores the record whole with its audit entry in
/// one transaction, and leaves the running server the record and a mailer with its templates.
/// The file's sign-up policy is not known here (the CLI may run on the file alone), so a
/// `domains` mode must come with its domains.
fn experience_set(
    store: &Store,
    mail: &MailConfig,
    audit: &Audit,
    e: crate::experience::Experience,
) -> Result<Done, AdminError> {
    let refused = e.check(&users::SignUpConfig::default());
    if !refused.is_empty() {
        return Err(AdminError::ExperienceInvalid(refused));
    }
    let mailer = experience_mailer(store, &e.mail(mail));
    let stored = to_json(&e);
    store.write(|tx| {
        tx.put(&SETTINGS, crate::experience::RECORD, &stored)?;
        audit.record(tx, None, Changes::of(&stored))
    })?;
    Ok(Done {
        result: json!({ "stored": stored }),
        effect: Some(Effect::SetExperience(Some(e), Box::new(mailer))),
    })
}

/// `experience.reset`: removes the record; the file's values and templates again.
fn experience_reset(store: &Store, mail: &MailConfig, audit: &Audit) -> Result<Done, AdminError> {
    let removed = store.write(|tx| {
        let removed = tx.remove(&SETTINGS, crate::experience::RECORD)?;
        if removed {
            audit.record(tx, None, Changes::of(json!({ "reset": true })))?;
        }
        Ok::<_, StoreError>(removed)
    })?;
    Ok(Done {
        result: json!({ "reset": removed }),
        effect: Some(Effect::SetExperience(
            None,
            Box::new(experience_mailer(store, mail)),
        )),
    })
}

/// The mailer for `mail` and the stored connector, as at start: one that does not build fails
/// every send with the reason (never a fallback to the log).
fn experience_mailer(store: &Store, mail: &MailConfig) -> Mailer {
    let built = crate::mail::stored_connector(store)
        .map_err(|e| e.to_string())
        .and_then(|stored| Mailer::build(mail, stored).map_err(|e| e.to_string()));
    built.unwrap_or_else(Mailer::misconfigured)
}

/// Replaces secret values with a mask that only says they are set ([`crate::secret::mask`]).
pub fn mask_secrets(v: Value) -> Value {
    crate::secret::mask(v)
}

fn to_json<T: Serialize>(v: &T) -> Value {
    // Our own plain structs (strings, numbers, vectors) always serialise.
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// The email template named by `mail test --template`: `Register`, `SignIn` (the default),
/// `ForgotPassword` or `Generic` (Logto's usage types, leniently spelt).
pub fn purpose(name: Option<&str>) -> Result<crate::mail::Purpose, AdminError> {
    name.unwrap_or("SignIn")
        .parse()
        .map_err(AdminError::UnknownTemplate)
}
