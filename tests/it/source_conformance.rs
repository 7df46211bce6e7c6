//! One dataset, served by every source's emulator in its own API's shape (and as a CSV file),
//! must come out as the same canonical employees. Where an API cannot express something (Merge
//! has no Leave status, Personio no employee number, Entra ID neither, nor a preferred name,
//! and its own object ids; Google Workspace no dates, no preferred name, and its own ids;
//! Slack holds names, one work address, a title, a language and whether a member was
//! deactivated, with its own member ids) the expectation says so, source by source, in
//! `expected_for`; that table is the README's "—" cells.
//!
//! Fault cases: a failing or stalled page fails the whole fetch; a repeated cursor stops it
//! with an error; a storm of throttled answers is ridden out within the tries; refused
//! credentials fail at once. Retry delays are shortened (20 ms ceiling, which also caps
//! `Retry-After`), so nothing here waits on wall-clock seconds except the timeout case.

use crate::common;

use std::{any::Any, time::Duration};

use common::{
    google_source::google_source,
    graph_source::graph_source,
    hr_sources::{HrApi, HrOptions, start_hr_source, write_secret},
    slack_source::slack_source,
};

use hris_emulators::{
    afas, bamboohr,
    google::{self, GoogleConfig, GoogleEmulator},
    graph::{self, GraphConfig, GraphEmulator},
    hr::{CommonConfig, Faults, HrEmulator},
    log::LoggedRequest,
    merge, personio,
    slack::{self, SlackConfig, SlackEmulator},
};
use hris_operator::{
    connectors::{
        ConfigMapResolver, ConnectorContext, SecretResolver,
        source::{self, RetryDelays},
    },
    crd::SourceSpec,
    sync::{
        model::{
            AddressPart, AddressType, Email, EmailType, Employee, EmploymentStatus, PhoneType,
        },
        ports::source::{Source, SourceError, SourceField, fetch_all},
    },
};
use jiff::civil::date;
use serde_json::{Value, json};

/// Employees in the dataset: more than one page of every paged API (Merge and Personio 100,
/// BambooHR 1,000, AFAS 1,000 here).
const EMPLOYEES: usize = 1_050;

const FIRST: [&str; 6] = ["Ada", "Åsa", "Zoë", "Björn", "Li", "Mary-Jane"];
const LAST: [&str; 5] = ["Lovelace", "Öberg", "O'Neil", "Nguyen", "van der Berg"];
const DEPARTMENTS: [&str; 4] = ["Engineering", "R&D", "Sales", "People"];
const TITLES: [&str; 3] = ["Engineer", "Manager", "Analyst"];
const LOCATIONS: [&str; 3] = ["Stockholm", "Amsterdam", "Remote"];
const STATUSES: [EmploymentStatus; 4] = [
    EmploymentStatus::Active,
    EmploymentStatus::Pending,
    EmploymentStatus::Leave,
    EmploymentStatus::Inactive,
];

fn id(index: usize) -> String {
    format!("E{:04}", index + 1)
}

/// The dataset: every status, both email types (and neither), missing optional fields,
/// custom fields (flat and nested, sometimes missing), managers, start and end dates.
fn dataset() -> Vec<Employee> {
    (0..EMPLOYEES)
        .map(|i| {
            let status = STATUSES[i % 4];
            let mut e = Employee::new(id(i), FIRST[i % 6], LAST[i % 5], status);
            e.employee_number = (i % 5 != 0).then(|| format!("{}", 10_000 + i).into());
            e.preferred_name = (i % 3 == 0).then(|| format!("{}y", FIRST[i % 6]).into());
            let work = Email {
                address: format!("person{i}@corp.example").into(),
                kind: EmailType::Work,
            };
            let personal = Email {
                address: format!("person{i}@home.example").into(),
                kind: EmailType::Personal,
            };
            e.emails = match i % 6 {
                0 | 5 => vec![work, personal],
                1 | 3 => vec![work],
                2 => vec![personal],
                _ => vec![],
            };
            e.start_date = match status {
                EmploymentStatus::Pending => Some(date(2027, 1 + (i % 12) as i8, 1)),
                _ if i % 7 == 0 => None,
                _ => Some(date(
                    2015 + (i % 10) as i16,
                    1 + (i % 12) as i8,
                    1 + (i % 28) as i8,
                )),
            };
            e.end_date = match status {
                EmploymentStatus::Inactive => Some(date(2025, 1 + (i % 12) as i8, 15)),
                _ if i % 11 == 0 => Some(date(2027, 6, 30)),
                _ => None,
            };
            e.manager_id = (i > 0 && i % 8 != 0).then(|| id(i / 10).into());
            e.department = (i % 9 != 0).then(|| DEPARTMENTS[i % 4].into());
            e.title = (i % 10 != 0).then(|| TITLES[i % 3].into());
            e.location = (i % 4 != 1).then(|| LOCATIONS[i % 3].into());
            e.preferred_language = (i % 3 == 1).then(|| "sv-SE".into());
            if i % 2 == 0 {
                e.custom_fields
                    .insert("costCenter", json!(format!("CC-{}", 4400 + i % 7)));
            }
            if i % 5 != 2 {
                e.custom_fields
                    .insert("address", json!({"city": LOCATIONS[(i + 1) % 3]}));
            }
            add_phones_and_addresses(&mut e, i);
            e
        })
        .collect()
}

