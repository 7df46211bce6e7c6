//! Reading a record (a JSON object, possibly nested) into the canonical employee through a
//! table of which field feeds which canonical field. Every HTTP source uses it: those whose
//! fields are fixed (BambooHR, HiBob, and Merge and Personio after unwrapping) with their own
//! table, AFAS and Workday with the customer's field map.

use compact_str::CompactString;
use jiff::civil::Date;
use serde_json::{Map, Value};

use super::values::{email_problem, has_line_break};
use crate::{
    crd::{AddressColumns, FieldMap, SourceStatus},
    sync::{
        model::{
            AddressPart, AddressType, CustomFields, Email, EmailType, Employee, EmploymentStatus,
            PhoneType, RecordError,
        },
        policy::parse_date,
        ports::source::{SourceError, SourceField, SourcePage},
    },
};

/// Which record field (a key, or a dotted path into nested objects) feeds each canonical
/// field. `None`: the source has no such field.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Columns {
    /// Employee id (required).
    pub id: String,
    /// Employee number.
    pub employee_number: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Preferred name.
    pub preferred_name: Option<String>,
    /// Work email.
    pub work_email: Option<String>,
    /// Private email.
    pub personal_email: Option<String>,
    /// Employment status.
    pub employment_status: Option<String>,
    /// Start date.
    pub start_date: Option<String>,
    /// End date.
    pub end_date: Option<String>,
    /// Manager's id.
    pub manager_id: Option<String>,
    /// Department.
    pub department: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// Location.
    pub location: Option<String>,
    /// Preferred language.
    pub preferred_language: Option<String>,
    /// Phone numbers: the type and the record field.
    pub phones: Vec<(PhoneType, String)>,
    /// Address parts: the address type, the part and the record field. Several fields for one
    /// part (an API's street lines) are joined by a line break.
    pub addresses: Vec<(AddressType, AddressPart, String)>,
    /// Custom fields: canonical name (dotted: nested) → record field.
    pub custom: Vec<(String, String)>,
    /// A record field holding an object of custom fields copied whole (Merge's
    /// `custom_fields`).
    pub custom_object: Option<String>,
    /// Status values (lower case) and what they mean, tried before the canonical names.
    pub status_values: Vec<(String, EmploymentStatus)>,
    /// Record fields the spec names itself (a field map entry, a personal email attribute),
    /// besides the custom fields: `fields` warns when the source lacks one.
    pub spec_named: Vec<String>,
}

