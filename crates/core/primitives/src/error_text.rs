//! An error and its causes as one line, for places where only text crosses (a log line,
//! an error that carries a message).

/// `e` and its sources, `: `-joined. A source whose text the line already ends with (an
/// error that prints its cause itself) is not repeated.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.ends_with(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::error_chain;

    #[derive(Debug, thiserror::Error)]
    #[error("leaf fault")]
    struct Leaf;

    #[derive(Debug, thiserror::Error)]
    #[error("middle")]
    struct Middle(#[source] Leaf);

    #[derive(Debug, thiserror::Error)]
    #[error("top: {0}")]
    struct SaysItsCause(#[source] Middle);

    #[test]
    fn the_chain_is_joined_without_repeats() {
        assert_eq!(error_chain(&Middle(Leaf)), "middle: leaf fault");
        assert_eq!(
            error_chain(&SaysItsCause(Middle(Leaf))),
            "top: middle: leaf fault"
        );
        assert_eq!(error_chain(&Leaf), "leaf fault");
    }
}