/// Phones and addresses, each present for some people only: a work and a mobile number, a
/// private home number; an office address (with and without a region) and a home address.
fn add_phones_and_addresses(e: &mut Employee, i: usize) {
    use AddressPart::*;
    if i % 3 != 2 {
        e.set_phone(PhoneType::Work, Some(format!("+46 8 555 {:04}", i).into()));
    }
    if i.is_multiple_of(4) {
        e.set_phone(
            PhoneType::Mobile,
            Some(format!("+46 70 555 {:04}", i).into()),
        );
    }
    if i % 5 == 1 {
        e.set_phone(PhoneType::Home, Some(format!("+46 40 555 {:04}", i).into()));
    }
    if i.is_multiple_of(2) {
        let (street, city, region, postal, country) = OFFICES[i % 3];
        for (part, value) in [
            (Street, Some(street)),
            (Locality, Some(city)),
            (Region, region),
            (PostalCode, Some(postal)),
            (Country, Some(country)),
        ] {
            e.set_address_part(AddressType::Work, part, value.map(Into::into));
        }
    }
    if i.is_multiple_of(3) {
        for (part, value) in [
            (Street, format!("Hemvägen {}", 1 + i % 90)),
            (Locality, "Malmö".to_owned()),
            (PostalCode, format!("2{:04}", i % 10_000)),
            (Country, "SE".to_owned()),
            (
                Region,
                if i.is_multiple_of(6) { "Skåne" } else { "" }.to_owned(),
            ),
        ] {
            e.set_address_part(AddressType::Home, part, Some(value.into()));
        }
    }
}

/// Office addresses: street, locality, region, postal code, country.
const OFFICES: [(&str, &str, Option<&str>, &str, &str); 3] = [
    ("Kungsgatan 1", "Stockholm", None, "111 43", "SE"),
    (
        "Herengracht 1",
        "Amsterdam",
        Some("Noord-Holland"),
        "1015 BA",
        "NL",
    ),
    ("1 Market St", "San Francisco", Some("CA"), "94105", "US"),
];

/// The sources under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Csv,
    Merge,
    BambooHr,
    Personio,
    HiBob,
    Afas,
    Workday,
    Graph,
    Google,
    Slack,
}

/// Every source under test.
const ALL: [Kind; 10] = [
    Kind::Csv,
    Kind::Merge,
    Kind::BambooHr,
    Kind::Personio,
    Kind::HiBob,
    Kind::Afas,
    Kind::Workday,
    Kind::Graph,
    Kind::Google,
    Kind::Slack,
];

/// The sources read over HTTP: every one but the CSV file.
fn http_sources() -> impl Iterator<Item = Kind> {
    ALL.into_iter().filter(|kind| *kind != Kind::Csv)
}

/// What each source can express of the dataset.
fn expected_for(kind: Kind, employees: &[Employee]) -> Vec<Employee> {
    let mut expected: Vec<Employee> = employees
        .iter()
        .cloned()
        .map(|mut e| {
            match kind {
                Kind::Csv | Kind::Afas | Kind::Workday => {}
                Kind::Merge => {
                    // ACTIVE | PENDING | INACTIVE only; no language field; no work number
                    // (a location's number is not the person's).
                    if e.employment_status == EmploymentStatus::Leave {
                        e.employment_status = EmploymentStatus::Active;
                    }
                    e.preferred_language = None;
                    e.set_phone(PhoneType::Work, None);
                }
                Kind::BambooHr => {
                    // Active | Inactive only; no language field; no office address.
                    if e.employment_status != EmploymentStatus::Inactive {
                        e.employment_status = EmploymentStatus::Active;
                    }
                    e.preferred_language = None;
                    e.addresses.retain(|(kind, _)| *kind == AddressType::Home);
                }
                Kind::Personio => {
                    e.employee_number = None;
                    e.preferred_language = None;
                    e.phones.clear();
                    e.addresses.clear();
                }
                Kind::HiBob => {
                    e.preferred_language = None;
                    e.phones.clear();
                    e.addresses.clear();
                }
                Kind::Graph => entra_id_shape(&mut e),
                Kind::Google => google_workspace_shape(&mut e),
                Kind::Slack => slack_shape(&mut e),
            }
            e
        })
        .collect();
    expected.sort_by(|a, b| a.id.cmp(&b.id));
    expected
}

/// What Entra ID holds of an employee: its own object ids (the employee's and the manager's);
/// no preferred name; the work address also as the sign-in name (a Primary address), the
/// private one among `otherMails` (Other); a disabled account for a leaver and, for everyone
/// else, an enabled account that states no status (no Pending or Leave): the dates decide.
fn entra_id_shape(e: &mut Employee) {
    e.id = graph::object_id(&e.id).into();
    e.manager_id = e.manager_id.take().map(|m| graph::object_id(&m).into());
    e.preferred_name = None;
    // A business and a mobile number, the office's address; nothing private.
    e.set_phone(PhoneType::Home, None);
    e.addresses.retain(|(kind, _)| *kind == AddressType::Work);
    let mut emails = Vec::new();
    for email in &e.emails {
        match email.kind {
            EmailType::Work => {
                emails.insert(
                    0,
                    Email {
                        address: email.address.clone(),
                        kind: EmailType::Primary,
                    },
                );
                emails.push(email.clone());
            }
            _ => emails.push(Email {
                address: email.address.clone(),
                kind: EmailType::Other,
            }),
        }
    }
    emails.sort_by_key(|m| match m.kind {
        EmailType::Primary => 0,
        EmailType::Work => 1,
        _ => 2,
    });
    e.emails = emails;
    if e.employment_status != EmploymentStatus::Inactive {
        e.employment_status = EmploymentStatus::Active;
        e.status_stated = false;
    }
}

/// What Google Workspace holds of an employee: its own user ids (the employee's and the
/// manager's, the manager named by address and resolved); no preferred name and no dates; the
/// work address as the account's primary address (someone without one has an address made on
/// the account's domain: every account has one), the private one as another (Other) address;
/// a suspended account for a leaver and, for everyone else, an active account that states no
/// status, so (without dates) Active.
fn google_workspace_shape(e: &mut Employee) {
    let primary = e
        .emails
        .iter()
        .find(|m| m.kind == EmailType::Work)
        .map(|m| m.address.clone())
        .unwrap_or_else(|| format!("{}@workspace.example", e.id.to_lowercase()).into());
    let mut emails = vec![Email {
        address: primary,
        kind: EmailType::Primary,
    }];
    emails.extend(
        e.emails
            .iter()
            .filter(|m| m.kind == EmailType::Personal)
            .map(|m| Email {
                address: m.address.clone(),
                kind: EmailType::Other,
            }),
    );
    e.emails = emails;
    e.id = google::user_id(&e.id).into();
    e.manager_id = e.manager_id.take().map(|m| google::user_id(&m).into());
    e.preferred_name = None;
    e.start_date = None;
    e.end_date = None;
    if e.employment_status != EmploymentStatus::Inactive {
        e.employment_status = EmploymentStatus::Active;
        e.status_stated = false;
    }
}

