//! Canonical field names, as used by filters and attribute mappings, and their lookup.

use std::borrow::Cow;

use jiff::civil::Date;
use serde_json::Value;

use super::model::{AddressPart, AddressType, EmailType, Employee, PhoneType};

/// A canonical employee field, or a dotted path into custom fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Field {
    /// `id`
    Id,
    /// `employeeNumber`
    EmployeeNumber,
    /// `firstName`
    FirstName,
    /// `lastName`
    LastName,
    /// `preferredName`
    PreferredName,
    /// `email`: the address chosen by the email policy.
    Email,
    /// `primaryEmail`, `workEmail`, `secondaryEmail`, `personalEmail`, `otherEmail`: the
    /// employee's address of that type, whatever the email policy chooses (the names `fields`
    /// shows for a source's address fields).
    TypedEmail(EmailType),
    /// `employmentStatus`
    EmploymentStatus,
    /// `startDate`
    StartDate,
    /// `endDate`
    EndDate,
    /// `managerId`
    ManagerId,
    /// `department`
    Department,
    /// `title`
    Title,
    /// `location`
    Location,
    /// `preferredLanguage`
    PreferredLanguage,
    /// `workPhone`, `mobilePhone`, `homePhone`.
    Phone(PhoneType),
    /// `workAddress.street`, `homeAddress.postalCode`…: one part of a typed address.
    Address(AddressType, AddressPart),
    /// `customFields.a.b`: the path segments after `customFields`.
    Custom(Box<[String]>),
}

/// Every canonical field but the custom ones, in the order of [`FIELD_NAMES`].
pub const STANDARD_FIELDS: [Field; 32] = [
    Field::Id,
    Field::EmployeeNumber,
    Field::FirstName,
    Field::LastName,
    Field::PreferredName,
    Field::Email,
    Field::TypedEmail(EmailType::Primary),
    Field::TypedEmail(EmailType::Work),
    Field::TypedEmail(EmailType::Secondary),
    Field::TypedEmail(EmailType::Personal),
    Field::TypedEmail(EmailType::Other),
    Field::EmploymentStatus,
    Field::StartDate,
    Field::EndDate,
    Field::ManagerId,
    Field::Department,
    Field::Title,
    Field::Location,
    Field::PreferredLanguage,
    Field::Phone(PhoneType::Work),
    Field::Phone(PhoneType::Mobile),
    Field::Phone(PhoneType::Home),
    Field::Address(AddressType::Work, AddressPart::Street),
    Field::Address(AddressType::Work, AddressPart::Locality),
    Field::Address(AddressType::Work, AddressPart::Region),
    Field::Address(AddressType::Work, AddressPart::PostalCode),
    Field::Address(AddressType::Work, AddressPart::Country),
    Field::Address(AddressType::Home, AddressPart::Street),
    Field::Address(AddressType::Home, AddressPart::Locality),
    Field::Address(AddressType::Home, AddressPart::Region),
    Field::Address(AddressType::Home, AddressPart::PostalCode),
    Field::Address(AddressType::Home, AddressPart::Country),
];

/// The canonical field names, for error messages and docs.
pub const FIELD_NAMES: &str = "id, employeeNumber, firstName, lastName, preferredName, email, \
primaryEmail, workEmail, secondaryEmail, personalEmail, otherEmail, employmentStatus, startDate, endDate, managerId, department, title, location, preferredLanguage, \
workPhone, mobilePhone, homePhone, workAddress.<part>, homeAddress.<part> (part: street, locality, \
region, postalCode, country), customFields.<name>[.<name>...]";

