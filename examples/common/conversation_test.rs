//! Scripted web messaging conversations (`web-messaging-test`): the script format, the runner
//! (one guest session per script), the transcript and the JUnit XML report.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use genesys_messaging::guest::{GuestConfigBuilder, GuestEvent, GuestSession};
use genesys_messaging::{
    ContentType, Direction, MessageType, OriginatingEntity, WebMessagingMessage,
};
use serde::Deserialize;

/// The sample script, played when the recipe runs without arguments.
pub const SAMPLE_SCRIPT: &str = include_str!("../scripts/web_messaging_sample.yaml");

/// Scripts hold at most this many steps, and a transcript this many lines (a bound on memory).
pub const MAX_STEPS: usize = 1_000;
const MAX_TRANSCRIPT_LINES: usize = 10_000;

/// A conversation to play: YAML or JSON.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    /// The script's name (the JUnit test suite).
    pub name: String,
    /// The deployment, when the script names its own (`--deployment-id` wins).
    #[serde(default)]
    pub deployment_id: Option<String>,
    /// Default wait for a reply, per step (milliseconds; default 10,000).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// One step: say something (optional), then wait for a reply that matches.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// What the guest says.
    #[serde(default)]
    pub say: Option<String>,
    /// The reply contains this (case-insensitive).
    #[serde(default)]
    pub expect: Option<String>,
    /// The reply matches this regular expression.
    #[serde(default)]
    pub expect_regex: Option<String>,
    /// The reply carries content of this type (`QuickReply`, `Card`, `Carousel`, …).
    #[serde(default)]
    pub expect_content: Option<String>,
    /// The wait for this step (milliseconds).
    #[serde(default)]
    pub within_ms: Option<u64>,
}

impl Script {
    /// Parses a script (YAML, which JSON also is) and checks it.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let script: Script = serde_yaml::from_str(text).context("the script is not valid")?;
        anyhow::ensure!(!script.name.trim().is_empty(), "the script has no name");
        anyhow::ensure!(!script.steps.is_empty(), "the script has no steps");
        anyhow::ensure!(
            script.steps.len() <= MAX_STEPS,
            "the script has {} steps; at most {MAX_STEPS}",
            script.steps.len()
        );
        for (i, step) in script.steps.iter().enumerate() {
            anyhow::ensure!(
                step.say.is_some()
                    || step.expect.is_some()
                    || step.expect_regex.is_some()
                    || step.expect_content.is_some(),
                "step {} neither says nor expects anything",
                i + 1
            );
            if let Some(re) = &step.expect_regex {
                regex::Regex::new(re)
                    .with_context(|| format!("step {}: expect_regex is not valid", i + 1))?;
            }
        }
        Ok(script)
    }
}

/// How one step went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepOutcome {
    /// A reply matched.
    Passed,
    /// It did not, and why.
    Failed(String),
    /// Not run: an earlier step failed.
    Skipped,
}

/// One step's result.
#[derive(Clone, Debug)]
pub struct StepResult {
    /// 1-based.
    pub number: usize,
    /// A one-line description (`say "hello", expect "how can I help"`).
    pub title: String,
    /// The outcome.
    pub outcome: StepOutcome,
    /// Time spent.
    pub elapsed: Duration,
}

/// One script's result.
#[derive(Clone, Debug)]
pub struct ScriptResult {
    /// The script's name.
    pub name: String,
    /// Per step.
    pub steps: Vec<StepResult>,
    /// The conversation as it happened (`>>` guest, `<<` bot or agent).
    pub transcript: Vec<String>,
    /// A failure before any step (the session could not be opened).
    pub error: Option<String>,
    /// Time spent.
    pub elapsed: Duration,
}

impl ScriptResult {
    /// True when every step passed.
    pub fn passed(&self) -> bool {
        self.error.is_none() && self.steps.iter().all(|s| s.outcome == StepOutcome::Passed)
    }

