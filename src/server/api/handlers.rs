//! One function per route: read the path, the query and the body into the admin command's
//! arguments, run the command ([`Call::run`]), shape the answer. Nothing here decides what an
//! operation means; that is the command's job.

use super::input::percent_encode;
use super::{Call, Principal, Problem, Reply};
use crate::admin::{
    ApiChange, ApiKeyRef, ApiRef, AppChange, AppRef, Command, ConnectorRef, ConnectorSettings,
    GroupEdit, GroupRef, KeyRotation, Membership, NoArgs, PasskeyRef, UserEdit, UserQuery, UserRef,
};
use crate::users::MAX_PAGE;
use serde_json::{json, Value};

/// Who is calling, and (for a session) the token its writes must carry.
pub fn session(c: &Call<'_>) -> Result<Reply, Problem> {
    Ok(Reply::ok(match &c.principal {
        Some(Principal::ApiKey { id, name }) => json!({
            "kind": "api_key",
            "api_key": { "id": id, "name": name },
        }),
        Some(Principal::Admin {
            user_id,
            email,
            csrf,
        }) => json!({
            "kind": "session",
            "user": { "id": user_id, "email": email },
            "csrf_token": csrf,
        }),
        None => Value::Null,
    }))
}

// Users.

pub fn users_list(c: &Call<'_>) -> Result<Reply, Problem> {
    let limit = match c.query("limit")? {
        None => None,
        Some(l) => Some(
            l.parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_PAGE).contains(n))
                .ok_or_else(|| {
                    Problem::invalid("limit", format!("limit is a number from 1 to {MAX_PAGE}"))
                })?,
        ),
    };
    let query = UserQuery {
        group: c.query("group")?,
        q: c.query("q")?,
        after: c.query("after")?,
        limit,
    };
    Ok(Reply::ok(c.run(Command::UserList(query))?))
}

pub fn user_create(c: &Call<'_>) -> Result<Reply, Problem> {
    let user = c.run(Command::UserAdd(c.body()?))?;
    let location = id_path("/users", &user["id"]);
    Ok(Reply::created(user, location))
}

pub fn user_show(c: &Call<'_>) -> Result<Reply, Problem> {
    user_command(c, Command::UserShow)
}

pub fn user_update(c: &Call<'_>) -> Result<Reply, Problem> {
    let edit = UserEdit {
        user: c.param("user"),
        change: c.body()?,
    };
    Ok(Reply::ok(c.run(Command::UserUpdate(edit))?))
}

pub fn user_delete(c: &Call<'_>) -> Result<Reply, Problem> {
    user_command(c, Command::UserDelete)
}

pub fn user_disable(c: &Call<'_>) -> Result<Reply, Problem> {
    user_command(c, Command::UserDisable)
}

pub fn user_enable(c: &Call<'_>) -> Result<Reply, Problem> {
    user_command(c, Command::UserEnable)
}

pub fn user_sign_out(c: &Call<'_>) -> Result<Reply, Problem> {
    user_command(c, Command::UserSignOut)
}

pub fn user_factors(c: &Call<'_>) -> Result<Reply, Problem> {
    user_command(c, Command::UserFactors)
}

pub fn user_reset_factors(c: &Call<'_>) -> Result<Reply, Problem> {
    user_command(c, Command::UserResetFactors)
}

pub fn user_remove_passkey(c: &Call<'_>) -> Result<Reply, Problem> {
    no_body(c)?;
    let target = PasskeyRef {
        user: c.param("user"),
        credential_id: c.param("credential_id"),
    };
    Ok(Reply::ok(c.run(Command::UserRemovePasskey(target))?))
}

fn user_command(c: &Call<'_>, command: fn(UserRef) -> Command) -> Result<Reply, Problem> {
    no_body(c)?;
    let user = c.param("user");
    Ok(Reply::ok(c.run(command(UserRef { user }))?))
}

// Groups.

pub fn groups_list(c: &Call<'_>) -> Result<Reply, Problem> {
    Ok(Reply::ok(one_page(c.run(Command::GroupList(NoArgs {}))?)))
}

pub fn group_create(c: &Call<'_>) -> Result<Reply, Problem> {
    let group = c.run(Command::GroupAdd(c.body()?))?;
    let location = id_path("/groups", &group["name"]);
    Ok(Reply::created(group, location))
}

pub fn group_show(c: &Call<'_>) -> Result<Reply, Problem> {
    group_command(c, Command::GroupShow)
}

