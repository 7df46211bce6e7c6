//! The canonical employee every source maps into, and the directory user every target maps out of.
//!
//! Strings are [`CompactString`]s: most HR values (ids, names, departments) fit inline, so a
//! 100,000-person plan allocates far less than with `String`.

use std::sync::Arc;

use compact_str::CompactString;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Employment status in the HR system.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EmploymentStatus {
    /// Employed and working.
    Active,
    /// Hired, not started yet.
    Pending,
    /// On leave; counts as employed.
    Leave,
    /// Left the company.
    Inactive,
}

impl EmploymentStatus {
    /// Parses a status name case-insensitively.
    pub fn parse(value: &str) -> Option<Self> {
        const NAMES: [(&str, EmploymentStatus); 4] = [
            ("active", EmploymentStatus::Active),
            ("pending", EmploymentStatus::Pending),
            ("leave", EmploymentStatus::Leave),
            ("inactive", EmploymentStatus::Inactive),
        ];
        let value = value.trim();
        NAMES
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(value))
            .map(|(_, status)| *status)
    }

    /// The canonical name.
    pub fn as_str(self) -> &'static str {
        match self {
            EmploymentStatus::Active => "Active",
            EmploymentStatus::Pending => "Pending",
            EmploymentStatus::Leave => "Leave",
            EmploymentStatus::Inactive => "Inactive",
        }
    }
}

/// Kind of an employee's email address in the HR system.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EmailType {
    /// The address the HR system marks as primary.
    Primary,
    /// A work address.
    Work,
    /// A secondary work address.
    Secondary,
    /// A private address.
    Personal,
    /// Any other address.
    Other,
}

impl EmailType {
    /// Every type, in the default priority order.
    pub const ALL: [EmailType; 5] = [
        EmailType::Primary,
        EmailType::Work,
        EmailType::Secondary,
        EmailType::Personal,
        EmailType::Other,
    ];
}

/// One typed email address of an employee.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Email {
    /// The address.
    pub address: CompactString,
    /// What kind of address the HR system says it is.
    pub kind: EmailType,
}

/// Kind of a phone number.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PhoneType {
    /// The work (desk or business) number.
    Work,
    /// A mobile number.
    Mobile,
    /// A private home number: personal data.
    Home,
}

impl PhoneType {
    /// Every type, in the order of the canonical field names.
    pub const ALL: [PhoneType; 3] = [PhoneType::Work, PhoneType::Mobile, PhoneType::Home];

    /// The canonical field name: `workPhone`, `mobilePhone`, `homePhone`.
    pub fn field_name(self) -> &'static str {
        match self {
            PhoneType::Work => "workPhone",
            PhoneType::Mobile => "mobilePhone",
            PhoneType::Home => "homePhone",
        }
    }
}

/// One typed phone number of an employee, as the source writes it (no reformatting: the
/// targets take numbers as text).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Phone {
    /// The number.
    pub number: CompactString,
    /// What kind of number it is.
    pub kind: PhoneType,
}

/// Kind of a postal address.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AddressType {
    /// Where the person works.
    Work,
    /// Where the person lives: personal data.
    Home,
}

impl AddressType {
    /// Every type, in the order of the canonical field names.
    pub const ALL: [AddressType; 2] = [AddressType::Work, AddressType::Home];

    /// The canonical name of the address: `workAddress`, `homeAddress`.
    pub fn field_name(self) -> &'static str {
        match self {
            AddressType::Work => "workAddress",
            AddressType::Home => "homeAddress",
        }
    }

    /// The canonical field name of one part of the address: `homeAddress.postalCode`.
    pub fn part_field_name(self, part: AddressPart) -> &'static str {
        use AddressPart::*;
        match (self, part) {
            (AddressType::Work, Street) => "workAddress.street",
            (AddressType::Work, Locality) => "workAddress.locality",
            (AddressType::Work, Region) => "workAddress.region",
            (AddressType::Work, PostalCode) => "workAddress.postalCode",
            (AddressType::Work, Country) => "workAddress.country",
            (AddressType::Home, Street) => "homeAddress.street",
            (AddressType::Home, Locality) => "homeAddress.locality",
            (AddressType::Home, Region) => "homeAddress.region",
            (AddressType::Home, PostalCode) => "homeAddress.postalCode",
            (AddressType::Home, Country) => "homeAddress.country",
        }
    }
}