impl Columns {
    /// The columns of a customer's field map, with the source's defaults for unset entries;
    /// an empty entry reads nothing.
    pub fn from_field_map(map: &FieldMap, defaults: &Columns) -> Columns {
        let pick = |set: &Option<String>, default: &Option<String>| match set {
            Some(column) if column.is_empty() => None,
            Some(column) => Some(column.clone()),
            None => default.clone(),
        };
        let mut status_values = defaults.status_values.clone();
        for (value, status) in &map.status_values {
            let status = match status {
                SourceStatus::Active => EmploymentStatus::Active,
                SourceStatus::Pending => EmploymentStatus::Pending,
                SourceStatus::Leave => EmploymentStatus::Leave,
                SourceStatus::Inactive => EmploymentStatus::Inactive,
            };
            status_values.insert(0, (value.trim().to_lowercase(), status));
        }
        Columns {
            id: map
                .id
                .clone()
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| defaults.id.clone()),
            employee_number: pick(&map.employee_number, &defaults.employee_number),
            first_name: pick(&map.first_name, &defaults.first_name),
            last_name: pick(&map.last_name, &defaults.last_name),
            preferred_name: pick(&map.preferred_name, &defaults.preferred_name),
            work_email: pick(&map.work_email, &defaults.work_email),
            personal_email: pick(&map.personal_email, &defaults.personal_email),
            employment_status: pick(&map.employment_status, &defaults.employment_status),
            start_date: pick(&map.start_date, &defaults.start_date),
            end_date: pick(&map.end_date, &defaults.end_date),
            manager_id: pick(&map.manager_id, &defaults.manager_id),
            department: pick(&map.department, &defaults.department),
            title: pick(&map.title, &defaults.title),
            location: pick(&map.location, &defaults.location),
            preferred_language: pick(&map.preferred_language, &defaults.preferred_language),
            phones: phone_entries(map)
                .into_iter()
                .filter_map(|(kind, set)| {
                    let default = defaults
                        .phones
                        .iter()
                        .find(|(k, _)| *k == kind)
                        .map(|(_, column)| column.clone());
                    pick(set, &default).map(|column| (kind, column))
                })
                .collect(),
            addresses: address_entries(map)
                .into_iter()
                .flat_map(|(kind, part, set)| {
                    let columns: Vec<String> = match set {
                        Some(column) if column.is_empty() => Vec::new(),
                        Some(column) => vec![column.clone()],
                        None => defaults
                            .addresses
                            .iter()
                            .filter(|(k, p, _)| *k == kind && *p == part)
                            .map(|(_, _, column)| column.clone())
                            .collect(),
                    };
                    columns.into_iter().map(move |column| (kind, part, column))
                })
                .collect(),
            custom: map
                .custom_fields
                .iter()
                .map(|(name, column)| (name.clone(), column.clone()))
                .collect(),
            custom_object: defaults.custom_object.clone(),
            status_values,
            spec_named: [
                &map.id,
                &map.employee_number,
                &map.first_name,
                &map.last_name,
                &map.preferred_name,
                &map.work_email,
                &map.personal_email,
                &map.employment_status,
                &map.start_date,
                &map.end_date,
                &map.manager_id,
                &map.department,
                &map.title,
                &map.location,
                &map.preferred_language,
            ]
            .into_iter()
            .chain(phone_entries(map).into_iter().map(|(_, set)| set))
            .chain(address_entries(map).into_iter().map(|(_, _, set)| set))
            .flatten()
            .filter(|column| !column.is_empty())
            .cloned()
            .collect(),
        }
    }

    /// Every record field the table reads, with the canonical field it feeds.
    pub fn feeds(&self) -> Vec<(String, String)> {
        let mut feeds: Vec<(String, String)> = [
            (Some(&self.id), "id"),
            (self.employee_number.as_ref(), "employeeNumber"),
            (self.first_name.as_ref(), "firstName"),
            (self.last_name.as_ref(), "lastName"),
            (self.preferred_name.as_ref(), "preferredName"),
            (self.work_email.as_ref(), "workEmail"),
            (self.personal_email.as_ref(), "personalEmail"),
            (self.employment_status.as_ref(), "employmentStatus"),
            (self.start_date.as_ref(), "startDate"),
            (self.end_date.as_ref(), "endDate"),
            (self.manager_id.as_ref(), "managerId"),
            (self.department.as_ref(), "department"),
            (self.title.as_ref(), "title"),
            (self.location.as_ref(), "location"),
            (self.preferred_language.as_ref(), "preferredLanguage"),
        ]
        .into_iter()
        .filter_map(|(column, canonical)| column.map(|c| (c.clone(), canonical.to_owned())))
        .collect();
        feeds.extend(
            self.phones
                .iter()
                .map(|(kind, column)| (column.clone(), kind.field_name().to_owned())),
        );
        feeds.extend(
            self.addresses.iter().map(|(kind, part, column)| {
                (column.clone(), kind.part_field_name(*part).to_owned())
            }),
        );
        feeds.extend(
            self.custom
                .iter()
                .map(|(name, column)| (column.clone(), format!("customFields.{name}"))),
        );
        feeds
    }

    /// The record fields a request must ask for (top-level keys, deduplicated, in order).
    pub fn requested(&self) -> Vec<String> {
        let mut fields: Vec<String> = Vec::new();
        for (column, _) in self.feeds() {
            if !fields.contains(&column) {
                fields.push(column);
            }
        }
        fields
    }
}

/// The columns of a customer's field map (AFAS, Workday) a fetch cannot do without. A column
/// that no record of the whole fetch has is a misspelt name or a column the report no longer
/// has, and reading on would give everyone an empty value: with the status and end-date
/// columns gone, everyone reads as Active, and accounts are made for people who left.
///
/// Which columns: every column the field map names for a canonical field, and the id and name
/// columns even as the source's defaults (everyone has an id and a name, so records without
/// them are broken, not a variant). The other defaults are left alone, since a tenant may lack
/// one legitimately: without a status column the dates decide, as documented, and a report may
/// have no preferred name or home address column at all. Custom field columns are left to the
/// run's check of mapped and filtered fields, which has the opt-out (`optional`) that a field
/// HR fills in later needs; a source that leaves empty values out of its records (Workday)
/// makes such a column look missing until someone has a value.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RequiredColumns {
    /// What the records are, for messages: "Workday report", "AFAS GetConnector".
    source: &'static str,
    /// Each column with the spec field that names it (`spec.source.afas.fieldMap.id`) and
    /// whether it is the source's default.
    columns: Vec<(String, String, bool)>,
}

impl RequiredColumns {
    /// The columns `map` makes the fetch depend on; `spec_path` is the field map's path in the
    /// spec (`spec.source.workday.fieldMap`) and `columns` what it compiled to.
    pub fn of_field_map(
        source: &'static str,
        spec_path: &str,
        map: &FieldMap,
        columns: &Columns,
    ) -> RequiredColumns {
        let mut required = Vec::new();
        let mut add = |key: &str, column: &str, default: bool| {
            required.push((format!("{spec_path}.{key}"), column.to_owned(), default));
        };
        let named = |set: &Option<String>| set.as_deref().is_some_and(|c| !c.is_empty());
        add("id", &columns.id, !named(&map.id));
        for (key, set, compiled) in [
            ("firstName", &map.first_name, &columns.first_name),
            ("lastName", &map.last_name, &columns.last_name),
        ] {
            // Set to "" the field reads nothing, on purpose.
            if let Some(column) = compiled {
                add(key, column, !named(set));
            }
        }
        for (key, set) in [
            ("employeeNumber", &map.employee_number),
            ("preferredName", &map.preferred_name),
            ("workEmail", &map.work_email),
            ("personalEmail", &map.personal_email),
            ("employmentStatus", &map.employment_status),
            ("startDate", &map.start_date),
            ("endDate", &map.end_date),
            ("managerId", &map.manager_id),
            ("department", &map.department),
            ("title", &map.title),
            ("location", &map.location),
            ("preferredLanguage", &map.preferred_language),
        ] {
            if let Some(column) = set.as_deref().filter(|c| !c.is_empty()) {
                add(key, column, false);
            }
        }
        for (kind, set) in phone_entries(map) {
            if let Some(column) = set.as_deref().filter(|c| !c.is_empty()) {
                add(kind.field_name(), column, false);
            }
        }
        for (kind, part, set) in address_entries(map) {
            if let Some(column) = set.as_deref().filter(|c| !c.is_empty()) {
                add(kind.part_field_name(part), column, false);
            }
        }
        RequiredColumns {
            source,
            columns: required,
        }
    }