/// What a Slack workspace holds of an employee: its own member ids; the names; the work
/// address (Slack keeps one address a member, and no private one); a deactivated member for a
/// leaver and, for everyone else, a member that states no status (Slack has no Pending or
/// Leave, and no dates: Active once settled); the title and the language (`locale`). No
/// employee number, preferred name, dates, manager, department, location, phones, addresses or
/// custom fields (the source reads none of the profile's phone and no address).
fn slack_shape(e: &mut Employee) {
    e.id = slack::member_id(&e.id).into();
    e.employee_number = None;
    e.preferred_name = None;
    e.emails.retain(|m| m.kind == EmailType::Work);
    if e.employment_status != EmploymentStatus::Inactive {
        e.employment_status = EmploymentStatus::Active;
        e.status_stated = false;
    }
    e.start_date = None;
    e.end_date = None;
    e.manager_id = None;
    e.department = None;
    e.location = None;
    e.phones.clear();
    e.addresses.clear();
    e.custom_fields = Default::default();
}

/// Settings of one fixture.
#[derive(Clone, Debug, Default)]
struct Setup {
    faults: Faults,
    /// Throttle with the API's other status: 503 and no `Retry-After` (BambooHR's older
    /// behaviour), or Google's 429 `rateLimitExceeded` with `Retry-After` (its usual one is 403
    /// `userRateLimitExceeded` without).
    throttle_other: bool,
    wrong_credentials: bool,
    max_tries: Option<u32>,
    timeout_seconds: Option<u32>,
    reference: Option<String>,
}

/// The emulator of an HTTP source.
enum Emulator {
    Hr(HrEmulator),
    Graph(GraphEmulator),
    Google(GoogleEmulator),
    Slack(SlackEmulator),
}

/// A source and what keeps it alive.
struct Fixture {
    source: Box<dyn Source>,
    emulator: Option<Emulator>,
    _guard: Box<dyn Any>,
}

impl Fixture {
    fn requests(&self) -> Vec<LoggedRequest> {
        match self.emulator.as_ref().expect("an HTTP source") {
            Emulator::Hr(hr) => hr.requests(),
            Emulator::Graph(graph) => graph.requests(),
            Emulator::Google(google) => google.requests(),
            Emulator::Slack(slack) => slack.requests(),
        }
    }

    fn request_log(&self) -> Value {
        match self.emulator.as_ref().expect("an HTTP source") {
            Emulator::Hr(hr) => hr.request_log(),
            Emulator::Graph(graph) => graph.request_log(),
            Emulator::Google(google) => google.request_log(),
            Emulator::Slack(slack) => slack.request_log(),
        }
    }

    fn count(&self, path_suffix: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.path.ends_with(path_suffix))
            .count()
    }
}

