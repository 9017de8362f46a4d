//! Embeds the management API's OpenAPI document without its indentation: a third of its bytes,
//! about 33 KB of the release binary (which has an 8 MiB budget). `src/server/api/openapi.json`
//! stays the readable source; `server::api::openapi` includes the compact copy made here.

use std::path::Path;
use std::{env, fs};

const SOURCE: &str = "src/server/api/openapi.json";

fn main() {
    println!("cargo:rerun-if-changed={SOURCE}");
    let text = fs::read_to_string(SOURCE).expect("src/server/api/openapi.json is readable");
    let out_dir = env::var("OUT_DIR").expect("cargo sets OUT_DIR for build scripts");
    fs::write(Path::new(&out_dir).join("openapi.json"), compact(&text))
        .expect("OUT_DIR is writable");
}

/// JSON without the whitespace between tokens (whitespace inside strings is kept).
fn compact(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}
