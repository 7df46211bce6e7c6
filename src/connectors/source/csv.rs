//! CSV source: a header of canonical field names, one employee per row.
//!
//! A bad header fails the whole file (a misspelt column would silently drop data); a bad row is
//! reported with its line number and the rest are still read.

use std::path::PathBuf;

use async_trait::async_trait;
use compact_str::CompactString;
use futures::stream::{self, BoxStream, StreamExt};
use serde_json::Value;

use super::{
    RetryDelays, SourceConnector,
    values::{SINGLE_LINE_FIELDS, email_problem},
};
use crate::{
    connectors::ConnectorContext,
    crd::{ConfigMapKeyRef, CsvSource as CsvSpec, SecretKeyRef},
    sync::{
        model::{Email, EmailType, Employee, EmploymentStatus, RecordError},
        policy::{SpecError, parse_date, quoted},
        ports::source::{Source, SourceError, SourceField, SourcePage},
    },
};

/// The columns a CSV file may have, besides `customFields.<path>`.
pub const COLUMNS: [&str; 18] = [
    "id",
    "employeeNumber",
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
    "managerId",
    "department",
    "title",
    "location",
    "preferredLanguage",
];

/// Columns every file must have.
pub const REQUIRED_COLUMNS: [&str; 4] = ["id", "firstName", "lastName", "employmentStatus"];

/// Reads employees from a CSV file (a ConfigMap or Secret key is a mounted file too).
#[derive(Clone, Debug)]
pub struct CsvSource {
    path: PathBuf,
    delimiter: u8,
    reference_employee_id: Option<String>,
}

impl CsvSource {
    /// A source reading `path` with the given delimiter.
    pub fn new(path: PathBuf, delimiter: u8) -> Self {
        Self {
            path,
            delimiter,
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
        Ok(Self {
            path,
            delimiter: spec.delimiter.as_bytes().first().copied().unwrap_or(b','),
            reference_employee_id: spec.reference_employee_id.clone(),
        })
    }

    async fn read(&self) -> Result<Vec<u8>, SourceError> {
        tokio::fs::read(&self.path).await.map_err(|e| {
            SourceError::Unavailable(format!("cannot read {}: {e}", self.path.display()))
        })
    }
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
            parse(&bytes, self.delimiter)
        })
        .boxed()
    }

    async fn fields(&self) -> Result<Vec<SourceField>, SourceError> {
        let bytes = self.read().await?;
        fields(
            &bytes,
            self.delimiter,
            self.reference_employee_id.as_deref(),
        )
    }
}

/// The header's columns (each feeds the canonical field it names), with examples from the
/// row of `reference` (else the first row).
pub fn fields(
    bytes: &[u8],
    delimiter: u8,
    reference: Option<&str>,
) -> Result<Vec<SourceField>, SourceError> {
    let mut reader = ::csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .flexible(true)
        .from_reader(bytes);
    let header = reader
        .byte_headers()
        .map_err(|e| SourceError::InvalidInput(format!("cannot read the CSV header: {e}")))?
        .clone();
    parse_header(&header)?;
    let names: Vec<String> = header
        .iter()
        .map(|raw| String::from_utf8_lossy(raw).trim().to_owned())
        .collect();
    let id_index = names.iter().position(|n| n == "id");
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
    Ok(names
        .iter()
        .enumerate()
        .map(|(index, name)| SourceField {
            name: name.clone(),
            feeds: Some(name.clone()),
            example: example
                .as_ref()
                .and_then(|r| r.get(index))
                .map(|raw| String::from_utf8_lossy(raw).trim().to_owned())
                .filter(|v| !v.is_empty())
                .map(Value::String),
            found: true,
        })
        .collect())
}

#[derive(Clone, Debug)]
enum Column {
    Standard(&'static str),
    Custom(Vec<String>),
}

/// Parses a whole CSV document.
pub fn parse(bytes: &[u8], delimiter: u8) -> Result<SourcePage, SourceError> {
    let mut reader = ::csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .flexible(false)
        .from_reader(bytes);
    let header = reader
        .byte_headers()
        .map_err(|e| SourceError::InvalidInput(format!("cannot read the CSV header: {e}")))?
        .clone();
    let columns = parse_header(&header)?;
    let id_column = columns
        .iter()
        .position(|c| matches!(c, Column::Standard("id")));

    let mut page = SourcePage::default();
    let mut record = ::csv::ByteRecord::new();
    loop {
        let line = reader.position().line() + 1;
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map_or(line, |p| p.line());
                match parse_row(&record, &columns, line) {
                    Ok(employee) => page.employees.push(employee),
                    Err(error) => page.errors.push(error),
                }
            }
            Err(error) => {
                let line = error.position().map_or(line, |p| p.line());
                // A row of the wrong length still names its employee when the id column is
                // there, so that employee's user is protected rather than treated as absent.
                let employee_id = id_column
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
                page.errors.push(RecordError {
                    line: Some(line),
                    employee_id,
                    field: None,
                    message,
                });
            }
        }
    }
    Ok(page)
}

