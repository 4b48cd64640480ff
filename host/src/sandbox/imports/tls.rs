//! `tollgate:plugin/tls`: the peer certificate of a granted origin, under the same rules as HTTP.

use super::StepIo;
use crate::bindings::tollgate::plugin::tls;

impl tls::Host for StepIo {
    async fn peer_certificate(&mut self, origin: String) -> Result<tls::Certificate, String> {
        let der = self.net.peer_certificate(&origin).await?;
        let (_, cert) = x509_parser::parse_x509_certificate(&der)
            .map_err(|e| format!("{origin} presented a certificate that does not parse: {e}"))?;
        let dns_names = cert
            .subject_alternative_name()
            .ok()
            .flatten()
            .map(|san| {
                san.value
                    .general_names
                    .iter()
                    .filter_map(|n| match n {
                        x509_parser::extensions::GeneralName::DNSName(d) => Some(d.to_string()),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(tls::Certificate {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
            dns_names,
        })
    }
}