    /// A tracker for one fetch.
    pub fn tracker(&self) -> ColumnTracker<'_> {
        ColumnTracker {
            required: self,
            found: vec![false; self.columns.len()],
            missing: self.columns.len(),
            any_record: false,
            seen: std::collections::BTreeSet::new(),
        }
    }
}

/// The columns of one address's parts, for a source's table.
pub fn address_columns(
    kind: AddressType,
    parts: &[(AddressPart, &str)],
) -> Vec<(AddressType, AddressPart, String)> {
    parts
        .iter()
        .map(|(part, column)| (kind, *part, (*column).to_owned()))
        .collect()
}

/// A field map's phone entries, with the type each reads.
pub fn phone_entries(map: &FieldMap) -> [(PhoneType, &Option<String>); 3] {
    [
        (PhoneType::Work, &map.work_phone),
        (PhoneType::Mobile, &map.mobile_phone),
        (PhoneType::Home, &map.home_phone),
    ]
}

/// An address's part entries, in the order of [`AddressPart::ALL`].
pub fn address_part_entries(columns: &AddressColumns) -> [(AddressPart, &Option<String>); 5] {
    [
        (AddressPart::Street, &columns.street),
        (AddressPart::Locality, &columns.locality),
        (AddressPart::Region, &columns.region),
        (AddressPart::PostalCode, &columns.postal_code),
        (AddressPart::Country, &columns.country),
    ]
}

/// A field map's address part entries, for every type and part (`None` where the map has no
/// such address or part), with the address type and the part each reads.
pub fn address_entries(map: &FieldMap) -> Vec<(AddressType, AddressPart, &Option<String>)> {
    [
        (AddressType::Work, &map.work_address),
        (AddressType::Home, &map.home_address),
    ]
    .into_iter()
    .flat_map(|(kind, columns)| match columns {
        Some(columns) => address_part_entries(columns)
            .map(|(part, set)| (kind, part, set))
            .to_vec(),
        None => AddressPart::ALL.map(|part| (kind, part, &None)).to_vec(),
    })
    .collect()
}

/// Which required columns one fetch has seen so far, page by page.
#[derive(Debug)]
pub struct ColumnTracker<'a> {
    required: &'a RequiredColumns,
    found: Vec<bool>,
    missing: usize,
    any_record: bool,
    /// Every top-level key seen while a column was still missing, for the error message
    /// (once every column is found, it is not needed and no longer grows).
    seen: std::collections::BTreeSet<String>,
}

impl ColumnTracker<'_> {
    /// Looks at a page of records (a column counts when a record has it, even empty).
    pub fn observe(&mut self, records: &[Value]) {
        for record in records.iter().filter_map(Value::as_object) {
            self.any_record = true;
            if self.missing == 0 {
                return;
            }
            for (index, (_, column, _)) in self.required.columns.iter().enumerate() {
                if !self.found[index] && has_column(record, column) {
                    self.found[index] = true;
                    self.missing -= 1;
                }
            }
            for key in record.keys() {
                if !self.seen.contains(key) {
                    self.seen.insert(key.clone());
                }
            }
        }
    }

    /// After the last page: an error naming every required column no record had, and the
    /// columns the records do have. A fetch without records has nothing to judge.
    pub fn finish(&self) -> Result<(), SourceError> {
        if self.missing == 0 || !self.any_record {
            return Ok(());
        }
        let mut lines: Vec<String> = self
            .required
            .columns
            .iter()
            .zip(&self.found)
            .filter(|(_, found)| !**found)
            .map(|((field, column, default), _)| {
                let which = if *default {
                    "the default column"
                } else {
                    "the column"
                };
                format!(
                    "{field}: no record of the {} has {which} `{column}`",
                    self.required.source
                )
            })
            .collect();
        const SHOWN: usize = 40;
        let mut have: Vec<&str> = self.seen.iter().take(SHOWN).map(String::as_str).collect();
        let more = self.seen.len().saturating_sub(SHOWN);
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        if have.is_empty() {
            have.push("none");
        }
        lines.push(format!(
            "The records have the columns: {}{more}. Set each field map entry to the column \
             that holds its field, or add the column to the {}; an entry of \"\" reads nothing \
             for its field. (A source may leave an empty value out of a record, so a column \
             empty for everyone looks missing too.)",
            have.join(", "),
            self.required.source
        ));
        Err(SourceError::InvalidInput(lines.join("\n")))
    }
}