/// One part of a postal address (the sub-attributes SCIM, Graph and Google share).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AddressPart {
    /// Street and number; several lines are joined by a line break.
    Street,
    /// City or town.
    Locality,
    /// State, province or region.
    Region,
    /// Postal (ZIP) code.
    PostalCode,
    /// Country, as the source writes it (a name or an ISO code).
    Country,
}

impl AddressPart {
    /// Every part, in the order of the canonical field names.
    pub const ALL: [AddressPart; 5] = [
        AddressPart::Street,
        AddressPart::Locality,
        AddressPart::Region,
        AddressPart::PostalCode,
        AddressPart::Country,
    ];

    /// The part's name after the address's: `street`, `locality`, `region`, `postalCode`,
    /// `country`.
    pub fn field_name(self) -> &'static str {
        match self {
            AddressPart::Street => "street",
            AddressPart::Locality => "locality",
            AddressPart::Region => "region",
            AddressPart::PostalCode => "postalCode",
            AddressPart::Country => "country",
        }
    }
}

/// One typed postal address of an employee; every part is optional.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    /// Street and number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<CompactString>,
    /// City or town.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality: Option<CompactString>,
    /// State, province or region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<CompactString>,
    /// Postal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<CompactString>,
    /// Country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<CompactString>,
}

impl Address {
    /// One part.
    pub fn part(&self, part: AddressPart) -> Option<&CompactString> {
        match part {
            AddressPart::Street => self.street.as_ref(),
            AddressPart::Locality => self.locality.as_ref(),
            AddressPart::Region => self.region.as_ref(),
            AddressPart::PostalCode => self.postal_code.as_ref(),
            AddressPart::Country => self.country.as_ref(),
        }
    }

    /// One part, for setting it.
    pub fn part_mut(&mut self, part: AddressPart) -> &mut Option<CompactString> {
        match part {
            AddressPart::Street => &mut self.street,
            AddressPart::Locality => &mut self.locality,
            AddressPart::Region => &mut self.region,
            AddressPart::PostalCode => &mut self.postal_code,
            AddressPart::Country => &mut self.country,
        }
    }

    /// Whether no part is set.
    pub fn is_empty(&self) -> bool {
        AddressPart::ALL
            .iter()
            .all(|part| self.part(*part).is_none())
    }
}

/// A person as the HR system describes them, in one shape for every source.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Employee {
    /// The HR system's id; the externalId is `externalIdPrefix` + this.
    pub id: CompactString,
    /// Employee number shown to people (may differ from `id`).
    pub employee_number: Option<CompactString>,
    /// Legal first name.
    pub first_name: CompactString,
    /// Last name.
    pub last_name: CompactString,
    /// Name the person goes by.
    pub preferred_name: Option<CompactString>,
    /// Every address the HR system holds, typed.
    pub emails: Vec<Email>,
    /// Employment status. A record that states none (`status_stated: false`) reads `Active`
    /// until the run settles it from the dates on its evaluation date
    /// (`lifecycle::settle_statuses`).
    pub employment_status: EmploymentStatus,
    /// Whether the HR record states the status. A source reports what the record says: the
    /// status it states, or none and the dates, which the run judges on its own date.
    #[serde(default = "stated")]
    pub status_stated: bool,
    /// First working day.
    pub start_date: Option<Date>,
    /// Last working day.
    pub end_date: Option<Date>,
    /// HR id of the manager.
    pub manager_id: Option<CompactString>,
    /// Department.
    pub department: Option<CompactString>,
    /// Job title.
    pub title: Option<CompactString>,
    /// Work location.
    pub location: Option<CompactString>,
    /// Preferred language (such as `en` or `sv-SE`).
    pub preferred_language: Option<CompactString>,
    /// Phone numbers, typed (at most one of each type is read).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phones: Vec<Phone>,
    /// Postal addresses, typed (at most one of each type).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<(AddressType, Address)>,
    /// Fields specific to this company's HR setup, as JSON (objects for dotted paths).
    pub custom_fields: CustomFields,
}

