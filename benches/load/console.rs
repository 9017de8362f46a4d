//! Issue 8's console with 10,000 users: server time per page and the users page's weight.
//! `SESAME_BENCH_ONLY=console` (not part of the full run).
//!
//! 1. Fills a fresh store in-process (the same `users::add_in` the CLI and the console use, one
//!    write transaction): 20 groups, 10,000 users in them, one administrator.
//! 2. Starts the release binary on it (mail transport `log`), registers an app, signs the
//!    administrator in to `/console` through the real pages (the code read from sesame's log).
//! 3. Each page in [`PAGES`], one request at a time on one keep-alive connection over
//!    127.0.0.1 (so the time is sesame's, plus loopback), up to [`REQUESTS`] requests or
//!    [`PAGE_BUDGET`]: p50, p95, max, and the HTML size.
//! 4. The users page's weight: its HTML plus every stylesheet and script it links (fetched),
//!    and every reference that leaves sesame's origin (an external request).
//!
//! **Adding a page**: one line in [`PAGES`] (`{app}` is the registered app's client ID, `{user}`
//! a user's ID from the middle of the directory).

use super::*;
use sesame::store::Store;
use sesame::users::{self, NewGroup, NewUser};

const USERS: usize = 10_000;
const GROUPS: usize = 20;
const ADMIN: &str = "admin@example.com";
/// Requests per page (at most; a page also stops at its time budget, after at least 5).
const REQUESTS: usize = 200;
const PAGE_BUDGET: Duration = Duration::from_secs(10);

/// The pages measured: a label and a path (`{app}`, `{user}` filled in).
const PAGES: &[(&str, &str)] = &[
    ("apps", "/console/apps"),
    ("app", "/console/apps/show?id={app}"),
    ("app delete confirmation", "/console/apps/delete?id={app}"),
    ("users", "/console/users"),
    (
        "users, search one",
        "/console/users?q=user5000%40example.com",
    ),
    ("users, search none", "/console/users?q=nobody-at-all"),
    ("account", "/account"),
];

pub(super) async fn run(bin: &Path) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let user = fill(dir.path())?;
    let mut server = Server::start(bin, dir.path())?;
    server.wait_ready()?;
    let app = create_app(bin, dir.path())?;
    let base = server.base();
    let h = client();
    let session = console_sign_in(&h, &base, &Mailbox::Log(server.log.clone())).await?;
    println!("\nconsole pages with {USERS} users, one request at a time over 127.0.0.1:");
    println!(
        "{:<28} {:>6} {:>10} {:>10} {:>10} {:>10}",
        "page", "reqs", "p50", "p95", "max", "HTML B"
    );
    for (label, path) in PAGES {
        let path = path
            .replace("{app}", &app.client_id)
            .replace("{user}", &user);
        measure(&h, &format!("{base}{path}"), &session, label).await?;
    }
    weight(&h, &base, &session).await?;
    drop(h);
    server.stop()
}

/// The store sesame will open: groups, users, an administrator. Returns a user's ID.
fn fill(dir: &Path) -> Result<String, String> {
    let t = Instant::now();
    let store = Store::open(&dir.join("sesame.redb")).map_err(|e| e.to_string())?;
    users::ensure_builtin_groups(&store, 1).map_err(|e| e.to_string())?;
    let middle = store
        .write(|tx| {
            for g in 0..GROUPS {
                let group = NewGroup {
                    name: format!("group{g}"),
                    description: format!("Group number {g}"),
                    claims: Default::default(),
                    api_scopes: Default::default(),
                    second_factor: Default::default(),
                };
                users::add_group_in(tx, 1, group)?;
            }
            let admin = NewUser {
                email: ADMIN.to_string(),
                name: Some("Admin".to_string()),
                username: None,
                picture: None,
                groups: vec![users::ADMINS.to_string()],
                claims: Default::default(),
            };
            users::add_in(tx, 1, admin)?;
            let mut middle = String::new();
            for i in 0..USERS {
                let new = NewUser {
                    email: format!("user{i}@example.com"),
                    name: Some(format!("User {i}")),
                    username: Some(format!("user{i}")),
                    picture: None,
                    groups: vec![format!("group{}", i % GROUPS)],
                    claims: Default::default(),
                };
                let user = users::add_in(tx, 1, new)?;
                if i == USERS / 2 {
                    middle = user.id;
                }
            }
            Ok::<_, users::UserError>(middle)
        })
        .map_err(|e| e.to_string())?;
    drop(store);
    println!(
        "store: {USERS} users in {GROUPS} groups and an administrator, one transaction: {}",
        ms(t.elapsed())
    );
    Ok(middle)
}

