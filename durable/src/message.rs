//! Short messages for errors that people read: alert details, the health check's lines
//! (`/v1/status`), a hub's `lastError`, a new tenant's `syncError`.
//!
//! A JavaScript error's text (what `worker::Error` carries from the runtime) goes on after its
//! message with the stack, one `    at ...` frame per line. Those frames say nothing to an
//! operator, can run to kilobytes per line of a status with thousands of tenants, and leak the
//! build's internals; the full text is logged where the error happens instead.

/// Longest [`short_message`], in characters.
pub const SHORT_MESSAGE_CHARS: usize = 200;

/// The first non-empty line of `text`, at most [`SHORT_MESSAGE_CHARS`] characters (cut with
/// an ellipsis); never a stack dump.
#[must_use]
pub fn short_message(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    if line.chars().count() <= SHORT_MESSAGE_CHARS {
        return line.to_owned();
    }
    let mut cut: String = line.chars().take(SHORT_MESSAGE_CHARS - 1).collect();
    cut.push('\u{2026}');
    cut
}

/// A short message for a `worker::Error`. A D1 error's text is its JavaScript error pretty-
/// printed, cause, stack and all, over many lines; its cause's message is what matters.
#[must_use]
pub fn error_message(error: &worker::Error) -> String {
    match error {
        worker::Error::D1(d1) => short_message(&format!("D1: {}", d1.cause())),
        other => short_message(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_javascript_stack_is_cut_to_its_message() {
        let text = "tenant hub unreachable: Error: Network connection lost.\n    at async Object.fetch (file:///build/index.js:1:2)\n    at async handler (file:///x.js:9:9)";
        assert_eq!(
            short_message(text),
            "tenant hub unreachable: Error: Network connection lost."
        );
    }

    #[test]
    fn a_long_line_is_cut_with_an_ellipsis() {
        let long = "x".repeat(500);
        let short = short_message(&long);
        assert_eq!(short.chars().count(), SHORT_MESSAGE_CHARS);
        assert!(short.ends_with('\u{2026}'));
        assert_eq!(short_message("  \n ok \n"), "ok");
    }
}