impl Employee {
    /// An employee with only the required fields set; for tests and sources that fill the rest.
    pub fn new(
        id: impl Into<CompactString>,
        first_name: impl Into<CompactString>,
        last_name: impl Into<CompactString>,
        employment_status: EmploymentStatus,
    ) -> Self {
        Self {
            id: id.into(),
            employee_number: None,
            first_name: first_name.into(),
            last_name: last_name.into(),
            preferred_name: None,
            emails: Vec::new(),
            employment_status,
            status_stated: true,
            start_date: None,
            end_date: None,
            manager_id: None,
            department: None,
            title: None,
            location: None,
            preferred_language: None,
            phones: Vec::new(),
            addresses: Vec::new(),
            custom_fields: CustomFields::default(),
        }
    }

    /// The number of a type, when the employee has one.
    pub fn phone(&self, kind: PhoneType) -> Option<&str> {
        self.phones
            .iter()
            .find(|phone| phone.kind == kind && !phone.number.is_empty())
            .map(|phone| phone.number.as_str())
    }

    /// Sets (or with `None` removes) the number of a type.
    pub fn set_phone(&mut self, kind: PhoneType, number: Option<CompactString>) {
        self.phones.retain(|phone| phone.kind != kind);
        if let Some(number) = number.filter(|n| !n.is_empty()) {
            self.phones.push(Phone { number, kind });
        }
    }

    /// The address of a type, when the employee has one.
    pub fn address(&self, kind: AddressType) -> Option<&Address> {
        self.addresses
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, address)| address)
    }

    /// Sets one part of the address of a type (an empty value sets nothing).
    pub fn set_address_part(
        &mut self,
        kind: AddressType,
        part: AddressPart,
        value: Option<CompactString>,
    ) {
        let Some(value) = value.filter(|v| !v.is_empty()) else {
            return;
        };
        let index = match self.addresses.iter().position(|(k, _)| *k == kind) {
            Some(index) => index,
            None => {
                self.addresses.push((kind, Address::default()));
                self.addresses.len() - 1
            }
        };
        *self.addresses[index].1.part_mut(part) = Some(value);
    }
}

/// An employee read from JSON without `statusStated` states its status.
fn stated() -> bool {
    true
}

/// An employee's custom fields, sorted by name. A sorted vector rather than a map: most
/// employees have a handful, and a map node costs hundreds of bytes per employee.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CustomFields(Vec<(CompactString, Value)>);

impl CustomFields {
    /// The value of a field.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.position(name).ok().map(|index| &self.0[index].1)
    }

    /// The value of a field, for changing it in place.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Value> {
        self.position(name).ok().map(|index| &mut self.0[index].1)
    }

    /// Sets a field.
    pub fn insert(&mut self, name: impl Into<CompactString>, value: Value) {
        let name = name.into();
        match self.position(&name) {
            Ok(index) => self.0[index].1 = value,
            Err(index) => self.0.insert(index, (name, value)),
        }
    }

    /// Every field, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(name, value)| (name.as_str(), value))
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn position(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(key, _)| key.as_str().cmp(name))
    }
}

impl Serialize for CustomFields {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for CustomFields {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = std::collections::BTreeMap::<CompactString, Value>::deserialize(deserializer)?;
        Ok(CustomFields(map.into_iter().collect()))
    }
}

