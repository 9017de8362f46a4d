//! The HTML pages: minijinja templates and static files, both embedded in the binary.
//!
//! Every page a person sees comes from here: the email page, the code page, the error page, the
//! logout confirmation, the signed-out page and the account page. [`Pages::new`] parses all templates once at start;
//! [`Pages::render`] fills one with a JSON context merged over the branding keys.
//!
//! Pages are served under a strict CSP (`default-src 'none'; style-src 'self'; img-src 'self' https:
//! data:`), so they carry no inline style or script and no JavaScript at all: every flow is a plain
//! form post. One exception: the console's sign-in experience page links a script file of its own
//! (`experience.js`, the live preview; served with `script-src 'self'`), and works without it. The configured accent colour therefore cannot be an inline style; the server serves
//! [`Pages::accent_css`] as `{static_base}/theme.css`, linked after `style.css`.
//!
//! The mark in the header and the favicon are the same SVG, filled with the accent at start
//! ([`Pages::favicon_svg`], served as `{static_base}/favicon.svg`). A logo is either a URL
//! (`logo_url`: https, or a path on this origin; the CSP admits both) or a local file
//! (`logo_file`), read once at start and served as `{static_base}/logo` ([`Pages::logo`]). The
//! product name stays beside any logo: the logo alone may not say what it is.
//!
//! Context keys (besides the branding keys `product_name`, `accent_color`, always set, and
//! `logo_url` or `logo_file` when a logo is configured):
//! every page needs `static_base` (URL prefix of the static files, e.g. `/oidc/static`) and takes an
//! optional `app_name`.
//!
//! | page                  | required                          | optional                          |
//! |-----------------------|-----------------------------------|-----------------------------------|
//! | `sign_in_email.html`  | action, interaction, csrf         | email, error                      |

//! | `sign_in_code.html`   | action, interaction, csrf         | email, error, notice, back_url, resend_wait |
//! | `error.html`          | title, message                    | hint, retry_url, retry_label      |
//! | `logout_confirm.html` | action, csrf, stay_url            | hidden (list of {name, value})    |
//! | `signed_out.html`     | message                           | return_url                        |
//! | `home.html`           | discovery_url, account_url        | console_url                       |
//! | `select_account.html` | action, interaction, csrf, email, other_url |                         |
//! | `device.html`         | action                            | user_code, error, request ({user_code, app_name, scopes}), csrf, email, done ({title, message}) |
//! | `dev_sign_in.html`    | action, interaction, csrf, client_id, redirect_uri, error_codes, email_url | personas, email, name, username, groups, claims, error |
//! | `dev_debugger.html`   | action, redirect_uri, client_id, client_secret, scope | error, result                     |
//! | `console_*.html`      | console, csrf, admin_email, section (the layout's nav); see `server::console` | notice, error |
//!
//! `sign_in_email.html`'s card is the partial `sign_in_email_form.html`, which the console's
//! preview also includes with `inert` set (no interaction or csrf: a form that cannot be sent).
//!
//! Every page also takes `dev_mode`: under `sesame dev` a banner says so at the top, and the code
//! page takes `dev_code`, the code the outbox kept (dev mode sends no mail).
//!
//! A required key that is missing is a bug in the caller: printing an undefined value is an error
//! here (not an empty string), so tests catch it, and the person gets the fallback page.
//!
//! Owns the templates, the static files, HTML escaping and [`BrandingConfig`] (the `[branding]`
//! table, which the configuration assembles into its own). Uses nothing else in sesame: the
//! caller hands it the branding.

use std::borrow::Cow;
use std::fmt;

use minijinja::value::Serde;
use minijinja::{
    AutoEscape, Environment, Error, ErrorKind, Output, State, UndefinedBehavior, Value,
};
use rust_embed::RustEmbed;
use serde::{Deserialize, Serialize};

/// The pages the server renders; `new` refuses to start if one of them is missing.
const PAGES: &[&str] = &[
    "sign_in_email.html",
    "sign_in_code.html",
    "error.html",
    "logout_confirm.html",
    "signed_out.html",
    "dev_sign_in.html",
    "dev_debugger.html",
    "home.html",
    "account.html",
    "account_email_code.html",
    "account_totp.html",
    "account_recovery_codes.html",
    "select_account.html",
    "sign_in_second.html",
    "sign_in_recovery_codes.html",
    "console_apps.html",
    "console_app.html",
    "console_app_delete.html",
    "console_users.html",
    "device.html",
    "console_mail.html",
    "console_keys.html",
    "console_experience.html",
    "console_user.html",
    "console_groups.html",
    "console_group.html",
    "console_confirm.html",
];

/// The largest `logo_file` served: a logo is a small image; a mistaken path to a large file
/// must not be held in memory.
pub const MAX_LOGO_BYTES: u64 = 512 * 1024;

/// The image types a `logo_file` may be, by extension, and the content type each is served as.
pub const LOGO_TYPES: [(&str, &str); 6] = [
    ("png", "image/png"),
    ("svg", "image/svg+xml"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("webp", "image/webp"),
    ("gif", "image/gif"),
];

/// The accent colour used when the configured one is not `#rrggbb` (`#5d34f2`, as in config).
const DEFAULT_ACCENT: Rgb = Rgb([0x5d, 0x34, 0xf2]);

/// What the pages look like: the `[branding]` table of `sesame.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BrandingConfig {
    pub product_name: String,
    /// An image URL shown above the forms, beside the product name: https, or a path on
    /// this origin starting with `/`.
    pub logo_url: Option<String>,
    /// A local image file (png, svg, jpg, webp, gif; at most [`MAX_LOGO_BYTES`]) shown as the
    /// logo, read once at start and served by sesame itself. Not with `logo_url`.
    pub logo_file: Option<std::path::PathBuf>,
    /// A CSS colour in `#rrggbb` form.
    pub accent_color: String,
}

impl Default for BrandingConfig {
    fn default() -> Self {
        BrandingConfig {
            product_name: "sesame".into(),
            logo_url: None,
            logo_file: None,
            accent_color: "#5d34f2".into(),
        }
    }
}

/// The page renderer: every template parsed once, plus the branding every page shows.
pub struct Pages {
    env: Environment<'static>,
    /// The branding of `[branding]` (the file's), which [`Pages::render`] uses; a running
    /// server renders with the provider's current branding instead ([`Pages::render_as`]), which
    /// the console's sign-in experience may have changed.
    branding: std::sync::Arc<Branding>,
    /// The configured `logo_file`: its bytes and content type.
    logo: Option<(Vec<u8>, &'static str)>,
}

/// What every page shows of the branding, computed once from a [`BrandingConfig`].
#[derive(Debug, Clone)]
pub struct Branding {
    /// Branding keys, the base of every page's context (the caller's keys are merged over them).
    keys: serde_json::Map<String, serde_json::Value>,
    /// The body of `theme.css` (accent, text on accent, link colours).
    accent_css: String,
    /// The mark (and favicon) in the accent colour.
    favicon_svg: String,
}

impl Branding {
    /// The branding of `b`; `logo_file` says whether a logo file is served (read at start).
    /// An accent colour that is not `#rrggbb` is logged and replaced by the default, so a typo
    /// in branding never keeps the server from starting.
    pub fn of(b: &BrandingConfig, logo_file: bool) -> Branding {
        let accent = match Rgb::parse(&b.accent_color) {
            Some(accent) => accent,
            None => {
                tracing::warn!(
                    accent_color = %b.accent_color,
                    "branding.accent_color is not #rrggbb; using {}",
                    DEFAULT_ACCENT.hex()
                );
                DEFAULT_ACCENT
            }
        };
        let mut keys = serde_json::Map::new();
        keys.insert("product_name".into(), b.product_name.clone().into());
        if let Some(url) = b.logo_url.as_deref().filter(|l| !l.is_empty()) {
            keys.insert("logo_url".into(), url.into());
        } else if logo_file {
            keys.insert("logo_file".into(), true.into());
        }
        keys.insert("accent_color".into(), accent.hex().into());
        Branding {
            keys,
            accent_css: accent.css(":root"),
            favicon_svg: accent.favicon(),
        }
    }

