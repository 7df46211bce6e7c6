//! Fuzzing with proptest (a fixed, modest number of cases, so the binary stays fast): the CSV
//! reader, the SCIM list parser, and filter and mapping evaluation never panic on arbitrary or
//! corrupted input, and answer the same way twice. Seeds live in `tests/fuzz/`.

use hris_operator::{
    connectors::{
        source::csv::{self, CsvFormat},
        target::scim::{parse_list_page, to_user},
    },
    crd::{CsvEncoding, HrisConnectionSpec},
    sync::{
        field::FieldValue,
        filter::keep,
        map::{choose_email, desired_user, mapped_attributes},
        model::{DirectoryUser, Email, EmailType, Employee, EmploymentStatus},
        plan::{PlanInput, plan},
        policy::SyncPolicy,
        ports::target::TargetErrorKind,
    },
};
use jiff::civil::{Date, date};
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use std::sync::Arc;

const CASES: u32 = 256;

/// CSV seeds and their delimiters.
const CSV_SEEDS: [(&[u8], u8); 5] = [
    (include_bytes!("../fuzz/csv/basic.csv"), b','),
    (include_bytes!("../fuzz/csv/bad_rows.csv"), b','),
    (include_bytes!("../fuzz/csv/bom_crlf_semicolon.csv"), b';'),
    (include_bytes!("../fuzz/csv/header_only.csv"), b','),
    (include_bytes!("../fuzz/csv/utf16le_tab.csv"), b'\t'),
];

const SCIM_SEEDS: [&[u8]; 4] = [
    include_bytes!("../fuzz/scim/list.json"),
    include_bytes!("../fuzz/scim/empty.json"),
    include_bytes!("../fuzz/scim/odd_types.json"),
    include_bytes!("../fuzz/scim/error.json"),
];

const HEADER: &[u8] =
    b"id,firstName,lastName,workEmail,employmentStatus,startDate,endDate,customFields.a.b\n";

/// Data records in a CSV document, counted by a plain reader that accepts any row length.
fn records_in(bytes: &[u8], delimiter: u8) -> Option<usize> {
    let mut reader = ::csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .flexible(true)
        .from_reader(bytes);
    reader.byte_headers().ok()?;
    let mut count = 0;
    for record in reader.byte_records() {
        record.ok()?;
        count += 1;
    }
    Some(count)
}

/// The CSV reader's contract on any input: no panic; a readable header gives one employee or
/// one error per data row, each error with a line number; the same input reads the same.
fn check_csv(bytes: &[u8], delimiter: u8) -> Result<(), TestCaseError> {
    let format = CsvFormat::canonical(delimiter);
    let first = csv::parse(bytes, &format);
    let second = csv::parse(bytes, &format);
    match (first, second) {
        (Ok(page), Ok(again)) => {
            prop_assert_eq!(&page, &again);
            // Rows are counted in the text (a UTF-16 file is known by its byte order mark).
            let text = csv::decode(bytes, CsvEncoding::Utf8).expect("the reader decoded it");
            let rows = records_in(text.as_bytes(), delimiter).expect("the reader read it");
            prop_assert_eq!(page.employees.len() + page.errors.len(), rows);
            // Lines count `\n`: a file with bare `\r` line ends reports its rows on line 1.
            for error in &page.errors {
                prop_assert!(error.line.is_some_and(|line| line >= 1), "{error:?}");
            }
            for employee in &page.employees {
                prop_assert!(!employee.id.is_empty());
            }
        }
        (Err(error), Err(again)) => {
            prop_assert_eq!(error.to_string(), again.to_string());
            prop_assert_eq!(error.category(), "InvalidSourceData");
        }
        (first, second) => prop_assert!(false, "{first:?} then {second:?}"),
    }
    Ok(())
}

/// A byte-level corruption of a seed.
#[derive(Clone, Debug)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Truncate(usize),
    DuplicateLine(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let special = prop_oneof![
        Just(b'"'),
        Just(b','),
        Just(b';'),
        Just(b'\n'),
        Just(b'\r'),
        Just(0xff),
        Just(0xc3),
        Just(0),
        any::<u8>(),
    ];
    prop_oneof![
        (any::<usize>(), special.clone()).prop_map(|(at, b)| Mutation::Flip(at, b)),
        (any::<usize>(), proptest::collection::vec(special, 1..8))
            .prop_map(|(at, bytes)| Mutation::Insert(at, bytes)),
        (any::<usize>(), 1..20usize).prop_map(|(at, n)| Mutation::Delete(at, n)),
        any::<usize>().prop_map(Mutation::Truncate),
        any::<usize>().prop_map(Mutation::DuplicateLine),
    ]
}