pub fn group_update(c: &Call<'_>) -> Result<Reply, Problem> {
    let edit = GroupEdit {
        name: c.param("name"),
        change: c.body()?,
    };
    Ok(Reply::ok(c.run(Command::GroupUpdate(edit))?))
}

pub fn group_delete(c: &Call<'_>) -> Result<Reply, Problem> {
    group_command(c, Command::GroupDelete)
}

pub fn member_add(c: &Call<'_>) -> Result<Reply, Problem> {
    membership(c, Command::GroupAddMember)
}

pub fn member_remove(c: &Call<'_>) -> Result<Reply, Problem> {
    membership(c, Command::GroupRemoveMember)
}

fn group_command(c: &Call<'_>, command: fn(GroupRef) -> Command) -> Result<Reply, Problem> {
    no_body(c)?;
    let name = c.param("name");
    Ok(Reply::ok(c.run(command(GroupRef { name }))?))
}

fn membership(c: &Call<'_>, command: fn(Membership) -> Command) -> Result<Reply, Problem> {
    no_body(c)?;
    let m = Membership {
        group: c.param("name"),
        user: c.param("user"),
    };
    Ok(Reply::ok(c.run(command(m))?))
}

// Apps.

pub fn apps_list(c: &Call<'_>) -> Result<Reply, Problem> {
    Ok(Reply::ok(one_page(c.run(Command::AppList(NoArgs {}))?)))
}

pub fn app_create(c: &Call<'_>) -> Result<Reply, Problem> {
    let app = c.run(Command::AppCreate(c.body()?))?;
    let location = id_path("/apps", &app["client_id"]);
    Ok(Reply::created(app, location))
}

pub fn app_show(c: &Call<'_>) -> Result<Reply, Problem> {
    app_command(c, Command::AppShow)
}

pub fn app_update(c: &Call<'_>) -> Result<Reply, Problem> {
    let change = AppChange {
        client_id: c.param("client_id"),
        change: c.body()?,
    };
    Ok(Reply::ok(c.run(Command::AppUpdate(change))?))
}

pub fn app_delete(c: &Call<'_>) -> Result<Reply, Problem> {
    app_command(c, Command::AppDelete)
}

pub fn app_rotate_secret(c: &Call<'_>) -> Result<Reply, Problem> {
    app_command(c, Command::AppRotateSecret)
}

fn app_command(c: &Call<'_>, command: fn(AppRef) -> Command) -> Result<Reply, Problem> {
    no_body(c)?;
    let client_id = c.param("client_id");
    Ok(Reply::ok(c.run(command(AppRef { client_id }))?))
}

// APIs (resource servers). The indicator is a URI, so it travels percent-encoded as one path
// segment (`/apis/https%3A%2F%2Fapi.home%2F`); the router decodes it, and it must then match
// the registered indicator exactly.

pub fn apis_list(c: &Call<'_>) -> Result<Reply, Problem> {
    Ok(Reply::ok(one_page(c.run(Command::ApiList(NoArgs {}))?)))
}

pub fn api_create(c: &Call<'_>) -> Result<Reply, Problem> {
    let api = c.run(Command::ApiCreate(c.body()?))?;
    let location = id_path("/apis", &api["indicator"]);
    Ok(Reply::created(api, location))
}

pub fn api_show(c: &Call<'_>) -> Result<Reply, Problem> {
    api_command(c, Command::ApiShow)
}

pub fn api_update(c: &Call<'_>) -> Result<Reply, Problem> {
    let change = ApiChange {
        indicator: c.param("indicator"),
        change: c.body()?,
    };
    Ok(Reply::ok(c.run(Command::ApiUpdate(change))?))
}

pub fn api_delete(c: &Call<'_>) -> Result<Reply, Problem> {
    api_command(c, Command::ApiDelete)
}

fn api_command(c: &Call<'_>, command: fn(ApiRef) -> Command) -> Result<Reply, Problem> {
    no_body(c)?;
    let indicator = c.param("indicator");
    Ok(Reply::ok(c.run(command(ApiRef { indicator }))?))
}

// The mail connector, keys, API keys.

pub fn ses_connector_show(c: &Call<'_>) -> Result<Reply, Problem> {
    connector_show(c, "ses")
}

pub fn ses_connector_set(c: &Call<'_>) -> Result<Reply, Problem> {
    connector_set(c, "ses")
}