/// The value of a field for one employee.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldValue<'a> {
    /// The employee has no value.
    Missing,
    /// A text value.
    Text(&'a str),
    /// A date.
    Date(Date),
    /// A custom field's JSON value (never null).
    Json(&'a Value),
}

impl Field {
    /// Parses a canonical field name.
    pub fn parse(name: &str) -> Result<Field, String> {
        let field = match name {
            "id" => Field::Id,
            "employeeNumber" => Field::EmployeeNumber,
            "firstName" => Field::FirstName,
            "lastName" => Field::LastName,
            "preferredName" => Field::PreferredName,
            "email" => Field::Email,
            "primaryEmail" => Field::TypedEmail(EmailType::Primary),
            "workEmail" => Field::TypedEmail(EmailType::Work),
            "secondaryEmail" => Field::TypedEmail(EmailType::Secondary),
            "personalEmail" => Field::TypedEmail(EmailType::Personal),
            "otherEmail" => Field::TypedEmail(EmailType::Other),
            "employmentStatus" => Field::EmploymentStatus,
            "startDate" => Field::StartDate,
            "endDate" => Field::EndDate,
            "managerId" => Field::ManagerId,
            "department" => Field::Department,
            "title" => Field::Title,
            "location" => Field::Location,
            "preferredLanguage" => Field::PreferredLanguage,
            _ => {
                if let Some(field) = STANDARD_FIELDS[19..]
                    .iter()
                    .find(|field| field.to_string() == name)
                {
                    return Ok(field.clone());
                }
                let path = name
                    .strip_prefix("customFields.")
                    .ok_or_else(|| format!("unknown field `{name}`; use one of {FIELD_NAMES}"))?;
                let segments: Vec<String> = path.split('.').map(str::to_owned).collect();
                if segments.iter().any(String::is_empty) {
                    return Err(format!(
                        "`{name}` has an empty path segment; write customFields.<name>[.<name>...]"
                    ));
                }
                Field::Custom(segments.into_boxed_slice())
            }
        };
        Ok(field)
    }

    /// Whether date operators may be used on the field (custom fields hold dates as text).
    pub fn may_hold_date(&self) -> bool {
        matches!(self, Field::StartDate | Field::EndDate | Field::Custom(_))
    }

    /// The field's value; `email` is the address chosen by the email policy.
    pub fn get<'a>(&self, employee: &'a Employee, email: Option<&'a str>) -> FieldValue<'a> {
        let text = |value: Option<&'a compact_str::CompactString>| match value {
            Some(value) if !value.is_empty() => FieldValue::Text(value.as_str()),
            _ => FieldValue::Missing,
        };
        match self {
            Field::Id => FieldValue::Text(&employee.id),
            Field::EmployeeNumber => text(employee.employee_number.as_ref()),
            Field::FirstName => FieldValue::Text(&employee.first_name),
            Field::LastName => FieldValue::Text(&employee.last_name),
            Field::PreferredName => text(employee.preferred_name.as_ref()),
            Field::Email => email.map_or(FieldValue::Missing, FieldValue::Text),
            Field::TypedEmail(kind) => employee
                .emails
                .iter()
                .find(|e| e.kind == *kind && !e.address.is_empty())
                .map_or(FieldValue::Missing, |e| {
                    FieldValue::Text(e.address.as_str())
                }),
            Field::EmploymentStatus => FieldValue::Text(employee.employment_status.as_str()),
            Field::StartDate => employee
                .start_date
                .map_or(FieldValue::Missing, FieldValue::Date),
            Field::EndDate => employee
                .end_date
                .map_or(FieldValue::Missing, FieldValue::Date),
            Field::ManagerId => text(employee.manager_id.as_ref()),
            Field::Department => text(employee.department.as_ref()),
            Field::Title => text(employee.title.as_ref()),
            Field::Location => text(employee.location.as_ref()),
            Field::PreferredLanguage => text(employee.preferred_language.as_ref()),
            Field::Phone(kind) => employee
                .phone(*kind)
                .map_or(FieldValue::Missing, FieldValue::Text),
            Field::Address(kind, part) => text(
                employee
                    .address(*kind)
                    .and_then(|address| address.part(*part)),
            ),
            Field::Custom(path) => {
                let mut value = employee.custom_fields.get(&path[0]);
                for segment in &path[1..] {
                    value = value.and_then(|value| value.get(segment));
                }
                match value {
                    None | Some(Value::Null) => FieldValue::Missing,
                    Some(Value::String(text)) if text.is_empty() => FieldValue::Missing,
                    Some(value) => FieldValue::Json(value),
                }
            }
        }
    }
}