    /// The human-readable report: a line per step, and the transcript when something failed.
    pub fn render(&self, with_transcript: bool) -> String {
        let mut s = String::new();
        let passed = self
            .steps
            .iter()
            .filter(|s| s.outcome == StepOutcome::Passed)
            .count();
        let _ = writeln!(
            s,
            "{} {} ({passed}/{} steps, {} ms)",
            if self.passed() { "PASS" } else { "FAIL" },
            self.name,
            self.steps.len(),
            self.elapsed.as_millis()
        );
        if let Some(e) = &self.error {
            let _ = writeln!(s, "  error: {e}");
        }
        for step in &self.steps {
            let mark = match &step.outcome {
                StepOutcome::Passed => "ok  ".to_owned(),
                StepOutcome::Failed(_) => "FAIL".to_owned(),
                StepOutcome::Skipped => "skip".to_owned(),
            };
            let _ = writeln!(s, "  {mark} step {}: {}", step.number, step.title);
            if let StepOutcome::Failed(why) = &step.outcome {
                let _ = writeln!(s, "       {why}");
            }
        }
        if with_transcript || !self.passed() {
            let _ = writeln!(s, "  transcript:");
            for line in &self.transcript {
                let _ = writeln!(s, "    {line}");
            }
        }
        s
    }
}

fn step_title(step: &Step) -> String {
    let mut parts = Vec::new();
    if let Some(say) = &step.say {
        parts.push(format!("say {say:?}"));
    }
    if let Some(e) = &step.expect {
        parts.push(format!("expect {e:?}"));
    }
    if let Some(e) = &step.expect_regex {
        parts.push(format!("expect /{e}/"));
    }
    if let Some(e) = &step.expect_content {
        parts.push(format!("expect {e} content"));
    }
    parts.join(", ")
}

/// A reply's one-line form for the transcript.
fn describe(m: &WebMessagingMessage) -> String {
    let mut s = m.text.clone().unwrap_or_default();
    for c in &m.content {
        let label = match (&c.quick_reply, &c.card) {
            (Some(q), _) => format!("QuickReply {:?}", q.text.as_deref().unwrap_or("")),
            (_, Some(_)) => "Card".to_owned(),
            _ => c.content_type.to_string(),
        };
        let _ = write!(s, " [{label}]");
    }
    s
}

fn matches(step: &Step, m: &WebMessagingMessage) -> bool {
    let text = m.text.clone().unwrap_or_default();
    if step
        .expect
        .as_ref()
        .is_some_and(|e| !text.to_lowercase().contains(&e.to_lowercase()))
    {
        return false;
    }
    // Checked in Script::parse; an invalid one never matches.
    if step
        .expect_regex
        .as_ref()
        .is_some_and(|re| !regex::Regex::new(re).is_ok_and(|r| r.is_match(&text)))
    {
        return false;
    }
    if let Some(kind) = &step.expect_content {
        let want = ContentType::from(kind.as_str());
        if !m.content.iter().any(|c| c.content_type == want) {
            return false;
        }
    }
    true
}

struct Transcript {
    lines: Vec<String>,
    started: Instant,
}

impl Transcript {
    fn push(&mut self, line: String) {
        if self.lines.len() < MAX_TRANSCRIPT_LINES {
            let ms = self.started.elapsed().as_millis();
            self.lines.push(format!("{ms:>6} ms {line}"));
        }
    }
}

/// Plays `script` in its own guest session.
pub async fn run_script(
    script: &Script,
    config: GuestConfigBuilder,
    default_timeout: Duration,
) -> ScriptResult {
    let started = Instant::now();
    let mut transcript = Transcript {
        lines: Vec::new(),
        started,
    };
    let mut result = ScriptResult {
        name: script.name.clone(),
        steps: Vec::new(),
        transcript: Vec::new(),
        error: None,
        elapsed: Duration::ZERO,
    };
    let opened = match config.build() {
        Ok(c) => GuestSession::connect(c).await,
        Err(e) => Err(e),
    };
    let mut session = match opened {
        Ok(s) => {
            transcript.push(format!(
                "-- session {} --",
                if s.info().new_session == Some(false) {
                    "resumed"
                } else {
                    "opened"
                }
            ));
            Some(s)
        }
        Err(e) => {
            result.error = Some(format!("could not open the guest session: {e}"));
            None
        }
    };
    let step_timeout = script
        .timeout_ms
        .map_or(default_timeout, Duration::from_millis);
    let mut failed = false;
    for (i, step) in script.steps.iter().enumerate() {
        let title = step_title(step);
        // Without a session, and after a failed step, the rest are skipped.
        let Some(live) = session.as_mut().filter(|_| !failed) else {
            result.steps.push(StepResult {
                number: i + 1,
                title,
                outcome: StepOutcome::Skipped,
                elapsed: Duration::ZERO,
            });
            continue;
        };
        let step_started = Instant::now();
        let outcome = play_step(live, step, step_timeout, &mut transcript).await;
        failed = outcome != StepOutcome::Passed;
        result.steps.push(StepResult {
            number: i + 1,
            title,
            outcome,
            elapsed: step_started.elapsed(),
        });
    }
    if let Some(session) = session {
        let _ = session.close().await;
        transcript.push("-- session closed --".to_owned());
    }
    result.transcript = transcript.lines;
    result.elapsed = started.elapsed();
    result
}

