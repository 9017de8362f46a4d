//! Each page as people see it, in Chromium: a screenshot of the window at desktop and phone size
//! (and desktop in dark mode), saved as a test artefact, and axe-core run in the page, plus one
//! check axe lacks (WCAG 1.4.11: form field borders at 3:1). tests/pages.rs drives it over its
//! list of pages.
//!
//! axe-core comes from npm (`tests/clients_js`, [`super::npm`]); WebDriver runs it through the
//! DevTools protocol, outside the page's CSP, which forbids inline script. The viewport and the
//! colour scheme are emulated through the same protocol, in place, without reloading the page.
//! Screenshots go to `$SESAME_ARTEFACTS/screenshots/<page>-<view>.png`, by default
//! `target/artefacts/screenshots/` (never the source tree).

use std::path::PathBuf;

use serde_json::{json, Value};

use super::webdriver::Browser;

/// The ways each page is looked at: name, viewport, phone or not, colour scheme.
pub const VIEWS: [(&str, u32, u32, bool, &str); 3] = [
    ("desktop", 1280, 800, false, "light"),
    ("phone", 390, 844, true, "light"),
    ("desktop-dark", 1280, 800, false, "dark"),
];

/// Where screenshots go: `$SESAME_ARTEFACTS/screenshots`, by default
/// `target/artefacts/screenshots`.
fn screenshot_dir() -> PathBuf {
    let root = std::env::var_os("SESAME_ARTEFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
            tmp.parent().unwrap_or(&tmp).join("artefacts")
        });
    let dir = root.join("screenshots");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

/// Runs axe-core in the page and answers its violations, each as `{id, impact, help, nodes}`.
/// axe comes in with the script itself: WebDriver runs it outside the page's CSP.
///
/// axe does not check WCAG 1.4.11 (non-text contrast), so one more check comes with it: the
/// border of each enabled text field, select and outlined button against the background
/// around it must reach 3:1 (`field-border-contrast`, reported as serious).
const AXE_RUN: &str = r##"
const done = arguments[arguments.length - 1];
const channels = (c) => {
  const n = (c.match(/[\d.]+/g) || []).map(Number);
  return c.startsWith("color(") ? [n[0] * 255, n[1] * 255, n[2] * 255, n.length > 3 ? n[3] : 1]
                                : [n[0], n[1], n[2], n.length > 3 ? n[3] : 1];
};
const luminance = ([r, g, b]) => {
  const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
};
const behind = (el) => {
  for (let e = el.parentElement; e; e = e.parentElement) {
    const c = channels(getComputedStyle(e).backgroundColor);
    if (c[3] > 0) return c;
  }
  return [255, 255, 255, 1];
};
const fieldBorders = () => {
  const nodes = [];
  const fields = document.querySelectorAll(
    "input:not([type=hidden]):not([type=radio]):not([type=checkbox]), textarea, select, button.secondary");
  for (const el of fields) {
    if (el.disabled || !el.offsetParent) continue;
    const style = getComputedStyle(el);
    if (parseFloat(style.borderTopWidth) === 0) continue;
    const a = luminance(channels(style.borderTopColor)), b = luminance(behind(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 3) {
      nodes.push({ target: el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.name ? "[name=" + el.name + "]" : ""),
                   html: el.outerHTML.slice(0, 200),
                   summary: "border " + style.borderTopColor + " on " + getComputedStyle(el.parentElement).backgroundColor
                            + ": " + ratio.toFixed(2) + ":1, under 3:1" });
    }
  }
  return nodes.length ? [{ id: "field-border-contrast", impact: "serious",
    help: "Form field borders must have 3:1 contrast with what is around them (WCAG 1.4.11)",
    url: "https://www.w3.org/WAI/WCAG22/Understanding/non-text-contrast.html", nodes }] : [];
};
axe.run(document, { resultTypes: ["violations"] }).then(
  (r) => done(r.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, url: v.helpUrl,
    nodes: v.nodes.map((n) => ({ target: n.target.join(" "), html: n.html, summary: n.failureSummary })),
  })).concat(fieldBorders())),
  (e) => done({ error: String(e) }));
"##;

/// Looks at pages in each of [`VIEWS`], collecting what axe finds.
pub struct Checker {
    axe: String,
    dir: PathBuf,
    /// Serious and critical violations, described, by page and view.
    failures: Vec<String>,
    checked: Vec<String>,
}

impl Checker {
    pub fn load() -> Checker {
        Checker {
            axe: super::npm::axe_source(),
            dir: screenshot_dir(),
            failures: Vec::new(),
            checked: Vec::new(),
        }
    }

    /// The page the browser shows now, in every view (the emulated viewport and colour scheme
    /// change in place, without loading the page again).
    pub async fn check(&mut self, browser: &Browser, name: &str) {
        let url = browser.current_url().await;
        for (view, width, height, mobile, scheme) in VIEWS {
            emulate(browser, width, height, mobile, scheme).await;
            // The viewport, not DevTools' whole-page capture: that resizes the layout and hung
            // past WebDriver's 30 s on some pages in CI.
            let png = browser.screenshot().await;
            let path = self.dir.join(format!("{name}-{view}.png"));
            std::fs::write(&path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let script = format!("{}\n{AXE_RUN}", self.axe);
            let result = browser.execute_async(&script, json!([])).await;
            assert!(
                result.is_array(),
                "axe-core did not run on {name} ({url}): {result}"
            );
            for v in result.as_array().into_iter().flatten() {
                if matches!(v["impact"].as_str(), Some("serious" | "critical")) {
                    self.failures.push(describe(name, view, &url, v));
                }
            }
        }
        self.checked.push(name.to_string());
        emulate(browser, 1280, 800, false, "light").await;
    }

    pub async fn check_at(&mut self, browser: &Browser, name: &str, url: &str) {
        browser.goto(url).await;
        self.check(browser, name).await;
    }

    pub fn assert_clean(&self) {
        println!(
            "axe-core checked {} pages × {} views; screenshots in {}",
            self.checked.len(),
            VIEWS.len(),
            self.dir.display()
        );
        assert!(
            self.failures.is_empty(),
            "{} serious or critical accessibility violations:\n\n{}",
            self.failures.len(),
            self.failures.join("\n\n")
        );
    }
}

async fn emulate(browser: &Browser, width: u32, height: u32, mobile: bool, scheme: &str) {
    let metrics =
        json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile });
    browser
        .cdp("Emulation.setDeviceMetricsOverride", metrics)
        .await;
    let media = json!({ "features": [{ "name": "prefers-color-scheme", "value": scheme }] });
    browser.cdp("Emulation.setEmulatedMedia", media).await;
}

fn describe(page: &str, view: &str, url: &str, v: &Value) -> String {
    let mut out = format!(
        "{page} [{view}] {url}\n  {} ({}): {}\n  {}",
        v["id"].as_str().unwrap_or("?"),
        v["impact"].as_str().unwrap_or("?"),
        v["help"].as_str().unwrap_or(""),
        v["url"].as_str().unwrap_or("")
    );
    for n in v["nodes"].as_array().into_iter().flatten().take(5) {
        out.push_str(&format!(
            "\n    at {}: {}\n      {}",
            n["target"].as_str().unwrap_or(""),
            n["html"].as_str().unwrap_or(""),
            n["summary"]
                .as_str()
                .unwrap_or("")
                .replace('\n', "\n      ")
        ));
    }
    out
}