fn apply(seed: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for m in mutations {
        let len = bytes.len();
        let pos = |at: usize| if len == 0 { 0 } else { at % (len + 1) };
        match m {
            Mutation::Flip(at, b) if len > 0 => bytes[at % len] = *b,
            Mutation::Flip(..) => {}
            Mutation::Insert(at, new) => {
                let at = pos(*at);
                bytes.splice(at..at, new.iter().copied());
            }
            Mutation::Delete(at, n) => {
                let at = pos(*at);
                let end = (at + n).min(len);
                bytes.drain(at..end);
            }
            Mutation::Truncate(at) => bytes.truncate(pos(*at)),
            Mutation::DuplicateLine(at) => {
                let lines: Vec<&[u8]> = bytes.split_inclusive(|b| *b == b'\n').collect();
                if !lines.is_empty() {
                    let line = lines[at % lines.len()].to_vec();
                    bytes.extend_from_slice(&line);
                }
            }
        }
    }
    bytes
}

/// Arbitrary JSON, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("id"),
            Just("true"),
            Just("False"),
            Just("Resources"),
            Just("work"),
            Just("a@b.example"),
            Just("2026-02-30"),
        ]
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let key = prop_oneof![
            Just("id".to_owned()),
            Just("Resources".to_owned()),
            Just("totalResults".to_owned()),
            Just("emails".to_owned()),
            Just("value".to_owned()),
            Just("primary".to_owned()),
            Just("type".to_owned()),
            Just("active".to_owned()),
            Just("name".to_owned()),
            Just("givenName".to_owned()),
            Just("meta".to_owned()),
            Just("version".to_owned()),
            Just("externalId".to_owned()),
            Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".to_owned()),
            Just("manager".to_owned()),
            ".{0,6}",
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::vec((key, inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn scim_attributes() -> Vec<Arc<str>> {
    [
        "title",
        "name.familyName",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        "",
        ".",
        "a..b",
    ]
    .into_iter()
    .map(Arc::from)
    .collect()
}

/// The SCIM list parser's contract: a typed error or a page; every listed resource becomes a
/// user or an `InvalidData` error; never a panic, and the same answer twice.
fn check_scim(body: &[u8]) -> Result<(), TestCaseError> {
    let attributes = scim_attributes();
    let parsed = parse_list_page(body);
    prop_assert_eq!(
        format!("{parsed:?}"),
        format!("{:?}", parse_list_page(body))
    );
    match parsed {
        Ok(page) => {
            for resource in &page.resources {
                match to_user(resource, &attributes) {
                    Ok(user) => {
                        prop_assert_eq!(Some(user.id.as_str()), resource["id"].as_str());
                        prop_assert_eq!(&user, &to_user(resource, &attributes).unwrap());
                    }
                    Err(error) => prop_assert_eq!(error.kind, TargetErrorKind::InvalidData),
                }
            }
        }
        Err(error) => prop_assert_eq!(error.kind, TargetErrorKind::InvalidData),
    }
    Ok(())
}

/// A JSON-level corruption: the value at a path (chosen by indexes) replaced.
fn replace_somewhere(value: &mut Value, path: &[usize], new: Value) {
    let Some((first, rest)) = path.split_first() else {
        *value = new;
        return;
    };
    let child = match value {
        Value::Object(map) if !map.is_empty() => {
            let len = map.len();
            map.values_mut().nth(first % len)
        }
        Value::Array(items) if !items.is_empty() => {
            let len = items.len();
            items.get_mut(first % len)
        }
        _ => None,
    };
    match child {
        Some(child) => replace_somewhere(child, rest, new),
        None => *value = new,
    }
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => ".{0,16}",
        1 => Just(String::new()),
        1 => Just(" ".into()),
        1 => Just("ÅSA Öberg ǅ ß İ ﬁ 🦀".into()),
        1 => Just("\u{0}\u{feff}\u{202e}".into()),
        1 => (1..200_000usize).prop_map(|n| "é".repeat(n)),
    ]
}

fn opt_text() -> impl Strategy<Value = Option<compact_str::CompactString>> {
    proptest::option::of(text().prop_map(Into::into))
}

fn opt_date() -> impl Strategy<Value = Option<Date>> {
    proptest::option::of((-3000..3000i64).prop_map(|days| {
        date(2026, 1, 1)
            .checked_add(jiff::Span::new().days(days))
            .unwrap()
    }))
}

const STATUSES: [EmploymentStatus; 4] = [
    EmploymentStatus::Active,
    EmploymentStatus::Pending,
    EmploymentStatus::Leave,
    EmploymentStatus::Inactive,
];
const EMAIL_TYPES: [EmailType; 5] = [
    EmailType::Primary,
    EmailType::Work,
    EmailType::Secondary,
    EmailType::Personal,
    EmailType::Other,
];

fn employee() -> impl Strategy<Value = Employee> {
    (
        (text(), text(), text(), 0..4usize),
        (opt_text(), opt_text(), opt_text(), opt_text(), opt_text()),
        (opt_text(), opt_text(), opt_date(), opt_date()),
        proptest::collection::vec((text(), 0..5usize), 0..3),
        proptest::collection::vec(
            (prop_oneof![Just("a".to_owned()), ".{0,8}"], json_value()),
            0..3,
        ),
    )
        .prop_map(
            |(
                (id, first, last, status),
                (number, preferred, manager, department, title),
                (location, language, start, end),
                emails,
                custom,
            )| {
                let mut e = Employee::new(id, first, last, STATUSES[status]);
                e.employee_number = number;
                e.preferred_name = preferred;
                e.manager_id = manager;
                e.department = department;
                e.title = title;
                e.location = location;
                e.preferred_language = language;
                e.start_date = start;
                e.end_date = end;
                e.emails = emails
                    .into_iter()
                    .map(|(address, kind)| Email {
                        address: address.into(),
                        kind: EMAIL_TYPES[kind],
                    })
                    .collect();
                for (name, value) in custom {
                    e.custom_fields.insert(name, value);
                }
                e
            },
        )
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        12 => prop_oneof![
            Just("id"),
            Just("employeeNumber"),
            Just("firstName"),
            Just("lastName"),
            Just("preferredName"),
            Just("email"),
            Just("employmentStatus"),
            Just("startDate"),
            Just("endDate"),
            Just("managerId"),
            Just("department"),
            Just("title"),
            Just("location"),
            Just("preferredLanguage"),
            Just("customFields.a"),
            Just("customFields.a.b"),
        ]
        .prop_map(str::to_owned),
        1 => prop_oneof![Just("customFields..a"), Just("customFields."), Just("")]
            .prop_map(str::to_owned),
        1 => ".{0,12}",
        1 => ".{0,6}".prop_map(|s| format!("customFields.{s}")),
    ]
}

/// An arbitrary filter and mapping section of a spec (it may not compile).
fn spec() -> impl Strategy<Value = Value> {
    let operator = prop_oneof![
        Just("Include"),
        Just("Exclude"),
        Just("Before"),
        Just("OnOrBefore"),
        Just("After"),
        Just("OnOrAfter"),
    ];
    let date_text = prop_oneof![
        6 => opt_date().prop_map(|d| d.unwrap_or(date(2026, 1, 1)).to_string()),
        1 => Just("2026-02-30".to_owned()),
        1 => Just("-2026-01-01".to_owned()),
        1 => "[0-9]{4}-[0-9]{2}-[0-9]{2}",
        1 => ".{0,10}",
    ];
    let arbitrary = (
        field_name(),
        operator,
        proptest::option::of(proptest::collection::vec(text(), 0..3)),
        proptest::option::of(date_text.clone()),
    )
        .prop_map(|(field, operator, values, date)| {
            let mut filter = json!({"field": field, "operator": operator});
            if let Some(values) = values {
                filter["values"] = json!(values);
            }
            if let Some(date) = date {
                filter["date"] = json!(date);
            }
            filter
        });
    // Mostly well-formed filters, so that most generated specs compile and get evaluated.
    let values = (
        field_name(),
        prop_oneof![Just("Include"), Just("Exclude")],
        proptest::collection::vec(text(), 1..3),
    )
        .prop_map(|(field, operator, values)| {
            json!({"field": field, "operator": operator, "values": values})
        });
    let dates = (
        prop_oneof![
            Just("startDate".to_owned()),
            Just("endDate".to_owned()),
            Just("customFields.a".to_owned()),
            ".{0,4}".prop_map(|s| format!("customFields.{s}")),
        ],
        prop_oneof![
            Just("Before"),
            Just("OnOrBefore"),
            Just("After"),
            Just("OnOrAfter")
        ],
        date_text,
    )
        .prop_map(
            |(field, operator, date)| json!({"field": field, "operator": operator, "date": date}),
        );
    let filter = prop_oneof![2 => values, 2 => dates, 1 => arbitrary];
    let mapping = (
        field_name(),
        prop_oneof![Just("title".to_owned()), Just("dept".to_owned()), ".{0,8}"],
        proptest::collection::vec((text(), text()), 0..3),
    )
        .prop_map(|(from, to, aliases)| {
            let aliases: Map<String, Value> = aliases
                .into_iter()
                .map(|(hr, written)| (hr, Value::String(written)))
                .collect();
            json!({"from": from, "to": to, "aliases": aliases})
        });
    (
        proptest::collection::vec(filter, 0..4),
        proptest::collection::vec(mapping, 0..4),
        any::<bool>(),
    )
        .prop_map(|(filters, mut mappings, personal)| {
            // Mostly distinct target attributes (a repeated one is a spec error).
            for (index, mapping) in mappings.iter_mut().enumerate() {
                if index % 4 != 3 {
                    let to = format!("{}{index}", mapping["to"].as_str().unwrap_or(""));
                    mapping["to"] = Value::String(to);
                }
            }
            json!({
                "source": {"csv": {"path": "e.csv"}},
                "target": {"file": {"path": "d.json"}},
                "externalIdPrefix": "hr:",
                "filters": filters,
                "attributeMapping": mappings,
                "emails": {"includePersonal": personal},
            })
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn csv_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512),
                           delimiter in prop_oneof![Just(b','), Just(b';'), Just(b'\t'), any::<u8>()]) {
        check_csv(&bytes, delimiter)?;
    }

    #[test]
    fn csv_arbitrary_rows_under_a_valid_header(body in proptest::collection::vec(any::<u8>(), 0..1024)) {
        // As text: a valid header with rows of any characters never fails the file.
        let mut text = HEADER.to_vec();
        text.extend_from_slice(String::from_utf8_lossy(&body).as_bytes());
        let page = csv::parse(&text, &CsvFormat::canonical(b','));
        prop_assert!(page.is_ok(), "a valid header never fails the file: {page:?}");
        check_csv(&text, b',')?;
        // As bytes: only a byte that is not UTF-8 fails it, and the error names its line.
        let mut bytes = HEADER.to_vec();
        bytes.extend_from_slice(&body);
        match csv::parse(&bytes, &CsvFormat::canonical(b',')) {
            Ok(_) => prop_assert!(std::str::from_utf8(&bytes).is_ok()),
            Err(error) => prop_assert!(
                error.to_string().starts_with("the CSV is not UTF-8 text (line "),
                "{error}"
            ),
        }
        check_csv(&bytes, b',')?;
    }

    #[test]
    fn csv_corrupted_seeds(seed in 0..CSV_SEEDS.len(),
                           mutations in proptest::collection::vec(mutation(), 1..6)) {
        let (bytes, delimiter) = CSV_SEEDS[seed];
        check_csv(&apply(bytes, &mutations), delimiter)?;
    }

    #[test]
    fn scim_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        check_scim(&bytes)?;
    }

    #[test]
    fn scim_arbitrary_json(value in json_value()) {
        check_scim(&serde_json::to_vec(&value).unwrap())?;
        // As a list response's resources too.
        let list = json!({"totalResults": 1, "Resources": [value.clone(), {"id": "x", "emails": value}]});
        check_scim(&serde_json::to_vec(&list).unwrap())?;
    }

    #[test]
    fn scim_corrupted_seeds(seed in 0..SCIM_SEEDS.len(),
                            mutations in proptest::collection::vec(mutation(), 1..4),
                            path in proptest::collection::vec(any::<usize>(), 0..5),
                            replacement in json_value()) {
        check_scim(&apply(SCIM_SEEDS[seed], &mutations))?;
        let mut parsed: Value = serde_json::from_slice(SCIM_SEEDS[seed]).unwrap();
        replace_somewhere(&mut parsed, &path, replacement);
        check_scim(&serde_json::to_vec(&parsed).unwrap())?;
    }

    #[test]
    fn filters_and_mappings_never_panic_and_are_deterministic(
        spec in spec(),
        employees in proptest::collection::vec(employee(), 0..6),
    ) {
        let spec: HrisConnectionSpec = match serde_json::from_value(spec) {
            Ok(spec) => spec,
            Err(_) => return Ok(()),
        };
        let policy = match SyncPolicy::compile(&spec) {
            Ok(policy) => policy,
            Err(errors) => {
                prop_assert!(!errors.0.is_empty());
                for error in &errors.0 {
                    prop_assert!(error.field.starts_with("spec."), "{error}");
                }
                return Ok(());
            }
        };
        for employee in &employees {
            let email = choose_email(employee, &policy.email_priority);
            prop_assert_eq!(email, choose_email(employee, &policy.email_priority));
            let kept = keep(employee, email, &policy.filters);
            prop_assert_eq!(kept, keep(employee, email, &policy.filters));
            let address = email.unwrap_or("");
            let attributes = mapped_attributes(employee, address, &policy);
            prop_assert_eq!(&attributes, &mapped_attributes(employee, address, &policy));
            let user = desired_user(employee, address, true, &policy);
            prop_assert_eq!(&user, &desired_user(employee, address, true, &policy));
            for mapping in &policy.mappings {
                // Nothing is written for a missing value.
                if mapping.from.get(employee, Some(address)) == FieldValue::Missing {
                    prop_assert!(attributes.get(&mapping.to).is_none());
                }
            }
        }
        // The whole plan over them, twice.
        let users: Vec<DirectoryUser> = Vec::new();
        let input = PlanInput {
            employees: &employees,
            record_errors: &[],
            users: &users,
            as_of: date(2026, 11, 22),
            managers: true,
            deletes: true,
            approved_hash: None,
        };
        let first = plan(&input, &policy);
        prop_assert_eq!(&first, &plan(&input, &policy));
    }
}