/// Opens `/console` without a session and signs in as the administrator through the pages;
/// returns the `sesame_session` cookie.
async fn console_sign_in(h: &Http, base: &str, mailbox: &Mailbox) -> Result<String, String> {
    let r = expect(
        send(h, Method::GET, &format!("{base}/console"), &[], None).await?,
        StatusCode::SEE_OTHER,
    )?;
    let interaction_cookie = cookie(&r.headers, "sesame_interaction")?;
    let page = format!("{base}{}", header(&r.headers, LOCATION)?);
    let interaction = url::Url::parse(&page)
        .map_err(|e| e.to_string())?
        .query_pairs()
        .find(|(k, _)| k == "interaction")
        .map(|(_, v)| v.into_owned())
        .ok_or("the sign-in redirect has no interaction")?;
    let r = send(
        h,
        Method::GET,
        &page,
        &[(COOKIE, &interaction_cookie)],
        None,
    )
    .await?;
    let r = expect(r, StatusCode::OK)?;
    let html = String::from_utf8_lossy(&r.body);
    let csrf = hidden_value(&html, "csrf").ok_or("no csrf field on the sign-in page")?;
    let post = |path: &str, form: String| {
        let (url, c) = (format!("{base}{path}"), interaction_cookie.clone());
        async move {
            let headers = [(COOKIE, c.as_str()), (CONTENT_TYPE, FORM)];
            send(h, Method::POST, &url, &headers, Some(form)).await
        }
    };
    let form = enc_form(&[
        ("interaction", &interaction),
        ("csrf", &csrf),
        ("email", ADMIN),
    ]);
    expect(post("/sign-in", form).await?, StatusCode::SEE_OTHER)?;
    let code = mailbox.code_for(ADMIN).await?;
    let form = enc_form(&[
        ("interaction", &interaction),
        ("csrf", &csrf),
        ("code", &code),
    ]);
    let r = expect(post("/sign-in/code", form).await?, StatusCode::SEE_OTHER)?;
    cookie(&r.headers, "sesame_session")
}

/// Times GETs of `url` one after another; prints one row.
async fn measure(h: &Http, url: &str, session: &str, label: &str) -> Result<(), String> {
    let mut times = Vec::new();
    let mut size = 0;
    let started = Instant::now();
    while times.len() < REQUESTS && (times.len() < 5 || started.elapsed() < PAGE_BUDGET) {
        let t = Instant::now();
        let r = send(h, Method::GET, url, &[(COOKIE, session)], None).await?;
        times.push(t.elapsed());
        size = expect(r, StatusCode::OK)
            .map_err(|e| format!("{label}: {e}"))?
            .body
            .len();
    }
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    println!(
        "{label:<28} {:>6} {:>10} {:>10} {:>10} {size:>10}",
        times.len(),
        ms(at(0.50)),
        ms(at(0.95)),
        ms(times[times.len() - 1])
    );
    Ok(())
}

/// The users page's weight: its HTML, and every stylesheet and script it links; and every
/// reference to another origin.
async fn weight(h: &Http, base: &str, session: &str) -> Result<(), String> {
    let url = format!("{base}/console/users");
    let r = expect(
        send(h, Method::GET, &url, &[(COOKIE, session)], None).await?,
        StatusCode::OK,
    )?;
    let html = String::from_utf8_lossy(&r.body).into_owned();
    println!("\nthe users page ({USERS} users), uncompressed:");
    println!("  HTML                       {:>9} B", html.len());
    let mut total = html.len();
    let mut external = Vec::new();
    for (tag, attr) in [("link", "href"), ("script", "src"), ("img", "src")] {
        for value in attr_values(&html, tag, attr) {
            if value.starts_with("http:") || value.starts_with("https:") || value.starts_with("//")
            {
                external.push(value);
                continue;
            }
            if tag == "img" || !(tag == "script" || is_stylesheet_link(&html, &value)) {
                continue;
            }
            let asset = send(h, Method::GET, &format!("{base}{value}"), &[], None).await?;
            let asset = expect(asset, StatusCode::OK).map_err(|e| format!("{value}: {e}"))?;
            let body = String::from_utf8_lossy(&asset.body);
            if body.contains("url(http") || body.contains("@import") {
                external.push(format!("{value} references another file"));
            }
            println!("  {value:<26} {:>9} B", asset.body.len());
            total += asset.body.len();
        }
    }
    println!(
        "  total                      {total:>9} B ({:.1} KiB; aim: under 60 KiB)",
        total as f64 / 1024.0
    );
    if external.is_empty() {
        println!("  external requests: none");
    } else {
        println!("  external requests: {}", external.join(", "));
    }
    Ok(())
}

/// The values of `attr` on every `<tag ...>` in `html` (simple scan: sesame's own markup).
fn attr_values(html: &str, tag: &str, attr: &str) -> Vec<String> {
    let open = format!("<{tag} ");
    let needle = format!("{attr}=\"");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find(&open) {
        let element = &rest[at..];
        let end = element.find('>').unwrap_or(element.len());
        let element_tag = &element[..end];
        if let Some(v) = element_tag.find(&needle) {
            let value = &element_tag[v + needle.len()..];
            out.push(value[..value.find('"').unwrap_or(value.len())].to_string());
        }
        rest = &element[end..];
    }
    out
}

/// Whether the `<link>` with `href` is a stylesheet (not the favicon).
fn is_stylesheet_link(html: &str, href: &str) -> bool {
    html.split("<link ")
        .skip(1)
        .any(|l| l.contains(&format!("href=\"{href}\"")) && l.contains("rel=\"stylesheet\""))
}