/// The canonical name, as [`Field::parse`] reads it.
impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            Field::Id => "id",
            Field::EmployeeNumber => "employeeNumber",
            Field::FirstName => "firstName",
            Field::LastName => "lastName",
            Field::PreferredName => "preferredName",
            Field::Email => "email",
            Field::TypedEmail(EmailType::Primary) => "primaryEmail",
            Field::TypedEmail(EmailType::Work) => "workEmail",
            Field::TypedEmail(EmailType::Secondary) => "secondaryEmail",
            Field::TypedEmail(EmailType::Personal) => "personalEmail",
            Field::TypedEmail(EmailType::Other) => "otherEmail",
            Field::EmploymentStatus => "employmentStatus",
            Field::StartDate => "startDate",
            Field::EndDate => "endDate",
            Field::ManagerId => "managerId",
            Field::Department => "department",
            Field::Title => "title",
            Field::Location => "location",
            Field::PreferredLanguage => "preferredLanguage",
            Field::Phone(kind) => kind.field_name(),
            Field::Address(kind, part) => kind.part_field_name(*part),
            Field::Custom(path) => return write!(f, "customFields.{}", path.join(".")),
        };
        f.write_str(name)
    }
}

impl<'a> FieldValue<'a> {
    /// The value as text, for case-insensitive comparison; objects and arrays have none.
    pub fn as_text(&self) -> Option<Cow<'a, str>> {
        match self {
            FieldValue::Missing => None,
            FieldValue::Text(text) => Some(Cow::Borrowed(text)),
            FieldValue::Date(date) => Some(Cow::Owned(date.to_string())),
            FieldValue::Json(Value::String(text)) => Some(Cow::Borrowed(text)),
            FieldValue::Json(value @ (Value::Number(_) | Value::Bool(_))) => {
                Some(Cow::Owned(value.to_string()))
            }
            FieldValue::Json(_) => None,
        }
    }

    /// The value as a date, when it is one or is text in YYYY-MM-DD form.
    pub fn as_date(&self) -> Option<Date> {
        match self {
            FieldValue::Date(date) => Some(*date),
            FieldValue::Text(text) => text.trim().parse().ok(),
            FieldValue::Json(Value::String(text)) => text.trim().parse().ok(),
            _ => None,
        }
    }

    /// The value as JSON, for writing into a target attribute.
    pub fn to_json(&self) -> Option<Value> {
        match self {
            FieldValue::Missing => None,
            FieldValue::Text(text) => Some(Value::String((*text).to_owned())),
            FieldValue::Date(date) => Some(Value::String(date.to_string())),
            FieldValue::Json(value) => Some((*value).clone()),
        }
    }
}

/// Case-insensitive equality (Unicode lower-casing, with an ASCII fast path).
pub fn eq_ignore_case(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    if a.len() == b.len() && a.as_bytes().eq_ignore_ascii_case(b.as_bytes()) {
        return true;
    }
    if a.is_ascii() && b.is_ascii() {
        return false;
    }
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

/// The key under which two values are equal exactly when [`eq_ignore_case`] says they are:
/// each character lower-cased on its own (unlike `str::to_lowercase`, which lower-cases a
/// final Σ as ς), so an index built on it finds the same matches as a scan with
/// `eq_ignore_case`.
pub fn eq_ignore_case_key(value: &str) -> Cow<'_, str> {
    if value.is_ascii() {
        if value.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(value.to_ascii_lowercase())
        } else {
            Cow::Borrowed(value)
        }
    } else {
        Cow::Owned(value.chars().flat_map(char::to_lowercase).collect())
    }
}