fn csv_document(employees: &[Employee]) -> String {
    let mut out = String::from(
        "id,employeeNumber,firstName,lastName,preferredName,workEmail,personalEmail,employmentStatus,startDate,endDate,managerId,department,title,location,preferredLanguage,customFields.costCenter,customFields.address.city,workPhone,mobilePhone,homePhone,workAddress.street,workAddress.locality,workAddress.region,workAddress.postalCode,workAddress.country,homeAddress.street,homeAddress.locality,homeAddress.region,homeAddress.postalCode,homeAddress.country\n",
    );
    let mut writer = csv::Writer::from_writer(Vec::new());
    for e in employees {
        let text = |v: &Option<compact_str::CompactString>| {
            v.as_ref().map(|s| s.to_string()).unwrap_or_default()
        };
        let email = |kind| {
            e.emails
                .iter()
                .find(|m| m.kind == kind)
                .map(|m| m.address.to_string())
                .unwrap_or_default()
        };
        let day = |d: Option<jiff::civil::Date>| d.map(|d| d.to_string()).unwrap_or_default();
        let custom = |path: &str| {
            let mut parts = path.split('.');
            let first = e.custom_fields.get(parts.next().unwrap());
            parts
                .fold(first, |v, p| v.and_then(|v| v.get(p)))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let contact = contact_values(e);
        writer
            .write_record(
                [
                    e.id.to_string(),
                    text(&e.employee_number),
                    e.first_name.to_string(),
                    e.last_name.to_string(),
                    text(&e.preferred_name),
                    email(EmailType::Work),
                    email(EmailType::Personal),
                    e.employment_status.as_str().to_owned(),
                    day(e.start_date),
                    day(e.end_date),
                    text(&e.manager_id),
                    text(&e.department),
                    text(&e.title),
                    text(&e.location),
                    text(&e.preferred_language),
                    custom("costCenter"),
                    custom("address.city"),
                ]
                .into_iter()
                .chain(contact),
            )
            .unwrap();
    }
    out.push_str(&String::from_utf8(writer.into_inner().unwrap()).unwrap());
    out
}

/// Starts `kind`'s emulator with the dataset and builds the source from a spec, the way a
/// run does (secrets from files, `baseUrl` pointing at the emulator).
async fn fixture(kind: Kind, employees: &[Employee], setup: &Setup) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("secrets");
    let common = CommonConfig {
        faults: setup.faults.clone(),
        throttle_status: throttle_status(kind, setup.throttle_other),
        retry_after: (!setup.throttle_other).then_some(1),
        ..CommonConfig::default()
    };
    let settings = json!({
        "requestsPerSecond": 1000,
        "maxTries": setup.max_tries.unwrap_or(5),
        "timeoutSeconds": setup.timeout_seconds.unwrap_or(10),
    });
    let mut spec = settings.as_object().unwrap().clone();
    if let Some(reference) = &setup.reference {
        spec.insert("referenceEmployeeId".into(), json!(reference));
    }
    let (key, emulator): (&str, Option<Emulator>) = match kind {
        Kind::Csv => {
            // In the cluster a ConfigMap key is a mounted file: DIR/NAME/KEY.
            let maps = dir.path().join("maps");
            write_secret(&maps, "people", "employees.csv", &csv_document(employees));
            spec.clear();
            spec.insert(
                "configMapRef".into(),
                json!({"name": "people", "key": "employees.csv"}),
            );
            if let Some(reference) = &setup.reference {
                spec.insert("referenceEmployeeId".into(), json!(reference));
            }
            ("csv", None)
        }
        Kind::Graph => {
            let config = GraphConfig {
                users: graph::users_of(employees),
                faults: setup.faults.clone(),
                ..GraphConfig::default()
            };
            let emulator = GraphEmulator::start(config.clone()).await.unwrap();
            // The dataset holds people without a work address: in Entra ID, accounts without
            // a mailbox, which only `includeGuests` reads.
            spec.insert("includeGuests".into(), json!(true));
            spec.insert(
                "customFields".into(),
                common::hr_sources::custom_map(&graph::CUSTOM_FIELDS),
            );
            spec = graph_source(
                &emulator,
                &config,
                &secrets,
                json!({"allUsers": true}),
                std::mem::take(&mut spec),
                setup.wrong_credentials,
            );
            ("microsoftGraph", Some(Emulator::Graph(emulator)))
        }
        Kind::Google => {
            let config = GoogleConfig {
                users: google::users_of(employees),
                faults: setup.faults.clone(),
                throttle_status: throttle_status(kind, setup.throttle_other),
                ..GoogleConfig::new(common::directories::GOOGLE_TEST_PUBLIC_KEY)
            };
            let emulator = GoogleEmulator::start(config.clone()).await.unwrap();
            spec.insert(
                "customFields".into(),
                common::hr_sources::custom_map(&google::CUSTOM_FIELDS),
            );
            spec = google_source(
                &emulator,
                &config,
                &secrets,
                json!({"allUsers": true}),
                std::mem::take(&mut spec),
                setup.wrong_credentials,
            );
            ("googleWorkspace", Some(Emulator::Google(emulator)))
        }
        Kind::Slack => {
            // Every workspace has Slackbot, which is never a person.
            let mut members = vec![slack::slackbot()];
            members.extend(slack::members_of(employees));
            let config = SlackConfig {
                members,
                faults: setup.faults.clone(),
                ..SlackConfig::default()
            };
            let emulator = SlackEmulator::start(config.clone()).await.unwrap();
            spec = slack_source(
                &emulator,
                &config,
                &secrets,
                json!({"allMembers": true}),
                std::mem::take(&mut spec),
                setup.wrong_credentials,
            );
            ("slack", Some(Emulator::Slack(emulator)))
        }
        http => {
            let api = match http {
                Kind::Merge => HrApi::Merge,
                Kind::BambooHr => HrApi::BambooHr,
                Kind::Personio => HrApi::Personio,
                Kind::HiBob => HrApi::HiBob,
                Kind::Afas => HrApi::Afas,
                Kind::Workday => HrApi::Workday,
                Kind::Csv | Kind::Graph | Kind::Google | Kind::Slack => {
                    unreachable!("served above")
                }
            };
            let options = HrOptions {
                common,
                wrong_credentials: setup.wrong_credentials,
            };
            let (key, settings, emulator) = start_hr_source(
                api,
                api.records(employees),
                options,
                &secrets,
                std::mem::take(&mut spec),
            )
            .await;
            spec = settings;
            (key, Some(Emulator::Hr(emulator)))
        }
    };
    let spec: SourceSpec = serde_json::from_value(json!({ key: Value::Object(spec) }))
        .unwrap_or_else(|e| panic!("{kind:?}: bad test spec: {e}"));
    let context = ConnectorContext {
        base_dir: dir.path().to_path_buf(),
        secrets: SecretResolver::from_dir(&secrets),
        config_maps: ConfigMapResolver::from_dir(dir.path().join("maps")),
    };
    let delays = RetryDelays {
        base: Duration::from_millis(2),
        max: Duration::from_millis(20),
    };
    let source = source::build_with(&spec, &context, delays)
        .await
        .unwrap_or_else(|e| panic!("{kind:?}: {e}"));
    Fixture {
        source,
        emulator,
        _guard: Box::new(dir),
    }
}

async fn fetch_sorted(source: &dyn Source) -> Result<Vec<Employee>, SourceError> {
    let data = fetch_all(source).await?;
    assert_eq!(data.errors, vec![], "no record errors");
    let mut employees = data.employees;
    employees.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(employees)
}

/// Requests each source needs for the dataset: pages at the API's maximum, one token.
fn request_counts(kind: Kind) -> Vec<(&'static str, usize)> {
    match kind {
        Kind::Csv => vec![],
        Kind::Merge => vec![("/employees", 11)],
        Kind::BambooHr => vec![("/datasets/employee/data", 2)],
        Kind::Personio => vec![("/v1/auth", 1), ("/v1/company/employees", 11)],
        Kind::HiBob => vec![("/people/search", 1)],
        Kind::Afas => vec![("/connectors/HrisEmployees", 2)],
        Kind::Workday => vec![("/HRIS_Workers", 1)],
        Kind::Graph => vec![("/oauth2/v2.0/token", 1), ("/v1.0/users", 2)],
        Kind::Google => vec![("/token", 1), ("/admin/directory/v1/users", 3)],
        // 1,051 members (Slackbot too) at 200 a page.
        Kind::Slack => vec![("/api/users.list", 6)],
    }
}

