use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn load_text(text: &str, vars: &[(&str, &str)]) -> Result<(Config, Vec<String>), ConfigError> {
    resolve(
        Some((Path::new("sesame.toml"), text)),
        &env(vars),
        &Overrides::default(),
    )
}

fn err(text: &str, vars: &[(&str, &str)]) -> String {
    load_text(text, vars).expect_err("should fail").to_string()
}

#[test]
fn nothing_set_gives_the_defaults() {
    let (c, warnings) = resolve(None, &[], &Overrides::default()).unwrap();
    assert_eq!(c.issuer, "http://localhost:8080");
    assert_eq!(c.listen, "127.0.0.1:8080");
    assert_eq!(c.data_dir, PathBuf::from("sesame-data"));
    assert_eq!(c.tokens.access_token_ttl, 3600);
    assert_eq!(c.mail.transport, MailTransportKind::Log);
    assert!(warnings.is_empty());
    assert_eq!(c.db_path(), PathBuf::from("sesame-data/sesame.redb"));
    assert_eq!(c.socket_path(), PathBuf::from("sesame-data/sesame.sock"));
}

#[test]
fn environment_overrides_file_and_flags_override_both() {
    let text = "issuer = \"https://file.example.com\"\nlisten = \"0.0.0.0:80\"\n[tokens]\naccess_token_ttl = 10\n";
    let vars = [
        ("SESAME_ISSUER", "https://env.example.com/"),
        ("SESAME_TOKENS_ACCESS_TOKEN_TTL", "20"),
        ("SESAME_MAIL_SMTP_PORT", "2525"),
    ];
    let (c, _) = load_text(text, &vars).unwrap();
    assert_eq!(
        c.issuer, "https://env.example.com",
        "trailing slash trimmed"
    );
    assert_eq!(c.listen, "0.0.0.0:80");
    assert_eq!(c.tokens.access_token_ttl, 20);
    assert_eq!(c.mail.smtp.port, 2525);

    let flags = Overrides {
        issuer: Some("http://127.0.0.1:9000/oidc".into()),
        listen: Some("127.0.0.1:9000".into()),
        data_dir: Some("/tmp/d".into()),
        log_level: Some("DEBUG".into()),
    };
    let (c, _) = resolve(Some((Path::new("f.toml"), text)), &env(&vars), &flags).unwrap();
    assert_eq!(c.issuer, "http://127.0.0.1:9000/oidc");
    assert_eq!(c.listen, "127.0.0.1:9000");
    assert_eq!(c.data_dir, PathBuf::from("/tmp/d"));
    assert_eq!(c.log_level, "debug");
}

#[test]
fn every_documented_variable_sets_its_key() {
    let vars = [
        ("SESAME_MAIL_TRANSPORT", "SMTP"),
        ("SESAME_MAIL_FROM", "Sesame <noreply@example.com>"),
        ("SESAME_MAIL_TIMEOUT_SECS", "5"),
        ("SESAME_MAIL_SMTP_HOST", "127.0.0.1"),
        ("SESAME_MAIL_SMTP_TLS", "tls"),
        ("SESAME_MAIL_SMTP_USERNAME", "u"),
        ("SESAME_MAIL_SMTP_PASSWORD_FILE", "/run/secrets/smtp"),
        ("SESAME_MAIL_SMTP_CA_FILE", "/etc/ca.pem"),
        ("SESAME_BRANDING_PRODUCT_NAME", "Bookstore"),
        ("SESAME_BRANDING_LOGO_URL", "https://example.com/logo.svg"),
        ("SESAME_BRANDING_ACCENT_COLOR", "#AABBCC"),
        ("SESAME_TOKENS_SIGN_IN_CODE_TTL", "300"),
        ("SESAME_LOG_LEVEL", "warn"),
    ];
    let (c, warnings) = resolve(None, &env(&vars), &Overrides::default()).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(c.mail.transport, MailTransportKind::Smtp);
    assert_eq!(c.mail.from.as_deref(), Some("Sesame <noreply@example.com>"));
    assert_eq!(c.mail.timeout_secs, Some(5));
    assert_eq!(c.mail.smtp.host, "127.0.0.1");
    assert_eq!(c.mail.smtp.tls, TlsMode::Tls);
    assert_eq!(c.mail.smtp.username.as_deref(), Some("u"));
    assert_eq!(
        c.mail.smtp.password_file,
        Some(PathBuf::from("/run/secrets/smtp"))
    );
    assert_eq!(c.mail.smtp.ca_file, Some(PathBuf::from("/etc/ca.pem")));
    assert_eq!(c.branding.product_name, "Bookstore");
    assert_eq!(
        c.branding.logo_url.as_deref(),
        Some("https://example.com/logo.svg")
    );
    assert_eq!(c.tokens.sign_in_code_ttl, 300);
    assert_eq!(c.log_level, "warn");
}

#[test]
fn variable_names_follow_the_key_paths() {
    assert_eq!(
        env_var_for("mail.smtp.password_file"),
        "SESAME_MAIL_SMTP_PASSWORD_FILE"
    );
    let vars: Vec<String> = env_keys().into_iter().map(|k| k.var).collect();
    for expected in [
        "SESAME_ISSUER",
        "SESAME_LISTEN",
        "SESAME_DATA_DIR",
        "SESAME_TOKENS_ACCESS_TOKEN_TTL",
        "SESAME_MAIL_SES_ACCESS_KEY_ID",
        "SESAME_MAIL_SES_ENDPOINT_PORT",
        "SESAME_MAIL_TEMPLATES",
        "SESAME_APP",
    ] {
        assert!(vars.iter().any(|v| v == expected), "{expected} missing");
    }
}