/// Whether a record has `column` (the key itself, else a dotted path into nested objects),
/// whatever its value.
fn has_column(record: &Map<String, Value>, column: &str) -> bool {
    if record.contains_key(column) {
        return true;
    }
    let mut parts = column.split('.');
    let Some(first) = parts.next().and_then(|first| record.get(first)) else {
        return false;
    };
    parts
        .try_fold(first, |value, part| value.get(part))
        .is_some()
}

/// The value at `column`: the key itself, else a dotted path into nested objects. Null and
/// empty strings count as absent.
pub fn lookup<'a>(record: &'a Map<String, Value>, column: &str) -> Option<&'a Value> {
    let value = match record.get(column) {
        Some(value) => Some(value),
        None => {
            let mut parts = column.split('.');
            let first = record.get(parts.next()?)?;
            parts.try_fold(first, |value, part| value.get(part))
        }
    };
    value.filter(|v| !v.is_null() && v.as_str().is_none_or(|s| !s.trim().is_empty()))
}

/// A value as text: strings trimmed, numbers and booleans written out; objects and arrays
/// are not text.
pub fn as_text(value: &Value) -> Option<CompactString> {
    match value {
        Value::String(s) => Some(s.trim().into()),
        Value::Number(n) => Some(n.to_string().into()),
        Value::Bool(b) => Some(if *b { "true" } else { "false" }.into()),
        _ => None,
    }
}

/// A date from an API: `YYYY-MM-DD`, optionally followed by a time or an offset
/// (`2024-02-01T00:00:00Z`, Workday's `2024-02-01-08:00`).
pub fn api_date(text: &str) -> Result<Date, String> {
    let day = text.get(..10).unwrap_or(text);
    parse_date(day)
}

