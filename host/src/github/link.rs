//! `Link` headers (RFC 8288) as GitHub paginates with them: `<url>; rel="next", …`.

/// The `rel="next"` target of a `Link` header, if any.
pub fn next_link(header: &str) -> Option<String> {
    let mut rest = header;
    loop {
        let start = rest.find('<')?;
        let end = start + rest[start..].find('>')?;
        let url = &rest[start + 1..end];
        let after = &rest[end + 1..];
        // The parameters of this link run to the next `<` (URLs cannot contain one).
        let params_end = after.find('<').unwrap_or(after.len());
        // Without the `,` that separates it from the next link.
        let params = after[..params_end].trim_end().trim_end_matches(',');
        let is_next = params.split(';').any(|p| {
            let Some((key, value)) = p.split_once('=') else {
                return false;
            };
            key.trim().eq_ignore_ascii_case("rel")
                && value
                    .trim()
                    .trim_matches('"')
                    .split_ascii_whitespace()
                    .any(|r| r.eq_ignore_ascii_case("next"))
        });
        if is_next {
            return Some(url.to_string());
        }
        rest = &after[params_end..];
    }
}

#[cfg(test)]
mod tests {
    use super::next_link;

    #[test]
    fn finds_next_in_githubs_order_and_others() {
        let github = "<https://api.github.com/repositories/1/issues/1/comments?page=1>; rel=\"prev\", \
                      <https://api.github.com/repositories/1/issues/1/comments?page=3>; rel=\"next\", \
                      <https://api.github.com/repositories/1/issues/1/comments?page=5>; rel=\"last\", \
                      <https://api.github.com/repositories/1/issues/1/comments?page=1>; rel=\"first\"";
        assert_eq!(
            next_link(github).as_deref(),
            Some("https://api.github.com/repositories/1/issues/1/comments?page=3")
        );
        assert_eq!(
            next_link("<http://h/api/v3/x?page=2&per_page=100>;rel=next").as_deref(),
            Some("http://h/api/v3/x?page=2&per_page=100")
        );
        assert_eq!(
            next_link("<http://h/a>; rel=\"prev next\"").as_deref(),
            Some("http://h/a")
        );
        assert_eq!(
            next_link("<http://h/a>; rel=\"last\", <http://h/b>; rel=\"first\""),
            None
        );
        assert_eq!(next_link(""), None);
        assert_eq!(next_link("garbage; rel=next"), None);
        assert_eq!(next_link("<http://h/unterminated; rel=next"), None);
        // A `rel` inside another parameter's value is not the relation.
        assert_eq!(next_link("<http://h/a>; title=\"rel=next\""), None);
    }
}
