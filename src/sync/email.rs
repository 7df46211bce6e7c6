//! Email addresses compared the way people mean them, and never more loosely.
//!
//! Two spellings of one address must match (`Anna@ACME.example` and `anna@acme.example`, an
//! NFC and an NFD `josé`, a Unicode domain and its punycode), or the same person gets a second
//! account. Two different addresses must never match, or one person's account is adopted and
//! renamed for another: plain Unicode case folding maps the KELVIN SIGN (U+212A) to an ASCII
//! `k`, and NFC maps it to `K`, so `Kate@…` written with it would match `kate@…`.
//!
//! The comparison key is therefore: the local part NFC-normalised and case-folded character by
//! character, except that a non-ASCII character whose folding or normalisation yields ASCII is
//! kept as written (it then matches only itself); the domain in its ASCII (IDNA) form, lower
//! case. Plain ASCII addresses, nearly all of them, take a fast path without allocating.

use std::{
    borrow::Cow,
    hash::{Hash, Hasher},
};

use icu_normalizer::ComposingNormalizerBorrowed;

/// The key two addresses share exactly when they are the same address.
pub fn email_key(address: &str) -> Cow<'_, str> {
    if address.is_ascii() {
        return if address.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(address.to_ascii_lowercase())
        } else {
            Cow::Borrowed(address)
        };
    }
    let (local, domain) = match address.rsplit_once('@') {
        Some((local, domain)) => (local, Some(domain)),
        None => (address, None),
    };
    let mut key = fold_local(local);
    if let Some(domain) = domain {
        key.push('@');
        match idna::domain_to_ascii(domain) {
            Ok(ascii) => key.push_str(&ascii),
            // Not a valid domain name: compared as written (lower case), so it matches only
            // itself; sources refuse such addresses anyway.
            Err(_) => key.push_str(&fold_local(domain)),
        }
    }
    Cow::Owned(key)
}

/// Whether two addresses are the same address.
///
/// Addresses are compared as given: the email the planner picks is already trimmed.
pub fn same_email(a: &str, b: &str) -> bool {
    // Plan-sized hot path: most pairs are equal ASCII or differ at once.
    if a.len() == b.len() && a.as_bytes().eq_ignore_ascii_case(b.as_bytes()) {
        return true;
    }
    if a.is_ascii() && b.is_ascii() {
        return false;
    }
    email_key(a) == email_key(b)
}

/// An address hashed and compared by [`email_key`], for use as a map key.
#[derive(Clone, Copy, Debug)]
pub struct EmailKey<'a>(pub &'a str);

impl PartialEq for EmailKey<'_> {
    fn eq(&self, other: &Self) -> bool {
        same_email(self.0, other.0)
    }
}

impl Eq for EmailKey<'_> {}

impl Hash for EmailKey<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let address = self.0;
        if address.len() <= 128 && address.is_ascii() {
            let mut folded = [0u8; 128];
            for (slot, byte) in folded.iter_mut().zip(address.bytes()) {
                *slot = byte.to_ascii_lowercase();
            }
            state.write(&folded[..address.len()]);
        } else {
            state.write(email_key(address).as_bytes());
        }
        state.write_u8(0xff);
    }
}

/// NFC, then lower case per character, keeping any character that would turn into ASCII.
fn fold_local(text: &str) -> String {
    const NFC: ComposingNormalizerBorrowed<'static> = ComposingNormalizerBorrowed::new_nfc();
    let mut folded = String::with_capacity(text.len());
    // Normalise runs of text between characters that NFC would turn into ASCII, so that
    // `e` + COMBINING ACUTE still composes while the KELVIN SIGN stays itself.
    let mut run = String::new();
    let flush = |run: &mut String, folded: &mut String| {
        for ch in NFC.normalize(run).chars() {
            push_folded(ch, folded);
        }
        run.clear();
    };
    for ch in text.chars() {
        let mut buffer = [0u8; 4];
        let alone: &str = ch.encode_utf8(&mut buffer);
        if !ch.is_ascii() && NFC.normalize(alone).is_ascii() {
            flush(&mut run, &mut folded);
            folded.push(ch);
        } else {
            run.push(ch);
        }
    }
    flush(&mut run, &mut folded);
    folded
}

fn push_folded(ch: char, out: &mut String) {
    if ch.is_ascii() {
        out.push(ch.to_ascii_lowercase());
        return;
    }
    let mut lower = ch.to_lowercase();
    if ch.to_lowercase().any(|c| c.is_ascii()) {
        // Folding would produce an ASCII letter (KELVIN SIGN → k, İ → i + dot): a different
        // address, so the character stays as written.
        out.push(ch);
    } else {
        out.extend(&mut lower);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_addresses_compare_without_case() {
        assert!(same_email(
            "Anna.Berg@ACME.example",
            "anna.berg@acme.example"
        ));
        assert!(!same_email("anna@acme.example", "anna@acme.examples"));
        assert_eq!(email_key("Anna@Acme.Example"), "anna@acme.example");
        assert!(matches!(email_key("anna@acme.example"), Cow::Borrowed(_)));
    }

    #[test]
    fn a_kelvin_sign_never_matches_a_k() {
        let kelvin = "\u{212A}ate@acme.example";
        assert!(!same_email(kelvin, "kate@acme.example"));
        assert!(!same_email(kelvin, "Kate@acme.example"));
        assert!(same_email(kelvin, kelvin));
        // Dotted capital I folds to `i` + a combining dot: not the ASCII `i`.
        assert!(!same_email("\u{130}da@acme.example", "ida@acme.example"));
    }

    #[test]
    fn nfc_and_nfd_spellings_are_one_address() {
        let nfc = "jos\u{e9}@acme.example";
        let nfd = "jose\u{301}@acme.example";
        assert!(same_email(nfc, nfd));
        assert!(same_email("JOS\u{c9}@acme.example", nfd));
        assert!(!same_email(nfc, "jose@acme.example"));
    }

    #[test]
    fn unicode_domains_match_their_punycode() {
        assert!(same_email(
            "anna@b\u{fc}cher.example",
            "anna@xn--bcher-kva.example"
        ));
        assert!(same_email(
            "anna@B\u{dc}CHER.example",
            "ANNA@xn--bcher-kva.example"
        ));
        assert!(!same_email(
            "anna@b\u{fc}cher.example",
            "anna@bucher.example"
        ));
    }

    #[test]
    fn keys_hash_alike_exactly_when_equal() {
        use std::hash::BuildHasher;
        let state = foldhash::fast::FixedState::default();
        let hash = |a: &str| state.hash_one(EmailKey(a));
        assert_eq!(hash("Anna@Acme.example"), hash("anna@acme.example"));
        assert_eq!(
            hash("jos\u{e9}@b\u{fc}cher.example"),
            hash("jose\u{301}@xn--bcher-kva.example")
        );
        assert_eq!(EmailKey("A@b.c"), EmailKey("a@B.c"));
    }
}