#[test]
fn an_empty_variable_unsets_the_file_value() {
    let (c, _) = load_text("listen = \"0.0.0.0:1\"", &[("SESAME_LISTEN", "")]).unwrap();
    assert_eq!(c.listen, "127.0.0.1:8080");
}

#[test]
fn unknown_keys_are_errors_with_line_and_suggestion() {
    let e = err(
        "issuer = \"http://localhost\"\n\n[mail]\ntransprt = \"smtp\"\n",
        &[],
    );
    assert!(e.contains("mail.transprt"), "{e}");
    assert!(e.contains("sesame.toml line 4"), "{e}");
    assert!(e.contains("did you mean mail.transport"), "{e}");

    let e = err("[mail.smtpp]\nhost = \"x\"\n", &[]);
    assert!(e.contains("mail.smtpp") && e.contains("line 1"), "{e}");
}

#[test]
fn syntax_errors_name_the_line() {
    let e = err("issuer = \"http://localhost\"\nlisten = \n", &[]);
    assert!(e.contains("line 2") && e.contains("not valid TOML"), "{e}");
}

#[test]
fn wrong_types_name_key_and_source() {
    let e = err("[mail.smtp]\nport = \"25\"\n", &[]);
    assert!(e.contains("mail.smtp.port (sesame.toml line 2)"), "{e}");
    assert!(e.contains("port number"), "{e}");

    let e = err("", &[("SESAME_MAIL_SMTP_PORT", "abc")]);
    assert!(
        e.contains("mail.smtp.port (environment variable SESAME_MAIL_SMTP_PORT)"),
        "{e}"
    );

    let e = err("", &[("SESAME_MAIL_SMTP_PORT", "70000")]);
    assert!(e.contains("1 to 65535"), "{e}");

    let e = err("", &[("SESAME_MAIL_TRANSPORT", "carrier-pigeon")]);
    assert!(
        e.contains("mail.transport") && e.contains("log, smtp, ses"),
        "{e}"
    );
}

#[test]
fn lifetimes_must_be_positive() {
    let e = err("[tokens]\nrefresh_token_ttl = 0\n", &[]);
    assert!(
        e.contains("tokens.refresh_token_ttl") && e.contains("positive"),
        "{e}"
    );
    let e = err("", &[("SESAME_TOKENS_SESSION_TTL", "-5")]);
    assert!(
        e.contains("tokens.session_ttl") && e.contains("SESAME_TOKENS_SESSION_TTL"),
        "{e}"
    );
}

#[test]
fn audit_bounds_default_load_and_must_be_positive() {
    let (c, _) = load_text("", &[]).unwrap();
    assert_eq!(c.audit, AuditConfig::default());
    assert_eq!((c.audit.retention_days, c.audit.max_entries), (90, 100_000));
    let (c, _) = load_text(
        "[audit]\nretention_days = 30\n",
        &[("SESAME_AUDIT_MAX_ENTRIES", "5000")],
    )
    .unwrap();
    assert_eq!((c.audit.retention_days, c.audit.max_entries), (30, 5000));
    let e = err("[audit]\nmax_entries = 0\n", &[]);
    assert!(
        e.contains("audit.max_entries") && e.contains("expected a positive whole number"),
        "{e}"
    );
    let e = err("", &[("SESAME_AUDIT_RETENTION_DAYS", "90d")]);
    assert!(e.contains("SESAME_AUDIT_RETENTION_DAYS"), "{e}");
}

#[test]
fn unknown_variables_warn_but_near_misses_fail() {
    let (_, warnings) = resolve(
        None,
        &env(&[("SESAME_SOMETHING_ELSE", "1")]),
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].contains("SESAME_SOMETHING_ELSE"));

    let e = resolve(
        None,
        &env(&[("SESAME_ISUER", "https://x")]),
        &Overrides::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("SESAME_ISUER") && e.contains("did you mean SESAME_ISSUER"),
        "{e}"
    );
}

#[test]
fn issuer_must_be_an_absolute_https_url_except_on_loopback() {
    for ok in [
        "https://auth.example.com",
        "https://auth.example.com/oidc/",
        "http://localhost:8080",
        "http://127.0.0.1:1/x",
        "http://[::1]:8080",
        // RFC 6761 §6.3: names under localhost are this machine too.
        "http://auth.home.localhost:8080",
    ] {
        let vars = [("SESAME_ISSUER", ok)];
        let (c, _) = resolve(None, &env(&vars), &Overrides::default())
            .unwrap_or_else(|e| panic!("{ok}: {e}"));
        assert!(!c.issuer.ends_with('/'));
    }
    let cases = [
        ("http://auth.example.com", "use https"),
        ("http://localhost.example.com", "use https"),
        ("auth.example.com", "not an absolute URL"),
        ("https://auth.example.com/?a=b", "query"),
        ("https://auth.example.com/#x", "fragment"),
        ("ftp://auth.example.com", "https://"),
    ];
    for (bad, says) in cases {
        let e = resolve(None, &env(&[("SESAME_ISSUER", bad)]), &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("issuer (environment variable SESAME_ISSUER)") && e.contains(says),
            "{bad}: {e}"
        );
    }
}

