//! One CSV row into the canonical employee. An error names the line, the employee id and the
//! field (with the file's column when it has another name), never a name, an address or a
//! date.

use compact_str::CompactString;
use serde_json::Value;

use super::{
    super::{
        rows::insert_custom,
        values::{SINGLE_LINE_FIELDS, email_problem},
    },
    CsvFormat,
    dates::DateProblem,
    header::Header,
};
use crate::sync::{
    field::Field,
    model::{Email, EmailType, Employee, EmploymentStatus, RecordError},
    policy::quoted,
};

/// The record's value in a column, trimmed; `Err` when it is not UTF-8 (a delimiter that is
/// not ASCII can split a character).
fn cell(record: &::csv::ByteRecord, index: usize) -> Result<&str, ()> {
    std::str::from_utf8(record.get(index).unwrap_or_default())
        .map(str::trim)
        .map_err(|_| ())
}

/// The first one-line field of the record that holds a line break, if any.
fn broken_field(record: &::csv::ByteRecord, header: &Header) -> Option<&'static str> {
    header.standard.iter().find_map(|(name, index)| {
        let raw = record.get(*index).unwrap_or_default();
        (SINGLE_LINE_FIELDS.contains(name)
            && raw.trim_ascii().iter().any(|b| matches!(b, b'\r' | b'\n')))
        .then_some(*name)
    })
}

/// Reads one record of the file.
pub fn read_row(
    record: &::csv::ByteRecord,
    header: &Header,
    format: &CsvFormat,
    line: u64,
) -> Result<Employee, RecordError> {
    let error = |field: &str, message: String, id: &CompactString| RecordError {
        line: Some(line),
        employee_id: (!id.is_empty()).then(|| id.clone()),
        field: Some(field.to_owned()),
        message,
    };
    let nobody = CompactString::default();
    let id_index = header.index("id").unwrap_or_default();
    let id: CompactString = cell(record, id_index)
        .map_err(|()| error("id", "is not valid UTF-8".into(), &nobody))?
        .into();
    // A line break in a one-line field is the trace of a stray quote that swallowed the rows
    // after it into this record (which can still have the header's number of fields): reading
    // it would silently lose those people. It is checked before anything else so that the
    // error names that cause, not a symptom such as a status several lines long.
    if let Some(name) = broken_field(record, header) {
        // The record may hold several people's rows, so it names nobody, not even the id it
        // starts with: an error naming no employee keeps every absent user, and the people
        // swallowed into this record are absent.
        return Err(error(
            name,
            format!("{name} holds a line break; a stray quote may have merged rows — fix the row"),
            &nobody,
        ));
    }
    if id.is_empty() {
        return Err(error(
            "id",
            "is empty; every row needs an employee id".into(),
            &id,
        ));
    }
    let mut employee = Employee::new(id.clone(), "", "", EmploymentStatus::Active);
    for (name, index) in &header.standard {
        let value = cell(record, *index).map_err(|()| {
            error(
                name,
                format!("{} is not valid UTF-8", header.describe(name, *index)),
                &id,
            )
        })?;
        read_field(&mut employee, name, value, format).map_err(|message| {
            error(name, header.describe(name, *index) + message.as_str(), &id)
        })?;
    }
    for (name, index) in &header.custom {
        let value = cell(record, *index).map_err(|()| {
            error(
                "customFields",
                format!("customFields.{name} is not valid UTF-8"),
                &id,
            )
        })?;
        if !value.is_empty() {
            insert_custom(
                &mut employee.custom_fields,
                name,
                Value::String(value.to_owned()),
            );
        }
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

/// Sets one canonical field from its value; the error is the rest of a message that starts
/// with the field's name.
fn read_field(
    employee: &mut Employee,
    name: &str,
    value: &str,
    format: &CsvFormat,
) -> Result<(), String> {
    let text = || (!value.is_empty()).then(|| CompactString::from(value));
    match name {
        "employeeNumber" => employee.employee_number = text(),
        "firstName" => employee.first_name = value.into(),
        "lastName" => employee.last_name = value.into(),
        "preferredName" => employee.preferred_name = text(),
        "primaryEmail" | "workEmail" | "secondaryEmail" | "personalEmail" | "otherEmail"
            if !value.is_empty() =>
        {
            // The address itself stays out of the message: the line and the id find the row,
            // and the report should not copy personal data.
            if let Some(problem) = email_problem(value) {
                return Err(format!(" is not an email address: {problem}"));
            }
            let kind = match name {
                "primaryEmail" => EmailType::Primary,
                "workEmail" => EmailType::Work,
                "secondaryEmail" => EmailType::Secondary,
                "personalEmail" => EmailType::Personal,
                _ => EmailType::Other,
            };
            employee.emails.push(Email {
                address: value.into(),
                kind,
            });
        }
        "employmentStatus" => employee.employment_status = status(value, format)?,
        "startDate" => employee.start_date = date(value, format)?,
        "endDate" => employee.end_date = date(value, format)?,
        "managerId" => employee.manager_id = text(),
        "department" => employee.department = text(),
        "title" => employee.title = text(),
        "location" => employee.location = text(),
        "preferredLanguage" => employee.preferred_language = text(),
        _ => match Field::parse(name) {
            Ok(Field::Phone(kind)) => employee.set_phone(kind, text()),
            Ok(Field::Address(kind, part)) => employee.set_address_part(kind, part, text()),
            _ => {}
        },
    }
    Ok(())
}

/// The status a word means: the field map's status words first, then the canonical names. A
/// status word is HR vocabulary, not personal data, and the message quotes it so that it can
/// be added to the status words.
fn status(value: &str, format: &CsvFormat) -> Result<EmploymentStatus, String> {
    if value.is_empty() {
        return Err(" is empty; every row needs a status".into());
    }
    let folded = value.to_lowercase();
    format
        .layout
        .status_values
        .iter()
        .find(|(word, _)| *word == folded)
        .map(|(_, status)| *status)
        .or_else(|| EmploymentStatus::parse(value))
        .ok_or_else(|| {
            format!(
                ": {} is not a status; use Active, Pending, Leave or Inactive, or map the word in \
                 spec.source.csv.fieldMap.statusValues",
                quoted(value)
            )
        })
}

/// A date under the source's formats; the message names the formats, never the value.
fn date(value: &str, format: &CsvFormat) -> Result<Option<jiff::civil::Date>, String> {
    if value.is_empty() {
        return Ok(None);
    }
    format
        .dates
        .read(value)
        .map(Some)
        .map_err(|problem| match problem {
            DateProblem::Unreadable => format!(
                " is not a date in the form {}; list the file's date format in \
             spec.source.csv.dateFormats",
                format.dates.describe()
            ),
            DateProblem::NoSuchDay(form) => {
                format!(" has the form {form} but names no calendar day")
            }
            DateProblem::Ambiguous(first, second) => format!(
                " is ambiguous: {first} and {second} read it as different days; keep only the \
             file's format in spec.source.csv.dateFormats"
            ),
        })
}
