//! `sesame user ...` and `sesame group ...`: each builds the control [`Command`] over the
//! directory ([`crate::users`]), sends it through [`super::access`] like `app ...` (the running
//! server's control socket, or the file), and prints what happened, or the result as JSON with
//! `--json`. The directory refuses what is wrong (a taken email, an unknown group, a declared
//! user, a registered claim); the CLI only refuses what it can see alone (an update that
//! changes nothing, a `--claim` given twice).

use super::access::admin_call;
use super::args::{api_scope_map, ClaimArg, GroupCommand, UserCommand};
use super::commands::parse;
use super::error::CliError;
use super::output::{
    print_group, print_group_table, print_json, print_out, print_user, print_user_table,
    GroupWithMembers,
};
use crate::admin::{
    AppInfo, Command, GroupEdit, GroupRef, Membership, NoArgs, PasskeyRef, UserEdit, UserQuery,
    UserRef,
};
use crate::config::Config;
use crate::store::{Group, User};
use crate::users::{GroupChange, NewGroup, NewUser, Page, UserChange, ADMINS};
use serde_json::{Map, Value};

pub(super) fn user(config: &Config, command: UserCommand) -> Result<(), CliError> {
    match command {
        UserCommand::Add {
            email,
            name,
            username,
            picture,
            mut groups,
            admin,
            claims,
            out,
        } => {
            if admin {
                groups.push(ADMINS.to_string());
            }
            let new = NewUser {
                email,
                name,
                username,
                picture,
                groups,
                claims: claim_map(claims)?,
            };
            let (result, _) = admin_call(config, Command::UserAdd(new))?;
            if out.json {
                return print_json(&result);
            }
            let user: User = parse(result)?;
            if user.groups.is_empty() {
                outln!("Added {}.", who(&user));
            } else {
                outln!("Added {} to {}.", who(&user), user.groups.join(", "));
            }
            outln!(
                "They sign in with a code sent to {}; apps know them by the sub {}.",
                user.email,
                user.id
            );
            Ok(())
        }
        UserCommand::List {
            group,
            search,
            limit,
            after,
            out,
        } => {
            let query = UserQuery {
                group,
                q: search,
                after,
                // At most MAX_PAGE, checked by clap.
                limit: Some(limit as usize),
            };
            let (result, _) = admin_call(config, Command::UserList(query.clone()))?;
            if out.json {
                return print_json(&result);
            }
            print_user_page(&parse(result)?, &query, limit);
            Ok(())
        }
        UserCommand::Show { user, out } => {
            let (result, _) = admin_call(config, Command::UserShow(UserRef { user }))?;
            if out.json {
                return print_json(&result);
            }
            print_user(&parse(result)?);
            Ok(())
        }
        UserCommand::Update {
            user,
            email,
            name,
            username,
            picture,
            groups,
            no_groups,
            claims,
            no_claims,
            out,
        } => {
            let change = UserChange {
                email,
                name,
                username,
                picture,
                groups: (!groups.is_empty() || no_groups).then_some(groups),
                claims: if claims.is_empty() && !no_claims {
                    None
                } else {
                    Some(claim_map(claims)?)
                },
            };
            if user_change_is_empty(&change) {
                return Err(CliError::NothingToChange(
                    "--email, --name, --username, --picture, --group, --no-groups, --claim \
                     or --no-claims",
                ));
            }
            let (result, _) = admin_call(config, Command::UserUpdate(UserEdit { user, change }))?;
            if out.json {
                return print_json(&result);
            }
            let user: User = parse(result)?;
            outln!("Updated {}.\n", who(&user));
            print_user(&user);
            Ok(())
        }
        UserCommand::Disable { user, out } => {
            let (result, _) = admin_call(config, Command::UserDisable(UserRef { user }))?;
            if out.json {
                return print_json(&result);
            }
            let user: User = parse(result)?;
            outln!(
                "Disabled {}: they cannot sign in, and their sessions and refresh tokens have ended.",
                who(&user)
            );
            Ok(())
        }
        UserCommand::Enable { user, out } => {
            let (result, _) = admin_call(config, Command::UserEnable(UserRef { user }))?;
            if out.json {
                return print_json(&result);
            }
            let user: User = parse(result)?;
            outln!("Enabled {}: they can sign in again.", who(&user));
            Ok(())
        }
        UserCommand::Delete { user, out } => {
            let (result, _) = admin_call(config, Command::UserDelete(UserRef { user }))?;
            if out.json {
                return print_json(&result);
            }
            let user: User = parse(result)?;
            outln!(
                "Deleted {}: their sessions and refresh tokens have ended. The address is free \
                 again; the sub is never given to anyone else.",
                who(&user)
            );
            Ok(())
        }
        UserCommand::Factors { user, out } => {
            let (result, _) = admin_call(config, Command::UserFactors(UserRef { user }))?;
            if out.json {
                return print_json(&result);
            }
            let text = |key: &str| result.get(key).and_then(Value::as_str).unwrap_or_default();
            let codes = result
                .get("recovery_codes")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            outln!("{} (sub {})", text("email"), text("user"));
            outln!("  authenticator app: {}", text("totp"));
            outln!("  recovery codes:    {codes} unused");
            print_passkeys(result.get("passkeys"));
            Ok(())
        }
        UserCommand::ResetFactors { user, out } => {
            let (result, _) = admin_call(config, Command::UserResetFactors(UserRef { user }))?;
            if out.json {
                return print_json(&result);
            }
            let text = |key: &str| result.get(key).and_then(Value::as_str).unwrap_or_default();
            let app = result.get("totp_removed").and_then(Value::as_bool) == Some(true);
            let count = |key: &str| result.get(key).and_then(Value::as_u64).unwrap_or(0);
            let (codes, passkeys) = (count("recovery_codes_removed"), count("passkeys_removed"));
            outln!(
                "Reset {} (sub {}): {}, {codes} unused recovery code(s) and {passkeys} \
                 passkey(s) removed. They can set up new ones on their account page.",
                text("email"),
                text("user"),
                if app {
                    "authenticator app removed"
                } else {
                    "no authenticator app"
                },
            );
            Ok(())
        }
        UserCommand::RemovePasskey {
            user,
            credential_id,
            out,
        } => {
            let target = PasskeyRef {
                user,
                credential_id,
            };
            let (result, _) = admin_call(config, Command::UserRemovePasskey(target))?;
            if out.json {
                return print_json(&result);
            }
            let text = |key: &str| result.get(key).and_then(Value::as_str).unwrap_or_default();
            let removed = &result["removed"];
            outln!(
                "Removed the passkey {:?} ({}) of {} (sub {}): it no longer signs them in.",
                removed["name"].as_str().unwrap_or_default(),
                removed["credential_id"].as_str().unwrap_or_default(),
                text("email"),
                text("user"),
            );
            Ok(())
        }
        UserCommand::SignOut { user, out } => {
            let (result, _) = admin_call(config, Command::UserSignOut(UserRef { user }))?;
            if out.json {
                return print_json(&result);
            }
            let text = |key: &str| result.get(key).and_then(Value::as_str).unwrap_or_default();
            let ended = result
                .get("sessions_ended")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            outln!(
                "Signed out {} (sub {}): ended {ended} session{}; they must sign in again.",
                text("email"),
                text("user"),
                if ended == 1 { "" } else { "s" }
            );
            outln!("Apps keep the refresh tokens they hold; `sesame user disable` ends those too.");
            Ok(())
        }
    }
}