/// Sets a custom field; a dotted name makes nested objects (`address.city`).
pub fn insert_custom(fields: &mut CustomFields, name: &str, value: Value) {
    let mut parts = name.split('.');
    let first = parts.next().unwrap_or(name);
    let rest: Vec<&str> = parts.collect();
    let Some((last, middle)) = rest.split_last() else {
        fields.insert(first, value);
        return;
    };
    if !fields.get(first).is_some_and(Value::is_object) {
        fields.insert(first, Value::Object(Map::new()));
    }
    let mut map = fields
        .get_mut(first)
        .and_then(Value::as_object_mut)
        .expect("just made an object");
    for segment in middle {
        let entry = map
            .entry((*segment).to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        map = entry.as_object_mut().expect("just made an object");
    }
    map.insert((*last).to_owned(), value);
}

/// Reads a page of JSON records: the readable ones become employees, the others errors.
pub fn read_page(records: &[Value], columns: &Columns) -> SourcePage {
    let mut page = SourcePage::default();
    for record in records {
        let read = match record.as_object() {
            Some(record) => read_record(record, columns),
            None => Err(not_an_object(record)),
        };
        match read {
            Ok(employee) => page.employees.push(employee),
            Err(error) => page.errors.push(error),
        }
    }
    page
}

/// The error of a list entry that is not a record at all (a string, a number, null): it is
/// reported, not skipped, so a page never silently shrinks.
pub fn not_an_object(value: &Value) -> RecordError {
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    RecordError {
        line: None,
        employee_id: None,
        field: None,
        message: format!("a list entry is {kind}, not an employee record"),
    }
}

/// The error message of a line break in a one-line field.
fn line_break_message(canonical: &str) -> String {
    format!(
        "{canonical} holds a line break; names, addresses, statuses and dates are one line — \
         fix the record in the HR system"
    )
}

/// Reads one record. An error names the employee id and the field, never a value.
pub fn read_record(
    record: &Map<String, Value>,
    columns: &Columns,
) -> Result<Employee, RecordError> {
    let id = lookup(record, &columns.id).and_then(as_text);
    if id.as_deref().is_some_and(has_line_break) {
        // A broken id is no id: naming it would point at a person who may not exist.
        return Err(RecordError {
            line: None,
            employee_id: None,
            field: Some("id".into()),
            message: line_break_message("id"),
        });
    }
    let Some(id) = id.filter(|id| !id.is_empty()) else {
        return Err(RecordError {
            line: None,
            employee_id: None,
            field: Some(columns.id.clone()),
            message: format!(
                "a record has no employee id in `{}`; every record needs one",
                columns.id
            ),
        });
    };
    let error = |field: &str, message: String| RecordError {
        line: None,
        employee_id: Some(id.clone()),
        field: Some(field.to_owned()),
        message,
    };
    let text =
        |column: Option<&str>, canonical: &str| -> Result<Option<CompactString>, RecordError> {
            let Some(column) = column else {
                return Ok(None);
            };
            match lookup(record, column) {
                None => Ok(None),
                Some(value) => as_text(value).map(Some).ok_or_else(|| {
                    error(
                        canonical,
                        format!("`{column}` is not text; map a text field to {canonical}"),
                    )
                }),
            }
        };
    // Names, addresses, statuses and dates are one line; a line break in one is never data.
    let line =
        |column: Option<&str>, canonical: &str| -> Result<Option<CompactString>, RecordError> {
            match text(column, canonical)? {
                Some(value) if has_line_break(&value) => {
                    Err(error(canonical, line_break_message(canonical)))
                }
                value => Ok(value),
            }
        };
    let date = |column: Option<&str>, canonical: &str| -> Result<Option<Date>, RecordError> {
        match line(column, canonical)? {
            None => Ok(None),
            // BambooHR's empty date.
            Some(value) if value.starts_with("0000-00-00") => Ok(None),
            Some(value) => api_date(&value).map(Some).map_err(|_| {
                error(
                    canonical,
                    format!(
                        "`{}` does not start with a YYYY-MM-DD date",
                        column.unwrap_or_default()
                    ),
                )
            }),
        }
    };
    let mut employee = Employee::new(
        id.clone(),
        line(columns.first_name.as_deref(), "firstName")?.unwrap_or_default(),
        line(columns.last_name.as_deref(), "lastName")?.unwrap_or_default(),
        EmploymentStatus::Active,
    );
    if employee.first_name.is_empty() && employee.last_name.is_empty() {
        return Err(error(
            "firstName",
            "the first and last name are both empty".into(),
        ));
    }
    employee.employee_number = text(columns.employee_number.as_deref(), "employeeNumber")?;
    employee.preferred_name = line(columns.preferred_name.as_deref(), "preferredName")?;
    for (column, kind, canonical) in [
        (&columns.work_email, EmailType::Work, "workEmail"),
        (
            &columns.personal_email,
            EmailType::Personal,
            "personalEmail",
        ),
    ] {
        if let Some(address) = line(column.as_deref(), canonical)? {
            if let Some(problem) = email_problem(&address) {
                return Err(error(
                    canonical,
                    format!(
                        "`{}` does not hold an email address: {problem}",
                        column.as_deref().unwrap_or_default()
                    ),
                ));
            }
            employee.emails.push(Email { address, kind });
        }
    }
    employee.start_date = date(columns.start_date.as_deref(), "startDate")?;
    employee.end_date = date(columns.end_date.as_deref(), "endDate")?;
    employee.manager_id = text(columns.manager_id.as_deref(), "managerId")?;
    employee.department = text(columns.department.as_deref(), "department")?;
    employee.title = text(columns.title.as_deref(), "title")?;
    employee.location = text(columns.location.as_deref(), "location")?;
    employee.preferred_language = text(columns.preferred_language.as_deref(), "preferredLanguage")?;
    for (kind, column) in &columns.phones {
        let number = line(Some(column), kind.field_name())?;
        if number.is_some() && employee.phone(*kind).is_none() {
            employee.set_phone(*kind, number);
        }
    }
    for (kind, part, column) in &columns.addresses {
        let canonical = kind.part_field_name(*part);
        // Street lines may be several fields; each other part is one line.
        let value = if *part == AddressPart::Street {
            text(Some(column), canonical)?
        } else {
            line(Some(column), canonical)?
        };
        let joined = match (employee.address(*kind).and_then(|a| a.part(*part)), value) {
            (Some(before), Some(more)) => Some(CompactString::from(format!("{before}\n{more}"))),
            (_, value) => value,
        };
        employee.set_address_part(*kind, *part, joined);
    }
    match line(columns.employment_status.as_deref(), "employmentStatus")? {
        Some(value) => {
            let folded = value.to_lowercase();
            employee.employment_status = columns
                .status_values
                .iter()
                .find(|(known, _)| *known == folded)
                .map(|(_, status)| *status)
                .or_else(|| EmploymentStatus::parse(&value))
                .ok_or_else(|| {
                    error(
                        "employmentStatus",
                        format!(
                            "`{value}` is not a known status; use Active, Pending, Leave or Inactive, or map it in statusValues"
                        ),
                    )
                })?;
        }
        // No status: the record's dates decide, on the run's evaluation date. A source
        // reports what the record says; the run settles the status.
        None => employee.status_stated = false,
    }
    if let Some(object) = columns
        .custom_object
        .as_deref()
        .and_then(|c| lookup(record, c))
        .and_then(Value::as_object)
    {
        for (name, value) in object {
            if !value.is_null() {
                employee.custom_fields.insert(name.as_str(), value.clone());
            }
        }
    }
    for (name, column) in &columns.custom {
        if let Some(value) = lookup(record, column) {
            insert_custom(&mut employee.custom_fields, name, value.clone());
        }
    }
    Ok(employee)
}

/// The fields of one record, flattened to dotted paths (arrays stay whole), with what each
/// feeds. `extra_names` adds fields known from the API's metadata that the record lacks.
pub fn fields_of(
    record: Option<&Map<String, Value>>,
    columns: &Columns,
    extra_names: &[String],
) -> Vec<SourceField> {
    let mut flat = Vec::new();
    if let Some(record) = record {
        flatten("", record, &mut flat);
    }
    for name in extra_names {
        if !flat.iter().any(|(n, _)| n == name) {
            flat.push((name.clone(), Value::Null));
        }
    }
    let found = flat.len();
    let feeds = columns.feeds();
    for (column, _) in &feeds {
        if !flat.iter().any(|(n, _)| n == column) {
            flat.push((column.clone(), Value::Null));
        }
    }
    // A standard field an API leaves out of a record is only empty; a field the spec names
    // itself that the source lacks is most often misspelt.
    let spec_named = |name: &str| {
        columns.spec_named.iter().any(|c| c == name)
            || columns.custom.iter().any(|(_, c)| c == name)
    };
    let custom_prefix = columns.custom_object.as_ref().map(|c| format!("{c}."));
    let mut fields: Vec<SourceField> = flat
        .into_iter()
        .enumerate()
        .map(|(index, (name, value))| {
            let mut feeding: Vec<&str> = feeds
                .iter()
                .filter(|(column, _)| *column == name)
                .map(|(_, canonical)| canonical.as_str())
                .collect();
            let custom = custom_prefix
                .as_ref()
                .and_then(|prefix| name.strip_prefix(prefix.as_str()))
                .map(|rest| format!("customFields.{rest}"));
            if let Some(custom) = &custom {
                feeding.push(custom);
            }
            SourceField {
                feeds: (!feeding.is_empty()).then(|| feeding.join(", ")),
                example: (!value.is_null()).then_some(value),
                found: index < found || !spec_named(&name),
                name,
            }
        })
        .collect();
    fields.sort_by(|a, b| a.name.cmp(&b.name));
    fields
}

fn flatten(prefix: &str, object: &Map<String, Value>, out: &mut Vec<(String, Value)>) {
    for (key, value) in object {
        let name = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            Value::Object(inner) if !inner.is_empty() => flatten(&name, inner, out),
            _ => out.push((name, value.clone())),
        }
    }
}

