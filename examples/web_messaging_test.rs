//! `web-messaging-test`: play scripted conversations against a web messaging deployment, as a
//! guest, and check the replies: bots, Architect flows, routing.
//!
//! ```text
//! cargo run --example web-messaging-test                       # the bundled sample, embedded simulator
//! cargo run --example web-messaging-test -- a.yaml b.json --junit results.xml
//! GENESYSCLOUD_REGION=eu-west-1 cargo run --example web-messaging-test -- \
//!     --deployment-id 9f1e… --origin https://www.example.com smoke.yaml
//! ```
//!
//! A script (YAML or JSON) says something as the guest and expects a reply that matches
//! (substring, regular expression, content type) within a timeout; see
//! `examples/scripts/web_messaging_sample.yaml`. Scripts run concurrently, each in its own
//! session. Every step is reported pass/fail, with the transcript of any failed script; the
//! exit status is non-zero when any step failed; `--junit FILE` writes JUnit XML.
//!
//! Real mode needs `--deployment-id` (or the scripts' own `deployment_id`) and
//! `GENESYSCLOUD_REGION`; the guest side needs no OAuth client. Otherwise (or with `--sim`) the
//! scripts play against the embedded simulator's scripted bot.

use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr as _;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use genesys_auth::Region;
use genesys_examples::cli::CommonArgs;
use genesys_examples::conversation_test::{self, SAMPLE_SCRIPT, Script, ScriptResult};
use genesys_examples::exit::{finish, say};
use genesys_examples::mode::{self, Mode};
use genesys_examples::{guest, logging};
use genesys_sim::SimOrg;

/// Play scripted web messaging conversations and check the replies.
#[derive(Debug, Parser)]
#[command(name = "web-messaging-test", version)]
struct Args {
    /// Script files (YAML or JSON). None: the bundled sample.
    scripts: Vec<PathBuf>,

    /// The Messenger deployment (real mode; overrides the scripts' own `deployment_id`).
    #[arg(long, env = "GENESYSCLOUD_DEPLOYMENT_ID")]
    deployment_id: Option<String>,

    /// The `Origin` header, for deployments that restrict their allowed domains.
    #[arg(long)]
    origin: Option<String>,

    /// Default wait for each reply, in milliseconds (a script's `timeout_ms` wins).
    #[arg(long, default_value_t = 10_000)]
    timeout_ms: u64,

    /// Write the results as JUnit XML to this file.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,

    /// Print every transcript, not only those of failed scripts.
    #[arg(long)]
    transcripts: bool,

    #[command(flatten)]
    common: CommonArgs,
}

/// At most this many scripts per run (each holds a session and its transcript).
const MAX_SCRIPTS: usize = 256;

fn load(args: &Args) -> anyhow::Result<Vec<Script>> {
    if args.scripts.is_empty() {
        return Ok(vec![
            Script::parse(SAMPLE_SCRIPT).context("the bundled sample script")?,
        ]);
    }
    anyhow::ensure!(
        args.scripts.len() <= MAX_SCRIPTS,
        "{} scripts given; at most {MAX_SCRIPTS} per run",
        args.scripts.len()
    );
    args.scripts
        .iter()
        .map(|path| {
            let meta =
                std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
            anyhow::ensure!(
                meta.len() <= 1024 * 1024,
                "{} is larger than 1 MiB",
                path.display()
            );
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            Script::parse(&text).with_context(|| format!("in {}", path.display()))
        })
        .collect()
}

async fn run(args: Args) -> anyhow::Result<()> {
    let scripts = load(&args)?;
    let region_var = std::env::var("GENESYSCLOUD_REGION")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let has_deployment =
        args.deployment_id.is_some() || scripts.iter().all(|s| s.deployment_id.is_some());
    let real = !args.common.sim && region_var.is_some() && has_deployment;
    let (region, sim) = if real {
        let raw = region_var.unwrap_or_default();
        let region = Region::from_str(raw.trim())
            .map_err(|e| anyhow::anyhow!("GENESYSCLOUD_REGION {raw:?}: {e}"))?;
        mode::announce(
            "web-messaging-test",
            Mode::Real,
            &format!(
                "web messaging at {}",
                genesys_messaging::guest::region_endpoint(&region)?
            ),
        );
        (Some(region), None)
    } else {
        mode::announce(
            "web-messaging-test",
            Mode::Simulated,
            &format!(
                "embedded simulator's scripted bot ({})",
                if args.common.sim {
                    "--sim given"
                } else {
                    "GENESYSCLOUD_REGION or --deployment-id is not set"
                }
            ),
        );
        let org = SimOrg::builder()
            .conversations(1)
            .messages_per_conversation(1)
            .start()
            .await
            .context("starting the simulated org")?;
        (None, Some(org))
    };
    logging::init(args.common.log_format);
    let _telemetry = genesys_examples::telemetry::init(args.common.metrics_listen)
        .await?
        .summary_at_exit();

    let default_timeout = Duration::from_millis(args.timeout_ms.max(1));
    let mut runs = Vec::new();
    for script in scripts {
        let deployment = args
            .deployment_id
            .clone()
            .or_else(|| script.deployment_id.clone())
            .unwrap_or_else(|| "sim-deployment".to_owned());
        let mut config = guest::config(&deployment, region.as_ref(), sim.as_ref())?;
        if let Some(origin) = &args.origin {
            config = config.origin(origin.clone());
        }
        runs.push(tokio::spawn(async move {
            conversation_test::run_script(&script, config, default_timeout).await
        }));
    }
    let mut results: Vec<ScriptResult> = Vec::new();
    for run in runs {
        results.push(run.await.context("a script's task failed")?);
    }
    for r in &results {
        say(r.render(args.transcripts).trim_end());
    }
    if let Some(path) = &args.junit {
        std::fs::write(path, conversation_test::junit_xml(&results))
            .with_context(|| format!("writing {}", path.display()))?;
        say(format!("JUnit XML written to {}", path.display()));
    }
    let failed = results.iter().filter(|r| !r.passed()).count();
    say(format!(
        "{} script(s): {} passed, {failed} failed",
        results.len(),
        results.len() - failed
    ));
    anyhow::ensure!(failed == 0, "{failed} script(s) failed");
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    finish("web-messaging-test", run(args).await)
}