    /// What every page and email calls the service.
    pub fn product_name(&self) -> &str {
        self.keys
            .get("product_name")
            .and_then(|v| v.as_str())
            .unwrap_or("sesame")
    }

    /// The stylesheet of the accent colour (see [`Pages::accent_css`]).
    pub fn accent_css(&self) -> String {
        self.accent_css.clone()
    }

    /// The mark and favicon in the accent colour.
    pub fn favicon_svg(&self) -> String {
        self.favicon_svg.clone()
    }
}

/// The console's preview of a draft accent (`#rrggbb`, else `None`): `theme.css` for the
/// elements of class `sign-in-preview` only, and the mark in that colour as a `data:` URL.
pub fn preview_theme(colour: &str) -> Option<(String, String)> {
    use base64::Engine;
    let accent = Rgb::parse(colour)?;
    let mark = base64::engine::general_purpose::STANDARD.encode(accent.favicon());
    Some((
        accent.css(".sign-in-preview"),
        format!("data:image/svg+xml;base64,{mark}"),
    ))
}

/// Checks an accent colour is `#rrggbb`; the error says what to write.
pub fn check_accent(colour: &str) -> Result<(), String> {
    if is_hex_colour(colour) {
        Ok(())
    } else {
        Err(format!(
            "{colour:?} is not a colour in #rrggbb form, e.g. #5d34f2"
        ))
    }
}

fn is_hex_colour(s: &str) -> bool {
    Rgb::parse(s).is_some()
}

/// Checks a logo URL is one the pages' CSP lets the browser load (`img-src 'self' https:`):
/// https, or a path on this origin. A plain-http logo is refused rather than allowed by the
/// CSP: on an https sign-in page it is mixed content, and anyone on the path could swap the
/// image the sign-in page shows.
pub fn check_logo_url(logo: &str) -> Result<(), String> {
    let url = url::Url::parse(logo);
    if url.as_ref().is_ok_and(|u| u.scheme() == "http") {
        return Err(format!("{logo:?} is plain http: the sign-in pages load images only over https or from sesame itself. Use an https URL, or download the image and set branding.logo_file to its path"));
    }
    let ok = (logo.starts_with('/') && !logo.starts_with("//"))
        || url.is_ok_and(|u| u.scheme() == "https");
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{logo:?} is not an https URL or a path starting with /"
        ))
    }
}

/// Why the pages could not be loaded at start.
#[derive(Debug)]
pub enum PageError {
    /// An embedded template is not valid UTF-8.
    TemplateNotUtf8 { name: String },
    /// An embedded template does not parse.
    TemplateSyntax { name: String, source: Error },
    /// A page the server renders has no template.
    TemplateMissing { name: &'static str },
    /// `branding.logo_file` cannot be served (unreadable, too large, not an image type).
    Logo { path: String, reason: String },
}

impl Pages {
    /// Parses every embedded template and prepares the branding context.
    ///
    /// An accent colour that is not `#rrggbb` is logged and replaced by the default, so a typo in
    /// branding never keeps the server from starting.
    pub fn new(branding: &BrandingConfig) -> Result<Pages, PageError> {
        // Only the filters and tests the templates use (a test checks every template against
        // them): `Environment::new()` registers all of minijinja's, whose code then stays in
        // the binary.
        let mut env = Environment::empty();
        env.add_filter("default", minijinja::filters::default);
        env.add_filter("join", minijinja::filters::join);
        // Markup sesame made itself (the QR code's SVG), never anything a request carried.
        env.add_filter("safe", minijinja::filters::safe);
        env.add_test("defined", minijinja::tests::is_defined);
        env.add_test("none", minijinja::tests::is_none);
        // Every template is HTML, whatever its name.
        env.set_auto_escape_callback(|_| AutoEscape::Html);
        // Truthiness tests of missing keys are allowed (`{% if error %}`), printing them is not.
        env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        env.set_formatter(html_formatter);
        for name in Templates::iter() {
            // `iter` lists exactly the embedded names; a miss here is caught by the PAGES check below.
            let Some(file) = Templates::get(&name) else {
                continue;
            };
            let source = String::from_utf8(file.data.into_owned()).map_err(|_| {
                PageError::TemplateNotUtf8 {
                    name: name.to_string(),
                }
            })?;
            env.add_template_owned(name.to_string(), source)
                .map_err(|source| PageError::TemplateSyntax {
                    name: name.to_string(),
                    source,
                })?;
        }
        for name in PAGES {
            if env.get_template(name).is_err() {
                return Err(PageError::TemplateMissing { name });
            }
        }

        let logo = match &branding.logo_file {
            Some(path) => Some(read_logo(path)?),
            None => None,
        };
        Ok(Pages {
            env,
            branding: std::sync::Arc::new(Branding::of(branding, logo.is_some())),
            logo,
        })
    }

    /// The file's branding (`[branding]`), which [`Pages::render`] uses.
    pub fn branding(&self) -> std::sync::Arc<Branding> {
        self.branding.clone()
    }

    /// Whether a `logo_file` is served.
    pub fn has_logo_file(&self) -> bool {
        self.logo.is_some()
    }

    /// The configured product name (what every page and email calls the service).
    pub fn product_name(&self) -> &str {
        self.branding.product_name()
    }

    /// The mark and favicon: the embedded `favicon.svg` in the accent colour, its keyhole in
    /// the colour text on the accent uses.
    pub fn favicon_svg(&self) -> String {
        self.branding.favicon_svg()
    }

    /// The `logo_file` read at start, with its content type.
    pub fn logo(&self) -> Option<(&[u8], &'static str)> {
        self.logo
            .as_ref()
            .map(|(bytes, ty)| (bytes.as_slice(), *ty))
    }

    /// Renders a page. `ctx` keys are merged over the branding keys. Never panics; on a template
    /// error returns a plain fallback HTML that still says what went wrong (and logs the error).
    pub fn render(&self, name: &str, ctx: serde_json::Value) -> String {
        self.render_as(&self.branding, name, ctx)
    }

    /// Renders a page with `branding` (the running server's current one, or a draft the
    /// console previews) instead of the file's.
    pub fn render_as(&self, branding: &Branding, name: &str, ctx: serde_json::Value) -> String {
        let mut merged = branding.keys.clone();
        if let serde_json::Value::Object(keys) = ctx {
            merged.extend(keys);
        }
        let result = self
            .env
            .get_template(name)
            .and_then(|template| template.render(Serde(&merged)));
        match result {
            Ok(html) => html,
            Err(err) => {
                tracing::error!(page = name, "page could not be rendered: {err:#}");
                fallback_page(name, &merged)
            }
        }
    }

    /// The stylesheet that applies the configured accent colour, served at `{static_base}/theme.css`.
    /// Besides `--accent` it sets `--on-accent`, the text colour on accent buttons (white or
    /// near-black, whichever contrasts more), and `--link`, the accent darkened (light scheme) or
    /// lightened (dark scheme) just enough for 4.5:1 contrast, so any accent stays readable.
    pub fn accent_css(&self) -> String {
        self.branding.accent_css()
    }
}

impl fmt::Display for PageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PageError::TemplateNotUtf8 { name } => write!(f, "template {name} is not UTF-8"),
            PageError::TemplateSyntax { name, source } => {
                write!(f, "template {name} does not parse: {source}")
            }
            PageError::TemplateMissing { name } => write!(f, "no template for page {name}"),
            PageError::Logo { path, reason } => {
                write!(f, "branding.logo_file {path}: {reason}")
            }
        }
    }
}