fn parse_header(header: &::csv::ByteRecord) -> Result<Vec<Column>, SourceError> {
    let mut columns = Vec::with_capacity(header.len());
    let mut names: Vec<&str> = Vec::with_capacity(header.len());
    for (index, raw) in header.iter().enumerate() {
        let name = std::str::from_utf8(raw)
            .map_err(|_| {
                SourceError::InvalidInput(format!(
                    "CSV header column {} is not valid UTF-8; save the file as UTF-8",
                    index + 1
                ))
            })?
            .trim();
        if names.contains(&name) {
            return Err(SourceError::InvalidInput(format!(
                "CSV header names column `{name}` twice (column {})",
                index + 1
            )));
        }
        names.push(name);
        let column = if let Some(standard) = COLUMNS.iter().find(|c| **c == name) {
            Column::Standard(standard)
        } else if let Some(path) = name.strip_prefix("customFields.")
            && !path.split('.').any(str::is_empty)
        {
            Column::Custom(path.split('.').map(str::to_owned).collect())
        } else {
            return Err(SourceError::InvalidInput(format!(
                "CSV header column {} `{name}` is not a canonical field; use one of {} or customFields.<name>",
                index + 1,
                COLUMNS.join(", ")
            )));
        };
        columns.push(column);
    }
    if let Some(missing) = REQUIRED_COLUMNS.iter().find(|c| !names.contains(c)) {
        return Err(SourceError::InvalidInput(format!(
            "CSV header lacks the required column `{missing}`: add a `{missing}` column to the \
             file's first line (required: {})",
            REQUIRED_COLUMNS.join(", ")
        )));
    }
    Ok(columns)
}