pub(super) fn group(config: &Config, command: GroupCommand) -> Result<(), CliError> {
    match command {
        GroupCommand::Add {
            name,
            description,
            claims,
            api_scopes,
            second_factor,
            out,
        } => {
            let new = NewGroup {
                name,
                description: description.unwrap_or_default(),
                claims: claim_map(claims)?,
                api_scopes: api_scope_map(api_scopes),
                second_factor: second_factor
                    .second_factor
                    .map(Into::into)
                    .unwrap_or_default(),
            };
            let (result, _) = admin_call(config, Command::GroupAdd(new))?;
            if out.json {
                return print_json(&result);
            }
            let group: Group = parse(result)?;
            outln!(
                "Added the group {}. Put people in it with: sesame group add-member {} USER",
                group.name,
                group.name
            );
            Ok(())
        }
        GroupCommand::List { out } => {
            let (result, _) = admin_call(config, Command::GroupList(NoArgs {}))?;
            if out.json {
                return print_json(&result);
            }
            print_group_table(&parse::<Vec<Group>>(result)?);
            Ok(())
        }
        GroupCommand::Show { name, out } => {
            let (result, _) = admin_call(config, Command::GroupShow(GroupRef { name }))?;
            if out.json {
                return print_json(&result);
            }
            let shown: GroupWithMembers = parse(result)?;
            print_group(&shown.group, Some(&shown.members));
            Ok(())
        }
        GroupCommand::Update {
            name,
            description,
            claims,
            no_claims,
            api_scopes,
            no_api_scopes,
            second_factor,
            out,
        } => {
            let change = GroupChange {
                description,
                claims: if claims.is_empty() && !no_claims {
                    None
                } else {
                    Some(claim_map(claims)?)
                },
                api_scopes: (!api_scopes.is_empty() || no_api_scopes)
                    .then(|| api_scope_map(api_scopes)),
                second_factor: second_factor.second_factor.map(Into::into),
            };
            let GroupChange {
                description,
                claims,
                api_scopes,
                second_factor,
            } = &change;
            if description.is_none()
                && claims.is_none()
                && api_scopes.is_none()
                && second_factor.is_none()
            {
                return Err(CliError::NothingToChange(
                    "--description, --claim, --no-claims, --api-scope, --no-api-scopes or \
                     --second-factor",
                ));
            }
            let (result, _) = admin_call(config, Command::GroupUpdate(GroupEdit { name, change }))?;
            if out.json {
                return print_json(&result);
            }
            let group: Group = parse(result)?;
            outln!("Updated the group {}.\n", group.name);
            print_group(&group, None);
            Ok(())
        }
        GroupCommand::Delete { name, out } => {
            let (result, _) = admin_call(config, Command::GroupDelete(GroupRef { name }))?;
            if out.json {
                return print_json(&result);
            }
            let group: Group = parse(result)?;
            outln!("Deleted the group {}; its members left it.", group.name);
            still_allowed(config, &group.name)
        }
        GroupCommand::AddMember { group, user, out } => {
            let command = Command::GroupAddMember(Membership {
                group: group.clone(),
                user,
            });
            let (result, _) = admin_call(config, command)?;
            if out.json {
                return print_json(&result);
            }
            outln!("Added {} to {group}.", who(&parse(result)?));
            Ok(())
        }
        GroupCommand::RemoveMember { group, user, out } => {
            let command = Command::GroupRemoveMember(Membership {
                group: group.clone(),
                user,
            });
            let (result, _) = admin_call(config, command)?;
            if out.json {
                return print_json(&result);
            }
            outln!("Removed {} from {group}.", who(&parse(result)?));
            Ok(())
        }
    }
}

