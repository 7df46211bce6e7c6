//! The date formats of `spec.source.csv.dateFormats`: tokens `YYYY`, `MM`, `M`, `DD`, `D` and
//! the separators `-`, `/`, `.`, `,` and space, such as `MM/DD/YYYY` or `DD.MM.YYYY`.
//!
//! A format is read strictly: `YYYY` takes exactly four digits and `MM`/`DD` exactly two, so a
//! two-digit year (`3/4/26`) is no date rather than the year 26. (strptime's `%Y` and `%m` take
//! fewer digits too, which is why the formats are not handed to it.) A date that two formats
//! read as different days is ambiguous, and no format wins.

use jiff::civil::Date;

/// The tokens a format may use, for messages.
pub const TOKENS: &str = "YYYY, MM, M, DD, D";

/// The characters that may separate tokens. The CRD's rule on `dateFormats` allows the same.
const SEPARATORS: &str = "-/., ";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Piece {
    /// Four digits.
    Year,
    /// The month: two digits, or one or two when not `exact`.
    Month { exact: bool },
    /// The day of the month: two digits, or one or two when not `exact`.
    Day { exact: bool },
    /// A separator, matched as it is.
    Literal(char),
}

/// One compiled format.
#[derive(Clone, Debug, PartialEq)]
pub struct DateFormat {
    text: String,
    pieces: Vec<Piece>,
}

/// Why a value is no date under the formats.
#[derive(Clone, Debug, PartialEq)]
pub enum DateProblem {
    /// No format has the value's shape.
    Unreadable,
    /// The value has a format's shape but names no day (`2026-02-30`); the format.
    NoSuchDay(String),
    /// Two formats read the value as different days; those two formats.
    Ambiguous(String, String),
}

impl DateFormat {
    /// Compiles a format; the error says what is wrong and how to write it.
    pub fn compile(text: &str) -> Result<DateFormat, String> {
        let mut pieces = Vec::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            if c.is_ascii_alphabetic() {
                let mut letters = String::from(c);
                while let Some(next) = chars.next_if(char::is_ascii_alphabetic) {
                    letters.push(next);
                }
                // Tokens may follow one another without a separator (`YYYYMMDD`).
                let tokens: Option<Vec<Piece>> = same_letter_runs(&letters)
                    .map(|token| match token {
                        "YYYY" => Some(Piece::Year),
                        "MM" => Some(Piece::Month { exact: true }),
                        "M" => Some(Piece::Month { exact: false }),
                        "DD" => Some(Piece::Day { exact: true }),
                        "D" => Some(Piece::Day { exact: false }),
                        _ => None,
                    })
                    .collect();
                let Some(tokens) = tokens else {
                    return Err(format!(
                        "`{letters}` is not a token of `{text}`; use {TOKENS} (upper case) \
                         between separators, such as MM/DD/YYYY or DD.MM.YYYY"
                    ));
                };
                pieces.extend(tokens);
            } else if SEPARATORS.contains(c) {
                pieces.push(Piece::Literal(c));
            } else {
                return Err(format!(
                    "`{}` in `{text}` is neither a token nor a separator; use {TOKENS} between \
                     the separators - / . , or a space",
                    c.escape_debug()
                ));
            }
        }
        let count = |wanted: fn(&Piece) -> bool| pieces.iter().filter(|p| wanted(p)).count();
        for (name, token, found) in [
            ("year", "YYYY", count(|p| matches!(p, Piece::Year))),
            (
                "month",
                "MM or M",
                count(|p| matches!(p, Piece::Month { .. })),
            ),
            ("day", "DD or D", count(|p| matches!(p, Piece::Day { .. }))),
        ] {
            if found != 1 {
                return Err(format!(
                    "`{text}` has {found} {name} tokens; a format has exactly one {name} ({token})"
                ));
            }
        }
        let runs_on = pieces.windows(2).any(|pair| {
            matches!(
                pair[0],
                Piece::Month { exact: false } | Piece::Day { exact: false }
            ) && !matches!(pair[1], Piece::Literal(_))
        });
        if runs_on {
            return Err(format!(
                "`{text}`: M or D (one or two digits) must be followed by a separator, or it is \
                 not clear where it ends; use MM or DD"
            ));
        }
        Ok(DateFormat {
            text: text.to_owned(),
            pieces,
        })
    }

    /// The format as the spec writes it.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// `None` when the value does not have the format's shape; else the day it names, or
    /// `Err` when it names none.
    fn read(&self, value: &str) -> Option<Result<Date, ()>> {
        let mut rest = value.as_bytes();
        let (mut year, mut month, mut day) = (0, 0, 0);
        for piece in &self.pieces {
            let (number, min, max) = match piece {
                Piece::Literal(c) => {
                    let mut buffer = [0; 4];
                    rest = rest.strip_prefix(c.encode_utf8(&mut buffer).as_bytes())?;
                    continue;
                }
                Piece::Year => (&mut year, 4, 4),
                Piece::Month { exact } => (&mut month, if *exact { 2 } else { 1 }, 2),
                Piece::Day { exact } => (&mut day, if *exact { 2 } else { 1 }, 2),
            };
            let digits = rest
                .iter()
                .take(max)
                .take_while(|b| b.is_ascii_digit())
                .count();
            if digits < min {
                return None;
            }
            *number = rest[..digits]
                .iter()
                .fold(0i16, |n, b| n * 10 + i16::from(b - b'0'));
            rest = &rest[digits..];
        }
        if !rest.is_empty() {
            return None;
        }
        let (Ok(month), Ok(day)) = (i8::try_from(month), i8::try_from(day)) else {
            return Some(Err(()));
        };
        Some(Date::new(year, month, day).map_err(|_| ()))
    }
}