fn parse_row(
    record: &::csv::ByteRecord,
    columns: &[Column],
    line: u64,
) -> Result<Employee, RecordError> {
    let mut employee = Employee::new("", "", "", EmploymentStatus::Active);
    let mut status_seen = false;
    let error = |field: &str, message: String, id: &CompactString| RecordError {
        line: Some(line),
        employee_id: (!id.is_empty()).then(|| id.clone()),
        field: Some(field.to_owned()),
        message,
    };
    // The id first, so every later error can name it.
    for (column, raw) in columns.iter().zip(record.iter()) {
        if let Column::Standard("id") = column {
            let id = std::str::from_utf8(raw)
                .map_err(|_| error("id", "is not valid UTF-8".into(), &CompactString::default()))?;
            employee.id = id.trim().into();
        }
    }
    // A line break in a one-line field is the trace of a stray quote that swallowed the rows
    // after it into this record (which can still have the header's number of fields): reading
    // it would silently lose those people. It is checked before anything else so that the
    // error names that cause, not a symptom such as a status several lines long.
    let broken = columns
        .iter()
        .zip(record.iter())
        .find_map(|(column, raw)| match column {
            Column::Standard(name)
                if SINGLE_LINE_FIELDS.contains(name)
                    && raw.trim_ascii().iter().any(|b| matches!(b, b'\r' | b'\n')) =>
            {
                Some(*name)
            }
            _ => None,
        });
    if let Some(name) = broken {
        // The record may hold several people's rows, so it names nobody, not even the id it
        // starts with: an error naming no employee keeps every absent user, and the people
        // swallowed into this record are absent.
        return Err(error(
            name,
            format!("{name} holds a line break; a stray quote may have merged rows — fix the row"),
            &CompactString::default(),
        ));
    }
    let id = employee.id.clone();
    if id.is_empty() {
        return Err(error(
            "id",
            "is empty; every row needs an employee id".into(),
            &id,
        ));
    }
    for (column, raw) in columns.iter().zip(record.iter()) {
        let name = match column {
            Column::Standard(name) => *name,
            Column::Custom(_) => "customFields",
        };
        let value = std::str::from_utf8(raw)
            .map_err(|_| {
                error(
                    name,
                    "is not valid UTF-8; save the file as UTF-8".into(),
                    &id,
                )
            })?
            .trim();
        let text = || (!value.is_empty()).then(|| CompactString::from(value));
        let date = |field: &str| match value {
            "" => Ok(None),
            v => parse_date(v).map(Some).map_err(|m| (field.to_owned(), m)),
        };
        let email = |kind| Email {
            address: value.into(),
            kind,
        };
        match column {
            Column::Custom(path) => {
                if !value.is_empty() {
                    super::rows::insert_custom(
                        &mut employee.custom_fields,
                        &path.join("."),
                        Value::String(value.to_owned()),
                    );
                }
            }
            Column::Standard(name) => match *name {
                "id" => {}
                "employeeNumber" => employee.employee_number = text(),
                "firstName" => employee.first_name = value.into(),
                "lastName" => employee.last_name = value.into(),
                "preferredName" => employee.preferred_name = text(),
                "primaryEmail" | "workEmail" | "secondaryEmail" | "personalEmail"
                | "otherEmail"
                    if !value.is_empty() =>
                {
                    let kind = match *name {
                        "primaryEmail" => EmailType::Primary,
                        "workEmail" => EmailType::Work,
                        "secondaryEmail" => EmailType::Secondary,
                        "personalEmail" => EmailType::Personal,
                        _ => EmailType::Other,
                    };
                    if let Some(problem) = email_problem(value) {
                        // The address itself stays out of the message: the line and the id
                        // find the row, and the report should not copy personal data.
                        return Err(error(
                            name,
                            format!("{name} is not an email address: {problem}"),
                            &id,
                        ));
                    }
                    employee.emails.push(email(kind));
                }
                "employmentStatus" => {
                    employee.employment_status =
                        EmploymentStatus::parse(value).ok_or_else(|| {
                            error(
                                name,
                                format!(
                                    "{} is not a status; use Active, Pending, Leave or Inactive",
                                    quoted(value)
                                ),
                                &id,
                            )
                        })?;
                    status_seen = true;
                }
                "startDate" => {
                    employee.start_date = date(name).map_err(|(f, m)| error(&f, m, &id))?;
                }
                "endDate" => {
                    employee.end_date = date(name).map_err(|(f, m)| error(&f, m, &id))?;
                }
                "managerId" => employee.manager_id = text(),
                "department" => employee.department = text(),
                "title" => employee.title = text(),
                "location" => employee.location = text(),
                "preferredLanguage" => employee.preferred_language = text(),
                _ => {}
            },
        }
    }
    if !status_seen {
        return Err(error("employmentStatus", "is empty".into(), &id));
    }
    if employee.first_name.is_empty() && employee.last_name.is_empty() {
        return Err(error(
            "firstName",
            "firstName and lastName are both empty".into(),
            &id,
        ));
    }
    Ok(employee)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use serde_json::json;

    const HEADER: &str = "id,firstName,lastName,workEmail,personalEmail,employmentStatus,startDate,endDate,managerId,department,customFields.cost.center\n";

    #[test]
    fn reads_every_column_into_the_canonical_employee() {
        let csv = format!(
            "{HEADER}7,Ada,Lovelace,ada@corp.example,ada@home.example,leave,2024-02-01,,3,R&D,4410\n"
        );
        let page = parse(csv.as_bytes(), b',').unwrap();
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
        let page = parse(csv.as_bytes(), b',').unwrap();
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
        let page = parse(csv.as_bytes(), b',').unwrap();
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
            let page = parse(csv.as_bytes(), b',').unwrap();
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
        let page = parse(csv.as_bytes(), b',').unwrap();
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
        let page = parse(csv.as_bytes(), b',').unwrap();
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
        let page = parse(cut.as_bytes(), b',').unwrap();
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
            let page = parse(csv.as_bytes(), b',').unwrap();
            assert_eq!(page.errors, vec![], "{address}");
            assert_eq!(page.employees[0].emails[0].address, address);
        }
        for address in ["@", "a@b@c", "john smith@acme.example", "anna@"] {
            let csv = format!("{header}1,A,B,a@x.example,{address},Active\n");
            let page = parse(csv.as_bytes(), b',').unwrap();
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
    fn invalid_utf8_is_a_row_error() {
        let mut csv = HEADER.as_bytes().to_vec();
        csv.extend_from_slice(
            b"1,J\xf6rg,B,a@x.example,,Active,,,,,\n2,C,D,c@x.example,,Active,,,,,\n",
        );
        let page = parse(&csv, b',').unwrap();
        assert_eq!(page.employees.len(), 1);
        assert_eq!(page.errors[0].field.as_deref(), Some("firstName"));
        assert_eq!(page.errors[0].employee_id.as_deref(), Some("1"));
    }

    #[test]
    fn a_bad_header_fails_the_whole_file_naming_the_column() {
        let unknown = parse(b"id,firstName,lastName,employmentStatus,departmnt\n", b',');
        let message = unknown.unwrap_err().to_string();
        assert!(
            message.contains("column 5 `departmnt` is not a canonical field"),
            "{message}"
        );
        let missing = parse(b"id,firstName,lastName\n", b',')
            .unwrap_err()
            .to_string();
        assert!(
            missing.contains("required column `employmentStatus`"),
            "{missing}"
        );
        let twice = parse(b"id,id,firstName,lastName,employmentStatus\n", b',');
        assert!(twice.unwrap_err().to_string().contains("`id` twice"));
    }

    #[test]
    fn fields_list_the_header_with_the_reference_row_as_example() {
        let csv = "id,firstName,lastName,employmentStatus,customFields.shirt\n1,A,B,Active,\n2,C,D,Leave,M\n";
        let listed = |reference| {
            fields(csv.as_bytes(), b',', reference)
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
        let page = parse(csv.as_bytes(), b';').unwrap();
        assert_eq!(page.errors, vec![]);
        assert_eq!(page.employees[0].first_name, "A");
    }
}
