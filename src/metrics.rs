//! Metrics for Prometheus: what `/metrics` shows, and the calls that count.
//!
//! One process-wide set ([`global`]), because what it counts happens in every layer (the edge
//! times requests, the core counts sign-ins, the store times its commits, the mailer its sends)
//! and threading a handle through each would change every signature for a side channel. Tests
//! that scrape run the server in its own process, so they see only their own counts.
//!
//! The hot path takes no lock: a request's counters and histogram are looked up once, at
//! start-up, by the edge ([`RouteMetrics::new`]), and counting is an atomic add. Histograms are
//! sesame's own ([`AtomicHistogram`]): prometheus-client's takes a mutex per observation.
//! Families whose label values are not known up front (sign-in outcomes, mail outcomes,
//! rate-limit kinds) are few-per-second events and use the crate's family (a read lock).
//!
//! Label values are `&'static str` chosen by sesame (route names, outcome names), never a
//! request's path or an address: the number of series is bounded by the code.
//!
//! Who may read `/metrics` is [`MetricsConfig`]'s business (the edge enforces it).
//!
//! Owns the registry and its text encoding (prometheus-client, OpenMetrics text format). Uses
//! nothing from the crate but [`crate::secret`].

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::Registry;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use crate::secret::Secret;

/// The media type of the text [`encode`] writes (OpenMetrics 1.0, which Prometheus reads).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// `[metrics]`: who may read `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// A request from this machine (a loopback peer, with no proxy's `X-Forwarded-For` or
    /// `Forwarded`) may read `/metrics` without a token.
    pub allow_loopback: bool,
    /// A bearer token that lets any client read `/metrics` (`Authorization: Bearer <token>`).
    pub token: Option<Secret>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            allow_loopback: true,
            token: None,
        }
    }
}

/// Label sets: one `(name, value)` pair, the value one of sesame's own names.
type Label = [(&'static str, &'static str); 1];
type Labels2 = [(&'static str, &'static str); 2];

/// Every metric sesame keeps.
pub struct Metrics {
    registry: Registry,
    requests: Family<Labels2, Counter>,
    request_seconds: Family<Label, AtomicHistogram, fn() -> AtomicHistogram>,
    sign_ins: Family<Label, Counter>,
    mail_sends: Family<Label, Counter>,
    mail_send_seconds: AtomicHistogram,
    store_write_seconds: AtomicHistogram,
    store_flush_seconds: AtomicHistogram,
    store_flush_batch: AtomicHistogram,
    rate_limited: Family<Label, Counter>,
}

/// Seconds: 1 ms to 10 s, a request's and a send's range.
const LATENCY_BOUNDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];
/// Seconds: 0.1 ms to 1 s, an fsync's range.
const FLUSH_BOUNDS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 1.0,
];
/// Commits made durable by one flush.
const BATCH_BOUNDS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0];

fn request_histogram() -> AtomicHistogram {
    AtomicHistogram::seconds(LATENCY_BOUNDS)
}

impl Metrics {
    fn new() -> Metrics {
        let mut m = Metrics {
            registry: Registry::with_prefix("sesame"),
            requests: Family::default(),
            request_seconds: Family::new_with_constructor(request_histogram),
            sign_ins: Family::default(),
            mail_sends: Family::default(),
            mail_send_seconds: AtomicHistogram::seconds(LATENCY_BOUNDS),
            store_write_seconds: AtomicHistogram::seconds(LATENCY_BOUNDS),
            store_flush_seconds: AtomicHistogram::seconds(FLUSH_BOUNDS),
            store_flush_batch: AtomicHistogram::count(BATCH_BOUNDS),
            rate_limited: Family::default(),
        };
        let build = Family::<Labels2, Gauge>::default();
        build
            .get_or_create(&[("version", env!("CARGO_PKG_VERSION")), ("name", "sesame")])
            .set(1);
        let r = &mut m.registry;
        r.register("build_info", "The running sesame's version", build);
        r.register(
            "http_requests",
            "HTTP requests answered, by route and status class",
            m.requests.clone(),
        );
        r.register(
            "http_request_duration_seconds",
            "Time from a request's headers to its response, by route",
            m.request_seconds.clone(),
        );
        r.register(
            "sign_ins",
            "Sign-in code submissions, by outcome",
            m.sign_ins.clone(),
        );
        r.register(
            "mail_sends",
            "Mails sent or attempted, by outcome (sent, rejected by the server, transport failure, invalid, misconfigured)",
            m.mail_sends.clone(),
        );
        r.register(
            "mail_send_duration_seconds",
            "Time one send took, retries included",
            m.mail_send_seconds.clone(),
        );
        r.register(
            "store_write_duration_seconds",
            "Time a write transaction took until durable (group commit wait included)",
            m.store_write_seconds.clone(),
        );
        r.register(
            "store_flush_duration_seconds",
            "Time one durable commit (fsync) took",
            m.store_flush_seconds.clone(),
        );
        r.register(
            "store_flush_batch_size",
            "Write transactions made durable by one flush (group commit)",
            m.store_flush_batch.clone(),
        );
        r.register(
            "rate_limited",
            "Requests and sends refused by a limit, by kind",
            m.rate_limited.clone(),
        );
        m
    }
}