impl std::error::Error for PageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PageError::TemplateSyntax { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The resend countdown's stylesheet for `seconds` (`countdown-N.css`): the number counts down
/// from N to 0 (CSS counters over an animated integer property), then the wait message goes and
/// the resend button shows. Only numbers are accepted, up to an hour.
pub fn countdown_css(name: &str) -> Option<String> {
    let n: u32 = name
        .strip_prefix("countdown-")?
        .strip_suffix(".css")?
        .parse()
        .ok()
        .filter(|n| (1..=3600).contains(n))?;
    Some(format!(
        ".countdown-start{{display:none}}\n\
         .countdown::after{{--n:{n};counter-reset:n var(--n);content:counter(n);animation:countdown {n}s steps({n},end) forwards}}\n\
         .wait{{animation:gone 0s {n}s forwards}}\n\
         .later{{visibility:hidden;animation:shown 0s {n}s forwards}}\n"
    ))
}

/// The content type of a logo file, by its extension (`None`: not an image sesame serves).
pub fn logo_type(path: &std::path::Path) -> Option<&'static str> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    LOGO_TYPES
        .iter()
        .find(|(e, _)| *e == ext)
        .map(|(_, ty)| *ty)
}

/// Reads `logo_file` once at start: a known image type, at most [`MAX_LOGO_BYTES`].
fn read_logo(path: &std::path::Path) -> Result<(Vec<u8>, &'static str), PageError> {
    let fail = |reason: String| PageError::Logo {
        path: path.display().to_string(),
        reason,
    };
    let ty = logo_type(path).ok_or_else(|| fail("not a png, svg, jpg, webp or gif file".into()))?;
    let file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
    let mut bytes = Vec::new();
    use std::io::Read;
    // One byte more than the limit tells "at the limit" from "over it" without trusting metadata.
    file.take(MAX_LOGO_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(e.to_string()))?;
    if bytes.len() as u64 > MAX_LOGO_BYTES {
        return Err(fail(format!(
            "larger than {} KiB; use a smaller image",
            MAX_LOGO_BYTES / 1024
        )));
    }
    Ok((bytes, ty))
}

/// An embedded static file by path relative to assets/static, with its content type.
pub fn static_asset(path: &str) -> Option<(Cow<'static, [u8]>, &'static str)> {
    // Embedded names are plain relative paths; anything else is not ours to look up.
    if path.is_empty()
        || path.starts_with('/')
        || path.contains('\\')
        || path
            .split('/')
            .any(|seg| seg.is_empty() || seg.starts_with('.'))
    {
        return None;
    }
    let file = Static::get(path)?;
    Some((file.data, content_type(path)))
}

/// The templates, embedded at build time.
#[derive(RustEmbed)]
#[folder = "assets/templates/"]
#[include = "*.html"]
struct Templates;

/// The static files (CSS, icons), embedded at build time.
#[derive(RustEmbed)]
#[folder = "assets/static/"]
struct Static;

/// A colour, parsed from `#rrggbb`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Rgb([u8; 3]);

impl Rgb {
    fn parse(s: &str) -> Option<Rgb> {
        let hex = s.strip_prefix('#')?;
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
        Some(Rgb([byte(0)?, byte(2)?, byte(4)?]))
    }

    fn hex(self) -> String {
        let [r, g, b] = self.0;
        format!("#{r:02x}{g:02x}{b:02x}")
    }

    /// WCAG relative luminance, 0 (black) to 1 (white).
    fn luminance(self) -> f64 {
        let channel = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.040_45 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        let [r, g, b] = self.0;
        0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
    }

    /// WCAG contrast ratio, 1 to 21.
    fn contrast(self, other: Rgb) -> f64 {
        let (a, b) = (self.luminance(), other.luminance());
        (a.max(b) + 0.05) / (a.min(b) + 0.05)
    }

    /// This colour moved toward `target` by `t` (0 to 1).
    fn mix(self, target: Rgb, t: f64) -> Rgb {
        let channel = |i: usize| {
            let (from, to) = (f64::from(self.0[i]), f64::from(target.0[i]));
            // In 0..=255 because t is in 0..=1.
            (from + (to - from) * t).round() as u8
        };
        Rgb([channel(0), channel(1), channel(2)])
    }

    /// The closest colour to this one, moving toward `target`, that text on `background` can be
    /// read in (contrast 4.5, WCAG AA): links and outlines use it, so a yellow accent still works.
    fn readable_on(self, background: Rgb, target: Rgb) -> Rgb {
        (0..=20)
            .map(|step| self.mix(target, f64::from(step) / 20.0))
            .find(|c| c.contrast(background) >= 4.5)
            .unwrap_or(target)
    }

    /// The text colour on this colour: white or near-black, whichever contrasts more.
    fn on(self) -> Rgb {
        if self.contrast(WHITE) >= self.contrast(NEAR_BLACK) {
            WHITE
        } else {
            NEAR_BLACK
        }
    }

    /// The embedded favicon with this colour for the default accent and the text colour on it
    /// for the keyhole's white.
    fn favicon(self) -> String {
        let svg = Static::get("favicon.svg")
            .and_then(|f| String::from_utf8(f.data.into_owned()).ok())
            .unwrap_or_default();
        svg.replace(&DEFAULT_ACCENT.hex(), &self.hex())
            .replace("\"#ffffff\"", &format!("\"{}\"", self.on().hex()))
    }

    /// `theme.css` (for `:root`): the accent, the text colour on it, and the link colour for
    /// light and dark, set on the elements `selector` picks.
    fn css(self, selector: &str) -> String {
        let on_accent = self.on();
        format!(
            "{selector}{{--accent:{};--on-accent:{};--link:{}}}\n\
             @media (prefers-color-scheme:dark){{{selector}{{--link:{}}}}}\n",
            self.hex(),
            on_accent.hex(),
            self.readable_on(WHITE, BLACK).hex(),
            self.readable_on(DARK_CARD, WHITE).hex(),
        )
    }
}

/// Colours the theme is computed against; they match `--card` and the text colours in style.css.
const WHITE: Rgb = Rgb([0xff, 0xff, 0xff]);
const BLACK: Rgb = Rgb([0, 0, 0]);
const NEAR_BLACK: Rgb = Rgb([0x11, 0x11, 0x11]);
const DARK_CARD: Rgb = Rgb([0x1c, 0x1c, 0x21]);

/// Prints values HTML-escaped, and refuses to print undefined values.
///
/// minijinja's own HTML escaping also turns `/` into `&#x2f;`, which is valid but makes every URL in
/// `action=` and `href=` unreadable (and breaks tests that look for them); escaping `& < > " '` is
/// what HTML needs. Printing an undefined value is an error so a missing required key is noticed.
fn html_formatter(out: &mut Output, state: &mut State, value: &Value) -> Result<(), Error> {
    if value.is_undefined() {
        return Err(Error::new(
            ErrorKind::UndefinedError,
            "a required context key is missing",
        ));
    }
    if value.is_safe() || *state.auto_escape() != AutoEscape::Html {
        return minijinja::escape_formatter(out, state, value);
    }
    let written = match value.as_str() {
        Some(s) => out.write_str(&escape_html(s)),
        None => out.write_str(&escape_html(&value.to_string())),
    };
    written.map_err(Error::from)
}

/// Escapes text for HTML element content and quoted attribute values. The one HTML escaper:
/// pages and email templates both use it.
pub fn escape_html(s: &str) -> Cow<'_, str> {
    if !s.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A minimal page for when a template fails: it still shows the page's own title and message (or