#[test]
fn listen_colour_logo_and_smtp_are_checked() {
    let e = err("listen = \"localhost:8080\"", &[]);
    assert!(
        e.contains("listen (sesame.toml line 1)") && e.contains("IP:PORT"),
        "{e}"
    );
    let e = err("[branding]\naccent_color = \"red\"", &[]);
    assert!(
        e.contains("branding.accent_color") && e.contains("#rrggbb"),
        "{e}"
    );
    let e = err("[branding]\nlogo_url = \"javascript:alert(1)\"", &[]);
    assert!(e.contains("branding.logo_url"), "{e}");
    // Plain http would be blocked by the pages' CSP (and is mixed content): refused, saying why.
    let e = err(
        "[branding]\nlogo_url = \"http://cdn.example/logo.png\"",
        &[],
    );
    assert!(
        e.contains("branding.logo_url") && e.contains("plain http") && e.contains("logo_file"),
        "{e}"
    );
    let e = err("[branding]\nlogo_url = \"//cdn.example/logo.png\"", &[]);
    assert!(e.contains("branding.logo_url"), "{e}");
    let e = err("[branding]\nlogo_file = \"/nonexistent/logo.png\"", &[]);
    assert!(
        e.contains("branding.logo_file") && e.contains("cannot be read"),
        "{e}"
    );
    let e = err("[branding]\nlogo_file = \"/etc/passwd\"", &[]);
    assert!(
        e.contains("branding.logo_file") && e.contains(".png"),
        "{e}"
    );
    let e = err(
        "[branding]\nlogo_url = \"https://a.example/l.png\"\nlogo_file = \"/x.png\"",
        &[],
    );
    assert!(e.contains("not both"), "{e}");
    let e = err("[mail]\ntransport = \"smtp\"", &[]);
    assert!(
        e.contains("mail.smtp.host") && e.contains("required"),
        "{e}"
    );
    let e = err("[mail.smtp]\npassword = \"a\"\npassword_file = \"/b\"", &[]);
    assert!(e.contains("not both"), "{e}");
}

const SES_TOML: &str = r#"
[mail]
transport = "ses"
[mail.ses]
accessKeyId = "AKIAEXAMPLE"
accessKeySecret = "secret"
region = "eu-west-1"
emailAddress = "noreply@example.com"
[[mail.ses.templates]]
usageType = "SignIn"
subject = "Your code"
content = "<p>{{code}}</p>"
[mail.ses.endpoint]
host = "127.0.0.1"
port = 2587
caFile = "/tmp/ca.pem"
"#;

#[test]
fn ses_accepts_logtos_camel_case_and_snake_case() {
    let (c, _) = load_text(SES_TOML, &[("SESAME_MAIL_SES_REGION", "us-east-1")]).unwrap();
    let ses = c.mail.ses.unwrap();
    assert_eq!(ses.access_key_id, "AKIAEXAMPLE");
    assert_eq!(
        ses.access_key_secret.as_ref().map(|s| s.expose()),
        Some("secret")
    );
    assert_eq!(
        ses.region, "us-east-1",
        "env wins over the camelCase file key"
    );
    assert_eq!(ses.templates[0].usage_type, "SignIn");
    let endpoint = ses.endpoint.unwrap();
    assert_eq!(endpoint.port, Some(2587));
    assert_eq!(endpoint.ca_file, Some(PathBuf::from("/tmp/ca.pem")));

    let e = err(
        "[mail.ses]\naccessKeyId = \"a\"\naccess_key_id = \"b\"\nregion = \"x\"",
        &[],
    );
    assert!(e.contains("given twice"), "{e}");
    let e = err("[mail.ses]\naccessKeyId = \"a\"\nregion = \"x\"\n[[mail.ses.templates]]\nusageType = \"Login\"\nsubject = \"s\"\ncontent = \"c\"", &[]);
    assert!(
        e.contains("mail.ses.templates[0].usage_type") && e.contains("SignIn"),
        "{e}"
    );
    let e = err("[mail.ses]\nregion = \"x\"", &[]);
    assert!(
        e.contains("mail.ses.access_key_id") && e.contains("required"),
        "{e}"
    );
}

#[test]
fn ses_json_variable_takes_logtos_whole_connector() {
    let json = r#"{"accessKeyId":"AKIA","accessKeySecret":"s","region":"eu-west-1","emailAddress":null,
            "templates":[{"usageType":"Generic","subject":"Hi","content":"{{code}}"}]}"#;
    let vars = [
        (ENV_SES_JSON, json),
        ("SESAME_MAIL_SES_EMAIL_ADDRESS", "a@example.com"),
    ];
    let (c, _) = resolve(None, &env(&vars), &Overrides::default()).unwrap();
    let ses = c.mail.ses.unwrap();
    assert_eq!(ses.access_key_id, "AKIA");
    assert_eq!(ses.email_address.as_deref(), Some("a@example.com"));
    assert_eq!(ses.templates.len(), 1);

    let e = resolve(
        None,
        &env(&[(
            ENV_SES_JSON,
            r#"{"accessKeyId":"a","region":"r","bogus":1}"#,
        )]),
        &Overrides::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("mail.ses.bogus") && e.contains(ENV_SES_JSON),
        "{e}"
    );
    let e = resolve(
        None,
        &env(&[(ENV_SES_JSON, "{not json")]),
        &Overrides::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("expected JSON"), "{e}");
}