/// Lower-cases for use as a case-insensitive key.
pub fn fold_case(value: &str) -> Cow<'_, str> {
    if value.is_ascii() {
        if value.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(value.to_ascii_lowercase())
        } else {
            Cow::Borrowed(value)
        }
    } else {
        Cow::Owned(value.to_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::model::EmploymentStatus;
    use serde_json::json;

    #[test]
    fn the_caseless_key_agrees_with_caseless_equality() {
        let values = [
            "ada@x.example",
            "ADA@X.example",
            "Åsa@example.com",
            "åsa@EXAMPLE.com",
            "asa@example.com",
            "ΟΔΥΣΣΕΥΣ",
            "οδυσσευς",
            "οδυσσευσ",
            "İstanbul",
            "i̇stanbul",
            "istanbul",
            "STRASSE",
            "straße",
            "strasse",
            "",
        ];
        for a in values {
            for b in values {
                assert_eq!(
                    eq_ignore_case_key(a) == eq_ignore_case_key(b),
                    eq_ignore_case(a, b),
                    "{a} / {b}"
                );
            }
        }
    }

    #[test]
    fn parses_standard_and_custom_fields() {
        assert_eq!(Field::parse("department"), Ok(Field::Department));
        assert_eq!(
            Field::parse("customFields.address.city"),
            Ok(Field::Custom(vec!["address".into(), "city".into()].into()))
        );
        let err = Field::parse("dept").unwrap_err();
        assert!(err.contains("unknown field `dept`"), "{err}");
        assert!(Field::parse("customFields..x").is_err());
        assert!(Field::parse("customFields.").is_err());
    }

    #[test]
    fn a_field_displays_as_the_name_it_parses_from() {
        for field in STANDARD_FIELDS {
            assert_eq!(Field::parse(&field.to_string()), Ok(field.clone()));
            let named = match &field {
                Field::Address(kind, part) => {
                    FIELD_NAMES.contains(&format!("{}.<part>", kind.field_name()))
                        && FIELD_NAMES.contains(part.field_name())
                }
                _ => FIELD_NAMES.contains(&field.to_string()),
            };
            assert!(named, "{field}");
        }
        assert!(Field::parse("workAddress.city").is_err());
        assert!(Field::parse("officePhone").is_err());
        let custom = Field::parse("customFields.address.city").unwrap();
        assert_eq!(custom.to_string(), "customFields.address.city");
    }

    #[test]
    fn a_typed_email_field_reads_that_address_whatever_the_policy_picks() {
        let mut employee = Employee::new("1", "A", "B", EmploymentStatus::Active);
        employee.emails.push(crate::sync::model::Email {
            address: "a@home.example".into(),
            kind: EmailType::Personal,
        });
        employee.emails.push(crate::sync::model::Email {
            address: "a@corp.example".into(),
            kind: EmailType::Work,
        });
        let work = Field::parse("workEmail").unwrap();
        assert_eq!(
            work.get(&employee, Some("a@home.example")),
            FieldValue::Text("a@corp.example")
        );
        let other = Field::parse("otherEmail").unwrap();
        assert_eq!(other.get(&employee, None), FieldValue::Missing);
    }

    #[test]
    fn phone_and_address_fields_read_the_typed_values() {
        let mut employee = Employee::new("1", "A", "B", EmploymentStatus::Active);
        employee.set_phone(PhoneType::Mobile, Some("+46 70 123".into()));
        employee.set_address_part(
            AddressType::Home,
            AddressPart::PostalCode,
            Some("21119".into()),
        );
        employee.set_address_part(AddressType::Home, AddressPart::Locality, Some("".into()));
        let read = |employee: &Employee, name: &str| {
            Field::parse(name).unwrap().get(employee, None).to_json()
        };
        assert_eq!(read(&employee, "mobilePhone"), Some(json!("+46 70 123")));
        assert_eq!(read(&employee, "workPhone"), None);
        assert_eq!(
            read(&employee, "homeAddress.postalCode"),
            Some(json!("21119"))
        );
        assert_eq!(read(&employee, "homeAddress.locality"), None);
        assert_eq!(read(&employee, "workAddress.postalCode"), None);
        employee.set_phone(PhoneType::Mobile, None);
        assert_eq!(read(&employee, "mobilePhone"), None);
    }

    #[test]
    fn dotted_custom_paths_reach_nested_values() {
        let mut employee = Employee::new("1", "A", "B", EmploymentStatus::Active);
        employee.custom_fields.insert(
            "address",
            json!({"city": "Malmö", "zip": 21119, "empty": ""}),
        );
        let city = Field::parse("customFields.address.city").unwrap();
        assert_eq!(
            city.get(&employee, None).as_text().as_deref(),
            Some("Malmö")
        );
        let zip = Field::parse("customFields.address.zip").unwrap();
        assert_eq!(zip.get(&employee, None).as_text().as_deref(), Some("21119"));
        let empty = Field::parse("customFields.address.empty").unwrap();
        assert_eq!(empty.get(&employee, None), FieldValue::Missing);
        let absent = Field::parse("customFields.address.street.no").unwrap();
        assert_eq!(absent.get(&employee, None), FieldValue::Missing);
    }

    #[test]
    fn case_folding_handles_unicode() {
        assert!(eq_ignore_case("ÅSA@Example.COM", "åsa@example.com"));
        assert!(!eq_ignore_case("asa@example.com", "åsa@example.com"));
        assert_eq!(fold_case("Ö.X@Y.se"), "ö.x@y.se");
        assert!(matches!(fold_case("lower"), Cow::Borrowed(_)));
    }
}
