//! Origins: the syntax of a network grant (`scheme://host[:port]`, with `*` wildcards), the exact origin of a
//! URL, and whether a request falls under a grant.
//!
//! The grammar, which `$defs/origin` in `schema/pipeline.schema.json` repeats as a pattern:
//!
//! - scheme: `http` or `https`, in any case;
//! - host: a domain name (letters, digits, `-` and `.`; labels of 1 to 63 characters that neither start nor end
//!   with `-`; at most 253 characters; one trailing root `.` allowed; the last label is not a number, so
//!   `1.2.3` and `0x7f000001` are refused rather than read as IPv4 the way some resolvers do), an IPv4
//!   address as four decimal numbers 0-255 without leading zeros, or an IPv6 address in brackets (no zone id);
//! - wildcards (patterns only, never [`OriginPattern::of_url`]): host `*` (any host) or a leftmost label `*.`
//!   (any subdomain, not the apex), port `*` (any port);
//! - port: 1-65535 without leading zeros, or `*`; without a port, the scheme's default;
//! - nothing else: no user info, path, query, fragment, spaces or percent-encoding; one trailing `/` is
//!   tolerated, because that is how origins get copied from a browser.
//!
//! Hosts compare case-insensitively, without the root dot, and IPv6 addresses in their canonical form.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::error::{Invalid, Result};

/// How to write an origin; the hint of every malformed-origin error.
pub const SYNTAX: &str = "write origins as scheme://host[:port], e.g. `https://api.example.com`, \
     `http://127.0.0.1:8080`, `https://*.example.com`, `https://*:*` (port `*` = any port; no port = the scheme's default)";

/// The hint for a bare `*`.
const STAR_HINT: &str = "an origin needs a scheme: `https://*` is any host on port 443, \
     `https://*:*` and `http://*:*` are any host on any port";

/// `http` or `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `http`
    Http,
    /// `https`
    Https,
}

impl Scheme {
    /// `http` or `https`, in any case.
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "http" => Some(Scheme::Http),
            "https" => Some(Scheme::Https),
            _ => None,
        }
    }

    /// 80 or 443.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }

    /// `http` or `https`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The host part of an [`OriginPattern`], normalized (lowercase, no root dot, IPv6 canonical and bracketed).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HostPattern {
    /// `*`: any host.
    Any,
    /// `*.example.com`: any subdomain of the domain held (`example.com`), not the domain itself.
    Subdomains(String),
    /// One host: a domain name, an IPv4 address, or a bracketed IPv6 address (`[::1]`).
    Exact(String),
}

impl HostPattern {
    /// Does this pattern cover `host` (already normalized)?
    pub fn matches(&self, host: &str) -> bool {
        match self {
            HostPattern::Any => true,
            HostPattern::Subdomains(suffix) => host
                .strip_suffix(suffix.as_str())
                .is_some_and(|rest| rest.ends_with('.') && rest.len() > 1),
            HostPattern::Exact(exact) => exact == host,
        }
    }

    /// Is there a host both patterns cover?
    pub fn overlaps(&self, other: &HostPattern) -> bool {
        match (self, other) {
            (HostPattern::Any, _) | (_, HostPattern::Any) => true,
            (HostPattern::Exact(a), b) | (b, HostPattern::Exact(a)) => b.matches(a),
            (HostPattern::Subdomains(a), HostPattern::Subdomains(b)) => {
                a == b || a.ends_with(&format!(".{b}")) || b.ends_with(&format!(".{a}"))
            }
        }
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostPattern::Any => f.write_str("*"),
            HostPattern::Subdomains(s) => write!(f, "*.{s}"),
            HostPattern::Exact(h) => f.write_str(h),
        }
    }
}

/// An allowed origin pattern, e.g. `https://*.example.com:8443`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OriginPattern {
    scheme: Scheme,
    host: HostPattern,
    /// `None` = any port.
    port: Option<u16>,
}