const APPS_TOML: &str = r#"
[[app]]
client_id = "bookstore"
name = "Bookstore"
client_secret_env = "BOOKSTORE_SECRET"
redirect_uris = ["https://bookstore.example.com/api/auth/callback/logto"]

[[app]]
client_id = "dashboard"
name = "Dashboard"
app_type = "spa"
redirect_uris = ["http://localhost:5173/callback"]
post_logout_redirect_uris = ["http://localhost:5173/"]
id_token_signed_response_alg = "rs256"
"#;

#[test]
fn declared_apps_load_and_are_checked() {
    let (c, _) = load_text(APPS_TOML, &[]).unwrap();
    assert_eq!(c.apps.len(), 2);
    assert_eq!(
        c.apps[1].id_token_signed_response_alg,
        Some(crate::alg::Alg::Rs256)
    );

    let bad = APPS_TOML.replace("api/auth/callback/logto", "cb#frag");
    let e = err(&bad, &[]);
    assert!(
        e.contains("app[0].redirect_uris") && e.contains("fragment") && e.contains("bookstore"),
        "{e}"
    );
    assert!(e.contains("line 6"), "{e}");

    let e = err(
        &APPS_TOML.replace("client_secret_env = \"BOOKSTORE_SECRET\"\n", ""),
        &[],
    );
    assert!(
        e.contains("app[0].client_secret") && e.contains("needs a secret"),
        "{e}"
    );

    let e = err(
        &APPS_TOML.replace(
            "client_secret_env",
            "client_secret = \"x\"\nclient_secret_file",
        ),
        &[],
    );
    assert!(e.contains("only one"), "{e}");

    let e = err(
        &APPS_TOML.replace(
            "app_type = \"spa\"",
            "app_type = \"spa\"\nclient_secret = \"x\"",
        ),
        &[],
    );
    assert!(e.contains("public"), "{e}");

    let e = err(&APPS_TOML.replace("\"dashboard\"", "\"bookstore\""), &[]);
    assert!(e.contains("declared twice"), "{e}");

    let e = err(
        "[[app]]\nclient_id = \"x\"\nname = \"X\"\nclient_secret = \"s\"\n",
        &[],
    );
    assert!(
        e.contains("app[0].redirect_uris") && e.contains("at least one redirect URI"),
        "{e}"
    );
}

#[test]
fn a_declared_machine_app_has_a_secret_and_no_redirect_uris() {
    let machine = "[[app]]\nclient_id = \"backup\"\nname = \"Backup\"\napp_type = \"machine\"\nclient_secret = \"s\"\n";
    let (c, _) = load_text(machine, &[]).unwrap();
    assert_eq!(c.apps[0].app_type.as_deref(), Some("machine"));
    let e = err(&machine.replace("client_secret = \"s\"\n", ""), &[]);
    assert!(e.contains("a machine app needs a secret"), "{e}");
    let e = err(
        &format!("{machine}redirect_uris = [\"https://a.example.com/cb\"]\n"),
        &[],
    );
    assert!(
        e.contains("app[0].redirect_uris") && e.contains("machine app"),
        "{e}"
    );
}

#[test]
fn a_declared_app_allows_lan_http_only_with_allow_insecure_redirect() {
    let jellyfin = r#"
[[app]]
client_id = "jellyfin"
name = "Jellyfin"
client_secret_env = "JELLYFIN_SECRET"
redirect_uris = ["http://192.168.1.10:8096/sso/OID/redirect/sesame"]
"#;
    let e = err(jellyfin, &[]);
    assert!(
        e.contains("app[0].redirect_uris")
            && e.contains("line 6")
            && e.contains("allow_insecure_redirect = true"),
        "{e}"
    );
    let allowed = format!("{jellyfin}allow_insecure_redirect = true\n");
    let (c, _) = load_text(&allowed, &[]).unwrap();
    assert!(c.apps[0].allow_insecure_redirect);
    let e = err(
        &allowed.replace("192.168.1.10", "jellyfin.example.com"),
        &[],
    );
    assert!(e.contains("not on the LAN"), "{e}");
    let e = err(&allowed.replace("= true", "= \"yes\""), &[]);
    assert!(
        e.contains("app[0].allow_insecure_redirect") && e.contains("expected true or false"),
        "{e}"
    );
    let json = r#"[{"client_id":"jf","name":"Jellyfin","client_secret_env":"JF","allow_insecure_redirect":true,"redirect_uris":["http://jellyfin.lan:8096/cb"]}]"#;
    let (c, _) = resolve(None, &env(&[("SESAME_APP", json)]), &Overrides::default()).unwrap();
    assert!(c.apps[0].allow_insecure_redirect);
}