/// `YYYYMMDD` as `YYYY`, `MM`, `DD`.
fn same_letter_runs(letters: &str) -> impl Iterator<Item = &str> {
    let mut rest = letters;
    std::iter::from_fn(move || {
        let first = rest.chars().next()?;
        let end = rest.find(|c| c != first).unwrap_or(rest.len());
        let (run, after) = rest.split_at(end);
        rest = after;
        Some(run)
    })
}

/// The formats of a source, tried in order.
#[derive(Clone, Debug, PartialEq)]
pub struct DateFormats(Vec<DateFormat>);

impl DateFormats {
    /// Compiles every format; the errors name each bad one by its index.
    pub fn compile(texts: &[String]) -> Result<DateFormats, Vec<(usize, String)>> {
        let mut formats = Vec::new();
        let mut problems = Vec::new();
        for (index, text) in texts.iter().enumerate() {
            match DateFormat::compile(text) {
                Ok(format) => formats.push(format),
                Err(problem) => problems.push((index, problem)),
            }
        }
        if problems.is_empty() {
            Ok(DateFormats(formats))
        } else {
            Err(problems)
        }
    }

    /// The formats as the spec writes them, for messages: `MM/DD/YYYY or M/D/YYYY`.
    pub fn describe(&self) -> String {
        let texts: Vec<&str> = self.0.iter().map(DateFormat::text).collect();
        texts.join(" or ")
    }

    /// The day `value` names under the formats: every format that reads it must read the
    /// same day.
    pub fn read(&self, value: &str) -> Result<Date, DateProblem> {
        let mut read: Option<(&DateFormat, Date)> = None;
        let mut no_such_day = None;
        for format in &self.0 {
            match format.read(value) {
                None => {}
                Some(Err(())) => {
                    no_such_day.get_or_insert(format);
                }
                Some(Ok(date)) => match read {
                    None => read = Some((format, date)),
                    Some((first, day)) if day != date => {
                        return Err(DateProblem::Ambiguous(
                            first.text.clone(),
                            format.text.clone(),
                        ));
                    }
                    Some(_) => {}
                },
            }
        }
        match (read, no_such_day) {
            (Some((_, date)), _) => Ok(date),
            (None, Some(format)) => Err(DateProblem::NoSuchDay(format.text.clone())),
            (None, None) => Err(DateProblem::Unreadable),
        }
    }
}

