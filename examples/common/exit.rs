//! Ending a recipe: a one-line reason on stderr and a non-zero exit status on failure.

use std::process::ExitCode;

/// The error chain of `error` on one line: `outer: cause: root cause`.
pub fn one_line(error: &anyhow::Error) -> String {
    format!("{error:#}")
        .replace(['\n', '\r'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Maps a recipe's result to its exit status, printing `error: <reason>` on failure.
#[allow(clippy::print_stderr)]
pub fn finish(recipe: &str, result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{recipe}: error: {}", one_line(&error));
            ExitCode::FAILURE
        }
    }
}

/// Prints a line to stdout (the recipes' human summaries and JSON reports go there).
#[allow(clippy::print_stdout)]
pub fn say(line: impl std::fmt::Display) {
    println!("{line}");
}

/// Prints a line to stderr, outside the log (the mode notice, listening addresses).
#[allow(clippy::print_stderr)]
pub fn notice(line: impl std::fmt::Display) {
    eprintln!("{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_fit_on_one_line() {
        let e = anyhow::anyhow!("root\ncause").context("outer");
        assert_eq!(one_line(&e), "outer: root cause");
    }
}