#[test]
fn apps_can_come_from_json_in_the_environment() {
    let json = r#"[{"client_id":"cli","name":"CLI","app_type":"native","redirect_uris":["com.example.cli:/cb"]}]"#;
    let (c, _) = resolve(None, &env(&[("SESAME_APP", json)]), &Overrides::default()).unwrap();
    assert_eq!(c.apps[0].client_id, "cli");
    let e = resolve(
        None,
        &env(&[("SESAME_APP", r#"[{"client_id":"x"}]"#)]),
        &Overrides::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("app[0].name") && e.contains("SESAME_APP"), "{e}");
}

#[test]
fn a_named_missing_file_is_an_error() {
    let e = load(
        Some(Path::new("/nonexistent/sesame.toml")),
        &Overrides::default(),
    )
    .unwrap_err();
    assert!(matches!(e, ConfigError::Read { .. }), "{e}");
    assert!(e.to_string().contains("/nonexistent/sesame.toml"));
}

fn with_flags(listen: Option<&str>, issuer: Option<&str>) -> Overrides {
    Overrides {
        listen: listen.map(str::to_string),
        issuer: issuer.map(str::to_string),
        ..Overrides::default()
    }
}

#[test]
fn an_unset_issuer_follows_the_listen_port() {
    let (c, w) = resolve(None, &[], &with_flags(Some("127.0.0.1:9000"), None)).unwrap();
    assert_eq!(c.issuer, "http://localhost:9000");
    assert!(w.is_empty(), "{w:?}");
    let (c, _) = resolve(
        None,
        &env(&[("SESAME_LISTEN", "0.0.0.0:3001")]),
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(c.issuer, "http://localhost:3001");
    let (c, _) = load_text("listen = \"[::1]:4000\"", &[]).unwrap();
    assert_eq!(c.issuer, "http://localhost:4000");
    // An empty variable unsets the file's issuer: it follows listen again.
    let (c, _) = load_text(
        "issuer = \"https://auth.example.com\"\nlisten = \"127.0.0.1:5000\"",
        &[("SESAME_ISSUER", "")],
    )
    .unwrap();
    assert_eq!(c.issuer, "http://localhost:5000");
    // An ephemeral port is not known at load: the default stays.
    let (c, w) = resolve(None, &[], &with_flags(Some("127.0.0.1:0"), None)).unwrap();
    assert_eq!(c.issuer, "http://localhost:8080");
    assert!(w.is_empty(), "{w:?}");
}

#[test]
fn a_local_issuer_on_another_port_than_listen_is_a_warning() {
    let (c, w) = resolve(
        None,
        &[],
        &with_flags(Some("127.0.0.1:9000"), Some("http://localhost:8080")),
    )
    .unwrap();
    assert_eq!(c.issuer, "http://localhost:8080", "a set issuer is kept");
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("issuer http://localhost:8080")
            && w[0].contains("port 8080")
            && w[0].contains("listens on port 9000")
            && w[0].contains("http://localhost:9000"),
        "{}",
        w[0]
    );
    let (_, w) = load_text(
        "issuer = \"http://127.0.0.1\"\nlisten = \"127.0.0.1:8080\"",
        &[],
    )
    .unwrap();
    assert!(w.len() == 1 && w[0].contains("port 80,"), "{w:?}");

    for (listen, issuer) in [
        ("127.0.0.1:9000", "http://127.0.0.1:9000/oidc"),
        ("0.0.0.0:9000", "http://[::1]:9000"),
        ("127.0.0.1:9000", "https://auth.example.com"),
        ("127.0.0.1:0", "http://localhost:8080"),
    ] {
        let (_, w) = resolve(None, &[], &with_flags(Some(listen), Some(issuer))).unwrap();
        assert!(w.is_empty(), "{listen} {issuer}: {w:?}");
    }
}

#[test]
fn mail_settings_the_log_transport_ignores_are_a_warning() {
    let (_, w) = load_text("[mail.smtp]\nhost = \"smtp.example.com\"", &[]).unwrap();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("mail.smtp.host")
            && w[0].contains("mail.transport is \"log\"")
            && w[0].contains("mail.transport = \"smtp\"")
            && w[0].contains("SESAME_MAIL_TRANSPORT=smtp"),
        "{}",
        w[0]
    );
    let ses = SES_TOML.replace("transport = \"ses\"", "");
    let (_, w) = load_text(&ses, &[]).unwrap();
    assert!(
        w.len() == 1 && w[0].contains("[mail.ses]") && w[0].contains("SESAME_MAIL_TRANSPORT=ses"),
        "{w:?}"
    );
    let (_, w) = load_text(
        "[mail]\ntransport = \"smtp\"\n[mail.smtp]\nhost = \"smtp.example.com\"",
        &[],
    )
    .unwrap();
    assert!(w.is_empty(), "{w:?}");
    let (_, w) = load_text(SES_TOML, &[]).unwrap();
    assert!(w.is_empty(), "{w:?}");
}

#[test]
fn mail_from_must_be_one_address() {
    for ok in ["noreply@example.com", "Bookstore <noreply@example.com>"] {
        load_text(&format!("[mail]\nfrom = {ok:?}"), &[]).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    let e = err("[mail]\nfrom = \"Bookstore <noreply@>\"", &[]);
    assert!(
        e.contains("mail.from (sesame.toml line 2)") && e.contains("not an email address"),
        "{e}"
    );
    let e = err(
        "",
        &[("SESAME_MAIL_FROM", "a@example.com\r\nBcc: all@example.com")],
    );
    assert!(
        e.contains("mail.from (environment variable SESAME_MAIL_FROM)") && e.contains("one line"),
        "{e}"
    );
    let e = err("", &[("SESAME_MAIL_FROM", "not an address")]);
    assert!(e.contains("mail.from"), "{e}");
}

#[test]
fn ses_settings_are_checked_at_load_naming_the_key() {
    let e = err(&SES_TOML.replace("eu-west-1", "mars"), &[]);
    assert!(
        e.contains("mail.ses.region (sesame.toml line 7)") && e.contains("not an AWS region"),
        "{e}"
    );
    let e = err(
        &SES_TOML.replace("noreply@example.com", "noreply at example.com"),
        &[],
    );
    assert!(
        e.contains("mail.ses.email_address (sesame.toml line 8)"),
        "{e}"
    );
    let e = err(&SES_TOML.replace("caFile", "tls = \"none\"\ncaFile"), &[]);
    assert!(
        e.contains("mail.ses.endpoint.tls") && e.contains("requires TLS"),
        "{e}"
    );
    let e = err(&SES_TOML.replace("accessKeySecret = \"secret\"\n", ""), &[]);
    assert!(
        e.contains("mail.ses.access_key_secret") && e.contains("missing"),
        "{e}"
    );
    let e = err(
        "",
        &[(
            ENV_SES_JSON,
            r#"{"accessKeyId":"AKIA","accessKeySecret":"s","region":"nowhere"}"#,
        )],
    );
    assert!(
        e.contains("mail.ses.region (environment variable SESAME_MAIL_SES_JSON)"),
        "{e}"
    );
}

#[test]
fn type_errors_never_print_a_secret() {
    /// A file, environment variables, and the key the error names.
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
            ("[mail.smtp]\npassword = 12345678", &[], "mail.smtp.password"),
            (
                "[mail.ses]\naccessKeyId = \"AKIA\"\nregion = \"eu-west-1\"\naccessKeySecret = 12345678",
                &[],
                "mail.ses.access_key_secret",
            ),
            (
                "[mail.ses]\naccessKeyId = \"AKIA\"\nregion = \"eu-west-1\"\nsmtpPassword = 12345678",
                &[],
                "mail.ses.smtp_password",
            ),
            (
                "[[app]]\nclient_id = \"a\"\nname = \"A\"\nredirect_uris = []\nclient_secret = 12345678",
                &[],
                "app[0].client_secret",
            ),
            (
                "",
                &[(ENV_SES_JSON, r#"{"accessKeyId":"AKIA","region":12345678}"#)],
                "mail.ses.region",
            ),
            (
                "",
                &[(ENV_SES_JSON, r#"{"accessKeyId":"AKIA","region":"eu-west-1","accessKeySecret":["12345678"]}"#)],
                "mail.ses.access_key_secret",
            ),
        ];
    for (text, vars, key) in cases {
        let e = err(text, vars);
        assert!(
            e.contains(key) && e.contains("expected a string, got a"),
            "{e}"
        );
        assert!(!e.contains("12345678"), "the secret is printed: {e}");
    }
    // Other values are still shown: they help find the mistake.
    let e = err("[mail.smtp]\nusername = 12345678", &[]);
    assert!(e.contains("got 12345678"), "{e}");
}

#[test]
fn secrets_never_show_in_debug_output() {
    let smtp = crate::config::SmtpConfig {
        password: Some("hunter2-smtp".into()),
        ..Default::default()
    };
    let ses = crate::config::SesConfig {
        access_key_secret: Some("wJalr-secret".into()),
        smtp_password: Some("ready-pw".into()),
        ..Default::default()
    };
    let shown = format!("{smtp:?} {ses:?}");
    for secret in ["hunter2-smtp", "wJalr-secret", "ready-pw"] {
        assert!(!shown.contains(secret), "{shown}");
    }
    // Serialised, a secret is still the plain string (files and connector JSON keep their shape).
    assert_eq!(
        serde_json::to_value(&ses).unwrap()["accessKeySecret"],
        "wJalr-secret"
    );
}

#[test]
fn dev_personas_come_by_name_from_the_file_or_the_environment() {
    let text = "[dev.users.alice]\nemail = \"alice@example.com\"\nname = \"Alice\"\ngroups = [\"admin\"]\nclaims = { role = \"owner\", quota = 10 }\n\n[dev.users.bob]\nemail = \"bob@example.com\"\n";
    let (c, _) = load_text(text, &[]).unwrap();
    let alice = &c.dev.users["alice"];
    assert_eq!(alice.email, "alice@example.com");
    assert_eq!(alice.groups, ["admin"]);
    assert_eq!(alice.claims["quota"], 10);
    assert_eq!(c.dev.users["bob"].name, None);

    let json = r#"{"carol": {"email": "carol@example.com", "claims": {"beta": true}}}"#;
    let (c, _) = load_text(text, &[("SESAME_DEV_USERS", json)]).unwrap();
    assert_eq!(
        c.dev.users.keys().collect::<Vec<_>>(),
        ["carol"],
        "the variable replaces the file's"
    );
    assert_eq!(c.dev.users["carol"].claims["beta"], true);

    let e = err("[dev.users.alice]\nemial = \"a@example.com\"\n", &[]);
    assert!(
        e.contains("dev.users.alice.emial") && e.contains("line 2"),
        "{e}"
    );
    let e = err("[dev.users.alice]\nname = \"A\"\n", &[]);
    assert!(
        e.contains("dev.users.alice.email") && e.contains("required"),
        "{e}"
    );
    let e = err("[dev]\nusers = 3\n", &[]);
    assert!(e.contains("dev.users"), "{e}");
    let e = err("", &[("SESAME_DEV_USERS", "[1]")]);
    assert!(
        e.contains("SESAME_DEV_USERS") && e.contains("JSON object"),
        "{e}"
    );
}

const FORWARD_AUTH_TOML: &str = r#"issuer = "https://auth.home.example.com"

[forward_auth]
cookie_domain = "home.example.com"

[[access]]
domain = "*.home.example.com"
resources = ["^/api/", "^/status$"]
policy = "bypass"

[[access]]
domain = ["grafana.home.example.com", "*.media.home.example.com"]
policy = "allow"
users = ["me@example.com", "kid"]
groups = ["family"]

[[access]]
domain = "*.home.example.com"
policy = "deny"
"#;

#[test]
fn forward_auth_and_access_rules_load_in_order() {
    let (c, warnings) = load_text(FORWARD_AUTH_TOML, &[]).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(
        c.forward_auth.cookie_domain.as_deref(),
        Some("home.example.com")
    );
    assert_eq!(c.access.len(), 3);
    // One name or a list.
    assert_eq!(c.access[0].domain.0, ["*.home.example.com"]);
    assert_eq!(
        c.access[1].domain.0,
        ["grafana.home.example.com", "*.media.home.example.com"]
    );
    assert_eq!(c.access[1].policy, crate::forward_auth::Policy::Allow);
    assert_eq!(c.access[1].groups, ["family"]);
    // Policies in any case, stored in theirs.
    let (c, _) = load_text(&FORWARD_AUTH_TOML.replace("\"deny\"", "\"DENY\""), &[]).unwrap();
    assert_eq!(c.access[2].policy, crate::forward_auth::Policy::Deny);
}

#[test]
fn forward_auth_settings_come_from_the_environment_too() {
    let vars = [
        ("SESAME_ISSUER", "http://auth.home.localhost:8080"),
        ("SESAME_FORWARD_AUTH_COOKIE_DOMAIN", "home.localhost"),
        (
            "SESAME_ACCESS",
            r#"[{"domain": "app.home.localhost", "policy": "allow", "groups": ["family"]}]"#,
        ),
    ];
    let (c, warnings) = resolve(None, &env(&vars), &Overrides::default()).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(
        c.forward_auth.cookie_domain.as_deref(),
        Some("home.localhost")
    );
    assert_eq!(c.access[0].domain.0, ["app.home.localhost"]);
}

#[test]
fn a_bad_rule_names_its_key() {
    let cases = [
        (
            FORWARD_AUTH_TOML.replace("^/status$", "^/(unclosed"),
            "access[0].resources",
            "not a regular expression",
        ),
        (
            FORWARD_AUTH_TOML.replace("\"bypass\"", "\"one_factor\""),
            "access[0].policy",
            "expected one of bypass, allow, deny",
        ),
        (
            FORWARD_AUTH_TOML.replace("\"bypass\"", "\"bypass\"\ngroups = [\"family\"]"),
            "access[0].groups",
            "cannot name users or groups",
        ),
        (
            FORWARD_AUTH_TOML.replace("\"kid\"", "\"kid@\""),
            "access[1].users",
            "not an email address",
        ),
        (
            FORWARD_AUTH_TOML.replace("*.media.home", "media.*.home"),
            "access[1].domain",
            "not a host name or a wildcard",
        ),
        (
            FORWARD_AUTH_TOML.replace(
                "domain = \"*.home.example.com\"\npolicy = \"deny\"",
                "policy = \"deny\"",
            ),
            "access[2].domain",
            "is required",
        ),
        (
            FORWARD_AUTH_TOML.replace(
                "domain = \"*.home.example.com\"\nresources",
                "domain = 7\nresources",
            ),
            "access[0].domain",
            "a string or an array of strings",
        ),
    ];
    for (text, key, says) in cases {
        let e = err(&text, &[]);
        assert!(e.starts_with(key) && e.contains(says), "{key}: {e}");
        assert!(e.contains("sesame.toml line"), "{e}");
    }
}

#[test]
fn the_cookie_domain_must_cover_the_issuer_and_rules_need_it() {
    let e = err(
        &FORWARD_AUTH_TOML.replace("auth.home.example.com", "auth.example.org"),
        &[],
    );
    assert!(
        e.starts_with("forward_auth.cookie_domain") && e.contains("does not cover the issuer"),
        "{e}"
    );
    for bad in ["10.0.0.1", "https://home.example.com", "*.home.example.com"] {
        let e = err(
            &FORWARD_AUTH_TOML.replace("\"home.example.com\"", &format!("{bad:?}")),
            &[],
        );
        assert!(
            e.starts_with("forward_auth.cookie_domain") && e.contains("not a domain name"),
            "{bad}: {e}"
        );
    }
    let e = err(
        &FORWARD_AUTH_TOML.replace("[forward_auth]\ncookie_domain = \"home.example.com\"\n", ""),
        &[],
    );
    assert!(
        e.starts_with("forward_auth.cookie_domain") && e.contains("required when [[access]]"),
        "{e}"
    );
    // A cookie domain without rules refuses everything: allowed, with a warning.
    let (_, warnings) = load_text(
        "issuer = \"https://auth.home.example.com\"\n[forward_auth]\ncookie_domain = \"home.example.com\"\n",
        &[],
    )
    .unwrap();
    assert!(
        warnings.len() == 1 && warnings[0].contains("no [[access]] rules"),
        "{warnings:?}"
    );
}

#[test]
fn the_refresh_retry_window_may_be_zero_but_not_negative() {
    let (c, _) = resolve(None, &[], &Overrides::default()).unwrap();
    assert_eq!(c.tokens.refresh_retry_window, 60);
    let (c, _) = load_text("[tokens]\nrefresh_retry_window = 0\n", &[]).unwrap();
    assert_eq!(c.tokens.refresh_retry_window, 0);
    let (c, _) = load_text("", &[("SESAME_TOKENS_REFRESH_RETRY_WINDOW", "15")]).unwrap();
    assert_eq!(c.tokens.refresh_retry_window, 15);
    let e = err("[tokens]\nrefresh_retry_window = -1\n", &[]);
    assert!(
        e.contains("tokens.refresh_retry_window") && e.contains("0 turns it off"),
        "{e}"
    );
    let app = r#"
[[app]]
client_id = "books"
name = "Books"
app_type = "spa"
redirect_uris = ["https://books.example.com/cb"]
"#;
    let (c, _) = load_text(app, &[]).unwrap();
    assert_eq!(c.apps[0].refresh_retry_window, None);
    let (c, _) = load_text(&format!("{app}refresh_retry_window = 0\n"), &[]).unwrap();
    assert_eq!(c.apps[0].refresh_retry_window, Some(0));
}

#[test]
fn limits_come_from_file_and_environment_and_bad_proxies_name_the_key() {
    let text = "[limits]\ntrusted_proxies = [\"127.0.0.1\"]\ntoken_per_minute = 5\n[store]\ncache_mib = 64\n";
    let (c, _) = load_text(
        text,
        &[
            (
                "SESAME_LIMITS_TRUSTED_PROXIES",
                "[\"10.0.0.0/8\", \"fd00::/8\"]",
            ),
            ("SESAME_LIMITS_MAIL_PER_MINUTE", "7"),
        ],
    )
    .unwrap();
    assert_eq!(c.limits.trusted_proxies, ["10.0.0.0/8", "fd00::/8"]);
    assert_eq!(c.limits.token_per_minute, 5);
    assert_eq!(c.limits.mail_per_minute, 7);
    assert_eq!(c.limits.mail_addresses_per_sign_in, 3);
    assert_eq!(c.store.cache_mib, 64);
    let e = err("[limits]\ntrusted_proxies = [\"10.0.0.0/33\"]\n", &[]);
    assert!(
        e.contains("limits.trusted_proxies") && e.contains("10.0.0.0/33"),
        "{e}"
    );
    let e = err("[limits]\nsign_in_per_minute = 0\n", &[]);
    assert!(e.contains("limits.sign_in_per_minute"), "{e}");
}

#[test]
fn a_declared_app_sets_the_device_flow_and_required_pushed_requests() {
    let tv = r#"
[[app]]
client_id = "tv"
name = "TV"
app_type = "native"
redirect_uris = ["http://127.0.0.1/cb"]
device_flow = true
require_pushed_authorization_requests = true

[limits]
device_codes_per_minute = 3
"#;
    let (c, _) = load_text(tv, &[]).unwrap();
    assert!(c.apps[0].device_flow && c.apps[0].require_pushed_authorization_requests);
    assert_eq!(c.limits.device_codes_per_minute, 3);
    let e = err(&tv.replace("device_flow = true", "device_flow = 1"), &[]);
    assert!(e.contains("app[0].device_flow"), "{e}");
    let (c, _) = load_text(&tv.replace("= true", "= false"), &[]).unwrap();
    assert!(!c.apps[0].device_flow && !c.apps[0].require_pushed_authorization_requests);
}

#[test]
fn a_declared_app_or_group_requires_a_second_factor_and_a_bad_value_names_the_key() {
    use crate::store::SecondFactor;
    let text = r#"
[[app]]
client_id = "nas"
name = "NAS"
redirect_uris = ["https://nas.example/cb"]
client_secret = "s"
second_factor = "required"

[[group]]
name = "staff"
second_factor = "required"

[[group]]
name = "family"
"#;
    let (c, _) = load_text(text, &[]).unwrap();
    assert_eq!(c.apps[0].second_factor, SecondFactor::Required);
    assert_eq!(c.groups[0].second_factor, SecondFactor::Required);
    assert_eq!(c.groups[1].second_factor, SecondFactor::Optional);
    // Choices are matched ignoring case, as every choice key is.
    let (c, _) = load_text(&text.replace("\"required\"", "\"Required\""), &[]).unwrap();
    assert_eq!(c.apps[0].second_factor, SecondFactor::Required);

    let e = err(&text.replacen("\"required\"", "\"always\"", 1), &[]);
    assert!(
        e.contains("app[0].second_factor") && e.contains("always"),
        "{e}"
    );
    let e = err(
        &text.replace(
            "name = \"staff\"\nsecond_factor = \"required\"",
            "name = \"staff\"\nsecond_factor = true",
        ),
        &[],
    );
    assert!(e.contains("group[0].second_factor"), "{e}");

    // From the environment, as a JSON array of tables.
    let json = r#"[{"name": "ops", "second_factor": "required"}]"#;
    let (c, _) = load_text("", &[("SESAME_GROUP", json)]).unwrap();
    assert_eq!(c.groups[0].second_factor, SecondFactor::Required);
    let e = err(
        "",
        &[(
            "SESAME_GROUP",
            r#"[{"name": "ops", "second_factor": "maybe"}]"#,
        )],
    );
    assert!(e.contains("second_factor") && e.contains("maybe"), "{e}");
}