#[tokio::test]
async fn every_source_yields_the_same_employees() {
    let employees = dataset();
    for kind in ALL {
        let fixture = fixture(kind, &employees, &Setup::default()).await;
        let got = fetch_sorted(fixture.source.as_ref())
            .await
            .unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        let expected = expected_for(kind, &employees);
        assert_eq!(got.len(), expected.len(), "{kind:?}: employee count");
        for (got, expected) in got.iter().zip(&expected) {
            assert_eq!(got, expected, "{kind:?}: employee {}", expected.id);
        }
        for (path, count) in request_counts(kind) {
            assert_eq!(fixture.count(path), count, "{kind:?}: requests to {path}");
        }
        if kind != Kind::Csv {
            let total: usize = request_counts(kind).iter().map(|(_, c)| c).sum();
            assert_eq!(
                fixture.requests().len(),
                total,
                "{kind:?}: no other requests"
            );
            assert!(fixture.requests().iter().all(|r| r.status == 200));
        }
        match kind {
            Kind::Merge => common::vendor::judge("merge", &fixture.request_log()).await,
            Kind::Graph => common::vendor::judge("graph", &fixture.request_log()).await,
            Kind::Google => common::vendor::judge("google", &fixture.request_log()).await,
            Kind::Slack => common::vendor::judge("slack", &fixture.request_log()).await,
            _ => {}
        }
    }
}

/// The dataset as an HR system's or spreadsheet's export: its own column names in its own
/// order, a column the connection does not read, US dates, its own status words in any case,
/// and `delimiter` between fields.
fn export_document(employees: &[Employee], date_format: &str, delimiter: u8) -> String {
    let mut writer = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    writer
        .write_record(
            [
                "Status",
                "Last Name",
                "First Name",
                "Preferred Name",
                "Employee #",
                "Employee Number",
                "Hire Date",
                "Termination Date",
                "Work Email",
                "Home Email",
                "Reports To",
                "Department",
                "Job Title",
                "Location",
                "Language",
                "Cost Center",
                "City",
            ]
            .into_iter()
            .chain(EXPORT_CONTACT_COLUMNS.iter().map(|(_, column)| *column)),
        )
        .unwrap();
    for (index, e) in employees.iter().enumerate() {
        let text = |v: &Option<compact_str::CompactString>| {
            v.as_ref().map(|s| s.to_string()).unwrap_or_default()
        };
        let email = |kind| {
            e.emails
                .iter()
                .find(|m| m.kind == kind)
                .map(|m| m.address.to_string())
                .unwrap_or_default()
        };
        let day = |d: Option<jiff::civil::Date>| {
            d.map(|d| d.strftime(date_format).to_string())
                .unwrap_or_default()
        };
        let word = match e.employment_status {
            EmploymentStatus::Active => "Active",
            EmploymentStatus::Pending => "Pre-Hire",
            EmploymentStatus::Leave => "On Leave",
            EmploymentStatus::Inactive => "Terminated",
        };
        let word = if index % 2 == 0 {
            word.to_owned()
        } else {
            word.to_uppercase()
        };
        let custom = |path: &str| {
            let mut parts = path.split('.');
            let first = e.custom_fields.get(parts.next().unwrap());
            parts
                .fold(first, |v, p| v.and_then(|v| v.get(p)))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        writer
            .write_record(
                [
                    word,
                    e.last_name.to_string(),
                    e.first_name.to_string(),
                    text(&e.preferred_name),
                    e.id.to_string(),
                    text(&e.employee_number),
                    day(e.start_date),
                    day(e.end_date),
                    email(EmailType::Work),
                    email(EmailType::Personal),
                    text(&e.manager_id),
                    text(&e.department),
                    text(&e.title),
                    text(&e.location),
                    text(&e.preferred_language),
                    custom("costCenter"),
                    custom("address.city"),
                ]
                .into_iter()
                .chain(contact_values(e)),
            )
            .unwrap();
    }
    String::from_utf8(writer.into_inner().unwrap()).unwrap()
}

/// The `csv` source settings that read [`export_document`].
fn export_settings() -> Value {
    json!({
        "fieldMap": common::hr_sources::with_contact_columns(json!({
            "id": "Employee #",
            "employeeNumber": "Employee Number",
            "firstName": "First Name",
            "lastName": "Last Name",
            "preferredName": "Preferred Name",
            "workEmail": "Work Email",
            "personalEmail": "Home Email",
            "employmentStatus": "Status",
            "startDate": "Hire Date",
            "endDate": "Termination Date",
            "managerId": "Reports To",
            "department": "Department",
            "title": "Job Title",
            "location": "Location",
            "preferredLanguage": "Language",
            "customFields": {"costCenter": "Cost Center", "address.city": "City"},
            "statusValues": {"Pre-Hire": "Pending", "On Leave": "Leave", "Terminated": "Inactive"},
        }),
        &EXPORT_CONTACT_COLUMNS,
        ),
    })
}

/// The export's phone and address columns, by canonical field.
const EXPORT_CONTACT_COLUMNS: [(&str, &str); 13] = [
    ("workPhone", "Work Phone"),
    ("mobilePhone", "Mobile Phone"),
    ("homePhone", "Home Phone"),
    ("workAddress.street", "Work Address Line 1"),
    ("workAddress.locality", "Work City"),
    ("workAddress.region", "Work State"),
    ("workAddress.postalCode", "Work Zip"),
    ("workAddress.country", "Work Country"),
    ("homeAddress.street", "Address Line 1"),
    ("homeAddress.locality", "Home City"),
    ("homeAddress.region", "State"),
    ("homeAddress.postalCode", "Zip"),
    ("homeAddress.country", "Country"),
];

/// An employee's phone and address values in canonical field order (empty where absent).
fn contact_values(e: &Employee) -> impl Iterator<Item = String> {
    hris_emulators::hr::contact_fields(e)
        .into_iter()
        .map(|(_, value)| {
            value
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        })
}

/// A `csv` source reading `bytes` as a Secret key, with `settings`.
async fn csv_file_source(
    bytes: &[u8],
    mut settings: Value,
) -> (Box<dyn Source>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("secrets");
    std::fs::create_dir_all(secrets.join("people-export")).unwrap();
    std::fs::write(secrets.join("people-export").join("employees.csv"), bytes).unwrap();
    settings["secretRef"] = json!({"name": "people-export", "key": "employees.csv"});
    let spec: SourceSpec = serde_json::from_value(json!({"csv": settings})).unwrap();
    let context = ConnectorContext {
        base_dir: dir.path().to_path_buf(),
        secrets: SecretResolver::from_dir(&secrets),
        config_maps: ConfigMapResolver::from_dir(dir.path().join("maps")),
    };
    let source = source::build(&spec, &context).await.unwrap();
    (source, dir)
}

#[tokio::test]
async fn windows_1252_and_utf16_exports_yield_the_employees_of_the_canonical_csv() {
    let employees = dataset();
    let canonical = fixture(Kind::Csv, &employees, &Setup::default()).await;
    let expected = fetch_sorted(canonical.source.as_ref()).await.unwrap();
    assert_eq!(expected, expected_for(Kind::Csv, &employees));
    assert!(
        expected
            .iter()
            .any(|e| e.first_name == "Zoë" || e.last_name == "Öberg"),
        "the dataset has names outside ASCII"
    );

    // Excel's "CSV (Comma delimited)" on a Western Windows: Windows-1252, CRLF, M/D/YYYY.
    let text = export_document(&employees, "%-m/%-d/%Y", b',');
    let (windows, _, unmappable) = encoding_rs::WINDOWS_1252.encode(&text);
    assert!(!unmappable, "every name fits Windows-1252");
    assert_ne!(
        windows.as_ref(),
        text.as_bytes(),
        "the bytes differ from UTF-8"
    );
    let mut settings = export_settings();
    settings["encoding"] = json!("Windows-1252");
    settings["dateFormats"] = json!(["M/D/YYYY"]);
    let (source, _dir) = csv_file_source(&windows, settings).await;
    assert_eq!(
        fetch_sorted(source.as_ref()).await.unwrap(),
        expected,
        "Windows-1252"
    );

    // Excel's "Unicode Text": UTF-16 little-endian with its byte order mark, tab-delimited;
    // known by the mark, with `encoding` left unset. Zero-padded US dates, with ISO dates
    // allowed too (they never read as another day).
    let text = export_document(&employees, "%m/%d/%Y", b'\t');
    let mut utf16 = vec![0xff, 0xfe];
    utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let mut settings = export_settings();
    settings["delimiter"] = json!("\t");
    settings["dateFormats"] = json!(["MM/DD/YYYY", "YYYY-MM-DD"]);
    let (source, _dir) = csv_file_source(&utf16, settings).await;
    assert_eq!(
        fetch_sorted(source.as_ref()).await.unwrap(),
        expected,
        "UTF-16"
    );
}

#[tokio::test]
async fn the_dataset_covers_what_it_claims() {
    let employees = dataset();
    for status in STATUSES {
        assert!(employees.iter().any(|e| e.employment_status == status));
    }
    let kinds = |e: &Employee| e.emails.iter().map(|m| m.kind).collect::<Vec<_>>();
    assert!(
        employees
            .iter()
            .any(|e| kinds(e) == [EmailType::Work, EmailType::Personal])
    );
    assert!(employees.iter().any(|e| kinds(e) == [EmailType::Personal]));
    assert!(employees.iter().any(|e| e.emails.is_empty()));
    assert!(employees.iter().any(|e| e.custom_fields.is_empty()));
    assert!(
        employees
            .iter()
            .any(|e| e.end_date.is_some() && e.employment_status == EmploymentStatus::Active)
    );
    assert!(employees.iter().any(|e| e.manager_id.is_none()));
}

/// The paged sources, with the page a fault hits (the second).
const PAGED: [Kind; 7] = [
    Kind::Merge,
    Kind::BambooHr,
    Kind::Personio,
    Kind::Afas,
    Kind::Graph,
    Kind::Google,
    Kind::Slack,
];

/// The status an emulator throttles with: the API's usual one, or its other one.
fn throttle_status(kind: Kind, other: bool) -> u16 {
    match (kind, other) {
        (Kind::Google, false) => 403,
        (Kind::Google, true) | (_, false) => 429,
        (_, true) => 503,
    }
}

fn page_path(kind: Kind) -> &'static str {
    request_counts(kind).last().unwrap().0
}

