//! Checks of connector settings that several connectors share: the URLs credentials and
//! personal data are sent to, and the request settings of every HTTP source. Each connector's
//! own checks live with the connector (its `validate`).

use crate::sync::policy::{SpecError, quoted};

/// Checks a URL credentials and personal data are sent to: an absolute `https://` URL, or an
/// `http://` one to this machine (127.0.0.0/8, ::1, `localhost`: nothing crosses the network)
/// or with `allowInsecureHttp`. Anything else (another scheme such as `file://`, or text that
/// is no URL) would at best fail at the first request, at worst send the credentials in the
/// clear: the spec is refused before anything runs.
pub fn check_url(value: &str, allow_insecure_http: bool) -> Result<(), String> {
    let example = "such as https://api.example.com/scim/v2";
    let url = reqwest::Url::parse(value).map_err(|_| {
        format!(
            "{} is not an absolute URL; write one {example}",
            quoted(value)
        )
    })?;
    match url.scheme() {
        "https" => Ok(()),
        "http" if allow_insecure_http || is_loopback(&url) => Ok(()),
        "http" => Err(format!(
            "{} is plain http to another machine: credentials and personal data would cross the \
             network unencrypted. Use https, or set allowInsecureHttp: true for a server on a \
             trusted network",
            quoted(value)
        )),
        scheme => Err(format!(
            "{} is a {scheme}: URL; only https (or http to this machine) is accepted, {example}",
            quoted(value)
        )),
    }
}

/// Whether the URL's host is this machine: 127.0.0.0/8, ::1 or `localhost`.
fn is_loopback(url: &reqwest::Url) -> bool {
    // The parser has normalised the host: IPv4 in dotted form, IPv6 in brackets, names in
    // lower case.
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host == "localhost",
    }
}

/// The lowest `requestsPerSecond` of the HTTP sources and the SCIM target (one request every
/// 1,000 seconds), as their CRD schema says. Zero is refused rather than read as "unlimited":
/// an unlimited rate is asked for with a large number, never by accident.
pub const MIN_REQUESTS_PER_SECOND: f64 = 0.001;

/// The rates a request-rate field accepts, as its CRD schema states them.
#[derive(Clone, Copy, Debug)]
pub enum RateRange {
    /// This or more.
    AtLeast(f64),
    /// From the first to the second, both included.
    Between(f64, f64),
}

/// Checks a request rate the way the CRD schema does, so a manifest the cluster refuses is
/// refused by the local commands too (and the other way round).
pub fn check_rate(rate: f64, range: RateRange) -> Result<(), String> {
    match range {
        _ if !rate.is_finite() => Err(format!("{rate} is not a number of requests a second")),
        RateRange::AtLeast(min) if rate < min => Err(format!(
            "{rate} is too low; use at least {min} (decimals allowed)"
        )),
        RateRange::Between(min, max) if !(min..=max).contains(&rate) => Err(format!(
            "{rate} is out of range; use {min} to {max} (decimals allowed)"
        )),
        _ => Ok(()),
    }
}

/// The request settings every HTTP source has.
#[derive(Clone, Copy, Debug)]
pub struct RequestSettings<'a> {
    /// The source's key under `spec.source`, such as `merge`.
    pub source: &'a str,
    /// `baseUrl`, when set.
    pub base_url: Option<&'a str>,
    /// `allowInsecureHttp`.
    pub allow_insecure_http: bool,
    /// `requestsPerSecond`.
    pub requests_per_second: f64,
    /// `timeoutSeconds`.
    pub timeout_seconds: u32,
    /// `maxTries`.
    pub max_tries: u32,
}

impl RequestSettings<'_> {
    /// Problems of the settings, checked as the CRD schema checks them, and of the `baseUrl`.
    pub fn problems(&self) -> Vec<SpecError> {
        let mut problems = Vec::new();
        let mut error = |name: &str, message: String| {
            problems.push(SpecError {
                field: format!("spec.source.{}.{name}", self.source),
                message,
            });
        };
        if let Some(url) = self.base_url
            && let Err(message) = check_url(url, self.allow_insecure_http)
        {
            error("baseUrl", message);
        }
        if let Err(message) = check_rate(
            self.requests_per_second,
            RateRange::AtLeast(MIN_REQUESTS_PER_SECOND),
        ) {
            error("requestsPerSecond", message);
        }
        if !(1..=600).contains(&self.timeout_seconds) {
            error(
                "timeoutSeconds",
                format!("{} is out of range; use 1 to 600", self.timeout_seconds),
            );
        }
        if !(1..=20).contains(&self.max_tries) {
            error(
                "maxTries",
                format!("{} is out of range; use 1 to 20", self.max_tries),
            );
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_https_or_http_to_this_machine() {
        for url in [
            "https://api.example.com/scim/v2",
            "http://127.0.0.1:8090/scim/v2",
            "http://127.5.6.7/",
            "http://[::1]:8080/v2",
            "http://localhost:8090",
            "http://LOCALHOST/scim",
        ] {
            assert_eq!(check_url(url, false), Ok(()), "{url}");
        }
        for url in [
            "http://scim.people.svc:8090/scim/v2",
            "http://127.0.0.1.nip.io/",
            "http://localhost.example.com/",
            "http://10.0.0.1/",
        ] {
            let message = check_url(url, false).unwrap_err();
            assert!(
                message.contains("allowInsecureHttp: true"),
                "{url}: {message}"
            );
            assert_eq!(check_url(url, true), Ok(()), "{url}");
        }
        for url in [
            "file:///etc/passwd",
            "ftp://x.example/",
            "not a url",
            "",
            "/scim/v2",
        ] {
            for insecure in [false, true] {
                let message = check_url(url, insecure).unwrap_err();
                assert!(message.contains("https"), "{url}: {message}");
            }
        }
    }
}