/// A target attribute's name: a standard field, or a mapped one.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Attr {
    /// The externalId linking the user to its employee.
    ExternalId,
    /// The user's email (and, for most targets, login).
    Email,
    /// First (given) name.
    FirstName,
    /// Last (family) name.
    LastName,
    /// Preferred language.
    PreferredLanguage,
    /// Whether the user may sign in.
    Active,
    /// The user's manager. In a plan its value is the manager's externalId; targets receive
    /// the manager's target id.
    Manager,
    /// An attribute from `attributeMapping`, by its `to` name.
    Mapped(Arc<str>),
}

impl Attr {
    /// The name shown in reports and status.
    pub fn name(&self) -> &str {
        match self {
            Attr::ExternalId => "externalId",
            Attr::Email => "email",
            Attr::FirstName => "firstName",
            Attr::LastName => "lastName",
            Attr::PreferredLanguage => "preferredLanguage",
            Attr::Active => "active",
            Attr::Manager => "manager",
            Attr::Mapped(name) => name,
        }
    }
}

/// Mapped attributes of a user, sorted by name. A small sorted vector: a user has a handful.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Attributes(Vec<(Arc<str>, Value)>);

impl Attributes {
    /// The value of an attribute.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0
            .binary_search_by(|(key, _)| key.as_ref().cmp(name))
            .ok()
            .map(|index| &self.0[index].1)
    }

    /// Sets an attribute; `Value::Null` removes it.
    pub fn set(&mut self, name: Arc<str>, value: Value) {
        match self.0.binary_search_by(|(key, _)| key.as_ref().cmp(&name)) {
            Ok(index) if value.is_null() => {
                self.0.remove(index);
            }
            Ok(index) => self.0[index].1 = value,
            Err(_) if value.is_null() => {}
            Err(index) => self.0.insert(index, (name, value)),
        }
    }

    /// Every attribute, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&Arc<str>, &Value)> {
        self.0.iter().map(|(key, value)| (key, value))
    }

    /// Whether no attribute is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A user as a target directory holds it, in one shape for every target.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DirectoryUser {
    /// The target's own id.
    pub id: CompactString,
    /// The externalId (ours when managed by this connection).
    pub external_id: Option<CompactString>,
    /// Login name, when the target has one apart from the email.
    pub user_name: Option<CompactString>,
    /// Primary email.
    pub email: Option<CompactString>,
    /// First name.
    pub first_name: Option<CompactString>,
    /// Last name.
    pub last_name: Option<CompactString>,
    /// Preferred language.
    pub preferred_language: Option<CompactString>,
    /// Whether the user may sign in.
    pub active: bool,
    /// Target id of the user's manager.
    pub manager_id: Option<CompactString>,
    /// Values of the mapped attributes the target was asked for.
    pub attributes: Attributes,
    /// Version tag for optimistic concurrency (ETag), when the target has one.
    pub version: Option<CompactString>,
}

/// A user to create, with its manager already resolved to a target id where possible.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NewUser {
    /// Our externalId.
    pub external_id: CompactString,
    /// Email (and login).
    pub email: CompactString,
    /// First name.
    pub first_name: CompactString,
    /// Last name.
    pub last_name: CompactString,
    /// Preferred language.
    pub preferred_language: Option<CompactString>,
    /// Whether the user starts active (false before activation).
    pub active: bool,
    /// In a plan: the manager's externalId. Sent to a target: the manager's target id.
    pub manager: Option<CompactString>,
    /// Mapped attributes.
    pub attributes: Attributes,
}

/// One attribute change: the value before and after (`None`: unset).
#[derive(Clone, Debug, PartialEq)]
pub struct AttrChange {
    /// Which attribute.
    pub attr: Attr,
    /// Current value in the target.
    pub before: Option<Value>,
    /// Value to write.
    pub after: Option<Value>,
}

/// A source record that could not be read. The rest of the source is still processed, and the
/// user of a known `employee_id` is protected from removal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordError {
    /// Line (CSV) or position of the record, when the source has one.
    pub line: Option<u64>,
    /// The record's employee id, when it could be read.
    pub employee_id: Option<CompactString>,
    /// The field at fault, when one is.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}