#[tokio::test]
async fn a_failing_page_fails_the_whole_fetch_after_its_tries() {
    let employees = dataset();
    for kind in http_sources() {
        let page = if PAGED.contains(&kind) { 1 } else { 0 };
        let setup = Setup {
            faults: Faults {
                fail_page: Some((page, 502)),
                ..Faults::default()
            },
            max_tries: Some(3),
            ..Setup::default()
        };
        let fixture = fixture(kind, &employees, &setup).await;
        let error = fetch_sorted(fixture.source.as_ref()).await.unwrap_err();
        assert!(
            matches!(error, SourceError::Unavailable(_)),
            "{kind:?}: {error}"
        );
        assert!(error.to_string().contains("502"), "{kind:?}: {error}");
        let failed = fixture
            .requests()
            .iter()
            .filter(|r| r.status == 502)
            .count();
        assert_eq!(failed, 3, "{kind:?}: the failing page is tried 3 times");
        assert_eq!(
            fixture.count(page_path(kind)),
            page + 3,
            "{kind:?}: no page after the failing one is asked for"
        );
    }
}

#[tokio::test]
async fn a_stalled_page_times_out_and_fails_the_whole_fetch() {
    let employees = dataset();
    for kind in [
        Kind::Merge,
        Kind::Afas,
        Kind::Graph,
        Kind::Google,
        Kind::Slack,
    ] {
        let setup = Setup {
            faults: Faults {
                stall_page: Some((1, Duration::from_secs(30))),
                ..Faults::default()
            },
            max_tries: Some(2),
            timeout_seconds: Some(1),
            ..Setup::default()
        };
        let fixture = fixture(kind, &employees, &setup).await;
        let started = std::time::Instant::now();
        let error = fetch_sorted(fixture.source.as_ref()).await.unwrap_err();
        assert!(
            error.to_string().contains("timed out after 2 tries"),
            "{kind:?}: {error}"
        );
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}

#[tokio::test]
async fn a_repeated_cursor_stops_the_fetch_with_an_error() {
    let employees = dataset();
    // Graph's first page hands out a link to itself: the client follows it once, and the page
    // it fetches hands out the same link again.
    for (kind, page, expected_requests) in [
        (Kind::Merge, 2, 3),
        (Kind::BambooHr, 1, 2),
        (Kind::Graph, 0, 2),
        (Kind::Google, 0, 2),
        (Kind::Slack, 1, 2),
    ] {
        let setup = Setup {
            faults: Faults {
                repeat_cursor_at: Some(page),
                ..Faults::default()
            },
            ..Setup::default()
        };
        let fixture = fixture(kind, &employees, &setup).await;
        let error = fetch_sorted(fixture.source.as_ref()).await.unwrap_err();
        assert!(
            error.to_string().contains("not complete"),
            "{kind:?}: {error}"
        );
        assert_eq!(
            fixture.count(page_path(kind)),
            expected_requests,
            "{kind:?}"
        );
    }
}

#[tokio::test]
async fn a_throttle_storm_is_ridden_out_within_the_tries() {
    let employees = dataset();
    for kind in http_sources() {
        for throttle_other in [false, matches!(kind, Kind::BambooHr | Kind::Google)] {
            let setup = Setup {
                faults: Faults {
                    throttle_storm: 4,
                    ..Faults::default()
                },
                throttle_other,
                max_tries: Some(5),
                ..Setup::default()
            };
            let fixture = fixture(kind, &employees, &setup).await;
            let got = fetch_sorted(fixture.source.as_ref())
                .await
                .unwrap_or_else(|e| panic!("{kind:?}: {e}"));
            assert_eq!(got, expected_for(kind, &employees), "{kind:?}");
            let throttled = fixture
                .requests()
                .iter()
                .filter(|r| r.status == throttle_status(kind, throttle_other))
                .count();
            assert_eq!(throttled, 4, "{kind:?}");
            let normal: usize = request_counts(kind).iter().map(|(_, c)| c).sum();
            assert_eq!(fixture.requests().len(), normal + 4, "{kind:?}");
        }
    }
    // A storm longer than the tries fails the fetch instead.
    let setup = Setup {
        faults: Faults {
            throttle_storm: 10,
            ..Faults::default()
        },
        max_tries: Some(3),
        ..Setup::default()
    };
    let fixture = fixture(Kind::Merge, &employees, &setup).await;
    let error = fetch_sorted(fixture.source.as_ref()).await.unwrap_err();
    assert!(error.to_string().contains("429 after 3 tries"), "{error}");
    assert_eq!(fixture.requests().len(), 3);
}

#[tokio::test]
async fn wrong_credentials_fail_fast_with_credentials_invalid() {
    let employees = dataset();
    for kind in http_sources() {
        let setup = Setup {
            wrong_credentials: true,
            ..Setup::default()
        };
        let fixture = fixture(kind, &employees, &setup).await;
        let error = fetch_sorted(fixture.source.as_ref()).await.unwrap_err();
        assert!(
            matches!(error, SourceError::CredentialsInvalid(_)),
            "{kind:?}: {error}"
        );
        assert_eq!(error.category(), "CredentialsInvalid");
        let message = error.to_string();
        assert!(
            message.contains("check"),
            "{kind:?}: names the fix: {message}"
        );
        assert!(
            !message.contains("-wrong"),
            "{kind:?}: no secret in {message}"
        );
        if kind == Kind::Graph {
            // The identity platform refused the secret, before Graph was asked anything.
            assert!(
                message.contains("token endpoint answered 401")
                    && message.contains("secret graph/clientSecret"),
                "{message}"
            );
        }
        if kind == Kind::Google {
            // Google's token endpoint refused the key of another service account.
            assert!(
                message.contains("token endpoint answered 400")
                    && message.contains("secret google/serviceAccountKey.json"),
                "{message}"
            );
        }
        assert_eq!(
            fixture.requests().len(),
            1,
            "{kind:?}: one request, no retries"
        );
        let check = fixture.source.check().await.unwrap_err();
        assert!(
            matches!(check, SourceError::CredentialsInvalid(_)),
            "{kind:?}"
        );
    }
}

fn feeding<'a>(fields: &'a [SourceField], canonical: &str) -> &'a SourceField {
    fields
        .iter()
        .find(|f| {
            f.feeds
                .as_deref()
                .is_some_and(|feeds| feeds.split(", ").any(|f| f == canonical))
        })
        .unwrap_or_else(|| panic!("no field feeds {canonical}: {fields:?}"))
}