impl OriginPattern {
    /// Parse a grant: `scheme://host[:port]` with wildcards (see the module docs); a trailing `/` is tolerated.
    pub fn parse(text: &str) -> Result<Self> {
        let invalid = |problem: String| Invalid::new("origin", text, problem, Some(SYNTAX));
        if text == "*" {
            return Err(Invalid::new("origin", text, "it has no scheme", Some(STAR_HINT)));
        }
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| invalid("it has no `scheme://`".into()))?;
        let scheme = parse_scheme(scheme).map_err(invalid)?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        check_authority(rest).map_err(invalid)?;
        let (host, port) = split_host_port(rest).map_err(invalid)?;
        let port = match port {
            None => Some(scheme.default_port()),
            Some("*") => None,
            Some(p) => Some(parse_port(p, "1-65535 or `*`").map_err(invalid)?),
        };
        let host = if host == "*" {
            HostPattern::Any
        } else if let Some(suffix) = host.strip_prefix("*.") {
            match parse_host(suffix).map_err(|e| invalid(format!("after `*.`: {e}")))? {
                Host::Domain(domain) => HostPattern::Subdomains(domain),
                Host::Ip(_) => {
                    return Err(invalid(
                        "`*.` must be followed by a domain name, not an IP address".into(),
                    ));
                }
            }
        } else if host.contains('*') {
            return Err(invalid(
                "`*` may only be the whole host or its leftmost label, as in `*.example.com`".into(),
            ));
        } else {
            HostPattern::Exact(parse_host(host).map_err(invalid)?.into_string())
        };
        Ok(Self { scheme, host, port })
    }

    /// The exact origin of a URL, e.g. `http://127.0.0.1:8080` for `http://127.0.0.1:8080/healthz?x=1`. The host
    /// obeys the same rules as in a grant; wildcards, user info and port `*` are refused.
    pub fn of_url(url: &str) -> Result<Self> {
        let syntax = "write a URL such as `https://api.example.com/path`";
        let invalid = |problem: String| Invalid::new("URL", url, problem, Some(syntax));
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| invalid("it has no `scheme://`".into()))?;
        let scheme = parse_scheme(scheme).map_err(invalid)?;
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.contains('@') {
            return Err(invalid(
                "it has user info (`user@`): pass credentials as a secret, not in the URL".into(),
            ));
        }
        let (host, port) = split_host_port(authority).map_err(invalid)?;
        if host.contains('*') {
            return Err(invalid("a URL names one host (`*` is for grants)".into()));
        }
        let port = match port {
            None => scheme.default_port(),
            Some(p) => parse_port(p, "1-65535").map_err(invalid)?,
        };
        let host = parse_host(host).map_err(invalid)?.into_string();
        Ok(Self {
            scheme,
            host: HostPattern::Exact(host),
            port: Some(port),
        })
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The host pattern.
    pub fn host(&self) -> &HostPattern {
        &self.host
    }

    /// The port; `None` = any port.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// Does a request to `scheme://host:port` fall under this pattern? `host` is normalized first.
    pub fn allows(&self, scheme: Scheme, host: &str, port: u16) -> bool {
        self.scheme == scheme && self.port.is_none_or(|p| p == port) && self.host.matches(&normalize_host(host))
    }

    /// `(scheme, host, port)` of a pattern naming exactly one origin.
    pub fn exact(&self) -> Option<(Scheme, &str, u16)> {
        match (&self.host, self.port) {
            (HostPattern::Exact(host), Some(port)) => Some((self.scheme, host, port)),
            _ => None,
        }
    }

    /// Is there an origin both patterns allow?
    pub fn overlaps(&self, other: &OriginPattern) -> bool {
        self.scheme == other.scheme
            && (self.port.is_none() || other.port.is_none() || self.port == other.port)
            && self.host.overlaps(&other.host)
    }
}

impl fmt::Display for OriginPattern {
    /// The canonical spelling: lowercase, no default port, `:*` for any port.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.host)?;
        match self.port {
            None => f.write_str(":*"),
            Some(p) if p == self.scheme.default_port() => Ok(()),
            Some(p) => write!(f, ":{p}"),
        }
    }
}

impl FromStr for OriginPattern {
    type Err = Invalid;

