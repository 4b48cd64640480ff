//! The addresses a plugin may never reach, whatever name or grant led to them.
//!
//! They are cloud metadata and platform services, link-local, unspecified, multicast and
//! broadcast addresses, in every spelling that carries one of them (IPv4, and each IPv6
//! form that embeds an IPv4 address). The host checks every address a name resolves to,
//! after resolution, and connects to the address it checked.
//!
//! Loopback and private ranges (`127.0.0.0/8`, `::1`, `10.0.0.0/8`, `192.168.0.0/16`, …) are allowed: granting
//! `http://127.0.0.1:*` to test against a local server is the point of grants.
//!
//! Sources, one per entry:
//!
//! - `0.0.0.0/8` "this network", RFC 6890 §2.2.2 (<https://www.rfc-editor.org/rfc/rfc6890#section-2.2.2>);
//!   connecting to `0.0.0.0` reaches the local host on Linux.
//! - `169.254.0.0/16` IPv4 link-local, RFC 3927 (<https://www.rfc-editor.org/rfc/rfc3927>). The instance
//!   metadata service of AWS, Google Cloud, Azure, Oracle Cloud and DigitalOcean is `169.254.169.254`:
//!   <https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html>,
//!   <https://cloud.google.com/compute/docs/metadata/querying-metadata>,
//!   <https://learn.microsoft.com/en-us/azure/virtual-machines/instance-metadata-service>,
//!   <https://docs.oracle.com/en-us/iaas/Content/Compute/Tasks/gettingmetadata.htm>,
//!   <https://docs.digitalocean.com/reference/api/metadata-api/>. AWS ECS task metadata and credentials are
//!   `169.254.170.2` (<https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html>), the
//!   EKS Pod Identity agent `169.254.170.23`
//!   (<https://docs.aws.amazon.com/eks/latest/userguide/pod-id-agent-setup.html>).
//! - `168.63.129.16` Azure WireServer
//!   (<https://learn.microsoft.com/en-us/azure/virtual-network/what-is-ip-address-168-63-129-16>).
//! - `100.100.100.200` Alibaba Cloud metadata
//!   (<https://www.alibabacloud.com/help/en/ecs/user-guide/view-instance-metadata>).
//! - `192.0.0.192` Oracle Cloud Infrastructure Classic metadata
//!   (<https://docs.oracle.com/en/cloud/iaas-classic/compute-iaas-cloud/stcsg/retrieving-instance-metadata.html>).
//! - `224.0.0.0/4` multicast, RFC 5771 (<https://www.rfc-editor.org/rfc/rfc5771>); `255.255.255.255` limited
//!   broadcast, RFC 919 (<https://www.rfc-editor.org/rfc/rfc919>).
//! - `fd00:ec2::254` AWS instance metadata over IPv6, with the other AWS VPC services at `fd00:ec2::23` (EKS Pod
//!   Identity), `fd00:ec2::253` (DNS) and `fd00:ec2::123` (NTP)
//!   (<https://docs.aws.amazon.com/whitepapers/latest/ipv6-on-aws/supporting-amazon-vpc-services.html>).
//! - `fd20:ce::254` Google Cloud metadata over IPv6
//!   (<https://cloud.google.com/compute/docs/metadata/querying-metadata>).
//! - `::` unspecified, `fe80::/10` link-local, `ff00::/8` multicast, RFC 4291 §2.5.2, §2.5.6, §2.7
//!   (<https://www.rfc-editor.org/rfc/rfc4291>).
//!
//! IPv6 forms that embed an IPv4 address, each checked against the IPv4 list above:
//!
//! - IPv4-mapped `::ffff:0:0/96` and IPv4-compatible `::/96` (deprecated; not `::` and `::1`), RFC 4291
//!   §2.5.5 (<https://www.rfc-editor.org/rfc/rfc4291#section-2.5.5>): the low 32 bits.
//! - IPv4-translated `::ffff:0:0:0/96`, RFC 2765 §2.1 (<https://www.rfc-editor.org/rfc/rfc2765#section-2.1>):
//!   the low 32 bits.
//! - NAT64 well-known prefix `64:ff9b::/96`, RFC 6052 §2.1 (<https://www.rfc-editor.org/rfc/rfc6052>): the low
//!   32 bits.
//! - NAT64 local-use prefix `64:ff9b:1::/48`, RFC 8215 (<https://www.rfc-editor.org/rfc/rfc8215>): both the
//!   RFC 6052 §2.2 layout of a /48 prefix (bits 48..63 and 72..87, skipping the `u` octet at bits 64..71) and,
//!   conservatively, the /96 layout (bits 96..127), since an operator may use a /96 inside the /48. The unused
//!   layout reads zeros, so `0.0.0.0/8` is not applied here (a translator does not route it anyway). The /56
//!   and /64 layouts are not decoded: an address written in one layout reads as an arbitrary address in those
//!   (every address whose second or third octet is 224 or more would look multicast).
//! - 6to4 `2002::/16`, RFC 3056 §2 (<https://www.rfc-editor.org/rfc/rfc3056#section-2>): bits 16..47.
//! - Teredo `2001::/32`, RFC 4380 §4 (<https://www.rfc-editor.org/rfc/rfc4380#section-4>): the server at bits
//!   32..63 and the client at bits 96..127, inverted.
//! - ISATAP interface identifiers `0:5efe:a.b.c.d` and `200:5efe:a.b.c.d` under any prefix, RFC 5214 §6.1
//!   (<https://www.rfc-editor.org/rfc/rfc5214#section-6.1>): the low 32 bits.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address may never be reached, or `None` when it may.
pub fn forbidden(ip: IpAddr) -> Option<&'static str> {
    check(ip).map(|f| f.reason)
}