/// A page of `user list`: the table, or why there is none, and the command for the next page.
/// The passkeys of `user factors`, one a line (never their keys).
fn print_passkeys(passkeys: Option<&Value>) {
    let listed = passkeys
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    outln!("  passkeys:          {}", listed.len());
    for pk in listed {
        let text = |key: &str| pk[key].as_str().unwrap_or_default().to_string();
        let when = |key: &str| pk[key].as_u64().map(crate::clock::utc);
        outln!(
            "    {}  {:?}  {}{}  added {}  last used {}",
            text("credential_id"),
            text("name"),
            text("alg"),
            if pk["synced"] == true { ", synced" } else { "" },
            when("created_at").unwrap_or_default(),
            when("last_used_at").unwrap_or_else(|| "never".into()),
        );
    }
}

fn print_user_page(page: &Page<User>, query: &UserQuery, limit: u64) {
    let (group, search) = (query.group.as_deref(), query.q.as_deref());
    match (page.items.is_empty(), group, &query.after) {
        (false, _, _) => print_user_table(&page.items),
        (true, _, Some(a)) => outln!("No more users after {a}."),
        (true, _, None) if search.is_some() => {
            outln!("No users match {:?}.", search.unwrap_or_default())
        }
        (true, Some(g), None) => {
            outln!("No users in {g}. Add one with: sesame group add-member {g} USER")
        }
        (true, None, None) => outln!("No users yet. Add one with: sesame user add EMAIL"),
    }
    if let Some(next) = &page.next {
        let mut again = format!("sesame user list --after {next}");
        if let Some(g) = group {
            again.push_str(&format!(" --group {g}"));
        }
        if let Some(q) = search {
            again.push_str(&format!(" --search {}", shell_quote(q)));
        }
        again.push_str(&format!(" --limit {limit}"));
        outln!("\nMore users follow. Next page: {again}");
    }
}

/// `text` as one shell word: as is when it is plain, else in single quotes.
fn shell_quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@._-+".contains(c));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// After a group is deleted, the apps whose `allowed_groups` still name it: they admit nobody
/// through it now (and would admit the members of a new group of that name), which the
/// administrator should hear about.
fn still_allowed(config: &Config, group: &str) -> Result<(), CliError> {
    let (result, _) = admin_call(config, Command::AppList(NoArgs {}))?;
    let apps: Vec<AppInfo> = parse(result)?;
    for app in apps
        .iter()
        .filter(|a| a.allowed_groups.iter().any(|g| g == group))
    {
        outln!(
            "note: {:?} ({}) still allows only {}: nobody gets in through {group} now. \
             Change it with `sesame app update {} --allowed-group GROUP` or `--allow-everyone`.",
            app.name,
            app.client_id,
            app.allowed_groups.join(", "),
            app.client_id
        );
    }
    Ok(())
}

/// How a user is named in what the CLI prints: the address and the stable ID.
fn who(user: &User) -> String {
    format!("{} (sub {})", user.email, user.id)
}

/// The `--claim` flags as one JSON object; a name given twice is a mistake, not an override.
fn claim_map(claims: Vec<ClaimArg>) -> Result<Map<String, Value>, CliError> {
    let mut map = Map::new();
    for ClaimArg { key, value } in claims {
        if map.contains_key(&key) {
            return Err(CliError::RepeatedClaim(key));
        }
        map.insert(key, value);
    }
    Ok(map)
}

/// Whether an update asks for nothing (every field named, so a new one is not forgotten).
fn user_change_is_empty(change: &UserChange) -> bool {
    let UserChange {
        email,
        name,
        username,
        picture,
        groups,
        claims,
    } = change;
    email.is_none()
        && name.is_none()
        && username.is_none()
        && picture.is_none()
        && groups.is_none()
        && claims.is_none()
}