    fn from_str(text: &str) -> Result<Self> {
        Self::parse(text)
    }
}

/// A pattern equals the text that parses to it: `pattern == "https://*.example.com"`.
impl PartialEq<str> for OriginPattern {
    fn eq(&self, text: &str) -> bool {
        Self::parse(text).is_ok_and(|p| p == *self)
    }
}

impl PartialEq<&str> for OriginPattern {
    fn eq(&self, text: &&str) -> bool {
        self == *text
    }
}

/// Hosts compare case-insensitively, without the trailing root dot, and IPv6 literals (`[0:0::1]`) in their
/// canonical form (`[::1]`). Anything else is only lowercased.
pub fn normalize_host(host: &str) -> String {
    if let Some(inside) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'))
        && let Ok(ip) = inside.parse::<Ipv6Addr>()
    {
        return format!("[{ip}]");
    }
    host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase()
}

fn parse_scheme(scheme: &str) -> Result<Scheme, String> {
    match Scheme::parse(scheme) {
        Some(s) => Ok(s),
        None if scheme.is_empty() => Err("it has no scheme before `://`".into()),
        None => Err(format!("the scheme must be http or https, not `{scheme}`")),
    }
}

/// Refuse what an origin never has: user info, a path, a query, a fragment.
fn check_authority(authority: &str) -> Result<(), String> {
    if authority.contains('@') {
        return Err("an origin has no user info (`user@`)".into());
    }
    if let Some(c) = authority.chars().find(|c| matches!(c, '/' | '?' | '#')) {
        return Err(format!("an origin has no path, query or fragment (found `{c}`)"));
    }
    Ok(())
}

/// Split `host[:port]`, keeping IPv6 literals (`[::1]:8080`) intact.
fn split_host_port(authority: &str) -> Result<(&str, Option<&str>), String> {
    if authority.starts_with('[') {
        let end = authority
            .find(']')
            .ok_or_else(|| "the IPv6 address has no closing `]`".to_string())?;
        let (host, after) = authority.split_at(end + 1);
        return match after {
            "" => Ok((host, None)),
            _ => match after.strip_prefix(':') {
                Some(port) => Ok((host, Some(port))),
                None => Err(format!("`{after}` after the IPv6 address is not `:port`")),
            },
        };
    }
    match authority.split_once(':') {
        Some((host, port)) if port.contains(':') => Err(format!(
            "`{host}:{port}` has more than one `:` (write IPv6 addresses in brackets, e.g. `[::1]`)"
        )),
        Some((host, port)) => Ok((host, Some(port))),
        None => Ok((authority, None)),
    }
}

/// 1-65535, decimal, no sign, no leading zeros. `allowed` says what a port may be, for the message.
fn parse_port(text: &str, allowed: &str) -> Result<u16, String> {
    let ok = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && !text.starts_with('0');
    match text.parse::<u16>() {
        Ok(port) if ok => Ok(port),
        _ if text.is_empty() => Err(format!("the port after `:` is empty (a port is {allowed})")),
        _ => Err(format!("the port `{text}` is not {allowed} (no leading zeros)")),
    }
}

/// A checked host.
enum Host {
    /// A domain name, lowercase, without the root dot.
    Domain(String),
    /// An IPv4 address, or an IPv6 address in brackets, canonical.
    Ip(String),
}

impl Host {
    fn into_string(self) -> String {
        match self {
            Host::Domain(s) | Host::Ip(s) => s,
        }
    }
}