impl Default for DateFormats {
    /// `YYYY-MM-DD` alone.
    fn default() -> Self {
        DateFormats(vec![
            DateFormat::compile("YYYY-MM-DD").expect("the default format compiles"),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn formats(texts: &[&str]) -> DateFormats {
        DateFormats::compile(&texts.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn each_token_reads_its_digits() {
        let cases = [
            ("YYYY-MM-DD", "2026-03-04", date(2026, 3, 4)),
            ("MM/DD/YYYY", "03/04/2026", date(2026, 3, 4)),
            ("M/D/YYYY", "3/4/2026", date(2026, 3, 4)),
            ("M/D/YYYY", "12/31/2026", date(2026, 12, 31)),
            ("DD.MM.YYYY", "04.03.2026", date(2026, 3, 4)),
            ("DD-MM-YYYY", "04-03-2026", date(2026, 3, 4)),
            ("D. M. YYYY", "4. 3. 2026", date(2026, 3, 4)),
            ("YYYYMMDD", "20260304", date(2026, 3, 4)),
        ];
        for (format, value, day) in cases {
            assert_eq!(formats(&[format]).read(value), Ok(day), "{format} {value}");
        }
    }

    #[test]
    fn widths_are_strict() {
        for (format, value) in [
            ("MM/DD/YYYY", "3/4/2026"),
            ("M/D/YYYY", "3/4/26"),
            ("M/D/YYYY", "003/4/2026"),
            ("YYYY-MM-DD", "2026-03-04T00:00:00"),
            ("YYYY-MM-DD", " 2026-03-04"),
            ("DD.MM.YYYY", "04/03/2026"),
            ("YYYY-MM-DD", ""),
        ] {
            assert_eq!(
                formats(&[format]).read(value),
                Err(DateProblem::Unreadable),
                "{format} {value}"
            );
        }
    }

    #[test]
    fn a_shape_that_names_no_day_says_so() {
        assert_eq!(
            formats(&["YYYY-MM-DD"]).read("2026-02-30"),
            Err(DateProblem::NoSuchDay("YYYY-MM-DD".into()))
        );
        assert_eq!(
            formats(&["MM/DD/YYYY"]).read("13/01/2026"),
            Err(DateProblem::NoSuchDay("MM/DD/YYYY".into()))
        );
    }

    #[test]
    fn two_formats_reading_different_days_are_ambiguous_the_same_day_is_not() {
        let us_and_european = formats(&["MM/DD/YYYY", "DD/MM/YYYY"]);
        assert_eq!(
            us_and_european.read("03/04/2026"),
            Err(DateProblem::Ambiguous(
                "MM/DD/YYYY".into(),
                "DD/MM/YYYY".into()
            ))
        );
        // Only one of them names a day, or both name the same one.
        assert_eq!(us_and_european.read("03/14/2026"), Ok(date(2026, 3, 14)));
        assert_eq!(us_and_european.read("14/03/2026"), Ok(date(2026, 3, 14)));
        assert_eq!(us_and_european.read("04/04/2026"), Ok(date(2026, 4, 4)));
        // Formats of different shapes never compete.
        let iso_or_us = formats(&["YYYY-MM-DD", "M/D/YYYY", "MM/DD/YYYY"]);
        assert_eq!(iso_or_us.read("2026-03-04"), Ok(date(2026, 3, 4)));
        assert_eq!(iso_or_us.read("03/04/2026"), Ok(date(2026, 3, 4)));
    }

    #[test]
    fn bad_formats_are_refused_with_the_fix() {
        let problem = |text: &str| DateFormat::compile(text).unwrap_err();
        assert_eq!(
            problem("YY/MM/DD"),
            "`YY` is not a token of `YY/MM/DD`; use YYYY, MM, M, DD, D (upper case) between \
             separators, such as MM/DD/YYYY or DD.MM.YYYY"
        );
        assert!(problem("yyyy-mm-dd").starts_with("`yyyy` is not a token"));
        assert!(problem("DD-MMM-YYYY").starts_with("`MMM` is not a token"));
        assert!(problem("MMDDYY").starts_with("`MMDDYY` is not a token"));
        assert!(problem("%Y-%m-%d").starts_with("`%` in `%Y-%m-%d` is neither"));
        assert!(problem("DD.MM.2026").starts_with("`2` in"));
        assert_eq!(
            problem("MM/DD"),
            "`MM/DD` has 0 year tokens; a format has exactly one year (YYYY)"
        );
        assert!(problem("DD/MM/YYYY/MM").starts_with("`DD/MM/YYYY/MM` has 2 month tokens"));
        assert!(problem("YYYYMD").contains("must be followed by a separator"));
        assert!(problem("").contains("0 year tokens"));
        let bad = DateFormats::compile(&["MM/DD/YYYY".into(), "DD/MMM/YYYY".into()]);
        assert_eq!(bad.unwrap_err()[0].0, 1);
    }
}
