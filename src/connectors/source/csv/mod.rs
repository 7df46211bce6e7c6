//! CSV source: one employee per row, under a header of canonical field names or of an HR
//! system's or spreadsheet's own (read through `spec.source.csv.fieldMap`), with dates in the
//! formats of `dateFormats`, in the character encoding of `encoding`.
//!
//! A bad header, or text that is not in the file's encoding, fails the whole file (a misspelt
//! column would silently drop data); a bad row is reported with its line number and the rest
//! are still read.

mod dates;
mod encoding;
mod header;
mod row;

use std::path::PathBuf;

use async_trait::async_trait;
use compact_str::CompactString;
use futures::stream::{self, BoxStream, StreamExt};
use serde_json::Value;

use self::{
    dates::DateFormats,
    header::{Header, Layout, is_custom_name},
};
pub use self::{
    encoding::decode,
    header::{COLUMNS, REQUIRED_COLUMNS},
};
use super::{RetryDelays, SourceConnector};
use crate::{
    connectors::ConnectorContext,
    crd::{ConfigMapKeyRef, CsvEncoding, CsvSource as CsvSpec, SecretKeyRef, SourceStatus},
    sync::{
        model::RecordError,
        policy::SpecError,
        ports::source::{Source, SourceError, SourceField, SourcePage},
    },
};

/// How a file is read: delimiter, encoding, which column feeds which field, the status words
/// and the date formats.
#[derive(Clone, Debug, PartialEq)]
pub struct CsvFormat {
    delimiter: u8,
    encoding: CsvEncoding,
    layout: Layout,
    dates: DateFormats,
}

impl CsvFormat {
    /// A header of canonical names, dates as `YYYY-MM-DD`, UTF-8.
    pub fn canonical(delimiter: u8) -> CsvFormat {
        CsvFormat {
            delimiter,
            encoding: CsvEncoding::Utf8,
            layout: Layout::new(&Default::default()),
            dates: DateFormats::default(),
        }
    }

    /// The format a spec describes; the errors name the field map entries and date formats at
    /// fault.
    pub fn from_spec(spec: &CsvSpec) -> Result<CsvFormat, Vec<SpecError>> {
        let problems = format_problems(spec);
        match DateFormats::compile(&spec.date_formats) {
            Ok(dates) if problems.is_empty() => Ok(CsvFormat {
                delimiter: spec.delimiter.as_bytes().first().copied().unwrap_or(b','),
                encoding: spec.encoding,
                layout: Layout::new(&spec.field_map),
                dates,
            }),
            // The date formats' problems are among `problems`.
            _ => Err(problems),
        }
    }
}

/// Reads employees from a CSV file (a ConfigMap or Secret key is a mounted file too).
#[derive(Clone, Debug)]
pub struct CsvSource {
    path: PathBuf,
    format: CsvFormat,
    reference_employee_id: Option<String>,
}

impl CsvSource {
    /// A source reading `path` in `format`.
    pub fn new(path: PathBuf, format: CsvFormat) -> Self {
        Self {
            path,
            format,
            reference_employee_id: None,
        }
    }

    /// The source a spec names: its file, or the mounted file of its ConfigMap or Secret key.
    pub fn from_spec(spec: &CsvSpec, context: &ConnectorContext) -> Result<Self, SourceError> {
        let path = match (&spec.path, &spec.config_map_ref, &spec.secret_ref) {
            (Some(path), None, None) => context.resolve_path(path),
            (None, Some(config_map), None) => context
                .config_maps
                .path(config_map)
                .map_err(|e| SourceError::Unavailable(e.to_string()))?,
            (None, None, Some(secret)) => context.secrets.path(secret)?,
            _ => {
                return Err(SourceError::InvalidInput(
                    "spec.source.csv takes exactly one of path, configMapRef, secretRef".into(),
                ));
            }
        };
        let format = CsvFormat::from_spec(spec).map_err(|problems| {
            let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
            SourceError::InvalidInput(lines.join("\n"))
        })?;
        Ok(Self {
            path,
            format,
            reference_employee_id: spec.reference_employee_id.clone(),
        })
    }

    async fn read(&self) -> Result<Vec<u8>, SourceError> {
        tokio::fs::read(&self.path).await.map_err(|e| {
            SourceError::Unavailable(format!("cannot read {}: {e}", self.path.display()))
        })
    }
}