/// Check and normalize one host (no wildcards).
fn parse_host(host: &str) -> Result<Host, String> {
    if host.is_empty() {
        return Err("the host is empty".into());
    }
    if let Some(rest) = host.strip_prefix('[') {
        let inside = rest.strip_suffix(']').unwrap_or(rest);
        if inside.contains('%') {
            return Err(format!("`{host}` has a zone id (`%…`), which origins do not support"));
        }
        return match inside.parse::<Ipv6Addr>() {
            Ok(ip) => Ok(Host::Ip(format!("[{ip}]"))),
            Err(_) => Err(format!("`{host}` is not an IPv6 address")),
        };
    }
    if let Some(c) = host
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '.'))
    {
        return Err(match c {
            ' ' => format!("the host `{host}` has a space"),
            '%' => format!("the host `{host}` is percent-encoded (write the host itself)"),
            ':' => "an IPv6 address must be in brackets, e.g. `[::1]`".into(),
            '*' => "`*` may only be the whole host or its leftmost label, as in `*.example.com`".into(),
            c if !c.is_ascii() => {
                format!("the host `{host}` has `{c}` (write internationalized names in punycode, `xn--…`)")
            }
            c if c.is_whitespace() || c.is_control() => format!("the host `{}` has whitespace", host.escape_debug()),
            c => format!("the host `{host}` has `{c}` (hosts are letters, digits, `-` and `.`)"),
        });
    }
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Ok(Host::Ip(ip.to_string()));
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    let labels: Vec<&str> = name.split('.').collect();
    if labels.iter().any(|l| l.is_empty()) {
        return Err(format!("the host `{host}` has an empty label"));
    }
    if let Some(label) = labels.iter().find(|l| l.len() > 63) {
        return Err(format!("the label `{label}` is longer than 63 characters"));
    }
    if let Some(label) = labels.iter().find(|l| l.starts_with('-') || l.ends_with('-')) {
        return Err(format!("the label `{label}` starts or ends with `-`"));
    }
    if name.len() > 253 {
        return Err(format!("the host is {} characters long, more than 253", name.len()));
    }
    let last = labels[labels.len() - 1];
    let hex = last.strip_prefix("0x").or_else(|| last.strip_prefix("0X"));
    if last.bytes().all(|b| b.is_ascii_digit()) || hex.is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit())) {
        return Err(format!(
            "`{host}` ends in a number but is not an IPv4 address (write IPv4 addresses as four numbers 0-255 \
             without leading zeros, e.g. `127.0.0.1`)"
        ));
    }
    Ok(Host::Domain(name.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_patterns_match_as_documented() {
        let cases = [
            ("https://api.example.com", "https", "api.example.com", 443, true),
            ("https://api.example.com", "https", "api.example.com", 8443, false),
            ("https://api.example.com", "http", "api.example.com", 443, false),
            ("https://API.example.com.", "https", "api.EXAMPLE.com", 443, true),
            ("https://api.example.com", "https", "api.example.com.", 443, true),
            ("https://*.example.com", "https", "eu.example.com", 443, true),
            ("https://*.example.com", "https", "example.com", 443, false),
            ("https://*.example.com", "https", "evilexample.com", 443, false),
            ("http://127.0.0.1:*", "http", "127.0.0.1", 9000, true),
            ("http://*:8080", "http", "anything", 8080, true),
            ("http://[::1]:8080", "http", "[::1]", 8080, true),
            ("http://[0:0::1]:8080", "http", "[::1]", 8080, true),
            ("http://[::1]:8080", "http", "[0::1]", 8080, true),
            ("http://localhost:8080", "http", "127.0.0.1", 8080, false),
        ];
        for (pattern, scheme, host, port, expected) in cases {
            let p = OriginPattern::parse(pattern).unwrap();
            let scheme = Scheme::parse(scheme).unwrap();
            assert_eq!(p.allows(scheme, host, port), expected, "{pattern} vs {host}:{port}");
        }
    }

    #[test]
    fn malformed_origins_teach_the_syntax() {
        for bad in [
            "example.com",
            "ftp://x",
            "https://x/path",
            "https://x:99999",
            "https://a*b.com",
            "https://",
            "https://exa mple.com",
            "https://user@x.com",
            "https://x.com:08080",
            "https://x.com:+80",
            "https://%78.com",
            "https://::1",
            "https://1.2.3",
            "https://0x7f000001",
            "https://*.*.example.com",
            "https://*.127.0.0.1",
        ] {
            let err = OriginPattern::parse(bad).unwrap_err();
            assert!(err.to_string().contains("scheme://host[:port]"), "{bad}: {err}");
            assert_eq!(err.what, "origin");
        }
        let err = OriginPattern::parse("*").unwrap_err();
        assert_eq!(err.problem(), "it has no scheme");
        assert!(err.hint().is_some_and(|h| h.contains("`https://*`")), "{err}");
    }

    #[test]
    fn canonical_spelling() {
        for (text, canonical) in [
            ("HTTPS://X.COM", "https://x.com"),
            ("https://a.b.", "https://a.b"),
            ("https://x.com:443/", "https://x.com"),
            ("http://x.com:443", "http://x.com:443"),
            ("https://[0:0:0:0:0:0:0:1]:8443", "https://[::1]:8443"),
            ("https://*.Example.COM:*", "https://*.example.com:*"),
        ] {
            assert_eq!(OriginPattern::parse(text).unwrap().to_string(), canonical, "{text}");
        }
    }

    #[test]
    fn origin_of_url_is_exact() {
        let o = OriginPattern::of_url("http://127.0.0.1:8080/healthz?x=1").unwrap();
        assert_eq!(o.to_string(), "http://127.0.0.1:8080");
        assert!(o.allows(Scheme::Http, "127.0.0.1", 8080));
        assert!(!o.allows(Scheme::Http, "127.0.0.1", 8081));
        assert_eq!(o.exact(), Some((Scheme::Http, "127.0.0.1", 8080)));
        assert_eq!(
            OriginPattern::of_url("https://x.test/").unwrap().to_string(),
            "https://x.test"
        );
        assert_eq!(
            OriginPattern::of_url("https://X.test#frag").unwrap().to_string(),
            "https://x.test"
        );
        for bad in [
            "not a url",
            "https://exa mple.com/x",
            "https://*.example.com/",
            "https://x.com:*/",
            "https://user@x.com/",
            "https://good.com\\@evil.com/",
            "ftp://x/",
            "https:///path",
        ] {
            let err = OriginPattern::of_url(bad).unwrap_err();
            assert_eq!(err.what, "URL", "{bad}");
        }
    }

    #[test]
    fn overlaps_is_symmetric_and_as_documented() {
        let p = |s: &str| OriginPattern::parse(s).unwrap();
        let cases = [
            ("https://*", "https://api.test", true),
            ("https://*", "http://api.test", false),
            ("http://*:*", "http://127.0.0.1:8080", true),
            ("https://*.example.com", "https://a.example.com", true),
            ("https://*.example.com", "https://example.com", false),
            ("https://*.example.com", "https://*.eu.example.com", true),
            ("https://*.example.com", "https://*.example.org", false),
            ("https://a.test:8443", "https://a.test", false),
        ];
        for (a, b, expected) in cases {
            assert_eq!(p(a).overlaps(&p(b)), expected, "{a} / {b}");
            assert_eq!(p(b).overlaps(&p(a)), expected, "{b} / {a}");
        }
    }

    #[test]
    fn patterns_compare_with_text() {
        let p = OriginPattern::parse("https://*.example.com").unwrap();
        assert!(p == "https://*.example.com");
        assert!(p == "HTTPS://*.example.com:443");
        assert!(p != "https://example.com");
        assert_eq!(vec![p], ["https://*.example.com"]);
    }

    #[test]
    fn host_length_limits() {
        let label = "a".repeat(63);
        assert!(OriginPattern::parse(&format!("https://{label}.com")).is_ok());
        assert!(OriginPattern::parse(&format!("https://{label}a.com")).is_err());
        // 4 × 63 + 3 dots = 255 > 253; 3 × 63 + 61 + 3 dots = 253.
        let long = [label.as_str(); 4].join(".");
        assert!(OriginPattern::parse(&format!("https://{long}")).is_err());
        let limit = format!("{0}.{0}.{0}.{1}", label, "b".repeat(61));
        assert_eq!(limit.len(), 253);
        assert!(OriginPattern::parse(&format!("https://{limit}")).is_ok());
        assert!(OriginPattern::parse(&format!("https://{limit}.")).is_ok());
        assert!(OriginPattern::parse(&format!("https://x{limit}")).is_err());
    }
}
