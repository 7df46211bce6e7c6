//! Which column of a CSV file feeds which canonical field: the canonical names, or the columns
//! `spec.source.csv.fieldMap` names instead.
//!
//! A column the field map names that the header lacks fails the whole file, as does a missing
//! required column: reading on would give everyone an empty value.

use crate::{
    crd::FieldMap,
    sync::{
        field::Field,
        model::{AddressPart, AddressType, EmploymentStatus, PhoneType},
        ports::source::SourceError,
    },
};

use super::super::rows::{Columns, address_entries, phone_entries};

/// The canonical fields a CSV file may have, besides `customFields.<path>`, in the order a row
/// is read (which keeps the order of the typed addresses the same whatever the file's).
pub const COLUMNS: [&str; 31] = [
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
    "workPhone",
    "mobilePhone",
    "homePhone",
    "workAddress.street",
    "workAddress.locality",
    "workAddress.region",
    "workAddress.postalCode",
    "workAddress.country",
    "homeAddress.street",
    "homeAddress.locality",
    "homeAddress.region",
    "homeAddress.postalCode",
    "homeAddress.country",
];

/// Fields every file must have a column for.
pub const REQUIRED_COLUMNS: [&str; 4] = ["id", "firstName", "lastName", "employmentStatus"];

const FIELD_MAP: &str = "spec.source.csv.fieldMap";

/// The columns a spec reads, before a header is seen.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    /// Each canonical field read, in [`COLUMNS`] order, with its column and whether the field
    /// map names that column (else it is the canonical name).
    standard: Vec<(&'static str, String, bool)>,
    /// Custom fields the field map names: dotted name, column.
    custom: Vec<(String, String)>,
    /// The field map's status words (lower case) and what each means.
    pub(super) status_values: Vec<(String, EmploymentStatus)>,
    /// Whether columns that feed nothing are ignored (the field map names a column) or fail
    /// the file (a header of canonical names, where such a column is most likely misspelt).
    ignore_other_columns: bool,
}

/// Where each field of a row is, once the header is read.
#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    /// The header's column names, trimmed.
    pub names: Vec<String>,
    /// Each canonical field read and its column index, in [`COLUMNS`] order.
    pub standard: Vec<(&'static str, usize)>,
    /// Custom fields: dotted name and column index.
    pub custom: Vec<(String, usize)>,
}

impl Header {
    /// The column index of a canonical field, if the file has it.
    pub fn index(&self, canonical: &str) -> Option<usize> {
        self.standard
            .iter()
            .find(|(name, _)| *name == canonical)
            .map(|(_, index)| *index)
    }

    /// How a message names a field: its canonical name, and the file's column when that is
    /// another name (`startDate (column `Hire Date`)`).
    pub fn describe(&self, canonical: &str, index: usize) -> String {
        match self.names.get(index) {
            Some(column) if column != canonical => format!("{canonical} (column `{column}`)"),
            _ => canonical.to_owned(),
        }
    }
}

/// The field map's entry for a canonical field; `None` for the address kinds it has no entry
/// for, which keep their canonical names.
fn entry<'a>(map: &'a FieldMap, canonical: &str) -> Option<&'a Option<String>> {
    Some(match canonical {
        "id" => &map.id,
        "employeeNumber" => &map.employee_number,
        "firstName" => &map.first_name,
        "lastName" => &map.last_name,
        "preferredName" => &map.preferred_name,
        "workEmail" => &map.work_email,
        "personalEmail" => &map.personal_email,
        "employmentStatus" => &map.employment_status,
        "startDate" => &map.start_date,
        "endDate" => &map.end_date,
        "managerId" => &map.manager_id,
        "department" => &map.department,
        "title" => &map.title,
        "location" => &map.location,
        "preferredLanguage" => &map.preferred_language,
        _ => {
            return match Field::parse(canonical) {
                Ok(Field::Phone(kind)) => phone_entries(map)
                    .into_iter()
                    .find(|(k, _)| *k == kind)
                    .map(|(_, set)| set),
                Ok(Field::Address(kind, part)) => address_entries(map)
                    .into_iter()
                    .find(|(k, p, _)| (*k, *p) == (kind, part))
                    .map(|(_, _, set)| set),
                _ => None,
            };
        }
    })
}

