//! A CSV file's bytes as text: UTF-8, UTF-16, Windows-1252 or ISO-8859-1, as
//! `spec.source.csv.encoding` says, or as the file's byte order mark says whatever the setting.
//!
//! Text that is not what its encoding allows fails the whole file, naming the line: such a file
//! was saved in another encoding than the one set, and every name in it is suspect.

use std::borrow::Cow;

use encoding_rs::{UTF_8, WINDOWS_1252};

use crate::{crd::CsvEncoding, sync::ports::source::SourceError};

const FIX: &str = "set spec.source.csv.encoding to the file's encoding (UTF-8, UTF-16, \
                   Windows-1252 or ISO-8859-1; Excel's \"CSV (Comma delimited)\" is Windows-1252 \
                   on most Western computers), or save the file as UTF-8";

/// The text of a file, without its byte order mark.
pub fn decode(bytes: &[u8], encoding: CsvEncoding) -> Result<Cow<'_, str>, SourceError> {
    match encoding_rs::Encoding::for_bom(bytes) {
        Some((found, mark)) if found == UTF_8 => utf8(&bytes[mark..]),
        // The other marks are UTF-16's, little- or big-endian.
        Some((found, mark)) => utf16(found, &bytes[mark..]),
        None => match encoding {
            CsvEncoding::Utf8 => utf8(bytes),
            CsvEncoding::Utf16 => Err(SourceError::InvalidInput(
                "the CSV is set to UTF-16 but does not start with a UTF-16 byte order mark \
                 (FF FE or FE FF), which tells its byte order: save it again as UTF-16 (\"Unicode \
                 Text\"), or set spec.source.csv.encoding to the file's encoding"
                    .into(),
            )),
            CsvEncoding::Windows1252 => Ok(WINDOWS_1252.decode_without_bom_handling(bytes).0),
            CsvEncoding::Iso8859_1 => Ok(encoding_rs::mem::decode_latin1(bytes)),
        },
    }
}

fn utf8(bytes: &[u8]) -> Result<Cow<'_, str>, SourceError> {
    std::str::from_utf8(bytes)
        .map(Cow::Borrowed)
        .map_err(|error| {
            let line = line_at(&bytes[..error.valid_up_to()]);
            SourceError::InvalidInput(format!(
                "the CSV is not UTF-8 text (line {line} holds a byte that is not UTF-8): {FIX}"
            ))
        })
}

fn utf16<'a>(
    encoding: &'static encoding_rs::Encoding,
    bytes: &'a [u8],
) -> Result<Cow<'a, str>, SourceError> {
    match encoding.decode_without_bom_handling_and_without_replacement(bytes) {
        Some(text) => Ok(text),
        None => {
            let (replaced, _) = encoding.decode_without_bom_handling(bytes);
            let valid = replaced.find('\u{fffd}').unwrap_or(replaced.len());
            let line = line_at(replaced[..valid].as_bytes());
            Err(SourceError::InvalidInput(format!(
                "the CSV starts with a UTF-16 byte order mark but is not UTF-16 text (line \
                 {line} holds half a character): export it again"
            )))
        }
    }
}

/// The line number of the byte after `before`.
fn line_at(before: &[u8]) -> usize {
    before.iter().filter(|b| **b == b'\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16le(text: &str) -> Vec<u8> {
        let mut bytes = vec![0xff, 0xfe];
        bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        bytes
    }

    fn utf16be(text: &str) -> Vec<u8> {
        let mut bytes = vec![0xfe, 0xff];
        bytes.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
        bytes
    }

    #[test]
    fn each_encoding_reads_its_bytes() {
        let text = "id,firstName\n1,Jörg Weiß\n2,Zoë\n";
        assert_eq!(decode(text.as_bytes(), CsvEncoding::Utf8).unwrap(), text);
        let windows: Vec<u8> = text
            .chars()
            .map(|c| u8::try_from(u32::from(c)).unwrap())
            .collect();
        assert_eq!(decode(&windows, CsvEncoding::Windows1252).unwrap(), text);
        assert_eq!(decode(&windows, CsvEncoding::Iso8859_1).unwrap(), text);
        for encoding in [CsvEncoding::Utf16, CsvEncoding::Utf8] {
            assert_eq!(decode(&utf16le(text), encoding).unwrap(), text);
            assert_eq!(decode(&utf16be(text), encoding).unwrap(), text);
        }
    }

    #[test]
    fn windows_1252_and_latin1_differ_in_0x80_to_0x9f() {
        // The euro sign and curly quotes of Windows-1252 are control characters in Latin-1.
        assert_eq!(
            decode(b"\x80\x93", CsvEncoding::Windows1252).unwrap(),
            "\u{20ac}\u{201c}"
        );
        assert_eq!(
            decode(b"\x80\x93", CsvEncoding::Iso8859_1).unwrap(),
            "\u{80}\u{93}"
        );
    }

    #[test]
    fn a_byte_order_mark_is_dropped_and_wins_over_the_setting() {
        let marked = "\u{feff}id,firstName\n";
        for encoding in [
            CsvEncoding::Utf8,
            CsvEncoding::Utf16,
            CsvEncoding::Windows1252,
            CsvEncoding::Iso8859_1,
        ] {
            assert_eq!(
                decode(marked.as_bytes(), encoding).unwrap(),
                "id,firstName\n",
                "{encoding:?}"
            );
            assert_eq!(
                decode(&utf16le("id\n"), encoding).unwrap(),
                "id\n",
                "{encoding:?}"
            );
        }
    }

    #[test]
    fn bytes_that_are_not_utf8_fail_the_file_naming_the_line() {
        let error = decode(b"id,firstName\n1,Ada\n2,J\xf6rg\n", CsvEncoding::Utf8)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with(
                "the CSV is not UTF-8 text (line 3 holds a byte that is not UTF-8): set \
                 spec.source.csv.encoding to the file's encoding"
            ),
            "{error}"
        );
        assert!(!error.contains("rg"), "no value: {error}");
    }

    #[test]
    fn utf16_needs_its_mark_and_whole_characters() {
        let error = decode(b"i\0d\0", CsvEncoding::Utf16)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("byte order mark (FF FE or FE FF)"),
            "{error}"
        );
        let mut cut = utf16le("id\n1\n");
        // An unpaired high surrogate on line 3.
        cut.extend([0x3d, 0xd8, b'\n', 0]);
        let error = decode(&cut, CsvEncoding::Utf8).unwrap_err().to_string();
        assert!(error.contains("(line 3 holds half a character)"), "{error}");
        let odd = [0xff, 0xfe, b'i', 0, b'd'];
        assert!(decode(&odd, CsvEncoding::Utf8).is_err());
    }
}