/// The record whose id is `reference`, else the first one.
pub fn reference_record<'a>(
    records: &'a [Value],
    columns: &Columns,
    reference: Option<&str>,
) -> Option<&'a Map<String, Value>> {
    let objects = records.iter().filter_map(Value::as_object);
    match reference {
        Some(wanted) => objects
            .clone()
            .find(|r| lookup(r, &columns.id).and_then(as_text).as_deref() == Some(wanted)),
        None => objects.clone().next(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use serde_json::json;

    #[test]
    fn every_canonical_name_a_source_feeds_is_a_field_a_mapping_takes() {
        let some = |column: &str| Some(column.to_owned());
        let every = Columns {
            id: "a".into(),
            employee_number: some("b"),
            first_name: some("c"),
            last_name: some("d"),
            preferred_name: some("e"),
            work_email: some("f"),
            personal_email: some("g"),
            employment_status: some("h"),
            start_date: some("i"),
            end_date: some("j"),
            manager_id: some("k"),
            department: some("l"),
            title: some("m"),
            location: some("n"),
            preferred_language: some("o"),
            custom: vec![("cost.center".into(), "p".into())],
            phones: PhoneType::ALL
                .into_iter()
                .map(|kind| (kind, format!("phone-{kind:?}")))
                .collect(),
            addresses: AddressType::ALL
                .into_iter()
                .flat_map(|kind| {
                    AddressPart::ALL
                        .into_iter()
                        .map(move |part| (kind, part, format!("{kind:?}-{part:?}")))
                })
                .collect(),
            ..Columns::default()
        };
        let feeds = every.feeds();
        assert_eq!(feeds.len(), 16 + 3 + 10);
        for (_, canonical) in feeds {
            let field = crate::sync::field::Field::parse(&canonical)
                .unwrap_or_else(|e| panic!("`fields` shows {canonical}, which maps as: {e}"));
            assert_eq!(field.to_string(), canonical);
        }
    }

    fn columns() -> Columns {
        Columns {
            id: "id".into(),
            first_name: Some("name.first".into()),
            last_name: Some("name.last".into()),
            work_email: Some("mail".into()),
            employment_status: Some("state".into()),
            start_date: Some("start".into()),
            custom: vec![("cost.center".into(), "cc".into())],
            status_values: vec![("in dienst".into(), EmploymentStatus::Active)],
            ..Columns::default()
        }
    }

    #[test]
    fn reads_nested_paths_status_values_dates_and_custom_fields() {
        let record = json!({"id": 7, "name": {"first": "Ada", "last": "L"}, "mail": "a@x.example",
            "state": "In Dienst", "start": "2024-02-01-08:00", "cc": 4410, "unused": true});
        let e = read_record(record.as_object().unwrap(), &columns()).unwrap();
        assert_eq!(e.id, "7");
        assert_eq!(e.first_name, "Ada");
        assert_eq!(e.employment_status, EmploymentStatus::Active);
        assert_eq!(e.start_date, Some(date(2024, 2, 1)));
        assert_eq!(e.custom_fields.get("cost"), Some(&json!({"center": 4410})));
    }

    #[test]
    fn phones_and_street_lines_are_read_and_a_broken_part_names_its_field() {
        let columns = Columns {
            phones: vec![(PhoneType::Mobile, "mobile".into())],
            addresses: address_columns(
                AddressType::Home,
                &[
                    (AddressPart::Street, "home.street_1"),
                    (AddressPart::Street, "home.street_2"),
                    (AddressPart::PostalCode, "home.zip"),
                ],
            ),
            ..columns()
        };
        let record = json!({"id": 7, "name": {"first": "Ada", "last": "L"}, "mobile": "+46 70 1",
            "home": {"street_1": "Storgatan 1", "street_2": "lgh 1102", "zip": 21119}});
        let e = read_record(record.as_object().unwrap(), &columns).unwrap();
        assert_eq!(e.phone(PhoneType::Mobile), Some("+46 70 1"));
        let home = e.address(AddressType::Home).unwrap();
        assert_eq!(home.street.as_deref(), Some("Storgatan 1\nlgh 1102"));
        assert_eq!(home.postal_code.as_deref(), Some("21119"));
        assert_eq!(home.locality, None);
        let one_line = json!({"id": 7, "name": {"first": "Ada", "last": "L"},
            "home": {"street_1": "Storgatan 1", "street_2": null}});
        let e = read_record(one_line.as_object().unwrap(), &columns).unwrap();
        assert_eq!(
            e.address(AddressType::Home).unwrap().street.as_deref(),
            Some("Storgatan 1")
        );
        // A line break in a postal code is no postal code; the error names the field only.
        let broken = json!({"id": 7, "name": {"first": "Ada", "last": "L"},
            "home": {"zip": "211\n19"}});
        let error = read_record(broken.as_object().unwrap(), &columns).unwrap_err();
        assert_eq!(error.field.as_deref(), Some("homeAddress.postalCode"));
        assert!(!error.message.contains("211"), "{}", error.message);
    }

    #[test]
    fn errors_name_the_record_and_field_but_not_the_value() {
        let record =
            json!({"id": "9", "name": {"first": "Ada"}, "mail": "secret-name", "state": "active"});
        let error = read_record(record.as_object().unwrap(), &columns()).unwrap_err();
        assert_eq!(error.employee_id.as_deref(), Some("9"));
        assert_eq!(error.field.as_deref(), Some("workEmail"));
        assert!(!error.message.contains("secret-name"), "{}", error.message);
        let no_id = read_record(
            json!({"name": {"first": "A"}}).as_object().unwrap(),
            &columns(),
        );
        assert_eq!(no_id.unwrap_err().employee_id, None);
    }

    #[test]
    fn a_line_break_in_a_one_line_field_is_an_error_naming_the_field() {
        let good = json!({"id": "9", "name": {"first": "Ada", "last": "L"}, "mail": "a@x.example",
            "state": "active", "start": "2020-01-01", "cc": "multi\nline"});
        assert!(read_record(good.as_object().unwrap(), &columns()).is_ok());
        for (pointer, field) in [
            ("/name/first", "firstName"),
            ("/name/last", "lastName"),
            ("/mail", "workEmail"),
            ("/state", "employmentStatus"),
            ("/start", "startDate"),
            ("/id", "id"),
        ] {
            let mut record = good.clone();
            let value = record.pointer_mut(pointer).unwrap();
            *value = json!(format!("{}\r\nmore", value.as_str().unwrap()));
            let error = read_record(record.as_object().unwrap(), &columns()).unwrap_err();
            assert_eq!(error.field.as_deref(), Some(field));
            assert!(
                error
                    .message
                    .starts_with(&format!("{field} holds a line break")),
                "{}",
                error.message
            );
            // A broken id names nobody.
            let id = (field != "id").then_some("9");
            assert_eq!(error.employee_id.as_deref(), id, "{field}");
        }
    }

    #[test]
    fn addresses_are_validated_and_the_error_names_the_problem_not_the_address() {
        let record = |mail: &str| json!({"id": "9", "name": {"first": "Ada"}, "mail": mail, "state": "active"});
        for mail in [
            "anna@bücher.example",
            "josé@acme.example",
            "first.last+tag@acme.example",
        ] {
            let read = read_record(record(mail).as_object().unwrap(), &columns());
            assert_eq!(read.unwrap().emails[0].address, mail);
        }
        for mail in ["@", "a@b@c", "john smith@acme.example", "anna@"] {
            let error = read_record(record(mail).as_object().unwrap(), &columns()).unwrap_err();
            assert_eq!(error.field.as_deref(), Some("workEmail"), "{mail}");
            assert!(
                error
                    .message
                    .starts_with("`mail` does not hold an email address: "),
                "{}",
                error.message
            );
            assert!(!error.message.contains("acme"), "{}", error.message);
        }
    }

    fn field_map(yaml: &str) -> FieldMap {
        serde_saphyr::from_str(yaml).unwrap()
    }

    fn defaults() -> Columns {
        Columns {
            id: "Id".into(),
            first_name: Some("First".into()),
            last_name: Some("Last".into()),
            employment_status: Some("Status".into()),
            end_date: Some("End".into()),
            ..Columns::default()
        }
    }

    fn required(map: &FieldMap) -> RequiredColumns {
        let columns = Columns::from_field_map(map, &defaults());
        RequiredColumns::of_field_map("Test report", "spec.source.test.fieldMap", map, &columns)
    }

    #[test]
    fn named_columns_and_the_id_and_name_defaults_are_required_others_not() {
        let map = field_map("{endDate: Leaving, firstName: '', customFields: {cc: Cost}}");
        let required = required(&map);
        // Status and end date by default may be absent; "" reads nothing on purpose; custom
        // columns are judged by the run's check of mapped fields.
        let columns: Vec<_> = required
            .columns
            .iter()
            .map(|(field, column, default)| (field.as_str(), column.as_str(), *default))
            .collect();
        assert_eq!(
            columns,
            [
                ("spec.source.test.fieldMap.id", "Id", true),
                ("spec.source.test.fieldMap.lastName", "Last", true),
                ("spec.source.test.fieldMap.endDate", "Leaving", false),
            ]
        );
    }

    #[test]
    fn a_required_column_in_no_record_of_any_page_fails_naming_it_and_what_exists() {
        let map = field_map("{employmentStatus: Worker_Status, endDate: Leaving}");
        let required = required(&map);
        let page_one = [
            json!({"Id": "1", "First": "A", "Last": "B", "Status": "Active"}),
            json!("not a record"),
        ];
        let page_two = [json!({"Id": "2", "First": "C", "Last": "D", "Leaving": null})];
        let mut tracker = required.tracker();
        tracker.observe(&page_one);
        tracker.observe(&page_two);
        let message = tracker.finish().unwrap_err().to_string();
        let lines: Vec<_> = message.lines().collect();
        assert_eq!(
            lines[0],
            "spec.source.test.fieldMap.employmentStatus: no record of the Test report has the column `Worker_Status`"
        );
        assert_eq!(
            lines.len(),
            2,
            "a null value counts as the column: {message}"
        );
        assert!(
            lines[1].starts_with("The records have the columns: First, Id, Last, Leaving, Status."),
            "{message}"
        );
        // Found on a later page, it passes; so does a fetch without records.
        let mut tracker = required.tracker();
        tracker.observe(&page_two);
        tracker.observe(&[json!({"Id": "3", "First": "E", "Worker_Status": "x"})]);
        assert!(tracker.finish().is_ok());
        assert!(required.tracker().finish().is_ok());
        // A default id or name column in no record fails too, said to be the default.
        let defaulted = self::required(&FieldMap::default());
        let mut tracker = defaulted.tracker();
        tracker.observe(&[json!({"Id": "1", "Voornaam": "A", "Last": "B"})]);
        let message = tracker.finish().unwrap_err().to_string();
        assert!(
            message.starts_with(
                "spec.source.test.fieldMap.firstName: no record of the Test report has the default column `First`\n"
            ),
            "{message}"
        );
    }

    #[test]
    fn dotted_columns_are_found_in_nested_records() {
        let map = field_map("{id: person.id, firstName: person.name, lastName: ''}");
        let required = required(&map);
        let mut tracker = required.tracker();
        tracker.observe(&[json!({"person": {"id": "1", "name": null}})]);
        assert!(tracker.finish().is_ok());
    }

    #[test]
    fn a_record_without_a_status_says_so_and_keeps_its_dates() {
        let without_status = Columns {
            employment_status: None,
            end_date: Some("end".into()),
            ..columns()
        };
        let record = json!({"id": "1", "name": {"first": "A"}, "end": "2026-06-30"});
        let read = read_record(record.as_object().unwrap(), &without_status).unwrap();
        assert!(!read.status_stated);
        assert_eq!(read.end_date, Some(date(2026, 6, 30)));
        let stated = json!({"id": "2", "name": {"first": "B"}, "state": "inactive"});
        let read = read_record(stated.as_object().unwrap(), &columns()).unwrap();
        assert!(read.status_stated);
        assert_eq!(read.employment_status, EmploymentStatus::Inactive);
    }

    #[test]
    fn list_entries_that_are_not_records_are_errors() {
        let page = read_page(
            &[
                json!("x"),
                json!(null),
                json!({"id": "2", "name": {"first": "B"}}),
            ],
            &columns(),
        );
        assert_eq!(page.employees.len(), 1);
        assert_eq!(page.errors.len(), 2);
        assert!(page.errors[0].message.contains("is a string"));
    }

    #[test]
    fn fields_are_flattened_with_what_they_feed() {
        let record = json!({"id": "1", "name": {"first": "A", "last": "B"}, "other": null});
        let fields = fields_of(record.as_object(), &columns(), &["meta_only".into()]);
        let summary: Vec<_> = fields
            .iter()
            .map(|f| (f.name.as_str(), f.feeds.as_deref(), f.example.is_some()))
            .collect();
        assert_eq!(
            summary,
            [
                ("cc", Some("customFields.cost.center"), false),
                ("id", Some("id"), true),
                ("mail", Some("workEmail"), false),
                ("meta_only", None, false),
                ("name.first", Some("firstName"), true),
                ("name.last", Some("lastName"), true),
                ("other", None, false),
                ("start", Some("startDate"), false),
                ("state", Some("employmentStatus"), false),
            ]
        );
    }
}