/// The process's metrics.
pub fn global() -> &'static Metrics {
    static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);
    &METRICS
}

/// The text `/metrics` answers with.
pub fn encode() -> String {
    let mut out = String::with_capacity(8 * 1024);
    // Writing to a String cannot fail; a metric's own encoder failing would be a bug in it,
    // and a partial page is better than none.
    if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &global().registry) {
        tracing::warn!("metrics: encoding failed: {e}");
    }
    out
}

/// One route's counters, looked up once so that counting a request takes no lock.
#[derive(Clone)]
pub struct RouteMetrics {
    /// By status class: 2xx to 5xx (sesame's handlers never answer 1xx; counted as 2xx if
    /// one ever did).
    by_class: [Counter; 4],
    seconds: AtomicHistogram,
}

impl RouteMetrics {
    /// The counters of the route named `route` (a name the edge chose, never a raw path).
    pub fn new(route: &'static str) -> RouteMetrics {
        let m = global();
        let class = |c: &'static str| {
            m.requests
                .get_or_create_owned(&[("route", route), ("status", c)])
        };
        RouteMetrics {
            by_class: [class("2xx"), class("3xx"), class("4xx"), class("5xx")],
            seconds: m.request_seconds.get_or_create_owned(&[("route", route)]),
        }
    }

    /// Counts one answered request.
    pub fn observe(&self, status: u16, elapsed: Duration) {
        let class = usize::from(status / 100).clamp(2, 5) - 2;
        self.by_class[class].inc();
        self.seconds.observe_duration(elapsed);
    }
}

/// Counts a sign-in code submission by its outcome (`signed_in`, `wrong_code`, ...).
pub fn sign_in(outcome: &'static str) {
    global()
        .sign_ins
        .get_or_create(&[("outcome", outcome)])
        .inc();
}

/// Counts a mail send by its outcome and time.
pub fn mail_send(outcome: &'static str, elapsed: Duration) {
    let m = global();
    m.mail_sends.get_or_create(&[("outcome", outcome)]).inc();
    m.mail_send_seconds.observe_duration(elapsed);
}

/// Counts a write transaction, from its start until durable.
pub fn store_write(elapsed: Duration) {
    global().store_write_seconds.observe_duration(elapsed);
}

/// Counts one durable commit: its time and how many write transactions it made durable.
pub fn store_flush(elapsed: Duration, batch: u64) {
    let m = global();
    m.store_flush_seconds.observe_duration(elapsed);
    m.store_flush_batch.observe_count(batch);
}

/// Counts one refusal by a limit; `kind` names the limit (`auth_per_ip`, `mail_global`, ...).
/// This is `sesame_rate_limited_total{kind}`; a kind's series appears with its first hit.
pub fn rate_limited(kind: &'static str) {
    global().rate_limited.get_or_create(&[("kind", kind)]).inc();
}

/// A histogram whose observation is a few atomic adds (no lock), with fixed bucket bounds.
/// The sum is kept as an integer in units of `1 / scale` (nanoseconds for durations), so it
/// is exact and needs no compare-and-swap loop on a float.
#[derive(Clone)]
pub struct AtomicHistogram {
    inner: Arc<HistogramInner>,
}

struct HistogramInner {
    bounds: &'static [f64],
    /// Per bucket (not cumulative), plus the `+Inf` bucket last.
    counts: Box<[AtomicU64]>,
    sum: AtomicU64,
    scale: f64,
}

