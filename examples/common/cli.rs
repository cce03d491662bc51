//! Flags every recipe shares.

use clap::{Args, ValueEnum};

/// How logs are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per event: the structured audit log.
    Json,
}

/// The format of the report on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// The JSON document documented for each recipe (a stable contract).
    Json,
}

/// `--sim` and `--log-format`, flattened into each recipe's arguments.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Use the embedded simulated org and in-memory queues even when real settings are present.
    #[arg(long)]
    pub sim: bool,

    /// Log format on stderr (`RUST_LOG` sets the filter; default `info`).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Serve Prometheus metrics at `http://ADDR/metrics` while the recipe runs
    /// (e.g. `127.0.0.1:9464`; port 0 picks a free one, printed on stderr).
    #[arg(long, value_name = "ADDR", value_parser = crate::telemetry::parse_listen)]
    pub metrics_listen: Option<std::net::SocketAddr>,
}

/// Parses a comma-separated list, dropping blanks: `"a, b,,c"` → `["a", "b", "c"]`.
pub fn comma_list(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comma_list_trims_and_drops_blanks() {
        assert_eq!(
            comma_list(" text, Structured,,"),
            vec!["text", "Structured"]
        );
        assert!(comma_list("").is_empty());
    }
}