/// Problems of the settings that say how the file is read: the field map, the date formats.
fn format_problems(spec: &CsvSpec) -> Vec<SpecError> {
    let mut problems = Vec::new();
    let mut error = |field: String, message: String| {
        problems.push(SpecError { field, message });
    };
    if spec.date_formats.is_empty() {
        error(
            "spec.source.csv.dateFormats".into(),
            "lists no format; leave it out for YYYY-MM-DD, or list the file's, such as \
             [MM/DD/YYYY]"
                .into(),
        );
    }
    if let Err(bad) = DateFormats::compile(&spec.date_formats) {
        for (index, message) in bad {
            error(format!("spec.source.csv.dateFormats[{index}]"), message);
        }
    }
    let map = &spec.field_map;
    for (canonical, set) in [
        ("id", &map.id),
        ("firstName", &map.first_name),
        ("lastName", &map.last_name),
        ("employmentStatus", &map.employment_status),
    ] {
        if set
            .as_deref()
            .is_some_and(|column| column.trim().is_empty())
        {
            error(
                format!("spec.source.csv.fieldMap.{canonical}"),
                format!(
                    "is empty, but every CSV needs a column for {canonical}; name the file's \
                     column, or leave the entry out to read the column `{canonical}`"
                ),
            );
        }
    }
    for (name, column) in &map.custom_fields {
        let field = format!("spec.source.csv.fieldMap.customFields.{name}");
        if !is_custom_name(name) {
            error(
                field,
                "is not a custom field name; use letters and dots between names, such as \
                 costCenter or address.city"
                    .into(),
            );
        } else if column.trim().is_empty() {
            error(field, "names no column; name the file's column".into());
        }
    }
    let mut seen: Vec<(String, &str, SourceStatus)> = Vec::new();
    for (word, status) in &map.status_values {
        let folded = word.trim().to_lowercase();
        if folded.is_empty() {
            error(
                "spec.source.csv.fieldMap.statusValues".into(),
                "has an empty status word; remove it".into(),
            );
            continue;
        }
        if let Some((_, other, _)) = seen
            .iter()
            .find(|(known, _, meaning)| *known == folded && meaning != status)
        {
            error(
                "spec.source.csv.fieldMap.statusValues".into(),
                format!(
                    "`{other}` and `{word}` are the same word (case is ignored) but mean \
                     different statuses; keep one"
                ),
            );
        }
        seen.push((folded, word, *status));
    }
    problems
}

/// What the operator knows of a `csv` source.
#[async_trait]
impl SourceConnector for CsvSpec {
    fn secret_refs(&self) -> Vec<&SecretKeyRef> {
        self.secret_ref.iter().collect()
    }

    fn config_map_refs(&self) -> Vec<&ConfigMapKeyRef> {
        self.config_map_ref.iter().collect()
    }

    fn validate(&self) -> Vec<SpecError> {
        let mut problems = Vec::new();
        let mut error = |field: &str, message: String| {
            problems.push(SpecError {
                field: field.into(),
                message,
            });
        };
        if self.delimiter.len() != 1 {
            error(
                "spec.source.csv.delimiter",
                format!(
                    "`{}` is not a single ASCII character; use for example \",\" or \";\"",
                    self.delimiter
                ),
            );
        }
        let inputs = [
            self.path.is_some(),
            self.config_map_ref.is_some(),
            self.secret_ref.is_some(),
        ];
        if inputs.iter().filter(|set| **set).count() != 1 {
            error(
                "spec.source.csv",
                "set exactly one of path, configMapRef, secretRef".into(),
            );
        } else if self.path.as_deref().is_some_and(|p| p.trim().is_empty()) {
            error("spec.source.csv.path", "must name the CSV file".into());
        }
        problems.extend(format_problems(self));
        problems
    }

    async fn build(
        &self,
        context: &ConnectorContext,
        _delays: RetryDelays,
    ) -> Result<Box<dyn Source>, SourceError> {
        Ok(Box::new(CsvSource::from_spec(self, context)?))
    }
}

#[async_trait]
impl Source for CsvSource {
    async fn check(&self) -> Result<(), SourceError> {
        tokio::fs::metadata(&self.path)
            .await
            .map(|_| ())
            .map_err(|e| {
                SourceError::Unavailable(format!("cannot read {}: {e}", self.path.display()))
            })
    }