impl AtomicHistogram {
    fn with_scale(bounds: &'static [f64], scale: f64) -> AtomicHistogram {
        AtomicHistogram {
            inner: Arc::new(HistogramInner {
                bounds,
                counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
                sum: AtomicU64::new(0),
                scale,
            }),
        }
    }

    /// Observations in seconds, summed in nanoseconds.
    pub fn seconds(bounds: &'static [f64]) -> AtomicHistogram {
        Self::with_scale(bounds, 1e9)
    }

    /// Observations that are whole counts.
    pub fn count(bounds: &'static [f64]) -> AtomicHistogram {
        Self::with_scale(bounds, 1.0)
    }

    pub fn observe_duration(&self, d: Duration) {
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.observe_raw(d.as_secs_f64(), nanos);
    }

    pub fn observe_count(&self, n: u64) {
        self.observe_raw(n as f64, n);
    }

    fn observe_raw(&self, value: f64, raw: u64) {
        let i = &self.inner;
        let bucket = i
            .bounds
            .iter()
            .position(|b| value <= *b)
            .unwrap_or(i.bounds.len());
        i.counts[bucket].fetch_add(1, Relaxed);
        i.sum.fetch_add(raw, Relaxed);
    }

    /// Per-bucket counts with their upper bounds (`+Inf` last), the total count and the sum.
    fn snapshot(&self) -> (Vec<(f64, u64)>, u64, f64) {
        let i = &self.inner;
        let buckets: Vec<(f64, u64)> = i
            .bounds
            .iter()
            .copied()
            .chain([f64::INFINITY])
            .zip(i.counts.iter().map(|c| c.load(Relaxed)))
            .collect();
        let count = buckets.iter().map(|(_, c)| c).sum();
        (buckets, count, i.sum.load(Relaxed) as f64 / i.scale)
    }
}

impl TypedMetric for AtomicHistogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for AtomicHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let (buckets, count, sum) = self.snapshot();
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

impl std::fmt::Debug for AtomicHistogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (_, count, sum) = self.snapshot();
        f.debug_struct("AtomicHistogram")
            .field("count", &count)
            .field("sum", &sum)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of the first line of `text` that starts with `series` (name and labels).
    fn value(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .and_then(|v| v.parse().ok())
    }

    #[test]
    fn a_histogram_counts_into_buckets_and_sums_exactly() {
        let h = AtomicHistogram::seconds(&[0.001, 0.01]);
        h.observe_duration(Duration::from_micros(500));
        h.observe_duration(Duration::from_millis(5));
        h.observe_duration(Duration::from_secs(2));
        let (buckets, count, sum) = h.snapshot();
        assert_eq!(buckets, vec![(0.001, 1), (0.01, 1), (f64::INFINITY, 1)]);
        assert_eq!(count, 3);
        assert!((sum - 2.0055).abs() < 1e-9, "{sum}");
    }

    #[test]
    fn the_text_has_every_family_and_counts_move() {
        let route = RouteMetrics::new("test_route");
        route.observe(204, Duration::from_millis(3));
        route.observe(404, Duration::from_millis(1));
        sign_in("test_outcome");
        rate_limited("test_kind");
        store_flush(Duration::from_micros(300), 3);
        store_write(Duration::from_millis(2));
        mail_send("test_outcome", Duration::from_millis(4));
        let text = encode();
        for family in [
            "sesame_build_info",
            "sesame_http_requests_total",
            "sesame_http_request_duration_seconds",
            "sesame_sign_ins_total",
            "sesame_mail_sends_total",
            "sesame_mail_send_duration_seconds",
            "sesame_store_write_duration_seconds",
            "sesame_store_flush_duration_seconds",
            "sesame_store_flush_batch_size",
            "sesame_rate_limited_total",
        ] {
            assert!(
                text.contains(&format!("# TYPE {family}"))
                    || text.contains(&format!("# TYPE {}", family.trim_end_matches("_total"))),
                "{family} missing:\n{text}"
            );
        }
        assert!(
            value(
                &text,
                r#"sesame_http_requests_total{route="test_route",status="2xx"}"#
            )
            .is_some_and(|v| v >= 1.0),
            "{text}"
        );
        assert!(
            value(&text, r#"sesame_rate_limited_total{kind="test_kind"}"#)
                .is_some_and(|v| v >= 1.0),
            "{text}"
        );
        assert!(
            value(
                &text,
                r#"sesame_http_request_duration_seconds_count{route="test_route"}"#
            )
            .is_some_and(|v| v >= 2.0),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
