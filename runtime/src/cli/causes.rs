//! An error and its causes on one line, each said once.
//!
//! Our errors, and the lake stack's, put their cause's text into their own
//! (`"reading the source `s`: No such file or directory"`), and also name it as
//! their `source()`. anyhow's `{:#}` prints every link of the chain, so such a
//! cause came out twice, and a delta-rs error that wraps five levels of
//! object-store errors came out six times. Here a link is printed only when
//! its text is not already part of what its outer errors said.

/// `error` and the causes its outer errors did not already say, joined by `: `.
pub fn one_line(error: &anyhow::Error) -> String {
    let mut said = String::new();
    for link in error.chain() {
        let text = link.to_string();
        let text = text.trim();
        if text.is_empty() || said.contains(text) {
            continue;
        }
        if !said.is_empty() {
            said.push_str(": ");
        }
        said.push_str(text);
    }
    said
}

#[cfg(test)]
mod tests {
    use anyhow::Context as _;

    use super::one_line;

    #[derive(Debug, thiserror::Error)]
    #[error("reading `{dir}`: {source}")]
    struct Embeds {
        dir: String,
        source: std::io::Error,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("opening the lake")]
    struct Wraps(#[source] std::io::Error);

    fn not_found() -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::NotFound, "no such file")
    }

    #[test]
    fn a_cause_the_outer_error_already_says_is_not_repeated() {
        let error = anyhow::Error::new(Embeds { dir: "s".into(), source: not_found() }).context("ingesting `s`");
        assert_eq!(format!("{error:#}"), "ingesting `s`: reading `s`: no such file: no such file");
        assert_eq!(one_line(&error), "ingesting `s`: reading `s`: no such file");
    }

    #[test]
    fn a_cause_no_outer_error_says_is_appended() {
        let error = anyhow::Error::new(Wraps(not_found())).context("ingesting `s`");
        assert_eq!(one_line(&error), "ingesting `s`: opening the lake: no such file");
    }

    #[test]
    fn a_single_error_is_its_own_text_trimmed() {
        let error: anyhow::Result<()> = Err(anyhow::anyhow!("bad input\n"));
        assert_eq!(one_line(&error.context("parsing").unwrap_err()), "parsing: bad input");
    }
}
