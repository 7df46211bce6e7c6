//! Checks every source applies to single values, whatever the record's shape: a line break in a
//! one-line field, and an email address that is no address.
//!
//! A line break in a name, id, address, status or date is never data: in a CSV it is the trace
//! of a stray quote that swallowed the rows after it into one record (which can still have the
//! right number of fields), and those swallowed people would silently go missing. So such a
//! value makes its record an error rather than an employee.

use email_address::{EmailAddress, Options};

/// The canonical fields whose values are one line. Custom fields, departments and titles are
/// free text a company may fill with several lines (an address), so they are not checked.
pub const SINGLE_LINE_FIELDS: [&str; 12] = [
    "id",
    "firstName",
    "lastName",
    "preferredName",
    "primaryEmail",
    "workEmail",
    "secondaryEmail",
    "personalEmail",
    "otherEmail",
    "employmentStatus",
    "startDate",
    "endDate",
];

/// Whether a value holds a carriage return or a line feed.
pub fn has_line_break(value: &str) -> bool {
    value.contains(['\r', '\n'])
}

/// How addresses are judged: RFC 5321/6531 syntax (internationalised local parts and domains
/// included), but no display name (`Ann <ann@x>`), no IP-address domain and at least one dot in
/// the domain, since an HR system's addresses are mailbox addresses on the internet.
const EMAIL_OPTIONS: Options = Options {
    minimum_sub_domains: 2,
    allow_domain_literal: false,
    allow_display_text: false,
    allow_long_local_parts: false,
};

/// Why `address` is not an email address, or `None` when it is one. The reason never quotes
/// the address: it goes into reports, and an address is personal data.
pub fn email_problem(address: &str) -> Option<&'static str> {
    use email_address::Error;
    let error = EmailAddress::parse_with_options(address, EMAIL_OPTIONS).err()?;
    Some(match error {
        Error::MissingSeparator => "it has no `@`",
        Error::LocalPartEmpty => "it has nothing before the `@`",
        Error::DomainEmpty => "it has no domain after the `@`",
        Error::DomainTooFew => "its domain has no dot (such as corp.example)",
        Error::SubDomainEmpty | Error::DomainInvalidSeparator => {
            "its domain has an empty part (two dots in a row, or a dot at an end)"
        }
        Error::LocalPartTooLong | Error::DomainTooLong | Error::SubDomainTooLong => {
            "it is longer than an address may be"
        }
        Error::UnsupportedDisplayName | Error::MissingDisplayName | Error::MissingEndBracket => {
            "it holds a name besides the address; keep only the address"
        }
        Error::UnsupportedDomainLiteral | Error::InvalidIPAddress => {
            "its domain is an IP address, not a name"
        }
        Error::UnbalancedQuotes | Error::InvalidComment => "it has unbalanced quotes",
        Error::InvalidCharacter => {
            "it holds a character an address may not have (a space, a second `@`, a comma, …)"
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_judged_by_the_rfc_including_international_ones() {
        for valid in [
            "anna@acme.example",
            "josé@acme.example",
            "anna@xn--bcher-kva.example",
            "anna@bücher.example",
            "first.last+tag@acme.example",
            "O'Neil@acme.example",
        ] {
            assert_eq!(email_problem(valid), None, "{valid}");
        }
        for (invalid, reason) in [
            ("@", "nothing before"),
            ("a@b@c", "a second `@`"),
            ("a@b@c.example", "a second `@`"),
            ("john smith@acme.example", "a space"),
            ("anna@", "no domain"),
            ("anna.acme.example", "no `@`"),
            ("anna@acme", "no dot"),
            ("anna@acme..example", "empty part"),
            ("Anna <anna@acme.example>", "a name besides"),
            ("anna@[192.0.2.1]", "IP address"),
            ("anna@acme.example,bo@acme.example", "a comma"),
        ] {
            let problem = email_problem(invalid).unwrap_or_else(|| panic!("{invalid} accepted"));
            assert!(problem.contains(reason), "{invalid}: {problem}");
        }
    }

    #[test]
    fn a_reason_never_quotes_the_address() {
        let problem = email_problem("secret person@acme.example").unwrap();
        assert!(!problem.contains("secret"), "{problem}");
        assert!(!problem.contains("acme"), "{problem}");
    }

    #[test]
    fn line_breaks_of_either_kind_are_found() {
        assert!(has_line_break("Ada\nBo"));
        assert!(has_line_break("Ada\r"));
        assert!(!has_line_break("Ada Lovelace"));
    }
}