    fn pages(&self) -> BoxStream<'_, Result<SourcePage, SourceError>> {
        stream::once(async move {
            let bytes = self.read().await?;
            parse(&bytes, &self.format)
        })
        .boxed()
    }

    async fn fields(&self) -> Result<Vec<SourceField>, SourceError> {
        let bytes = self.read().await?;
        fields(&bytes, &self.format, self.reference_employee_id.as_deref())
    }
}

fn reader<'a>(text: &'a str, format: &CsvFormat, flexible: bool) -> ::csv::Reader<&'a [u8]> {
    ::csv::ReaderBuilder::new()
        .delimiter(format.delimiter)
        .has_headers(true)
        .flexible(flexible)
        .from_reader(text.as_bytes())
}

/// The header's column names, trimmed.
fn header_names(reader: &mut ::csv::Reader<&[u8]>) -> Result<Vec<String>, SourceError> {
    let header = reader
        .byte_headers()
        .map_err(|e| SourceError::InvalidInput(format!("cannot read the CSV header: {e}")))?;
    header
        .iter()
        .enumerate()
        .map(|(index, raw)| {
            std::str::from_utf8(raw)
                .map(|name| name.trim().to_owned())
                .map_err(|_| {
                    SourceError::InvalidInput(format!(
                        "CSV header column {} is not valid UTF-8; the delimiter may split a \
                         character: use an ASCII delimiter",
                        index + 1
                    ))
                })
        })
        .collect()
}

/// Every column of the header with the canonical fields it feeds (none: `-`), with examples
/// from the row of `reference` (else the first row); then the columns the spec reads that the
/// header lacks, as not found.
pub fn fields(
    bytes: &[u8],
    format: &CsvFormat,
    reference: Option<&str>,
) -> Result<Vec<SourceField>, SourceError> {
    let text = decode(bytes, format.encoding)?;
    let mut reader = reader(&text, format, true);
    let names = header_names(&mut reader)?;
    let (feeds, absent) = format.layout.feeds(&names);
    let id_index = feeds
        .iter()
        .position(|fed| fed.iter().any(|field| field == "id"));
    let mut example = None;
    for record in reader.byte_records() {
        let Ok(record) = record else { continue };
        let id = id_index
            .and_then(|i| record.get(i))
            .map(|raw| String::from_utf8_lossy(raw).trim().to_owned());
        if reference.is_none() || id.as_deref() == reference {
            example = Some(record);
            break;
        }
    }
    if let (None, Some(id)) = (&example, reference) {
        return Err(super::unknown_reference_employee(
            "csv",
            id,
            "the CSV has no row with that id",
        ));
    }
    let listed = names
        .into_iter()
        .zip(feeds)
        .enumerate()
        .map(|(index, (name, fed))| SourceField {
            name,
            feeds: (!fed.is_empty()).then(|| fed.join(", ")),
            example: example
                .as_ref()
                .and_then(|r| r.get(index))
                .map(|raw| String::from_utf8_lossy(raw).trim().to_owned())
                .filter(|v| !v.is_empty())
                .map(Value::String),
            found: true,
        });
    let missing = absent.into_iter().map(|(column, field)| SourceField {
        name: column,
        feeds: Some(field),
        example: None,
        found: false,
    });
    Ok(listed.chain(missing).collect())
}

/// Parses a whole CSV document.
pub fn parse(bytes: &[u8], format: &CsvFormat) -> Result<SourcePage, SourceError> {
    let text = decode(bytes, format.encoding)?;
    let mut reader = reader(&text, format, false);
    let header = format.layout.bind(header_names(&mut reader)?)?;
    let mut page = SourcePage::default();
    let mut record = ::csv::ByteRecord::new();
    loop {
        let line = reader.position().line() + 1;
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map_or(line, |p| p.line());
                match row::read_row(&record, &header, format, line) {
                    Ok(employee) => page.employees.push(employee),
                    Err(error) => page.errors.push(error),
                }
            }
            Err(error) => {
                let line = error.position().map_or(line, |p| p.line());
                page.errors
                    .push(malformed_row(&error, &record, &header, line)?);
            }
        }
    }
    Ok(page)
}