pub fn ses_connector_delete(c: &Call<'_>) -> Result<Reply, Problem> {
    connector_delete(c, "ses")
}

pub fn smtp_connector_show(c: &Call<'_>) -> Result<Reply, Problem> {
    connector_show(c, "smtp")
}

pub fn smtp_connector_set(c: &Call<'_>) -> Result<Reply, Problem> {
    connector_set(c, "smtp")
}

pub fn smtp_connector_delete(c: &Call<'_>) -> Result<Reply, Problem> {
    connector_delete(c, "smtp")
}

fn connector_show(c: &Call<'_>, name: &str) -> Result<Reply, Problem> {
    let name = name.to_string();
    Ok(Reply::ok(
        c.run(Command::ConnectorShow(ConnectorRef { name }))?,
    ))
}

/// The body is the connector's own JSON (Logto's AWS SES connector, or the SMTP connector's
/// fields), as `sesame connector set` reads it from a file.
fn connector_set(c: &Call<'_>, name: &str) -> Result<Reply, Problem> {
    let settings = ConnectorSettings {
        name: name.to_string(),
        config: Some(Value::Object(c.body_object()?)),
    };
    Ok(Reply::ok(c.run(Command::ConnectorSet(settings))?))
}

fn connector_delete(c: &Call<'_>, name: &str) -> Result<Reply, Problem> {
    no_body(c)?;
    let name = name.to_string();
    Ok(Reply::ok(
        c.run(Command::ConnectorDelete(ConnectorRef { name }))?,
    ))
}

pub fn keys_rotate(c: &Call<'_>) -> Result<Reply, Problem> {
    let rotation: KeyRotation = c.body()?;
    Ok(Reply::ok(c.run(Command::KeysRotate(rotation))?))
}

pub fn api_keys_list(c: &Call<'_>) -> Result<Reply, Problem> {
    Ok(Reply::ok(one_page(c.run(Command::ApiKeyList(NoArgs {}))?)))
}

pub fn api_key_create(c: &Call<'_>) -> Result<Reply, Problem> {
    // No Location: a key is not fetched one by one (the list shows it).
    Ok(Reply::created(
        c.run(Command::ApiKeyCreate(c.body()?))?,
        None,
    ))
}

pub fn api_key_revoke(c: &Call<'_>) -> Result<Reply, Problem> {
    no_body(c)?;
    let id = c.param("id");
    Ok(Reply::ok(c.run(Command::ApiKeyRevoke(ApiKeyRef { id }))?))
}

/// Refuses a body where the route takes none: a client that sends one expects it to count.
fn no_body(c: &Call<'_>) -> Result<(), Problem> {
    c.body_object().map(drop)
}

/// A whole list as the one page of a listing.
fn one_page(items: Value) -> Value {
    json!({ "items": items })
}

/// `/collection/{id}` for `Location`.
fn id_path(collection: &str, id: &Value) -> Option<String> {
    id.as_str()
        .map(|id| format!("{collection}/{}", percent_encode(id)))
}

/// `GET /audit`: the audit log, newest first, filtered by the query.
pub fn audit_list(c: &Call<'_>) -> Result<Reply, Problem> {
    let kind = c
        .query("kind")?
        .map(|k| {
            k.parse()
                .map_err(|e| Problem::invalid("kind", format!("{e}")))
        })
        .transpose()?;
    let since = c
        .query("since")?
        .map(|t| {
            crate::audit::parse_since(&t, crate::clock::now())
                .map_err(|e| Problem::invalid("since", format!("{e}")))
        })
        .transpose()?;
    let until = c
        .query("until")?
        .map(|t| {
            crate::audit::parse_since(&t, crate::clock::now())
                .map_err(|e| Problem::invalid("until", format!("{e}")))
        })
        .transpose()?;
    let before = c
        .query("before")?
        .map(|b| {
            b.parse()
                .map_err(|e| Problem::invalid("before", format!("{e}")))
        })
        .transpose()?;
    let limit = c
        .query("limit")?
        .map(|l| {
            l.parse::<usize>()
                .ok()
                .filter(|n| (1..=1000).contains(n))
                .ok_or_else(|| Problem::invalid("limit", "limit is a number from 1 to 1000"))
        })
        .transpose()?;
    let query = crate::audit::AuditQuery {
        user: c.query("user")?,
        app: c.query("app")?,
        kind,
        since,
        until,
        before,
        limit,
    };
    Ok(Reply::ok(c.run(Command::AuditList(query))?))
}
