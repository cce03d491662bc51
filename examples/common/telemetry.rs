//! Metrics for the recipes: the libraries emit through the `metrics` facade; here the recipe
//! picks the exporter, `metrics-exporter-prometheus`. With `--metrics-listen ADDR` the
//! Prometheus text is served at `http://ADDR/metrics` for as long as the recipe runs (the
//! long-running recipes `webhook-consumer`, `dead-letter-receiver` and `paced-sender` are meant
//! to be scraped); the other recipes also print a summary of the metrics at exit, on stderr.

use std::net::SocketAddr;
use std::sync::OnceLock;

use anyhow::Context as _;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use sqs_dlq::http::{HttpServer, ServerShutdown};

/// Histogram buckets, in seconds, for every duration the workspace records (Prometheus
/// histograms, so dashboards can compute quantiles across replicas).
pub const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// The recorder [`init`] installed, for [`total`].
static INSTALLED: OnceLock<PrometheusHandle> = OnceLock::new();

/// The sum of the samples of `name` (Prometheus spelling: `genesys_retries`) whose labels
/// include `labels`, from the recorder [`init`] installed (0 without one): how the recipes'
/// reports take their figures from the metrics.
pub fn total(name: &str, labels: &[(&str, &str)]) -> u64 {
    INSTALLED.get().map_or(0, |handle| {
        let value = sample_sum(&handle.render(), name, labels);
        if value.is_finite() && value > 0.0 {
            value.round() as u64
        } else {
            0
        }
    })
}

/// The recipe's recorder, and the endpoint serving it when asked.
#[derive(Debug)]
pub struct Telemetry {
    handle: PrometheusHandle,
    /// Where `/metrics` is served, if it is.
    pub listening: Option<SocketAddr>,
    stop: Option<ServerShutdown>,
    summary_on_drop: bool,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if self.summary_on_drop {
            self.print_summary();
        }
        if let Some(stop) = &self.stop {
            stop.begin();
        }
    }
}

/// Installs the global Prometheus recorder and, with `listen`, serves `GET /metrics`.
pub async fn init(listen: Option<SocketAddr>) -> anyhow::Result<Telemetry> {
    let handle = PrometheusBuilder::new()
        .set_buckets(SECONDS_BUCKETS)
        .context("setting the histogram buckets")?
        .install_recorder()
        .context("installing the metrics recorder")?;
    let _ = INSTALLED.set(handle.clone());
    let mut telemetry = Telemetry {
        handle: handle.clone(),
        listening: None,
        stop: None,
        summary_on_drop: false,
    };
    if let Some(addr) = listen {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding --metrics-listen {addr}"))?;
        let addr = listener.local_addr().context("reading the bound address")?;
        let router = Router::new()
            .route("/metrics", get(scrape))
            .with_state(handle);
        let stop = ServerShutdown::new();
        let server = HttpServer::builder().serve(listener, router, stop.clone());
        tokio::spawn(async move {
            if let Err(error) = server.await {
                tracing::error!(%error, "metrics endpoint failed");
            }
        });
        tracing::info!(%addr, "serving Prometheus metrics at /metrics");
        crate::exit::notice(format!("metrics: http://{addr}/metrics"));
        telemetry.listening = Some(addr);
        telemetry.stop = Some(stop);
    }
    Ok(telemetry)
}

async fn scrape(State(handle): State<PrometheusHandle>) -> String {
    handle.run_upkeep();
    handle.render()
}

impl Telemetry {
    /// Prints [`print_summary`](Self::print_summary) when dropped: at the end of a short
    /// recipe's run, however it ends.
    pub fn summary_at_exit(mut self) -> Self {
        self.summary_on_drop = true;
        self
    }

    /// The Prometheus text of everything recorded so far.
    pub fn render(&self) -> String {
        self.handle.run_upkeep();
        self.handle.render()
    }

    /// Prints the samples (no comments, no histogram buckets) on stderr: the metric summary
    /// the short recipes give at exit.
    pub fn print_summary(&self) {
        let text = self.render();
        let lines = summary_lines(&text);
        if lines.is_empty() {
            return;
        }
        crate::exit::notice("metrics at exit:");
        for line in lines {
            crate::exit::notice(format!("  {line}"));
        }
    }
}

/// The sample lines of a Prometheus text worth a human's look: counters, gauges and the
/// `_sum` / `_count` of histograms.
pub fn summary_lines(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter(|l| {
            let name = l.split(['{', ' ']).next().unwrap_or_default();
            !name.ends_with("_bucket")
        })
        .collect()
}

/// The value of the first sample of `name` whose labels contain every `key="value"` of
/// `labels`, summed over all matching series (0 when none): for tests and reports reading a
/// scrape.
pub fn sample_sum(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (metric, rest) = match series.split_once('{') {
                Some((m, r)) => (m, r),
                None => (series, ""),
            };
            if metric != name {
                return None;
            }
            let all = labels
                .iter()
                .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
            all.then(|| value.parse::<f64>().ok()).flatten()
        })
        .sum()
}

/// Parses the `--metrics-listen` address.
pub fn parse_listen(raw: &str) -> Result<SocketAddr, String> {
    raw.parse().map_err(|e| format!("{raw}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_and_sums_read_prometheus_text() {
        let text = "# TYPE genesys_retries counter\n\
                    genesys_retries 3\n\
                    http_client_request_duration_bucket{le=\"0.1\"} 2\n\
                    http_client_request_duration_count{http_response_status_code=\"200\"} 5\n\
                    http_client_request_duration_count{http_response_status_code=\"429\"} 1\n";
        assert_eq!(
            summary_lines(text),
            vec![
                "genesys_retries 3",
                "http_client_request_duration_count{http_response_status_code=\"200\"} 5",
                "http_client_request_duration_count{http_response_status_code=\"429\"} 1",
            ]
        );
        assert_eq!(sample_sum(text, "genesys_retries", &[]), 3.0);
        assert_eq!(
            sample_sum(text, "http_client_request_duration_count", &[]),
            6.0
        );
        assert_eq!(
            sample_sum(
                text,
                "http_client_request_duration_count",
                &[("http_response_status_code", "429")]
            ),
            1.0
        );
        assert_eq!(sample_sum(text, "absent", &[]), 0.0);
        assert!(parse_listen("127.0.0.1:0").is_ok());
        assert!(parse_listen("nope").is_err());
    }
}