#[tokio::test]
async fn fields_list_standard_and_custom_fields_with_the_reference_employee() {
    let employees = dataset();
    // E0005 (index 4): a cost centre; the first record has none of its values.
    let reference = &employees[4];
    for kind in ALL {
        // Entra ID knows the employee by its object id, Slack by its member id.
        let id = match kind {
            Kind::Graph => graph::object_id(&reference.id),
            Kind::Google => google::user_id(&reference.id),
            Kind::Slack => slack::member_id(&reference.id),
            _ => reference.id.to_string(),
        };
        let setup = Setup {
            reference: Some(id),
            ..Setup::default()
        };
        let fixture = fixture(kind, &employees, &setup).await;
        let fields = fixture
            .source
            .fields()
            .await
            .unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        let example = |canonical: &str| feeding(&fields, canonical).example.clone();
        assert_eq!(
            example("firstName"),
            Some(json!(reference.first_name)),
            "{kind:?}"
        );
        if kind == Kind::Slack {
            // `users.list` shows no custom profile fields; the mapped ones have examples.
            assert_eq!(
                example("preferredLanguage"),
                Some(json!(reference.preferred_language)),
                "{kind:?}"
            );
            assert_eq!(example("title"), Some(json!(reference.title)), "{kind:?}");
            assert!(fields.len() >= 10, "{kind:?}: {} fields", fields.len());
            continue;
        }
        assert_eq!(
            example("customFields.costCenter"),
            reference.custom_fields.get("costCenter").cloned(),
            "{kind:?}"
        );
        assert_eq!(
            example("customFields.address.city"),
            Some(reference.custom_fields.get("address").unwrap()["city"].clone()),
            "{kind:?}"
        );
        assert!(fields.len() >= 10, "{kind:?}: {} fields", fields.len());
    }
}

