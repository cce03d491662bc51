//! The history export both `history-export` and `quickstart` run: a [`HistoryExport`] over
//! the guest or the agent source into a [`TeeSink`] of a JSON-lines file and a webhook
//! archive, with optional SSRF-safe media checks.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use genesys_auth::{GenesysClient, StaticToken, TokenProvider};
use genesys_messaging::MessageType;
use genesys_messaging::archive::{JsonLinesFile, TeeSink, WebhookArchive};
use genesys_messaging::history::{
    ConversationHistory, GuestSession, HistoryExportBuilder, HistoryReport, HistorySource,
};
use genesys_messaging::media::MediaVerifier;
use secrecy::SecretString;

/// Which history to read.
#[derive(Debug, Clone)]
pub enum Source {
    /// The agent side with the client's OAuth identity.
    Conversation(String),
    /// The guest side with a guest session's JWT; the id names the archive batches.
    Guest {
        /// Where each request's guest JWT comes from: a fixed JWT ([`Source::guest_jwt`]) or a
        /// live session that refreshes it ([`genesys_messaging::guest::GuestSession::token_provider`]).
        tokens: Arc<dyn TokenProvider>,
        /// The conversation it belongs to (or a label).
        conversation_id: String,
    },
}

impl Source {
    /// The guest side with a fixed JWT (`--guest-jwt`): it cannot be renewed.
    pub fn guest_jwt(jwt: SecretString, conversation_id: impl Into<String>) -> Self {
        Source::Guest {
            tokens: Arc::new(StaticToken::new(jwt)),
            conversation_id: conversation_id.into(),
        }
    }
}

/// What to export (the library's own settings; the source comes in [`export`]) and where the
/// messages go.
#[derive(Debug)]
pub struct ExportSettings {
    /// Page size, depth guard, filters, concurrency and media checks.
    pub export: HistoryExportBuilder<()>,
    /// Webhook archive URL.
    pub archive_url: Option<String>,
    /// Webhook archive signing secret.
    pub archive_secret: Option<SecretString>,
    /// JSON-lines output file.
    pub out: Option<PathBuf>,
    /// Messages per archive batch.
    pub batch_size: usize,
}

impl Default for ExportSettings {
    fn default() -> Self {
        Self {
            export: HistoryExportBuilder::settings(),
            archive_url: None,
            archive_secret: None,
            out: None,
            batch_size: 100,
        }
    }
}

/// The SSRF-safe attachment checker the recipes use; `allow_loopback` also allows plain http,
/// for local servers and the simulator only.
pub fn media_verifier(allow_loopback: bool) -> anyhow::Result<MediaVerifier> {
    MediaVerifier::builder()
        .allow_loopback(allow_loopback)
        .allow_http(allow_loopback)
        .timeout(Duration::from_secs(5))
        .build()
        .context("building the media verifier")
}

/// A message type from user input: `text`, `Text`, `structured`… (unknown names are kept).
pub fn parse_type(raw: &str) -> MessageType {
    let known = [
        MessageType::Text,
        MessageType::Structured,
        MessageType::Receipt,
        MessageType::Event,
    ];
    known
        .into_iter()
        .find(|t| t.as_str().eq_ignore_ascii_case(raw.trim()))
        .unwrap_or_else(|| MessageType::from(raw.trim()))
}

/// Runs the export and returns its report.
pub async fn export(
    client: &GenesysClient,
    source: Source,
    settings: ExportSettings,
) -> anyhow::Result<HistoryReport> {
    match source {
        Source::Conversation(id) => {
            let source = ConversationHistory::new(client, id.clone())
                .with_context(|| format!("conversation id {id:?}"))?;
            run(source, settings).await
        }
        Source::Guest {
            tokens,
            conversation_id,
        } => {
            run(
                GuestSession::with_token_provider(client, tokens, conversation_id),
                settings,
            )
            .await
        }
    }
}

async fn run<S: HistorySource>(
    source: S,
    settings: ExportSettings,
) -> anyhow::Result<HistoryReport> {
    let export = settings
        .export
        .source(source)
        .build()
        .context("configuring the history export")?;

    let mut sink = TeeSink::default();
    if let Some(path) = &settings.out {
        let file = JsonLinesFile::create(path)
            .await
            .with_context(|| format!("creating {}", path.display()))?;
        sink = sink.with(file);
    }
    if let Some(url) = &settings.archive_url {
        let mut archive = WebhookArchive::builder(url.clone());
        if let Some(secret) = &settings.archive_secret {
            archive = archive.secret(secret.clone());
        }
        sink = sink.with(archive.build().context("configuring the webhook archive")?);
    }
    let report = export
        .archive(&sink, settings.batch_size.max(1))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("exporting the history")?;
    Ok(report)
}