/// error) when the context has them, so "we could not send the code" reaches the person anyway.
fn fallback_page(name: &str, ctx: &serde_json::Map<String, serde_json::Value>) -> String {
    let text = |key: &str| {
        ctx.get(key)
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
    };
    let title = text("title").unwrap_or("Something went wrong");
    let mut body = String::new();
    for key in ["message", "error", "hint"] {
        if let Some(line) = text(key) {
            body.push_str(&format!("<p>{}</p>\n", escape_html(line)));
        }
    }
    let banner = if ctx.get("dev_mode") == Some(&serde_json::Value::Bool(true)) {
        "<p><strong>DEV MODE</strong> · sesame dev signs anyone in as anyone.</p>\n"
    } else {
        ""
    };
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n</head>\n<body>\n{banner}<h1>{title}</h1>\n{body}\
         <p>This page ({page}) could not be displayed because of an error on our side. \
         Go back and try again.</p>\n</body>\n</html>\n",
        title = escape_html(title),
        page = escape_html(name),
    )
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pages() -> Pages {
        Pages::new(&BrandingConfig::default()).expect("embedded templates load")
    }

    fn full_context(name: &str) -> serde_json::Value {
        let mut ctx = match name {
            "sign_in_email.html" => json!({
                "action": "/oidc/sign-in", "interaction": "int-1", "csrf": "csrf-1",
                "email": "ada@example.com", "error": "Enter a valid email address.",
            }),
            "sign_in_code.html" => json!({
                "action": "/oidc/sign-in/code", "interaction": "int-1", "csrf": "csrf-1",
                "email": "ada@example.com", "error": "That code is not right.",
                "notice": "We sent a new code.", "back_url": "/oidc/sign-in?interaction=int-1",
            }),
            "error.html" => json!({
                "title": "Could not send the code", "message": "We could not send the code. Try again.",
                "hint": "Check the address and try again.", "retry_url": "/oidc/sign-in?interaction=a&b=c",
                "retry_label": "Back to sign-in",
            }),
            "logout_confirm.html" => json!({
                "action": "/oidc/session/end", "csrf": "csrf-1", "stay_url": "https://app.example/bye",
                "hidden": [{"name": "state", "value": "xyz"}, {"name": "client_id", "value": "c1"}],
            }),
            "signed_out.html" => json!({
                "message": "You have been signed out.", "return_url": "https://app.example/",
            }),
            "dev_sign_in.html" => json!({
                "action": "/oidc/dev/sign-in", "interaction": "int-1", "csrf": "csrf-1",
                "client_id": "my-app", "redirect_uri": "http://localhost:3000/cb",
                "error_codes": ["access_denied", "consent_required"],
                "email_url": "/oidc/sign-in?interaction=int-1",
                "personas": [{"key": "alice", "email": "alice@example.com", "groups": "admin"}],
                "email": "ana@example.com", "name": "Ana", "username": "ana", "groups": "a, b",
                "claims": "{\"role\": \"owner\"}", "error": "Not JSON.", "dev_mode": true,
            }),
            "dev_debugger.html" => json!({
                "action": "/oidc/dev/debugger", "redirect_uri": "http://localhost:8080/dev/debugger/callback",
                "client_id": "dev-client", "client_secret": "dev-secret", "scope": "openid",
                "error": "invalid_grant", "dev_mode": true,
                "result": {"header": "{}", "claims": "{\"sub\": \"u\"}", "signature": "verified",
                    "access_token": "at", "refresh_token": "rt", "userinfo": "{}", "token_response": "{}"},
            }),
            "home.html" => json!({
                "discovery_url": "https://id.example/oidc/.well-known/openid-configuration",
                "account_url": "/oidc/account", "console_url": "/oidc/console",
            }),
            "account.html" => json!({
                "base": "/oidc/account", "csrf": "csrf-1", "email": "ada@example.com",
                "name": "Ada", "username": "ada", "declared": false,
                "sessions": [{"id": "h1", "kind": "sesame", "current": true,
                    "signed_in": "2026-11-30 16:45 UTC", "until": "2026-12-30 16:45 UTC"}],
                "apps": [{"client_id": "c1", "name": "Bookstore",
                    "last_sign_in": "2026-11-30 16:45 UTC", "scope": "openid email"}],
                "notice": "Your profile is saved.", "error": "That username is taken.",
                "two_step": {"totp": true, "totp_pending": true, "recovery_remaining": 7,
                    "fresh": false},
                "fresh_minutes": 10,
                "passkeys": [{"id": "Y3JlZA", "name": "Pixel", "alg": "ES256", "synced": true,
                    "added": "2026-11-30 16:45 UTC", "last_used": "2026-11-30 17:00 UTC"}],
                "passkey": {"available": true, "options": "/oidc/account/passkeys/options",
                    "action": "/oidc/account/passkeys", "rename": "/oidc/account/passkeys/rename",
                    "remove": "/oidc/account/passkeys/remove"},
            }),
            "sign_in_second.html" => json!({
                "interaction": "int-1", "csrf": "csrf-1", "email": "ada@example.com",
                "error": "That code is not right.", "enrol": false, "optional": false,
                "totp": true, "passkeys": 1, "passkeys_available": true, "recovery_codes": 9,
                "totp_setup": null, "action": "/oidc/sign-in/second",
                "totp_action": "/oidc/sign-in/second/totp", "passkey_action": "/oidc/sign-in/passkey",
                "passkey_options": "/oidc/sign-in/passkey/options",
                "enrol_passkey_action": "/oidc/sign-in/second/passkey",
                "enrol_passkey_options": "/oidc/sign-in/second/passkey/options",
                "with_script": true,
            }),
            "sign_in_recovery_codes.html" => json!({
                "codes": ["ABCD-EFGH-JKMN", "PQRS-TVWX-YZ23"],
                "continue_url": "https://app.example/cb?code=x",
            }),
            "account_totp.html" => json!({
                "base": "/oidc/account", "csrf": "csrf-1",
                "qr_svg": crate::qr::svg("otpauth://totp/sesame:ada%40example.com?secret=AB"),
                "secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "error": "That code is not right.",
            }),
            "account_recovery_codes.html" => json!({
                "base": "/oidc/account", "codes": ["ABCD-EFGH-JKMN", "PQRS-TVWX-YZ23"],
            }),
            "account_email_code.html" => json!({
                "action": "/oidc/account/email/code", "interaction": "int-1", "csrf": "csrf-1",
                "email": "ada@new.example", "error": "That code is not right.",
                "account_url": "/oidc/account",
            }),
            "select_account.html" => json!({
                "action": "/oidc/sign-in/continue", "interaction": "int-1", "csrf": "csrf-1",
                "email": "ada@example.com", "other_url": "/oidc/sign-in?interaction=int-1",
            }),
            "console_apps.html" => json!({
                "console": "/oidc/console", "csrf": "csrf-1", "admin_email": "ada@example.com",
                "section": "apps", "notice": "The app is deleted.", "error": "Give the app a name.",
                "apps": [{"client_id": "c1", "name": "Bookstore", "type": "traditional",
                    "declared": true, "show_url": "/oidc/console/apps/show?id=c1"}],
                "types": [{"value": "spa", "label": "Single-page app"}],
                "name": "Grafana", "type": "spa", "redirect_uris": "https://g.example/cb",
            }),
            "console_app.html" => json!({
                "console": "/oidc/console", "csrf": "csrf-1", "admin_email": "ada@example.com",
                "section": "apps",
                "app": {"client_id": "c1", "name": "Bookstore", "type": "traditional",
                    "declared": false, "redirect_uris": ["https://b.example/cb"],
                    "allowed_groups": ["family"]},
                "secret": "s3cret", "public": false, "issuer": "https://id.example/oidc",
                "discovery_url": "https://id.example/oidc/.well-known/openid-configuration",
                "authorize_url": "https://id.example/oidc/auth", "token_url": "https://id.example/oidc/token",
                "userinfo_url": "https://id.example/oidc/me", "callback": "https://b.example/cb",
                "delete_url": "/oidc/console/apps/delete?id=c1", "algs": ["ES384", "RS256"],
                "edit": {"name": "Bookstore", "redirect_uris": "https://b.example/cb",
                    "post_logout_redirect_uris": "", "allowed_groups": "family", "alg": "RS256",
                    "backchannel_logout_uri": "https://b.example/bcl", "device_flow": true, "require_par": false},
                "second_factor": {"label": "Email code is enough", "choices": [
                    {"value": "optional", "label": "Email code is enough", "checked": true},
                    {"value": "required", "label": "Require a second factor", "checked": false}]},
                "second_factor_help": "Whether signing in needs more than the email code.",
            }),
            "console_app_delete.html" => json!({
                "console": "/oidc/console", "csrf": "csrf-1", "admin_email": "ada@example.com",
                "section": "apps", "error": "Declared.", "back_url": "/oidc/console/apps/show?id=c1",
                "app": {"client_id": "c1", "name": "Bookstore"},
            }),
            "console_users.html" => json!({
                "console": "/oidc/console", "csrf": "csrf-1", "admin_email": "ada@example.com",
                "section": "users", "q": "ada", "more": true, "shown": 200,
                "notice": "The user is added.", "error": "That address is taken.",
                "users": [{"id": "u1", "email": "ada@example.com", "name": "Ada",
                    "groups": ["admins"], "disabled": false, "declared": false,
                    "show_url": "/oidc/console/users/show?id=u1"}],
                "email": "bob@example.com", "name": "Bob", "groups": "family",
                "group": "admins", "all_groups": ["admins", "family"],
            }),
            "console_user.html" => json!({
                "console": "/oidc/console", "csrf": "csrf-1", "admin_email": "ada@example.com",
                "section": "users", "notice": "The user is saved.", "error": "Not JSON.",
                "user": {"id": "u1", "email": "bob@example.com", "groups": ["family"],
                    "disabled": false, "declared": false},
                "edit": {"name": "Bob", "username": "bob", "groups": ["family"],
                    "claims": "{\"team\": \"blue\"}"},
                "all_groups": ["admins", "family"],
                "sessions": [{"id": "h1", "kind": "sesame", "current": false,
                    "signed_in": "2026-11-30 16:45 UTC", "until": "2026-12-30 16:45 UTC"}],
                "apps": [{"client_id": "c1", "name": "Bookstore",
                    "last_sign_in": "2026-11-30 16:45 UTC", "scope": "openid email"}],
                "self": false, "delete_url": "/oidc/console/users/delete?id=u1",
                "factors": {"totp": "confirmed", "recovery_codes": 3},
            }),
            "console_groups.html" => json!({
                "console": "/oidc/console", "csrf": "csrf-1", "admin_email": "ada@example.com",
                "section": "groups", "notice": "The group is created.", "error": "Taken.",
                "groups": [{"name": "family", "description": "Home", "declared": true,
                    "show_url": "/oidc/console/groups/show?name=family"}],
                "name": "friends", "description": "Friends",
            }),
            "console_group.html" => json!({
                "console": "/oidc/console", "csrf": "csrf-1", "admin_email": "ada@example.com",
                "section": "groups", "notice": "The group is saved.", "error": "Not JSON.",
                "group": {"name": "family", "description": "Home", "declared": false},
                "edit": {"description": "Home", "claims": "{}"},
                "members": [{"id": "u1", "email": "bob@example.com",
                    "show_url": "/oidc/console/users/show?id=u1"}],
                "apps": [{"client_id": "c1", "name": "Bookstore", "declared": false,
                    "allowed": true, "open": false, "others": ["admins"]}],
                "builtin": false, "delete_url": "/oidc/console/groups/delete?name=family",
                "second_factor": {"label": "Email code is enough", "choices": [
                    {"value": "optional", "label": "Email code is enough", "checked": true},
                    {"value": "required", "label": "Require a second factor", "checked": false}]},
                "second_factor_help": "Whether signing in needs more than the email code.",
            }),
            "console_confirm.html" => json!({
                "console": "/oidc/console", "csrf": "csrf-1", "admin_email": "ada@example.com",
                "section": "groups", "error": "Declared.", "title": "Delete the group family?",
                "text": "Its members leave it.", "action": "/oidc/console/groups/delete",
                "key": "name", "value": "family", "button": "Delete family",
                "back_url": "/oidc/console/groups/show?name=family",
            }),
            "device.html" => json!({
                "action": "/oidc/device", "user_code": "BCDF-GHJK", "error": "No sign-in waits for this code.",
            }),
            "console_mail.html" => json!({
                "console": "/oidc/console", "csrf": "csrf-1", "admin_email": "ada@example.com",
                "section": "mail", "notice": "Saved.", "error": "region: not a region",
                "status": {"transport": "smtp", "configured_by": "config", "host": "smtp.example",
                    "port": 587, "tls": "starttls", "from": "id@example.com", "ok": true,
                    "last_error": "535 no", "warning": "none"},
                "stored_kind": "smtp", "stored_json": "{}", "purposes": ["SignIn", "Register"],
                "smtp_fields": [{"name": "host", "label": "Host", "value": "mail.example.com",
                    "error": "tls: none only here"}, {"name": "tls", "label": "TLS",
                    "value": "none", "error": null}, {"name": "password", "label": "Password",
                    "value": "", "error": null}],
                "smtp_password_stored": true, "ca_file": "/etc/sesame/ca.pem",
                "fields": [{"name": "region", "label": "Region", "required": true,
                    "secret": false, "value": "eu-west-1", "error": "not a region"}],
                "file": {"transport": "smtp", "from": "id@example.com", "host": "smtp.example",
                    "port": 587, "tls": "starttls", "auth": true},
                "test_to": "a@example.com", "test_template": "SignIn", "test_ok": false,
                "test_kind": "Dry run", "json": "{}",
                "test_lines": [{"text": "RCPT TO:<a@example.com> 550 no", "meaning": "refused"}],
            }),
            "console_keys.html" => json!({
                "console": "/oidc/console", "csrf": "csrf-1", "admin_email": "ada@example.com",
                "section": "keys", "notice": "Rotated.", "error": "Choose one.",
                "algs": [{"alg": "ES256", "keys": [{"kid": "k1", "active": true,
                    "created": "2026-01-01 00:00:00 UTC", "retired": null, "in_jwks_until": null}]}],
            }),
            "console_experience.html" => json!({
                "console": "/oidc/console", "csrf": "csrf-1", "admin_email": "ada@example.com",
                "section": "experience", "notice": "Saved.", "error": "Nothing was saved.",
                "draft": {"product_name": "Acme", "logo_url": "", "accent_color": "#112233",
                    "sign_up_mode": "invite", "allowed_domains": ""},
                "sources": {"product_name": "console", "logo_url": "file", "accent_color": "file",
                    "sign_up_mode": "file", "allowed_domains": "file"},
                "stored": true, "modes": ["invite", "domains", "open"],
                "templates": [{"purpose": "SignIn", "subject": "{{code}}", "content": "<p>{{code}}</p>",
                    "source": "file", "subject_error": null, "content_error": "no code"}],
                "field_errors": {"accent_color": "not #rrggbb"},
                "preview": {"product_name": "Acme", "logo_url": null, "accent_color": "#112233",
                    "theme_url": "/console/experience/preview.css?accent=%23112233",
                    "mark": "data:image/svg+xml;base64,x", "emails": [{"purpose": "SignIn",
                    "subject": "123456", "html_url": "data:text/html;base64,x",
                    "text": "123456"}]},
            }),
            other => panic!("no context for {other}"),
        };
        ctx["static_base"] = json!("/oidc/static");
        ctx["app_name"] = json!("Bookstore");
        ctx
    }

    /// The context with every optional key removed.
    fn minimal_context(name: &str) -> serde_json::Value {
        let optional: &[&str] = match name {
            "sign_in_email.html" => &["email", "error"],
            "sign_in_code.html" => &["email", "error", "notice", "back_url", "resend_wait"],
            "error.html" => &["hint", "retry_url", "retry_label"],
            "logout_confirm.html" => &["hidden"],
            "signed_out.html" => &["return_url"],
            "dev_sign_in.html" => &[
                "personas", "email", "name", "username", "groups", "claims", "error", "dev_mode",
            ],
            "dev_debugger.html" => &["error", "result", "dev_mode"],
            "account.html" => &["name", "username", "notice", "error", "apps", "passkeys"],
            "sign_in_second.html" => &["error", "app_name"],
            "account_email_code.html" => &["error"],
            "account_totp.html" => &["error"],
            "home.html" => &["console_url"],
            "console_apps.html" => &["notice", "error", "apps", "name", "type", "redirect_uris"],
            "console_app.html" => &["notice", "error", "secret", "callback"],
            "console_app_delete.html" => &["notice", "error"],
            "console_users.html" => &["notice", "error", "users", "email", "name", "groups"],
            "device.html" => &["user_code", "error"],
            "console_mail.html" => &[
                "notice",
                "error",
                "test_to",
                "test_template",
                "test_ok",
                "test_kind",
                "test_lines",
                "json",
            ],
            "console_keys.html" => &["notice", "error"],
            "console_experience.html" => &["notice", "error", "preview"],
            "console_user.html" => &["notice", "error", "sessions", "apps"],
            "console_groups.html" => &["notice", "error", "groups", "name", "description"],
            "console_group.html" => &["notice", "error", "members", "apps"],
            "console_confirm.html" => &["notice", "error"],
            _ => &[],
        };
        let mut ctx = full_context(name);
        let map = ctx.as_object_mut().expect("object");
        map.remove("app_name");
        for key in optional {
            map.remove(*key);
        }
        // Errors nested in lists and maps: none.
        if name == "console_mail.html" {
            ctx["fields"][0]["error"] = serde_json::Value::Null;
            ctx["smtp_fields"][0]["error"] = serde_json::Value::Null;
            ctx["stored_kind"] = serde_json::Value::Null;
            ctx["ca_file"] = serde_json::Value::Null;
        }
        if name == "console_experience.html" {
            ctx["field_errors"] = json!({});
            ctx["templates"][0]["content_error"] = serde_json::Value::Null;
        }
        ctx
    }

    fn assert_page_basics(html: &str) {
        assert!(html.starts_with("<!doctype html>"), "{html}");
        assert!(html.contains("<html lang=\"en\">"));
        assert!(html.contains("<meta name=\"viewport\""));
        assert!(html.contains("<title>"));
        assert_eq!(html.matches("<h1>").count(), 1, "{html}");
        assert!(html.contains("href=\"/oidc/static/style.css\""), "{html}");
        assert!(html.contains("href=\"/oidc/static/theme.css\""));
        // No inline script anywhere; a script file only where a page says so (the console's
        // sign-in experience preview).
        for (at, _) in html.match_indices("<script") {
            assert!(
                html[at..].starts_with("<script src=\"/oidc/static/"),
                "{html}"
            );
        }
        assert!(!html.contains("style="), "no inline styles (CSP)");
        assert!(!html.contains("could not be displayed"), "fallback: {html}");
    }

    #[test]
    fn a_preview_theme_is_scoped_to_the_preview_and_refuses_a_non_colour() {
        let (css, mark) = preview_theme("#0a7d32").expect("a colour");
        assert!(
            css.starts_with(".sign-in-preview{--accent:#0a7d32;"),
            "{css}"
        );
        assert!(!css.contains(":root"), "{css}");
        assert!(mark.starts_with("data:image/svg+xml;base64,"));
        assert!(preview_theme("red").is_none());
        assert!(preview_theme("#0a7d32;}body{").is_none());
    }

    #[test]
    fn every_page_renders_with_full_context() {
        let pages = pages();
        for name in PAGES {
            let html = pages.render(name, full_context(name));
            assert_page_basics(&html);
            assert!(html.contains("sesame"), "product name on {name}");
        }
    }

    #[test]
    fn every_page_renders_without_optional_keys() {
        let pages = pages();
        for name in PAGES {
            let html = pages.render(name, minimal_context(name));
            assert_page_basics(&html);
            assert!(
                !html.contains("role=\"alert\""),
                "{name}: no error, no alert"
            );
            assert!(!html.contains("aria-invalid"), "{name}");
        }
    }

    #[test]
    fn email_page_has_the_fields_browsers_fill() {
        let html = pages().render("sign_in_email.html", minimal_context("sign_in_email.html"));
        assert!(
            html.contains("<form method=\"post\" action=\"/oidc/sign-in\">"),
            "{html}"
        );
        assert!(html.contains("<input type=\"hidden\" name=\"interaction\" value=\"int-1\">"));
        assert!(html.contains("<input type=\"hidden\" name=\"csrf\" value=\"csrf-1\">"));
        assert!(html.contains("<label for=\"email\">"));
        assert!(html.contains("id=\"email\" type=\"email\" name=\"email\""));
        // Without passkeys (an issuer at an IP address), the browser's email autofill; with
        // them, its passkey autofill too (conditional mediation needs `webauthn`).
        assert!(html.contains("autocomplete=\"email\""), "{html}");
        let mut ctx = minimal_context("sign_in_email.html");
        ctx["passkeys"] = serde_json::json!(true);
        ctx["passkey_action"] = serde_json::json!("/oidc/sign-in/passkey");
        ctx["passkey_options"] = serde_json::json!("/oidc/sign-in/passkey/options");
        let with_passkeys = pages().render("sign_in_email.html", ctx);
        assert!(
            with_passkeys.contains("autocomplete=\"username webauthn\""),
            "{with_passkeys}"
        );
        assert!(html.contains("required autofocus"));
        assert!(html.contains("<button type=\"submit\">Send code</button>"));
        assert!(
            html.contains("Sign in to sesame"),
            "product name without app_name"
        );
        assert!(html.contains("creates your account"));
    }

    #[test]
    fn email_page_shows_error_and_app_name() {
        let html = pages().render("sign_in_email.html", full_context("sign_in_email.html"));
        assert!(html.contains("Sign in to Bookstore"));
        assert!(html.contains("value=\"ada@example.com\""));
        assert!(html.contains(
            "<p id=\"email-error\" class=\"error\" role=\"alert\">Enter a valid email address.</p>"
        ));
        assert!(html.contains("aria-invalid=\"true\" aria-describedby=\"email-error\""));
    }

    #[test]
    fn code_page_has_the_fields_browsers_fill() {
        let html = pages().render("sign_in_code.html", full_context("sign_in_code.html"));
        assert!(html.contains("<label for=\"code\">"));
        assert!(html.contains("id=\"code\""));
        assert!(html.contains("name=\"code\""));
        assert!(html.contains("autocomplete=\"one-time-code\""));
        assert!(html.contains("inputmode=\"numeric\""));
        assert!(html.contains("pattern=\"[0-9]*\" maxlength=\"6\" required autofocus"));
        assert!(html.contains("<button type=\"submit\">Continue</button>"));
        assert!(html
            .contains("<button class=\"secondary\" type=\"submit\" name=\"resend\" value=\"1\">"));
        assert_eq!(html.matches("action=\"/oidc/sign-in/code\"").count(), 2);
        assert_eq!(
            html.matches("name=\"interaction\" value=\"int-1\"").count(),
            2
        );
        assert_eq!(html.matches("name=\"csrf\" value=\"csrf-1\"").count(), 2);
        assert!(html.contains("role=\"alert\">That code is not right.</p>"));
        assert!(html.contains("aria-invalid=\"true\" aria-describedby=\"code-error\""));
        assert!(html.contains("role=\"status\">We sent a new code.</p>"));
        assert!(html.contains("ada@example.com"));
        assert!(html.contains("href=\"/oidc/sign-in?interaction=int-1\">Use a different email</a>"));
    }

    #[test]
    fn error_page_shows_message_hint_and_retry() {
        let html = pages().render("error.html", full_context("error.html"));
        assert!(html.contains("<h1>Could not send the code</h1>"));
        assert!(html.contains("We could not send the code. Try again."));
        assert!(html.contains("Check the address and try again."));
        assert!(html.contains("href=\"/oidc/sign-in?interaction=a&amp;b=c\">Back to sign-in</a>"));
        let html = pages().render("error.html", minimal_context("error.html"));
        assert!(!html.contains("class=\"button\""));
    }

    #[test]
    fn logout_page_passes_hidden_fields_through() {
        let html = pages().render("logout_confirm.html", full_context("logout_confirm.html"));
        assert!(html.contains("Sign out of sesame?"));
        assert!(html.contains("Bookstore asked to sign you out."));
        assert!(html.contains("<input type=\"hidden\" name=\"state\" value=\"xyz\">"));
        assert!(html.contains("<input type=\"hidden\" name=\"client_id\" value=\"c1\">"));
        assert!(html.contains("<button type=\"submit\">Sign out</button>"));
        assert!(html.contains("href=\"https://app.example/bye\">Stay signed in</a>"));
    }

    #[test]
    fn dev_mode_puts_a_banner_on_every_page_and_the_code_on_the_code_page() {
        let pages = pages();
        for name in PAGES {
            let mut ctx = minimal_context(name);
            assert!(
                !pages.render(name, ctx.clone()).contains("DEV MODE"),
                "{name}"
            );
            ctx["dev_mode"] = json!(true);
            assert!(
                pages
                    .render(name, ctx)
                    .contains("<strong>DEV MODE</strong>"),
                "{name}"
            );
        }
        let mut ctx = full_context("sign_in_code.html");
        ctx["dev_code"] = json!("123456");
        let html = pages.render("sign_in_code.html", ctx);
        assert!(
            html.contains("<strong id=\"dev-code\">123456</strong>"),
            "{html}"
        );
        let mut ctx = full_context("error.html");
        ctx.as_object_mut().expect("object").remove("message");
        ctx["dev_mode"] = json!(true);
        assert!(
            pages.render("error.html", ctx).contains("DEV MODE"),
            "the fallback too"
        );
    }

    #[test]
    fn signed_out_page_links_back() {
        let html = pages().render("signed_out.html", full_context("signed_out.html"));
        assert!(html.contains("href=\"https://app.example/\">Return to Bookstore</a>"));
    }

    #[test]
    fn values_are_html_escaped() {
        let mut ctx = full_context("sign_in_email.html");
        ctx["email"] = json!("\"><script>alert(1)</script>");
        ctx["error"] = json!("<b>bad</b> & 'worse'");
        ctx["app_name"] = json!("<i>App</i>");
        let html = pages().render("sign_in_email.html", ctx);
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("value=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\""));
        assert!(html.contains("&lt;b&gt;bad&lt;/b&gt; &amp; &#39;worse&#39;"));
        assert!(html.contains("Sign in to &lt;i&gt;App&lt;/i&gt;"));
    }

    #[test]
    fn branding_keys_are_present_and_can_be_overridden() {
        let branding = BrandingConfig {
            product_name: "Acme ID".into(),
            logo_url: Some("https://cdn.example/logo.svg".into()),
            logo_file: None,
            accent_color: "#0A7F3C".into(),
        };
        let pages = Pages::new(&branding).expect("load");
        let html = pages.render("signed_out.html", full_context("signed_out.html"));
        // The logo does not replace the name: it is decoration beside it.
        assert!(
            html.contains("<img class=\"logo\" src=\"https://cdn.example/logo.svg\" alt=\"\">\n<span>Acme ID</span>"),
            "{html}"
        );
        assert!(html.contains("· Acme ID</title>"));
        assert!(pages
            .accent_css()
            .starts_with(":root{--accent:#0a7f3c;--on-accent:#ffffff;"));
        let mut ctx = full_context("signed_out.html");
        ctx["product_name"] = json!("Other");
        assert!(pages
            .render("signed_out.html", ctx)
            .contains("· Other</title>"));
    }

    #[test]
    fn invalid_accent_colour_falls_back_to_default() {
        for bad in [
            "red", "#12345", "#1234567", "#gggggg", "", "5d34f2", "#12345é",
        ] {
            let branding = BrandingConfig {
                accent_color: bad.into(),
                ..BrandingConfig::default()
            };
            let pages = Pages::new(&branding).expect("load");
            assert!(
                pages
                    .accent_css()
                    .starts_with(":root{--accent:#5d34f2;--on-accent:#ffffff;"),
                "{bad}"
            );
        }
    }

    #[test]
    fn light_accent_gets_dark_button_text_and_darker_links() {
        let branding = BrandingConfig {
            accent_color: "#ffd60a".into(),
            ..BrandingConfig::default()
        };
        let css = Pages::new(&branding).expect("load").accent_css();
        assert!(
            css.starts_with(":root{--accent:#ffd60a;--on-accent:#111111;--link:#"),
            "{css}"
        );
        let link = |from: &str| {
            let at = css.find(from).expect("link colour") + from.len();
            Rgb::parse(&css[at..at + 7]).expect("#rrggbb")
        };
        // Light mode: darkened until readable on white; dark mode: yellow is readable as is.
        assert!(link("--link:").contrast(WHITE) >= 4.5);
        assert_eq!(
            css.split("--link:").nth(2).map(|s| &s[..7]),
            Some("#ffd60a")
        );
    }

    #[test]
    fn default_accent_matches_the_defaults_in_style_css() {
        let css = Pages::new(&BrandingConfig::default())
            .expect("load")
            .accent_css();
        let (style, _) = static_asset("style.css").expect("style.css");
        let style = std::str::from_utf8(&style).expect("utf-8");
        for decl in css.split(['{', '}', ';']).filter(|d| d.starts_with("--")) {
            assert!(
                style.contains(decl),
                "style.css lacks {decl} (theme.css: {css})"
            );
        }
    }

    #[test]
    fn template_errors_render_a_fallback_that_says_what_went_wrong() {
        let pages = pages();
        // `title` and `message` are required on the error page; drop `message`, keep the rest.
        let mut ctx = full_context("error.html");
        ctx.as_object_mut().expect("object").remove("message");
        let html = pages.render("error.html", ctx);
        assert!(html.contains("<h1>Could not send the code</h1>"), "{html}");
        assert!(html.contains("Check the address and try again."));
        assert!(html.contains("could not be displayed"));
        let html = pages.render("no_such_page.html", json!({"title": "<x>"}));
        assert!(html.contains("<h1>&lt;x&gt;</h1>"), "{html}");
        assert!(html.contains("no_such_page.html"));
        // A non-object context is ignored rather than fatal.
        let html = pages.render("error.html", json!(null));
        assert!(html.contains("could not be displayed"));
    }

    #[test]
    fn static_assets_are_embedded_with_content_types() {
        let (css, ty) = static_asset("style.css").expect("style.css");
        assert!(ty.starts_with("text/css"));
        assert!(std::str::from_utf8(&css)
            .expect("utf-8")
            .contains("--accent"));
        let (svg, ty) = static_asset("favicon.svg").expect("favicon");
        assert_eq!(ty, "image/svg+xml");
        assert!(svg.starts_with(b"<svg"));
        for bad in [
            "",
            "/style.css",
            "../Cargo.toml",
            "x/../style.css",
            ".hidden",
            "nope.css",
        ] {
            assert!(static_asset(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn the_mark_and_favicon_follow_the_accent() {
        let default = Pages::new(&BrandingConfig::default()).expect("load");
        let (embedded, _) = static_asset("favicon.svg").expect("favicon");
        assert_eq!(default.favicon_svg().as_bytes(), &*embedded);
        for (accent, on) in [("#0a7f3c", "#ffffff"), ("#ffd60a", "#111111")] {
            let branding = BrandingConfig {
                accent_color: accent.into(),
                ..BrandingConfig::default()
            };
            let svg = Pages::new(&branding).expect("load").favicon_svg();
            assert!(svg.contains(&format!("fill=\"{accent}\"")), "{svg}");
            assert!(svg.contains(&format!("fill=\"{on}\"")), "{svg}");
            assert!(!svg.contains("#5d34f2"), "{svg}");
        }
    }

    #[test]
    fn a_logo_file_is_read_once_with_its_type_and_a_size_limit() {
        let dir = tempfile::tempdir().expect("tmp");
        let png = dir.path().join("Logo.PNG");
        std::fs::write(&png, b"\x89PNG\r\n\x1a\nfake").expect("write");
        let branding = BrandingConfig {
            logo_file: Some(png.clone()),
            ..BrandingConfig::default()
        };
        let pages = Pages::new(&branding).expect("load");
        assert_eq!(
            pages.logo(),
            Some((&b"\x89PNG\r\n\x1a\nfake"[..], "image/png"))
        );
        let html = pages.render("home.html", full_context("home.html"));
        assert!(
            html.contains(
                "<img class=\"logo\" src=\"/oidc/static/logo\" alt=\"\">\n<span>sesame</span>"
            ),
            "{html}"
        );

        let big = dir.path().join("big.svg");
        std::fs::write(&big, vec![b' '; MAX_LOGO_BYTES as usize + 1]).expect("write");
        let missing = dir.path().join("missing.png");
        let text = dir.path().join("logo.txt");
        std::fs::write(&text, b"hi").expect("write");
        for (path, says) in [
            (big, "larger than 512 KiB"),
            (missing, "missing.png"),
            (text, "not a png"),
        ] {
            let branding = BrandingConfig {
                logo_file: Some(path),
                ..BrandingConfig::default()
            };
            let err = Pages::new(&branding).err().expect("refused").to_string();
            assert!(
                err.contains("branding.logo_file") && err.contains(says),
                "{err}"
            );
        }
    }

    #[test]
    fn the_resend_countdown_needs_no_script() {
        let mut ctx = minimal_context("sign_in_code.html");
        ctx["resend_wait"] = json!(42);
        let html = pages().render("sign_in_code.html", ctx);
        assert!(
            html.contains("href=\"/oidc/static/countdown-42.css\""),
            "{html}"
        );
        assert!(html.contains("in <span class=\"countdown\"><span class=\"countdown-start\">42</span></span> seconds"), "{html}");
        assert!(!html.contains("role=\"alert\""), "waiting is not an error");
        assert!(!html.contains("class=\"error\""), "waiting is not an error");
        let css = countdown_css("countdown-42.css").expect("css");
        assert!(
            css.contains("animation:countdown 42s steps(42,end) forwards"),
            "{css}"
        );
        assert!(
            css.contains(".later{visibility:hidden;animation:shown 0s 42s forwards}"),
            "{css}"
        );
        for bad in [
            "countdown-0.css",
            "countdown-3601.css",
            "countdown-x.css",
            "countdown-1;.css",
            "countdown-.css",
        ] {
            assert!(countdown_css(bad).is_none(), "{bad}");
        }
        let (style, _) = static_asset("style.css").expect("style.css");
        let style = std::str::from_utf8(&style).expect("utf-8");
        assert!(style.contains("@property --n{syntax:'<integer>'"));
    }

    /// WCAG 1.4.11: what a person types into is outlined at 3:1 or more against the card (where
    /// fields sit) and the page background, in both colour schemes.
    #[test]
    fn field_borders_have_three_to_one_contrast_in_light_and_dark() {
        let (style, _) = static_asset("style.css").expect("style.css");
        let style = std::str::from_utf8(&style).expect("utf-8");
        let value = |scheme: &str, var: &str| {
            let at = style.find(scheme).expect("scheme");
            let from = style[at..].find(&format!("--{var}:")).expect(var) + at + var.len() + 3;
            let hex = &style[from..from + 7];
            Rgb::parse(hex)
                .unwrap_or_else(|| Rgb::parse(&format!("{}fffff", &hex[..2])).expect(hex))
        };
        for scheme in [":root{--accent", "@media (prefers-color-scheme:dark)"] {
            let border = value(scheme, "field-border");
            for surface in ["card", "bg"] {
                let ratio = border.contrast(value(scheme, surface));
                assert!(
                    ratio >= 3.0,
                    "{scheme} --field-border on --{surface}: {ratio:.2}"
                );
            }
        }
        assert!(style.contains("border:1px solid var(--field-border)"));
    }

    #[test]
    fn the_home_page_names_the_service_and_the_discovery_document() {
        let branding = BrandingConfig {
            product_name: "Acme ID".into(),
            ..BrandingConfig::default()
        };
        let html = Pages::new(&branding)
            .expect("load")
            .render("home.html", full_context("home.html"));
        assert!(html.contains("<h1>Acme ID</h1>"), "{html}");
        assert!(html.contains("the sign-in service for Acme ID"));
        assert!(html.contains("href=\"https://id.example/oidc/.well-known/openid-configuration\""));
    }

    #[test]
    fn select_account_names_the_account_and_offers_another() {
        let html = pages().render("select_account.html", full_context("select_account.html"));
        assert!(
            html.contains("signed in as <strong class=\"address\">ada@example.com</strong>"),
            "{html}"
        );
        assert!(html.contains("<button type=\"submit\">Continue as ada@example.com</button>"));
        assert!(html.contains("name=\"csrf\" value=\"csrf-1\""));
        assert!(html.contains("href=\"/oidc/sign-in?interaction=int-1\">Use another account</a>"));
    }

    #[test]
    fn pages_can_be_shared_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Pages>();
    }

    #[test]
    fn every_filter_and_test_the_templates_use_is_registered() {
        // `Pages::new` registers only some of minijinja's filters and tests; a template that
        // uses another would fail only when that branch renders.
        let env = pages().env;
        let tag = regex_lite::Regex::new(r"(?s)\{\{.*?\}\}|\{%.*?%\}").unwrap();
        let filter = regex_lite::Regex::new(r"\|\s*([a-z_]+)").unwrap();
        let test = regex_lite::Regex::new(r"\bis\s+(?:not\s+)?([a-z_]+)").unwrap();
        let mut seen = 0;
        for name in Templates::iter() {
            let source =
                String::from_utf8(Templates::get(&name).unwrap().data.into_owned()).unwrap();
            for t in tag.find_iter(&source) {
                // Inside a tag a string can hold `|` or " is " too: strip quoted text first.
                let code = regex_lite::Regex::new(r#""[^"]*"|'[^']*'"#)
                    .unwrap()
                    .replace_all(t.as_str(), "");
                for (re, probe) in [(&filter, "{{ none|NAME }}"), (&test, "{{ none is NAME }}")] {
                    for c in re.captures_iter(&code) {
                        seen += 1;
                        let used = &c[1];
                        let err = env.render_str(&probe.replace("NAME", used), ());
                        if let Err(e) = err {
                            assert!(
                                !matches!(
                                    e.kind(),
                                    ErrorKind::UnknownFilter | ErrorKind::UnknownTest
                                ),
                                "{name} uses {used:?}, which Pages::new does not register: {e}"
                            );
                        }
                    }
                }
            }
        }
        assert!(seen > 0, "the scan found no filter or test at all");
        // And an unregistered one is caught by the probe.
        let e = env.render_str("{{ none|upper }}", ()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnknownFilter);
    }
}