#[tokio::test]
async fn fields_with_an_unknown_reference_employee_name_the_field_the_id_and_the_fix() {
    let employees = dataset();
    for (kind, key) in [
        (Kind::Csv, "csv"),
        (Kind::Merge, "merge"),
        (Kind::BambooHr, "bambooHr"),
        (Kind::Personio, "personio"),
        (Kind::HiBob, "hiBob"),
        (Kind::Afas, "afas"),
        (Kind::Workday, "workday"),
        (Kind::Graph, "microsoftGraph"),
        (Kind::Google, "googleWorkspace"),
        (Kind::Slack, "slack"),
    ] {
        let setup = Setup {
            reference: Some("9999".into()),
            ..Setup::default()
        };
        let fixture = fixture(kind, &employees, &setup).await;
        let error = fixture
            .source
            .fields()
            .await
            .expect_err("no employee 9999")
            .to_string();
        for part in [
            &format!("spec.source.{key}.referenceEmployeeId is `9999`"),
            "set it to the id of an employee the source has, or remove it",
        ] {
            assert!(error.contains(part), "{kind:?}: `{part}` not in: {error}");
        }
    }
}

/// The emulators enforce the documented limits a client must respect.
#[tokio::test]
async fn emulators_refuse_pages_over_the_api_maximum_and_changed_cursor_parameters() {
    let client = reqwest::Client::new();
    let merge = merge::start(merge::MergeConfig {
        records: merge::records(&dataset()),
        ..Default::default()
    })
    .await
    .unwrap();
    let get = |url: String| {
        client
            .get(url)
            .bearer_auth("merge-key")
            .header("X-Account-Token", "account-token")
            .send()
    };
    let too_big = get(format!("{}/employees?page_size=101", merge.base_url()))
        .await
        .unwrap();
    assert_eq!(too_big.status(), 400);
    let first: Value = get(format!("{}/employees?page_size=100", merge.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let cursor = first["next"].as_str().unwrap();
    let changed = get(format!(
        "{}/employees?page_size=50&cursor={cursor}",
        merge.base_url()
    ))
    .await
    .unwrap();
    assert_eq!(changed.status(), 400);
    let body: Value = changed.json().await.unwrap();
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("keep every parameter")
    );

    let personio = personio::start(personio::PersonioConfig::default())
        .await
        .unwrap();
    let token: Value = client
        .post(format!("{}/v1/auth", personio.base_url()))
        .json(&json!({"client_id": "personio-id", "client_secret": "personio-secret"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["data"]["token"].as_str().unwrap();
    for query in ["limit=101", "offset=0"] {
        let answer = client
            .get(format!(
                "{}/v1/company/employees?{query}",
                personio.base_url()
            ))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 400, "{query}");
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["success"], json!(false));
    }

    let bamboo = bamboohr::start(bamboohr::BambooConfig::default())
        .await
        .unwrap();
    let answer = client
        .post(format!(
            "{}/api/v2/datasets/employee/data?pageSize=1001",
            bamboo.base_url()
        ))
        .basic_auth("bamboo-key", Some("x"))
        .json(&json!({"fields": ["id"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    assert!(answer.headers().contains_key("x-bamboohr-error-message"));

    let afas = afas::start(afas::AfasConfig::default()).await.unwrap();
    let answer = client
        .get(format!(
            "{}/connectors/HrisEmployees?skip=0&take=1001",
            afas.base_url()
        ))
        .header(
            "Authorization",
            format!("AfasToken {}", {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD.encode(afas::AfasConfig::default().token)
            }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    let body: Value = answer.json().await.unwrap();
    assert!(body.get("profitLogReference").is_some());
}

#[tokio::test]
async fn the_merge_emulator_throttles_above_its_rate_with_retry_after() {
    let merge = merge::start(merge::MergeConfig {
        common: CommonConfig {
            requests_per_second: Some(1.0),
            burst: 2,
            ..CommonConfig::default()
        },
        ..Default::default()
    })
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let answer = client
            .get(format!("{}/employees", merge.base_url()))
            .bearer_auth("merge-key")
            .header("X-Account-Token", "account-token")
            .send()
            .await
            .unwrap();
        statuses.push((
            answer.status().as_u16(),
            answer
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned()),
        ));
    }
    assert_eq!(
        statuses,
        [(200, None), (200, None), (429, Some("1".to_owned()))]
    );
}

#[tokio::test]
async fn personio_caches_its_token_and_fetches_a_new_one_when_it_expires() {
    let employees = dataset();
    let emulator = personio::start(personio::PersonioConfig {
        records: personio::records(&employees),
        token_uses: Some(5),
        ..Default::default()
    })
    .await
    .unwrap();
    let http = hris_operator::connectors::http::HttpClient::new(
        source::personio::auth(&emulator.base_url(), "personio-id", "personio-secret"),
        None,
        Duration::from_secs(10),
        hris_operator::connectors::http::RetryPolicy::default(),
    )
    .unwrap();
    let source = source::personio::PersonioSource::new(
        source::api::ApiClient::with_http("Personio", "the test credentials".into(), http),
        &emulator.base_url(),
        source::personio::columns(
            &personio::CUSTOM_FIELDS
                .iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect(),
            Some(personio::PERSONAL_EMAIL_ATTRIBUTE),
        ),
        None,
    );
    let got = fetch_sorted(&source).await.unwrap();
    assert_eq!(got, expected_for(Kind::Personio, &employees));
    let requests = emulator.requests();
    let count = |path: &str, status: u16| {
        requests
            .iter()
            .filter(|r| r.path == path && r.status == status)
            .count()
    };
    // 11 pages, 5 per token: two tokens expire mid-way, each answered 401 once and replaced.
    assert_eq!(count("/v1/company/employees", 200), 11);
    assert_eq!(count("/v1/company/employees", 401), 2);
    assert_eq!(count("/v1/auth", 200), 3);
}