/// The canonical names as columns: what a field map's unset entries fall back to.
fn canonical_columns() -> Columns {
    let own = |name: &str| Some(name.to_owned());
    Columns {
        id: "id".into(),
        employee_number: own("employeeNumber"),
        first_name: own("firstName"),
        last_name: own("lastName"),
        preferred_name: own("preferredName"),
        work_email: own("workEmail"),
        personal_email: own("personalEmail"),
        employment_status: own("employmentStatus"),
        start_date: own("startDate"),
        end_date: own("endDate"),
        manager_id: own("managerId"),
        department: own("department"),
        title: own("title"),
        location: own("location"),
        preferred_language: own("preferredLanguage"),
        phones: PhoneType::ALL
            .into_iter()
            .map(|kind| (kind, kind.field_name().to_owned()))
            .collect(),
        addresses: AddressType::ALL
            .into_iter()
            .flat_map(|kind| {
                AddressPart::ALL
                    .into_iter()
                    .map(move |part| (kind, part, kind.part_field_name(part).to_owned()))
            })
            .collect(),
        ..Columns::default()
    }
}

/// A custom field name (`costCenter`, `address.city`): dotted segments, none empty.
pub fn is_custom_name(name: &str) -> bool {
    !name.is_empty() && !name.split('.').any(str::is_empty)
}

impl Layout {
    /// The layout of a field map (the default map reads the canonical names).
    pub fn new(map: &FieldMap) -> Layout {
        let columns = Columns::from_field_map(map, &canonical_columns());
        let feeds = columns.feeds();
        let standard = COLUMNS
            .iter()
            .filter_map(|canonical| {
                let named = entry(map, canonical)
                    .is_some_and(|set| set.as_deref().is_some_and(|c| !c.is_empty()));
                let column = match entry(map, canonical) {
                    // The address kinds a field map has no entry for.
                    None => (*canonical).to_owned(),
                    Some(_) => feeds
                        .iter()
                        .find(|(_, fed)| fed == canonical)
                        .map(|(column, _)| column.clone())?,
                };
                Some((*canonical, column, named))
            })
            .collect();
        Layout {
            standard,
            ignore_other_columns: standard_named(map) || !columns.custom.is_empty(),
            custom: columns.custom,
            status_values: columns.status_values,
        }
    }

    /// Binds the layout to a header: every column the field map names and every required
    /// field must be there; with a header of canonical names, every column must feed a field.
    pub fn bind(&self, names: Vec<String>) -> Result<Header, SourceError> {
        if !self.ignore_other_columns {
            self.check_canonical(&names)?;
        }
        let position = |column: &str| names.iter().position(|name| name == column);
        let mut missing = Vec::new();
        let mut standard = Vec::new();
        for (canonical, column, named) in &self.standard {
            match position(column) {
                Some(index) => standard.push((*canonical, index)),
                None if *named => missing.push(format!(
                    "{FIELD_MAP}.{canonical}: the CSV header has no column `{column}`"
                )),
                None => {}
            }
        }
        let mut custom = Vec::new();
        for (name, column) in &self.custom {
            match position(column) {
                Some(index) => custom.push((name.clone(), index)),
                None => missing.push(format!(
                    "{FIELD_MAP}.customFields.{name}: the CSV header has no column `{column}`"
                )),
            }
        }
        if !missing.is_empty() {
            return Err(missing_columns(missing, &names));
        }
        for (index, name) in names.iter().enumerate() {
            if let Some(path) = name.strip_prefix("customFields.")
                && is_custom_name(path)
                && !custom.iter().any(|(mapped, _)| mapped == path)
            {
                custom.push((path.to_owned(), index));
            }
        }
        let header = Header {
            names,
            standard,
            custom,
        };
        if let Some(missing) = REQUIRED_COLUMNS
            .iter()
            .find(|required| header.index(required).is_none())
        {
            return Err(SourceError::InvalidInput(format!(
                "CSV header lacks the required column `{missing}`: add a `{missing}` column to \
                 the file's first line, or name the file's column in {FIELD_MAP}.{missing} \
                 (required: {})",
                REQUIRED_COLUMNS.join(", ")
            )));
        }
        header.check_read_columns_are_unique()?;
        Ok(header)
    }

