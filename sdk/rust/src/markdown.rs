//! Untrusted text (a plan's resource keys and values, workspace names, a peer's answer)
//! made safe to place in a GitHub comment, issue or step summary: no HTML, no Markdown
//! structure, no breaking out of a code block, no @mentions or #references that notify
//! anyone. plan-comment and drift-check render with it.

/// Zero-width space: after `@` and `#` it stops GitHub from linking a mention or a reference
/// (GitHub links them in rendered text nodes, so an HTML entity alone would not do).
const ZWSP: char = '\u{200B}';

/// Characters that would reorder or hide text (bidirectional controls and the like).
fn is_invisible_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// Text for an inline place (a paragraph, a list item, a heading, `<summary>` or `<code>`):
/// every character that means something to Markdown or HTML becomes an entity, line breaks
/// become spaces, control characters are shown as `\u{…}`, and `@`/`#` cannot notify.
pub fn inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '`' => out.push_str("&#96;"),
            '*' => out.push_str("&#42;"),
            '_' => out.push_str("&#95;"),
            '[' => out.push_str("&#91;"),
            ']' => out.push_str("&#93;"),
            '(' => out.push_str("&#40;"),
            ')' => out.push_str("&#41;"),
            '|' => out.push_str("&#124;"),
            '\\' => out.push_str("&#92;"),
            '~' => out.push_str("&#126;"),
            '!' => out.push_str("&#33;"),
            ':' => out.push_str("&#58;"),
            '@' => {
                out.push('@');
                out.push(ZWSP);
            }
            '#' => {
                out.push_str("&#35;");
                out.push(ZWSP);
            }
            '\r' | '\n' | '\u{2028}' | '\u{2029}' => out.push(' '),
            c if c.is_control() || is_invisible_control(c) => {
                out.push_str(&format!("\\u{{{:04x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

/// A line for inside a fenced code block: no line breaks (so it cannot end the fence, which
/// only a line starting with backticks can), control characters shown, `@` neutralised.
pub fn code_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '@' => {
                out.push('@');
                out.push(ZWSP);
            }
            '\r' | '\n' | '\u{2028}' | '\u{2029}' => out.push_str("\\n"),
            c if c.is_control() || is_invisible_control(c) => {
                out.push_str(&format!("\\u{{{:04x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

/// A code fence longer than any run of backticks in `body`.
pub fn fence_for(body: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in body.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    "`".repeat(longest.max(2) + 1)
}

/// `text` cut to at most `max` characters, saying how much was cut.
pub fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((at, _)) => {
            let rest = text[at..].chars().count();
            format!("{}… ({rest} more characters)", &text[..at])
        }
    }
}

/// The workspace as it appears in the hidden marker: letters, digits, `.`, `-` and `_` as
/// they are, every other byte percent-encoded. The encoding is one-to-one, so no workspace
/// name can produce another's marker, and nothing in it can end the HTML comment.
pub fn marker_value(workspace: &str) -> String {
    let mut out = String::with_capacity(workspace.len());
    for b in workspace.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_text_has_no_markup_and_pings_nobody() {
        let t = inline("<script>@octocat #12 `x` [l](u) | *b* \n</details>");
        assert!(
            !t.contains('<') && !t.contains('`') && !t.contains('|') && !t.contains('\n'),
            "{t}"
        );
        assert!(t.contains("@\u{200B}octocat") && t.contains("&#35;\u{200B}12"), "{t}");
        assert_eq!(inline("a\u{202E}b"), "a\\u{202e}b");
    }

    #[test]
    fn code_lines_cannot_end_a_fence() {
        assert_eq!(code_line("a\n```\nb"), "a\\n```\\nb");
        assert_eq!(fence_for("x ```` y"), "`````");
        assert_eq!(fence_for("plain"), "```");
    }

    #[test]
    fn markers_are_one_to_one_and_inert() {
        assert_eq!(marker_value("us-east"), "us-east");
        assert_eq!(marker_value("a b-->"), "a%20b--%3E");
        assert_ne!(marker_value("a%20b"), marker_value("a b"));
        assert_eq!(marker_value("a%20b"), "a%2520b");
    }

    #[test]
    fn truncation_says_how_much() {
        assert_eq!(truncate("abcdef", 3), "abc… (3 more characters)");
        assert_eq!(truncate("abc", 3), "abc");
    }
}