/// Why an address may never be reached, with the IPv4 address it embeds when that is the reason, or `None`
/// when it may be reached.
pub fn check(ip: IpAddr) -> Option<Forbidden> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4).map(|reason| Forbidden { reason, embedded: None }),
        IpAddr::V6(v6) => check_v6(v6),
    }
}

/// A forbidden address: why, and through which embedded IPv4 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forbidden {
    /// Why, e.g. "the cloud instance metadata service (AWS, Google Cloud, Azure, Oracle Cloud, DigitalOcean)".
    pub reason: &'static str,
    /// When an IPv4 address embedded in an IPv6 address is the reason: the form (e.g. "a NAT64 address") and
    /// the IPv4 address.
    pub embedded: Option<(&'static str, Ipv4Addr)>,
}

impl fmt::Display for Forbidden {
    /// `REASON`, or `FORM for IPV4, REASON`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.embedded {
            None => f.write_str(self.reason),
            Some((form, v4)) => write!(f, "{form} for {v4}, {}", self.reason),
        }
    }
}

fn forbidden_v4(v4: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, d] = v4.octets();
    Some(match (a, b, c, d) {
        (169, 254, 169, 254) => {
            "the cloud instance metadata service (AWS, Google Cloud, Azure, Oracle Cloud, DigitalOcean)"
        }
        (169, 254, 170, 2) => "the AWS ECS task metadata and credentials endpoint",
        (169, 254, 170, 23) => "the AWS EKS Pod Identity agent",
        (169, 254, _, _) => "a link-local address (cloud metadata services live in 169.254.0.0/16)",
        (168, 63, 129, 16) => "the Azure WireServer",
        (100, 100, 100, 200) => "the Alibaba Cloud metadata service",
        (192, 0, 0, 192) => "the Oracle Cloud Infrastructure Classic metadata service",
        (0, _, _, _) => "the \"this network\" block 0.0.0.0/8",
        (224..=239, _, _, _) => "a multicast address",
        (255, 255, 255, 255) => "the broadcast address",
        _ => return None,
    })
}

/// `forbidden_v4` without the `0.0.0.0/8` rule, for layouts whose unused bits read as zeros.
fn forbidden_v4_nonzero_layout(v4: Ipv4Addr) -> Option<&'static str> {
    if v4.octets()[0] == 0 { None } else { forbidden_v4(v4) }
}

fn v4(hi: u16, lo: u16) -> Ipv4Addr {
    Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo))
}