    /// A header of canonical names: each column once, each a canonical field or
    /// `customFields.<path>`.
    fn check_canonical(&self, names: &[String]) -> Result<(), SourceError> {
        for (index, name) in names.iter().enumerate() {
            if names[..index].contains(name) {
                return Err(twice(name, index));
            }
            let known = self.standard.iter().any(|(_, column, _)| column == name)
                || name
                    .strip_prefix("customFields.")
                    .is_some_and(is_custom_name);
            if !known {
                return Err(SourceError::InvalidInput(format!(
                    "CSV header column {} `{name}` is not a canonical field; use one of {} or \
                     customFields.<name>, or name the column in {FIELD_MAP} (the fields it \
                     feeds) to read an export as it is",
                    index + 1,
                    COLUMNS.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// What each column of `names` feeds (`customFields.<name>` for a custom field), for
    /// `hris-operator fields`; then the columns the spec reads that the header lacks, with the
    /// field each is for.
    pub fn feeds(&self, names: &[String]) -> (Vec<Vec<String>>, Vec<(String, String)>) {
        let mut feeds: Vec<Vec<String>> = vec![Vec::new(); names.len()];
        let mut absent = Vec::new();
        let read = self
            .standard
            .iter()
            .map(|(canonical, column, named)| {
                let required = REQUIRED_COLUMNS.contains(canonical);
                ((*canonical).to_owned(), column, *named || required)
            })
            .chain(
                self.custom
                    .iter()
                    .map(|(name, column)| (format!("customFields.{name}"), column, true)),
            );
        for (field, column, needed) in read {
            match names.iter().position(|name| name == column) {
                Some(index) => feeds[index].push(field),
                None if needed => absent.push((column.clone(), field)),
                None => {}
            }
        }
        for (index, name) in names.iter().enumerate() {
            if let Some(path) = name.strip_prefix("customFields.")
                && is_custom_name(path)
                && !self.custom.iter().any(|(mapped, _)| mapped == path)
            {
                feeds[index].push(name.clone());
            }
        }
        (feeds, absent)
    }
}

/// Whether the field map names a column for a canonical field.
fn standard_named(map: &FieldMap) -> bool {
    COLUMNS.iter().any(|canonical| {
        entry(map, canonical).is_some_and(|set| set.as_deref().is_some_and(|c| !c.is_empty()))
    })
}

impl Header {
    /// A column read for a field must be the only one of its name: which of two would be
    /// meant is a guess.
    fn check_read_columns_are_unique(&self) -> Result<(), SourceError> {
        let read = self
            .standard
            .iter()
            .map(|(_, index)| *index)
            .chain(self.custom.iter().map(|(_, index)| *index));
        for index in read {
            let name = &self.names[index];
            if let Some(other) = self
                .names
                .iter()
                .enumerate()
                .position(|(at, n)| at != index && n == name)
            {
                return Err(twice(name, index.max(other)));
            }
        }
        Ok(())
    }
}

fn twice(name: &str, index: usize) -> SourceError {
    SourceError::InvalidInput(format!(
        "CSV header names column `{name}` twice (column {})",
        index + 1
    ))
}

/// The error of field map entries whose columns the header lacks, with the columns it has.
fn missing_columns(mut lines: Vec<String>, names: &[String]) -> SourceError {
    const SHOWN: usize = 40;
    let mut have: Vec<String> = names
        .iter()
        .take(SHOWN)
        .map(|name| format!("`{name}`"))
        .collect();
    if names.len() > SHOWN {
        have.push(format!("and {} more", names.len() - SHOWN));
    }
    if have.is_empty() {
        have.push("none".into());
    }
    lines.push(format!(
        "The header has the columns: {}. Set each entry to a column of the header, spelt as \
         there (case and inner spaces count), or to \"\" to read nothing for that field.",
        have.join(", ")
    ));
    SourceError::InvalidInput(lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(header: &str) -> Vec<String> {
        header.split(',').map(str::to_owned).collect()
    }

    fn layout(yaml: &str) -> Layout {
        Layout::new(&serde_saphyr::from_str(yaml).unwrap())
    }

    #[test]
    fn canonical_names_are_read_without_a_field_map() {
        let header = layout("{}")
            .bind(names(
                "id,firstName,lastName,employmentStatus,otherEmail,customFields.a.b",
            ))
            .unwrap();
        assert_eq!(
            header.standard,
            [
                ("id", 0),
                ("firstName", 1),
                ("lastName", 2),
                ("otherEmail", 4),
                ("employmentStatus", 3)
            ]
        );
        assert_eq!(header.custom, [("a.b".to_owned(), 5)]);
    }

    #[test]
    fn a_field_map_renames_columns_and_the_rest_keep_canonical_names() {
        let layout = layout(
            "{id: 'Employee #', firstName: 'First Name', startDate: 'Hire Date', \
             department: '', customFields: {costCenter: 'Cost Center'}}",
        );
        let header = layout
            .bind(names(
                "Employee #,First Name,lastName,employmentStatus,Hire Date,department,Cost Center,Notes",
            ))
            .unwrap();
        assert_eq!(
            header.standard,
            [
                ("id", 0),
                ("firstName", 1),
                ("lastName", 2),
                ("employmentStatus", 3),
                ("startDate", 4)
            ],
            "department is mapped to \"\": it reads nothing"
        );
        assert_eq!(header.custom, [("costCenter".to_owned(), 6)]);
        assert_eq!(
            header.describe("startDate", 4),
            "startDate (column `Hire Date`)"
        );
        assert_eq!(header.describe("lastName", 2), "lastName");
    }

    #[test]
    fn a_mapped_column_the_header_lacks_fails_naming_the_entry_and_the_columns() {
        let layout = layout(
            "{id: 'Employee #', startDate: 'Hire Date', customFields: {costCenter: 'Cost Centre'}}",
        );
        let error = layout
            .bind(names(
                "Employee #,firstName,lastName,employmentStatus,Start Date,Cost Center",
            ))
            .unwrap_err()
            .to_string();
        let lines: Vec<&str> = error.lines().collect();
        assert_eq!(
            lines,
            [
                "spec.source.csv.fieldMap.startDate: the CSV header has no column `Hire Date`",
                "spec.source.csv.fieldMap.customFields.costCenter: the CSV header has no column `Cost Centre`",
                "The header has the columns: `Employee #`, `firstName`, `lastName`, \
                 `employmentStatus`, `Start Date`, `Cost Center`. Set each entry to a column of \
                 the header, spelt as there (case and inner spaces count), or to \"\" to read \
                 nothing for that field.",
            ]
        );
    }

    #[test]
    fn a_required_field_without_a_column_fails_naming_the_field_map_entry() {
        let error = layout("{id: 'Employee #'}")
            .bind(names("Employee #,First Name,lastName,employmentStatus"))
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("CSV header lacks the required column `firstName`"),
            "{error}"
        );
        assert!(
            error.contains("spec.source.csv.fieldMap.firstName"),
            "{error}"
        );
    }

    #[test]
    fn other_columns_fail_a_canonical_header_and_are_ignored_with_a_field_map() {
        let header = "id,firstName,lastName,employmentStatus,Notes";
        let error = layout("{}").bind(names(header)).unwrap_err().to_string();
        assert!(
            error.contains("column 5 `Notes` is not a canonical field"),
            "{error}"
        );
        // Status words alone rename no column: the header is still one of canonical names.
        let words = layout("{statusValues: {Terminated: Inactive}}");
        assert!(words.bind(names(header)).is_err());
        let mapped = layout("{employmentStatus: Status}");
        let bound = mapped
            .bind(names("id,firstName,lastName,Status,Notes,Notes"))
            .unwrap();
        assert_eq!(bound.index("employmentStatus"), Some(3));
    }

    #[test]
    fn a_column_read_twice_is_an_error_one_ignored_twice_is_not() {
        let mapped = layout("{employmentStatus: Status}");
        let error = mapped
            .bind(names("id,firstName,lastName,Status,Status"))
            .unwrap_err();
        assert!(error.to_string().contains("`Status` twice (column 5)"));
        let twice = layout("{}").bind(names("id,id,firstName,lastName,employmentStatus"));
        assert!(twice.unwrap_err().to_string().contains("`id` twice"));
    }

    #[test]
    fn one_column_may_feed_several_fields() {
        let layout = layout("{id: 'Employee #', employeeNumber: 'Employee #'}");
        let names = names("Employee #,firstName,lastName,employmentStatus,Notes");
        let header = layout.bind(names.clone()).unwrap();
        assert_eq!(header.index("id"), Some(0));
        assert_eq!(header.index("employeeNumber"), Some(0));
        let (feeds, absent) = layout.feeds(&names);
        assert_eq!(feeds[0], ["id", "employeeNumber"]);
        assert!(feeds[4].is_empty());
        assert!(absent.is_empty());
    }

    #[test]
    fn feeds_name_the_columns_the_spec_reads_that_the_header_lacks() {
        let layout = layout("{startDate: 'Hire Date', customFields: {cc: 'Cost Center'}}");
        let (_, absent) = layout.feeds(&names("id,firstName,employmentStatus,title"));
        assert_eq!(
            absent,
            [
                ("lastName".to_owned(), "lastName".to_owned()),
                ("Hire Date".to_owned(), "startDate".to_owned()),
                ("Cost Center".to_owned(), "customFields.cc".to_owned()),
            ]
        );
    }
}