async fn play_step(
    session: &mut GuestSession,
    step: &Step,
    default_timeout: Duration,
    transcript: &mut Transcript,
) -> StepOutcome {
    if let Some(say) = &step.say {
        transcript.push(format!(">> guest: {say}"));
        if let Err(e) = session.send_text(say.clone()).await {
            return StepOutcome::Failed(format!("could not send: {e}"));
        }
    }
    let expects =
        step.expect.is_some() || step.expect_regex.is_some() || step.expect_content.is_some();
    if !expects {
        return StepOutcome::Passed;
    }
    let within = step
        .within_ms
        .map_or(default_timeout, Duration::from_millis);
    let deadline = tokio::time::Instant::now() + within;
    let mut replies = 0usize;
    loop {
        let event = match tokio::time::timeout_at(deadline, session.next_event()).await {
            Err(_) => {
                return StepOutcome::Failed(format!(
                    "no matching reply within {} ms ({replies} other repl{} seen)",
                    within.as_millis(),
                    if replies == 1 { "y" } else { "ies" }
                ));
            }
            Ok(None) => return StepOutcome::Failed("the session ended".to_owned()),
            Ok(Some(e)) => e,
        };
        match event {
            Ok(GuestEvent::Message { message, .. }) => {
                if message.direction != Some(Direction::Outbound) {
                    continue;
                }
                if message.message_type == Some(MessageType::Event) {
                    transcript.push("<< (typing…)".to_owned());
                    continue;
                }
                let who = match message.originating_entity {
                    Some(OriginatingEntity::Bot) => "bot",
                    _ => "agent",
                };
                transcript.push(format!("<< {who}: {}", describe(&message)));
                replies += 1;
                if matches(step, &message) {
                    return StepOutcome::Passed;
                }
            }
            Ok(GuestEvent::Session(info)) => {
                transcript.push(format!(
                    "-- reconnected (session {}) --",
                    if info.new_session == Some(false) {
                        "resumed"
                    } else {
                        "new"
                    }
                ));
            }
            Ok(GuestEvent::SessionExpired) => {
                transcript.push("-- session expired --".to_owned());
                return StepOutcome::Failed("the session expired".to_owned());
            }
            Ok(GuestEvent::Error(e)) => {
                transcript.push(format!("!! server error {}: {}", e.code, e.message));
            }
            Ok(_) => {}
            Err(e) => transcript.push(format!("!! {e}")),
        }
    }
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// The results as JUnit XML: a test suite per script, a test case per step.
pub fn junit_xml(results: &[ScriptResult]) -> String {
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let tests: usize = results.iter().map(|r| r.steps.len()).sum();
    let failures: usize = results
        .iter()
        .flat_map(|r| &r.steps)
        .filter(|s| matches!(s.outcome, StepOutcome::Failed(_)))
        .count();
    let errors = results.iter().filter(|r| r.error.is_some()).count();
    let _ = writeln!(
        s,
        "<testsuites name=\"web-messaging-test\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\">"
    );
    for r in results {
        let failed = r
            .steps
            .iter()
            .filter(|s| matches!(s.outcome, StepOutcome::Failed(_)))
            .count();
        let skipped = r
            .steps
            .iter()
            .filter(|s| s.outcome == StepOutcome::Skipped)
            .count();
        let _ = writeln!(
            s,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\" errors=\"{}\" skipped=\"{skipped}\" time=\"{:.3}\">",
            xml_escape(&r.name),
            r.steps.len(),
            usize::from(r.error.is_some()),
            r.elapsed.as_secs_f64()
        );
        for step in &r.steps {
            let _ = write!(
                s,
                "    <testcase classname=\"{}\" name=\"step {}: {}\" time=\"{:.3}\"",
                xml_escape(&r.name),
                step.number,
                xml_escape(&step.title),
                step.elapsed.as_secs_f64()
            );
            match &step.outcome {
                StepOutcome::Passed => s.push_str("/>\n"),
                StepOutcome::Skipped => s.push_str("><skipped/></testcase>\n"),
                StepOutcome::Failed(why) => {
                    let _ = writeln!(
                        s,
                        "><failure message=\"{}\">{}</failure></testcase>",
                        xml_escape(why),
                        xml_escape(why)
                    );
                }
            }
        }
        if let Some(e) = &r.error {
            let _ = writeln!(s, "    <error message=\"{}\"/>", xml_escape(e));
        }
        let _ = writeln!(
            s,
            "    <system-out>{}</system-out>",
            xml_escape(&r.transcript.join("\n"))
        );
        s.push_str("  </testsuite>\n");
    }
    s.push_str("</testsuites>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_parses_and_json_is_accepted_too() {
        let s = Script::parse(SAMPLE_SCRIPT).unwrap();
        assert_eq!(s.steps.len(), 5);
        let j = Script::parse(r#"{"name":"j","steps":[{"say":"hi","expect":"hello"}]}"#).unwrap();
        assert_eq!(j.steps[0].say.as_deref(), Some("hi"));
        assert!(Script::parse("name: x\nsteps: []").is_err());
        assert!(Script::parse("name: x\nsteps:\n  - {}\n").is_err());
        assert!(Script::parse("name: x\nsteps:\n  - expect_regex: '('\n").is_err());
        assert!(Script::parse("name: x\nsteps:\n  - sey: typo\n").is_err());
    }

    #[test]
    fn junit_escapes_and_counts() {
        let r = ScriptResult {
            name: "a<b>".into(),
            steps: vec![
                StepResult {
                    number: 1,
                    title: "say \"x\"".into(),
                    outcome: StepOutcome::Passed,
                    elapsed: Duration::ZERO,
                },
                StepResult {
                    number: 2,
                    title: "t".into(),
                    outcome: StepOutcome::Failed("no & reply\u{1}".into()),
                    elapsed: Duration::ZERO,
                },
                StepResult {
                    number: 3,
                    title: "t".into(),
                    outcome: StepOutcome::Skipped,
                    elapsed: Duration::ZERO,
                },
            ],
            transcript: vec![">> guest: <hi>".into()],
            error: None,
            elapsed: Duration::from_millis(5),
        };
        let x = junit_xml(&[r]);
        assert!(x.contains("tests=\"3\" failures=\"1\""));
        assert!(x.contains("name=\"a&lt;b&gt;\""));
        assert!(x.contains("no &amp; reply\u{FFFD}"));
        assert!(x.contains("<skipped/>"));
        assert!(x.contains("&gt;&gt; guest: &lt;hi&gt;"));
    }

    #[tokio::test]
    async fn without_a_session_every_step_is_skipped_and_the_script_fails() {
        // A port nothing listens on (bound, then released), one connection attempt.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = genesys_messaging::guest::GuestConfig::builder("dep")
            .url(reqwest::Url::parse(&format!("ws://127.0.0.1:{port}/v1")).unwrap())
            .connect_timeout(Duration::from_millis(500))
            .reconnect(retry_policy::RetryPolicy::builder().max_attempts(1).build());
        let script = Script::parse(SAMPLE_SCRIPT).unwrap();
        let r = run_script(&script, config, Duration::from_millis(100)).await;
        assert!(!r.passed());
        assert!(
            r.error.as_deref().unwrap_or("").contains("could not open"),
            "{:?}",
            r.error
        );
        assert_eq!(r.steps.len(), script.steps.len());
        assert!(r.steps.iter().all(|s| s.outcome == StepOutcome::Skipped));
        assert!(r.transcript.iter().all(|l| !l.contains("session closed")));
    }
}