fn check_v6(v6: Ipv6Addr) -> Option<Forbidden> {
    let direct = |reason| Some(Forbidden { reason, embedded: None });
    let s = v6.segments();
    let bits = u128::from(v6);
    match s {
        [0, 0, 0, 0, 0, 0, 0, 0] => return direct("the unspecified address"),
        [0, 0, 0, 0, 0, 0, 0, 1] => return None,
        [0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x254] => return direct("the AWS instance metadata service"),
        [0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x23] => return direct("the AWS EKS Pod Identity agent"),
        [0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x253 | 0x123] => return direct("an AWS VPC service address"),
        [0xfd20, 0x00ce, 0, 0, 0, 0, 0, 0x254] => return direct("the Google Cloud metadata server"),
        _ => {}
    }
    if s[0] & 0xffc0 == 0xfe80 {
        return direct("a link-local address");
    }
    if s[0] & 0xff00 == 0xff00 {
        return direct("a multicast address");
    }
    // Each form that embeds an IPv4 address, with the rule to check it against.
    type Rule = fn(Ipv4Addr) -> Option<&'static str>;
    let mut embedded: Vec<(&'static str, Ipv4Addr, Rule)> = Vec::new();
    let low = v4(s[6], s[7]);
    match s {
        [0, 0, 0, 0, 0, 0xffff, ..] => embedded.push(("an IPv4-mapped address", low, forbidden_v4)),
        [0, 0, 0, 0, 0xffff, 0, ..] => embedded.push(("an IPv4-translated address", low, forbidden_v4)),
        [0, 0, 0, 0, 0, 0, ..] => embedded.push(("an IPv4-compatible address", low, forbidden_v4)),
        [0x64, 0xff9b, 0, 0, 0, 0, ..] => embedded.push(("a NAT64 address", low, forbidden_v4)),
        [0x64, 0xff9b, 0x1, ..] => {
            // RFC 6052 §2.2, /48 prefix: bits 48..63, then (after the u octet, bits 64..71) bits 72..87.
            let layout48 = Ipv4Addr::from(((bits >> 64) as u32 & 0xffff) << 16 | ((bits >> 40) as u32 & 0xffff));
            embedded.push(("a local-use NAT64 address", layout48, forbidden_v4_nonzero_layout));
            embedded.push(("a local-use NAT64 address", low, forbidden_v4_nonzero_layout));
        }
        [0x2002, hi, lo, ..] => embedded.push(("a 6to4 address", v4(hi, lo), forbidden_v4)),
        [0x2001, 0, hi, lo, ..] => {
            embedded.push(("a Teredo address (server)", v4(hi, lo), forbidden_v4));
            embedded.push(("a Teredo address (client)", v4(!s[6], !s[7]), forbidden_v4));
        }
        _ => {}
    }
    if s[4] & 0xfcff == 0 && s[5] == 0x5efe {
        embedded.push(("an ISATAP address", low, forbidden_v4));
    }
    embedded.into_iter().find_map(|(form, v4, rule)| {
        rule(v4).map(|reason| Forbidden {
            reason,
            embedded: Some((form, v4)),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every spelling of a forbidden address, with the embedded IPv4 address when there is one.
    const FORBIDDEN: &[(&str, Option<&str>)] = &[
        // IPv4
        ("169.254.169.254", None),
        ("169.254.170.2", None),
        ("169.254.170.23", None),
        ("169.254.0.1", None),
        ("168.63.129.16", None),
        ("100.100.100.200", None),
        ("192.0.0.192", None),
        ("0.0.0.0", None),
        ("0.1.2.3", None),
        ("224.0.0.1", None),
        ("239.255.255.250", None),
        ("255.255.255.255", None),
        // IPv6
        ("::", None),
        ("fd00:ec2::254", None),
        ("fd00:ec2::23", None),
        ("fd00:ec2::253", None),
        ("fd20:ce::254", None),
        ("fe80::1", None),
        ("febf::1", None),
        ("ff02::1", None),
        // IPv4-mapped
        ("::ffff:169.254.169.254", Some("169.254.169.254")),
        ("::ffff:a9fe:a9fe", Some("169.254.169.254")),
        ("::ffff:0.0.0.0", Some("0.0.0.0")),
        ("::ffff:168.63.129.16", Some("168.63.129.16")),
        // IPv4-translated
        ("::ffff:0:169.254.169.254", Some("169.254.169.254")),
        // IPv4-compatible
        ("::a9fe:a9fe", Some("169.254.169.254")),
        ("::169.254.170.2", Some("169.254.170.2")),
        ("::100.100.100.200", Some("100.100.100.200")),
        // NAT64, well-known prefix
        ("64:ff9b::a9fe:a9fe", Some("169.254.169.254")),
        ("64:ff9b::169.254.169.254", Some("169.254.169.254")),
        ("64:ff9b::0.0.0.0", Some("0.0.0.0")),
        ("64:ff9b::e000:1", Some("224.0.0.1")),
        // NAT64, local-use prefix: /96 layout, /48 layout (u octet zero, and set)
        ("64:ff9b:1::a9fe:a9fe", Some("169.254.169.254")),
        ("64:ff9b:1:a9fe:a9:fe00::", Some("169.254.169.254")),
        ("64:ff9b:1:a9fe:ffa9:fe00::", Some("169.254.169.254")),
        ("64:ff9b:1:6464:64:c800::", Some("100.100.100.200")),
        // 6to4
        ("2002:a9fe:a9fe::", Some("169.254.169.254")),
        ("2002:a9fe:a9fe:1234::1", Some("169.254.169.254")),
        ("2002:a83f:8110::1", Some("168.63.129.16")),
        // Teredo: server, then client (inverted)
        ("2001:0:a9fe:a9fe::1", Some("169.254.169.254")),
        ("2001:0:4136:e378:8000:63bf:5601:5601", Some("169.254.169.254")),
        // ISATAP
        ("2001:db8::5efe:a9fe:a9fe", Some("169.254.169.254")),
        ("2001:db8::200:5efe:a9fe:a9fe", Some("169.254.169.254")),
    ];

    const ALLOWED: &[&str] = &[
        "127.0.0.1",
        "::1",
        "10.0.0.1",
        "192.168.1.1",
        "172.16.0.1",
        "100.64.0.1",
        "8.8.8.8",
        "1.1.1.1",
        "169.253.255.255",
        "169.255.0.0",
        "223.255.255.255",
        "255.255.255.254",
        "2001:db8::1",
        "2606:4700::1111",
        "2001:4860:4860::8888",
        "fd00::1",
        "fd00:ec2::1",
        "fec0::1",
        "::ffff:8.8.8.8",
        "::ffff:127.0.0.1",
        "64:ff9b::8.8.8.8",
        "64:ff9b:1::8.8.8.8",
        "64:ff9b:1:808:8:800::",
        "2002:808:808::1",
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    ];

    #[test]
    fn every_forbidden_spelling_is_forbidden() {
        for (ip, embedded) in FORBIDDEN {
            let addr: IpAddr = ip.parse().unwrap_or_else(|e| panic!("{ip}: {e}"));
            let f = check(addr).unwrap_or_else(|| panic!("{ip} must be forbidden"));
            assert_eq!(forbidden(addr), Some(f.reason));
            let got = f.embedded.map(|(_, v4)| v4.to_string());
            assert_eq!(got.as_deref(), *embedded, "{ip}: {f}");
        }
    }

    #[test]
    fn ordinary_addresses_are_allowed() {
        for ip in ALLOWED {
            let addr: IpAddr = ip.parse().unwrap_or_else(|e| panic!("{ip}: {e}"));
            assert_eq!(check(addr), None, "{ip} is an ordinary address");
        }
    }

    #[test]
    fn reasons_read_as_part_of_a_sentence() {
        let f = |ip: &str| check(ip.parse().unwrap()).unwrap().to_string();
        assert_eq!(
            f("169.254.169.254"),
            "the cloud instance metadata service (AWS, Google Cloud, Azure, Oracle Cloud, DigitalOcean)"
        );
        assert_eq!(
            f("64:ff9b::a9fe:a9fe"),
            "a NAT64 address for 169.254.169.254, the cloud instance metadata service (AWS, Google Cloud, Azure, Oracle Cloud, DigitalOcean)"
        );
        assert_eq!(
            f("2002:a83f:8110::1"),
            "a 6to4 address for 168.63.129.16, the Azure WireServer"
        );
    }

    #[test]
    fn every_ipv4_rule_holds_in_every_embedding() {
        let forbidden_v4s = FORBIDDEN
            .iter()
            .filter_map(|(ip, _)| ip.parse::<Ipv4Addr>().ok())
            .filter(|v4| v4.octets()[0] != 0);
        for v4 in forbidden_v4s {
            let n = u32::from(v4);
            let (hi, lo) = ((n >> 16) as u16, n as u16);
            let [_, _, c, d] = v4.octets();
            let spellings = [
                v4.to_ipv6_mapped(),
                Ipv6Addr::new(0, 0, 0, 0, 0xffff, 0, hi, lo),
                Ipv6Addr::new(0, 0, 0, 0, 0, 0, hi, lo),
                Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, hi, lo),
                Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, hi, lo),
                Ipv6Addr::new(0x64, 0xff9b, 1, hi, u16::from(c), u16::from(d) << 8, 0, 0),
                Ipv6Addr::new(0x2002, hi, lo, 0, 0, 0, 0, 1),
                Ipv6Addr::new(0x2001, 0, hi, lo, 0, 0, 0, 1),
                Ipv6Addr::new(0x2001, 0, 0x4136, 0xe378, 0x8000, 0x63bf, !hi, !lo),
                Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0x5efe, hi, lo),
            ];
            for v6 in spellings {
                let f = check(IpAddr::V6(v6)).unwrap_or_else(|| panic!("{v6} embeds {v4} and must be forbidden"));
                assert_eq!(f.embedded.map(|(_, e)| e), Some(v4), "{v6}");
            }
        }
    }
}