#[test]
fn generated_specs_can_compile() {
    // The spec strategy's shape is a real spec: the property above does not skip every case.
    let spec: HrisConnectionSpec = serde_json::from_value(json!({
        "source": {"csv": {"path": "e.csv"}},
        "target": {"file": {"path": "d.json"}},
        "externalIdPrefix": "hr:",
        "filters": [{"field": "department", "operator": "Include", "values": ["R&D"]},
                    {"field": "startDate", "operator": "Before", "date": "2026-01-01"}],
        "attributeMapping": [{"from": "title", "to": "title", "aliases": {"eng": "Engineer"}}],
        "emails": {"includePersonal": true},
    }))
    .unwrap();
    let policy = SyncPolicy::compile(&spec).unwrap();
    assert_eq!((policy.filters.len(), policy.mappings.len()), (2, 1));
}

#[test]
fn the_seeds_themselves_parse() {
    let (basic, delimiter) = CSV_SEEDS[0];
    let page = csv::parse(basic, &CsvFormat::canonical(delimiter)).unwrap();
    assert_eq!((page.employees.len(), page.errors.len()), (3, 0));
    let (bad, delimiter) = CSV_SEEDS[1];
    let page = csv::parse(bad, &CsvFormat::canonical(delimiter)).unwrap();
    assert_eq!(page.employees.len() + page.errors.len(), 6);
    // The multi-line name is a bad row too: a line break in a name is what a stray quote
    // leaves when it merges rows.
    assert_eq!(page.employees.len(), 0, "every row is bad");
    assert_eq!(
        page.errors.last().and_then(|e| e.field.as_deref()),
        Some("firstName")
    );
    let (bom, delimiter) = CSV_SEEDS[2];
    let format = CsvFormat::canonical(delimiter);
    assert_eq!(csv::parse(bom, &format).unwrap().employees.len(), 2);
    let (utf16, delimiter) = CSV_SEEDS[4];
    let page = csv::parse(utf16, &CsvFormat::canonical(delimiter)).unwrap();
    assert_eq!((page.employees.len(), page.errors.len()), (2, 0));
    assert_eq!(page.employees[1].first_name, "Zoë");

    let list = parse_list_page(SCIM_SEEDS[0]).unwrap();
    assert_eq!((list.resources.len(), list.total), (2, Some(2)));
    assert!(parse_list_page(SCIM_SEEDS[1]).unwrap().resources.is_empty());
    let odd = parse_list_page(SCIM_SEEDS[2]).unwrap();
    assert_eq!(odd.resources.len(), 4);
    let users: Vec<_> = odd
        .resources
        .iter()
        .map(|r| to_user(r, &scim_attributes()).map(|u| u.id.to_string()))
        .collect();
    assert!(users[0].is_err() && users[2].is_err() && users[3].is_err());
    assert_eq!(users[1].as_ref().unwrap(), "u3");
    // An error document is no list: a typed error, not an empty directory.
    let error = parse_list_page(SCIM_SEEDS[3]).unwrap_err();
    assert_eq!(error.kind, TargetErrorKind::InvalidData);
    assert_eq!(
        parse_list_page(b"not json").unwrap_err().kind,
        TargetErrorKind::InvalidData
    );
}