/// The error of a record the reader refused (a row of the wrong length).
fn malformed_row(
    error: &::csv::Error,
    record: &::csv::ByteRecord,
    header: &Header,
    line: u64,
) -> Result<RecordError, SourceError> {
    // A row of the wrong length still names its employee when the id column is there, so that
    // employee's user is protected rather than treated as absent.
    let employee_id = header
        .index("id")
        .and_then(|i| record.get(i))
        .and_then(|raw| std::str::from_utf8(raw).ok())
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(CompactString::from);
    let message = match error.kind() {
        ::csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("has {len} fields, the header has {expected_len}"),
        ::csv::ErrorKind::Io(e) => {
            return Err(SourceError::Unavailable(format!(
                "cannot read the CSV: {e}"
            )));
        }
        _ => error.to_string(),
    };
    Ok(RecordError {
        line: Some(line),
        employee_id,
        field: None,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::model::{EmailType, EmploymentStatus};
    use jiff::civil::date;
    use serde_json::json;

    fn comma() -> CsvFormat {
        CsvFormat::canonical(b',')
    }

    const HEADER: &str = "id,firstName,lastName,workEmail,personalEmail,employmentStatus,startDate,endDate,managerId,department,customFields.cost.center\n";

    #[test]
    fn reads_every_column_into_the_canonical_employee() {
        let csv = format!(
            "{HEADER}7,Ada,Lovelace,ada@corp.example,ada@home.example,leave,2024-02-01,,3,R&D,4410\n"
        );
        let page = parse(csv.as_bytes(), &comma()).unwrap();
        assert_eq!(page.errors, vec![]);
        let e = &page.employees[0];
        assert_eq!(e.id, "7");
        assert_eq!(e.employment_status, EmploymentStatus::Leave);
        assert_eq!(e.start_date, Some(date(2024, 2, 1)));
        assert_eq!(e.end_date, None);
        assert_eq!(e.manager_id.as_deref(), Some("3"));
        assert_eq!(e.emails.len(), 2);
        assert_eq!(e.emails[1].kind, EmailType::Personal);
        assert_eq!(
            e.custom_fields.get("cost"),
            Some(&json!({"center": "4410"}))
        );
    }

    #[test]
    fn bad_rows_are_reported_by_line_and_the_rest_still_read() {
        let csv = format!(
            "{HEADER}1,A,B,a@x.example,,Active,2024-01-01,,,,\n\
             2,C,D,c@x.example,,Retired,2024-01-01,,,,\n\
             3,E,F,e@x.example,,Active,2024-13-01,,,,\n\
             4,G,H\n\
             ,I,J,i@x.example,,Active,,,,,\n\
             6,K,L,not-an-email,,Active,,,,,\n\
             7,M,N,m@x.example,,Active,,,,,\n"
        );
        let page = parse(csv.as_bytes(), &comma()).unwrap();
        let ids: Vec<_> = page.employees.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["1", "7"]);
        let summary: Vec<_> = page
            .errors
            .iter()
            .map(|e| (e.line, e.employee_id.as_deref(), e.field.as_deref()))
            .collect();
        assert_eq!(
            summary,
            [
                (Some(3), Some("2"), Some("employmentStatus")),
                (Some(4), Some("3"), Some("startDate")),
                (Some(5), Some("4"), None),
                (Some(6), None, Some("id")),
                (Some(7), Some("6"), Some("workEmail")),
            ]
        );
        assert!(page.errors[0].message.contains("`Retired` is not a status"));
        assert!(
            page.errors[2]
                .message
                .contains("has 3 fields, the header has 11")
        );
    }

    const SIMPLE_HEADER: &str = "id,firstName,lastName,workEmail,employmentStatus,startDate\n";

    fn simple_row(id: u32, first: &str) -> String {
        format!("{id},{first},Test,e{id}@x.example,Active,2020-01-01\n")
    }

    #[test]
    fn a_stray_quote_that_merges_rows_is_one_row_error_not_one_employee() {
        // Line 3 opens a quote in the first name that the quoted first name on line 8 closes:
        // lines 3 to 8 are read as one record with the header's number of fields, the people
        // of lines 4 to 7 inside a first name.
        let mut csv = SIMPLE_HEADER.to_owned();
        csv += &simple_row(1, "Ada"); // line 2
        csv += "2,\"Bo,Test,e2@x.example,Active,2020-01-01\n"; // line 3
        for id in 3..=6 {
            csv += &simple_row(id, "Cy"); // lines 4 to 7
        }
        csv += "7,\"Gus\",Test,e7@x.example,Active,2020-01-01\n"; // line 8
        csv += &simple_row(8, "Hal"); // line 9
        let page = parse(csv.as_bytes(), &comma()).unwrap();
        let ids: Vec<_> = page.employees.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["1", "8"], "the merged record is no employee");
        assert_eq!(page.errors.len(), 1, "{:?}", page.errors);
        let error = &page.errors[0];
        assert_eq!(error.line, Some(3));
        assert_eq!(error.employee_id, None, "the record is several people's");
        assert_eq!(error.field.as_deref(), Some("firstName"));
        assert_eq!(
            error.message,
            "firstName holds a line break; a stray quote may have merged rows — fix the row"
        );
    }

    #[test]
    fn a_line_break_in_any_one_line_field_is_a_row_error() {
        let header = "id,firstName,lastName,preferredName,workEmail,personalEmail,employmentStatus,startDate,endDate,department\n";
        let good = [
            "9",
            "Ada",
            "Test",
            "Addie",
            "a@x.example",
            "a@home.example",
            "Active",
            "2020-01-01",
            "2030-01-01",
            "Ops",
        ];
        for (index, field) in header.trim().split(',').enumerate() {
            let mut values: Vec<String> = good.iter().map(|v| (*v).to_owned()).collect();
            values[index] = format!("\"{}\nx\"", good[index]);
            let csv = format!("{header}{}\n", values.join(","));
            let page = parse(csv.as_bytes(), &comma()).unwrap();
            if field == "department" {
                // Free text may hold several lines (an address, say).
                assert_eq!(page.errors, vec![], "{field}");
                continue;
            }
            assert_eq!(page.employees, vec![], "{field}");
            let error = &page.errors[0];
            assert_eq!(error.field.as_deref(), Some(field));
            assert!(
                error
                    .message
                    .starts_with(&format!("{field} holds a line break"))
            );
            assert_eq!(error.employee_id, None, "{field}");
        }
        // A carriage return alone counts too; one at the end of a value is trimmed away.
        let csv = format!(
            "{SIMPLE_HEADER}1,\"A\rda\",T,a@x.example,Active,\n2,\"Bo\r\n\",T,b@x.example,Active,\n"
        );
        let page = parse(csv.as_bytes(), &comma()).unwrap();
        assert_eq!(page.errors.len(), 1);
        assert_eq!(page.errors[0].line, Some(2));
        assert_eq!(page.employees[0].first_name, "Bo");
    }

    #[test]
    fn a_truncated_last_row_and_a_row_with_another_delimiter_are_row_errors() {
        let csv = format!(
            "{SIMPLE_HEADER}{}3;Cy;Test;e3@x.example;Active;2020-01-01\n{}4,Dan,Te",
            simple_row(1, "Ada"),
            simple_row(2, "Bo")
        );
        let page = parse(csv.as_bytes(), &comma()).unwrap();
        let ids: Vec<_> = page.employees.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["1", "2"]);
        let summary: Vec<_> = page
            .errors
            .iter()
            .map(|e| (e.line, e.message.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                (Some(3), "has 1 fields, the header has 6"),
                (Some(5), "has 3 fields, the header has 6"),
            ]
        );
        // Cut inside a quoted value: the open quote runs to the end of the file.
        let cut = format!("{SIMPLE_HEADER}{}2,\"Bo", simple_row(1, "Ada"));
        let page = parse(cut.as_bytes(), &comma()).unwrap();
        assert_eq!(page.employees.len(), 1);
        assert_eq!(page.errors.len(), 1, "{:?}", page.errors);
        assert_eq!(page.errors[0].line, Some(3));
    }

    #[test]
    fn addresses_are_validated_without_quoting_them() {
        let header = "id,firstName,lastName,workEmail,personalEmail,employmentStatus\n";
        let accepted = [
            "josé@acme.example",
            "anna@xn--bcher-kva.example",
            "anna@bücher.example",
            "first.last+tag@acme.example",
        ];
        for address in accepted {
            let csv = format!("{header}1,A,B,{address},,Active\n");
            let page = parse(csv.as_bytes(), &comma()).unwrap();
            assert_eq!(page.errors, vec![], "{address}");
            assert_eq!(page.employees[0].emails[0].address, address);
        }
        for address in ["@", "a@b@c", "john smith@acme.example", "anna@"] {
            let csv = format!("{header}1,A,B,a@x.example,{address},Active\n");
            let page = parse(csv.as_bytes(), &comma()).unwrap();
            assert_eq!(page.employees, vec![], "{address}");
            let error = &page.errors[0];
            assert_eq!(error.field.as_deref(), Some("personalEmail"), "{address}");
            assert!(
                error
                    .message
                    .starts_with("personalEmail is not an email address: "),
                "{address}: {}",
                error.message
            );
            assert!(!error.message.contains("acme"), "{}", error.message);
            assert!(!error.message.contains("smith"), "{}", error.message);
        }
    }

    #[test]
    fn bytes_that_are_not_utf8_fail_the_file_naming_the_line() {
        let mut csv = HEADER.as_bytes().to_vec();
        csv.extend_from_slice(
            b"1,A,B,a@x.example,,Active,,,,,\n2,J\xf6rg,B,j@x.example,,Active,,,,,\n",
        );
        let error = parse(&csv, &comma()).unwrap_err();
        assert_eq!(error.category(), "InvalidSourceData");
        assert!(
            error.to_string().starts_with(
                "the CSV is not UTF-8 text (line 3 holds a byte that is not UTF-8): set \
                 spec.source.csv.encoding"
            ),
            "{error}"
        );
    }

    #[test]
    fn a_bad_header_fails_the_whole_file_naming_the_column() {
        let unknown = parse(
            b"id,firstName,lastName,employmentStatus,departmnt\n",
            &comma(),
        );
        let message = unknown.unwrap_err().to_string();
        assert!(
            message.contains("column 5 `departmnt` is not a canonical field"),
            "{message}"
        );
        let missing = parse(b"id,firstName,lastName\n", &comma())
            .unwrap_err()
            .to_string();
        assert!(
            missing.contains("required column `employmentStatus`"),
            "{missing}"
        );
        let twice = parse(b"id,id,firstName,lastName,employmentStatus\n", &comma());
        assert!(twice.unwrap_err().to_string().contains("`id` twice"));
    }

    #[test]
    fn fields_list_the_header_with_the_reference_row_as_example() {
        let csv = "id,firstName,lastName,employmentStatus,customFields.shirt\n1,A,B,Active,\n2,C,D,Leave,M\n";
        let listed = |reference| {
            fields(csv.as_bytes(), &comma(), reference)
                .unwrap()
                .into_iter()
                .map(|f| (f.name, f.example))
                .collect::<Vec<_>>()
        };
        let first = listed(None);
        assert_eq!(first[1], ("firstName".to_owned(), Some(json!("A"))));
        assert_eq!(first[4], ("customFields.shirt".to_owned(), None));
        let second = listed(Some("2"));
        assert_eq!(
            second[4],
            ("customFields.shirt".to_owned(), Some(json!("M")))
        );
    }

    #[test]
    fn delimiter_and_bom_are_handled() {
        let csv = "\u{feff}id;firstName;lastName;employmentStatus\n1;A;B;active\n";
        let page = parse(csv.as_bytes(), &CsvFormat::canonical(b';')).unwrap();
        assert_eq!(page.errors, vec![]);
        assert_eq!(page.employees[0].first_name, "A");
    }

    /// The format of a `csv` spec written in YAML (its `path` is filled in).
    fn format(yaml: &str) -> CsvFormat {
        let spec: CsvSpec = serde_saphyr::from_str(yaml).unwrap();
        CsvFormat::from_spec(&spec).unwrap()
    }

    const EXPORT: &str = "{fieldMap: {id: 'Employee #', firstName: 'First Name', \
        lastName: 'Last Name', workEmail: 'Work Email', employmentStatus: Status, \
        startDate: 'Hire Date', endDate: 'Termination Date', managerId: 'Reports To', \
        customFields: {costCenter: 'Cost Center'}, \
        statusValues: {Terminated: Inactive, 'On Leave': Leave}}, \
        dateFormats: [M/D/YYYY, YYYY-MM-DD]}";

    #[test]
    fn an_export_reads_as_the_canonical_file_of_the_same_people() {
        let canonical = "id,firstName,lastName,workEmail,employmentStatus,startDate,endDate,\
                         managerId,customFields.costCenter\n\
                         7,Ada,Lovelace,ada@corp.example,Leave,2024-02-01,,3,CC-1\n\
                         8,Bo,Berg,bo@corp.example,Inactive,2019-12-31,2026-01-15,,\n";
        // Other column order, other names, US dates, the HR system's status words, and a
        // column the spec does not read.
        let export = "Status,Notes,Employee #,Last Name,First Name,Hire Date,Termination Date,\
                      Work Email,Reports To,Cost Center\n\
                      ON LEAVE,x,7,Lovelace,Ada,2/1/2024,,ada@corp.example,3,CC-1\n\
                      terminated,,8,Berg,Bo,12/31/2019,2026-01-15,bo@corp.example,,\n";
        let expected = parse(canonical.as_bytes(), &comma()).unwrap();
        assert_eq!(expected.errors, vec![]);
        let read = parse(export.as_bytes(), &format(EXPORT)).unwrap();
        assert_eq!(read, expected);
    }

    #[test]
    fn an_unknown_status_word_is_a_row_error_naming_the_column() {
        let export =
            "Employee #,First Name,Last Name,Status\n1,A,B,Active\n2,C,D,Retired\n3,E,F,\n";
        let format = format(
            "{fieldMap: {id: 'Employee #', firstName: 'First Name', lastName: 'Last Name', \
             employmentStatus: Status, statusValues: {Terminated: Inactive}}}",
        );
        let page = parse(export.as_bytes(), &format).unwrap();
        assert_eq!(page.employees.len(), 1);
        let errors: Vec<_> = page
            .errors
            .iter()
            .map(|e| {
                (
                    e.line,
                    e.employee_id.as_deref(),
                    e.field.as_deref(),
                    e.message.as_str(),
                )
            })
            .collect();
        assert_eq!(
            errors,
            [
                (
                    Some(3),
                    Some("2"),
                    Some("employmentStatus"),
                    "employmentStatus (column `Status`): `Retired` is not a status; use Active, \
                     Pending, Leave or Inactive, or map the word in \
                     spec.source.csv.fieldMap.statusValues"
                ),
                (
                    Some(4),
                    Some("3"),
                    Some("employmentStatus"),
                    "employmentStatus (column `Status`) is empty; every row needs a status"
                ),
            ]
        );
    }

    #[test]
    fn ambiguous_and_unreadable_dates_are_row_errors_that_never_show_the_date() {
        let format =
            format("{fieldMap: {startDate: 'Hire Date'}, dateFormats: [MM/DD/YYYY, DD/MM/YYYY]}");
        let csv = "id,firstName,lastName,employmentStatus,Hire Date,endDate\n\
                   1,A,B,Active,03/14/2026,\n\
                   2,C,D,Active,03/04/2026,\n\
                   3,E,F,Active,2026-03-04,\n\
                   4,G,H,Active,02/30/2026,\n\
                   5,I,J,Active,,04/04/2026\n";
        let page = parse(csv.as_bytes(), &format).unwrap();
        let ids: Vec<_> = page.employees.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["1", "5"]);
        assert_eq!(page.employees[0].start_date, Some(date(2026, 3, 14)));
        assert_eq!(page.employees[1].end_date, Some(date(2026, 4, 4)));
        let errors: Vec<_> = page
            .errors
            .iter()
            .map(|e| {
                (
                    e.employee_id.as_deref(),
                    e.field.as_deref(),
                    e.message.as_str(),
                )
            })
            .collect();
        assert_eq!(
            errors,
            [
                (
                    Some("2"),
                    Some("startDate"),
                    "startDate (column `Hire Date`) is ambiguous: MM/DD/YYYY and DD/MM/YYYY \
                     read it as different days; keep only the file's format in \
                     spec.source.csv.dateFormats"
                ),
                (
                    Some("3"),
                    Some("startDate"),
                    "startDate (column `Hire Date`) is not a date in the form MM/DD/YYYY or \
                     DD/MM/YYYY; list the file's date format in spec.source.csv.dateFormats"
                ),
                (
                    Some("4"),
                    Some("startDate"),
                    "startDate (column `Hire Date`) has the form MM/DD/YYYY but names no \
                     calendar day"
                ),
            ]
        );
    }

    #[test]
    fn a_missing_mapped_column_fails_the_file_naming_the_entry() {
        let export = "Employee #,First Name,Last Name,Status,Start Date,Work Email,Reports To,Cost Center,Termination Date\n1,A,B,Active,,,,,\n";
        let error = parse(export.as_bytes(), &format(EXPORT))
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with(
                "spec.source.csv.fieldMap.startDate: the CSV header has no column `Hire Date`\n\
                 The header has the columns: `Employee #`, `First Name`, `Last Name`, `Status`, \
                 `Start Date`,"
            ),
            "{error}"
        );
    }

    #[test]
    fn a_utf16_file_is_known_by_its_mark_whatever_the_encoding_says() {
        let text = "id,firstName,lastName,employmentStatus\n1,Zoë,Weiß,Active\n";
        let mut utf16 = vec![0xff, 0xfe];
        utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        for yaml in ["{}", "{encoding: UTF-16}", "{encoding: Windows-1252}"] {
            let page = parse(&utf16, &format(yaml)).unwrap();
            assert_eq!(page.errors, vec![], "{yaml}");
            assert_eq!(page.employees[0].last_name, "Weiß", "{yaml}");
        }
    }

    #[test]
    fn fields_show_what_each_column_of_an_export_feeds() {
        let export = "Employee #,First Name,Last Name,Status,Hire Date,Notes,Cost Center\n\
                      1,Ada,L,Active,2/1/2024,,CC-1\n";
        let listed: Vec<_> = fields(export.as_bytes(), &format(EXPORT), None)
            .unwrap()
            .into_iter()
            .map(|f| (f.name, f.feeds, f.found))
            .collect();
        let some = |s: &str| Some(s.to_owned());
        assert_eq!(
            listed,
            [
                ("Employee #".into(), some("id"), true),
                ("First Name".into(), some("firstName"), true),
                ("Last Name".into(), some("lastName"), true),
                ("Status".into(), some("employmentStatus"), true),
                ("Hire Date".into(), some("startDate"), true),
                ("Notes".into(), None, true),
                ("Cost Center".into(), some("customFields.costCenter"), true),
                // Named by the spec, not in the file: `fields` warns about these.
                ("Work Email".into(), some("workEmail"), false),
                ("Termination Date".into(), some("endDate"), false),
                ("Reports To".into(), some("managerId"), false),
            ]
        );
    }

    fn problems(yaml: &str) -> Vec<String> {
        let spec: CsvSpec = serde_saphyr::from_str(yaml).unwrap();
        spec.validate().iter().map(ToString::to_string).collect()
    }

    #[test]
    fn bad_formats_and_field_maps_are_spec_errors_naming_the_entry() {
        assert_eq!(
            problems("{path: e.csv, dateFormats: [MM/DD/YYYY, MM/DD/YY]}"),
            [
                "spec.source.csv.dateFormats[1]: `YY` is not a token of `MM/DD/YY`; use YYYY, MM, \
              M, DD, D (upper case) between separators, such as MM/DD/YYYY or DD.MM.YYYY"
            ]
        );
        assert_eq!(
            problems("{path: e.csv, dateFormats: []}")[0],
            "spec.source.csv.dateFormats: lists no format; leave it out for YYYY-MM-DD, or list \
             the file's, such as [MM/DD/YYYY]"
        );
        assert_eq!(
            problems(
                "{path: e.csv, fieldMap: {id: '', customFields: {'a..b': X, c: ''}, \
                 statusValues: {Gone: Inactive, GONE: Leave, gone: Inactive}}}"
            ),
            [
                "spec.source.csv.fieldMap.id: is empty, but every CSV needs a column for id; \
                 name the file's column, or leave the entry out to read the column `id`",
                "spec.source.csv.fieldMap.customFields.a..b: is not a custom field name; use \
                 letters and dots between names, such as costCenter or address.city",
                "spec.source.csv.fieldMap.customFields.c: names no column; name the file's column",
                "spec.source.csv.fieldMap.statusValues: `GONE` and `Gone` are the same word \
                 (case is ignored) but mean different statuses; keep one",
                "spec.source.csv.fieldMap.statusValues: `GONE` and `gone` are the same word \
                 (case is ignored) but mean different statuses; keep one",
            ]
        );
        assert!(problems(EXPORT.replacen('{', "{path: e.csv, ", 1).as_str()).is_empty());
    }
}
