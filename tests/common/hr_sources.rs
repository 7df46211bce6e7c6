//! The HR API emulators as a run's source, shared by the source conformance, bad-input and
//! fault suites: start one serving given records, write its credentials as secret files
//! (`DIR/NAME/KEY`, as the sync Job mounts them), and return the `source` settings that read it.

use std::path::Path;

use hris_emulators::{
    afas, bamboohr, hibob,
    hr::{CommonConfig, HrEmulator},
    merge, personio, workday,
};
use hris_operator::sync::model::{Employee, EmploymentStatus};
use serde_json::{Map, Value, json};

/// The HR APIs with an emulator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HrApi {
    Merge,
    BambooHr,
    Personio,
    HiBob,
    Afas,
    Workday,
}

/// Every HR API, in the README's order.
pub const HR_APIS: [HrApi; 6] = [
    HrApi::Merge,
    HrApi::BambooHr,
    HrApi::Personio,
    HrApi::HiBob,
    HrApi::Afas,
    HrApi::Workday,
];

impl HrApi {
    /// `employees` as this API's records.
    pub fn records(self, employees: &[Employee]) -> Vec<Value> {
        match self {
            HrApi::Merge => merge::records(employees),
            HrApi::BambooHr => bamboohr::records(employees),
            HrApi::Personio => personio::records(employees),
            HrApi::HiBob => hibob::records(employees),
            HrApi::Afas => afas::records(employees),
            HrApi::Workday => workday::records(employees),
        }
    }
}

/// How to start an emulator.
#[derive(Clone, Debug, Default)]
pub struct HrOptions {
    /// Rate limit, throttling and faults.
    pub common: CommonConfig,
    /// Write a wrong value for the API's secret credential (the emulator refuses it).
    pub wrong_credentials: bool,
}

/// Writes a secret file `dir/name/key` the way Kubernetes mounts one (a trailing newline
/// included, as `kubectl create secret --from-file` often leaves it).
pub fn write_secret(dir: &Path, name: &str, key: &str, value: &str) {
    std::fs::create_dir_all(dir.join(name)).unwrap();
    std::fs::write(dir.join(name).join(key), format!("{value}\n")).unwrap();
}

/// A field map with the phone and address entries of an emulator's table (canonical field →
/// column; `workAddress.street` goes to `workAddress: {street: …}`).
pub fn with_contact_columns(mut map: Value, columns: &[(&str, &str)]) -> Value {
    for (canonical, column) in columns {
        match canonical.split_once('.') {
            Some((address, part)) => {
                if map.get(address).is_none() {
                    map[address] = json!({});
                }
                map[address][part] = json!(column);
            }
            None => map[*canonical] = json!(column),
        }
    }
    map
}

/// A `statusValues` map from an emulator's table.
pub fn status_values(values: &[(&str, EmploymentStatus)]) -> Value {
    Value::Object(
        values
            .iter()
            .map(|(value, status)| ((*value).to_owned(), json!(status.as_str())))
            .collect(),
    )
}

/// A `customFields` map (canonical name → the API's field) from an emulator's table.
pub fn custom_map(fields: &[(&str, &str)]) -> Value {
    Value::Object(
        fields
            .iter()
            .map(|(canonical, column)| ((*canonical).to_owned(), json!(column)))
            .collect(),
    )
}

/// Starts `api`'s emulator serving `records`, writes its credentials under `secrets`, and
/// returns the source's one-of key (`merge`, `bambooHr`, …), its settings (`settings` plus the
/// emulator's address, credentials and field maps) and the emulator.
pub async fn start_hr_source(
    api: HrApi,
    records: Vec<Value>,
    options: HrOptions,
    secrets: &Path,
    settings: Map<String, Value>,
) -> (&'static str, Map<String, Value>, HrEmulator) {
    let wrong = |value: &str| {
        if options.wrong_credentials {
            format!("{value}-wrong")
        } else {
            value.to_owned()
        }
    };
    let common = options.common.clone();
    let mut spec = settings;
    // The field map names the phone and address columns some record has: a named column no
    // record has fails the fetch (as it should), and small test datasets hold no phones.
    let held: Vec<(&str, &str)> = match api {
        HrApi::Afas => afas::CONTACT_COLUMNS.to_vec(),
        HrApi::Workday => workday::CONTACT_COLUMNS.to_vec(),
        _ => Vec::new(),
    }
    .into_iter()
    .filter(|(_, column)| records.iter().any(|r| r.get(*column).is_some()))
    .collect();
    let (key, emulator) = match api {
        HrApi::Merge => {
            let config = merge::MergeConfig {
                records,
                common,
                ..Default::default()
            };
            write_secret(secrets, "merge", "apiKey", &wrong(&config.api_key));
            write_secret(secrets, "merge", "accountToken", &config.account_token);
            spec.insert(
                "apiKeySecretRef".into(),
                json!({"name": "merge", "key": "apiKey"}),
            );
            spec.insert(
                "accountTokenSecretRef".into(),
                json!({"name": "merge", "key": "accountToken"}),
            );
            ("merge", merge::start(config).await.unwrap())
        }
        HrApi::BambooHr => {
            let config = bamboohr::BambooConfig {
                records,
                common,
                ..Default::default()
            };
            write_secret(secrets, "bamboo", "apiKey", &wrong(&config.api_key));
            spec.insert("companyDomain".into(), json!("acme"));
            spec.insert(
                "credentialsSecretRef".into(),
                json!({"name": "bamboo", "key": "apiKey"}),
            );
            spec.insert("customFields".into(), custom_map(&bamboohr::CUSTOM_FIELDS));
            ("bambooHr", bamboohr::start(config).await.unwrap())
        }
        HrApi::Personio => {
            let config = personio::PersonioConfig {
                records,
                common,
                ..Default::default()
            };
            write_secret(secrets, "personio", "clientId", &config.client_id);
            write_secret(
                secrets,
                "personio",
                "clientSecret",
                &wrong(&config.client_secret),
            );
            spec.insert(
                "clientIdSecretRef".into(),
                json!({"name": "personio", "key": "clientId"}),
            );
            spec.insert(
                "clientSecretSecretRef".into(),
                json!({"name": "personio", "key": "clientSecret"}),
            );
            spec.insert("customFields".into(), custom_map(&personio::CUSTOM_FIELDS));
            spec.insert(
                "personalEmailAttribute".into(),
                json!(personio::PERSONAL_EMAIL_ATTRIBUTE),
            );
            ("personio", personio::start(config).await.unwrap())
        }
        HrApi::HiBob => {
            let config = hibob::HiBobConfig {
                records,
                common,
                ..Default::default()
            };
            write_secret(secrets, "hibob", "token", &wrong(&config.token));
            spec.insert("serviceUserId".into(), json!(config.service_user_id));
            spec.insert(
                "tokenSecretRef".into(),
                json!({"name": "hibob", "key": "token"}),
            );
            spec.insert("customFields".into(), custom_map(&hibob::CUSTOM_FIELDS));
            ("hiBob", hibob::start(config).await.unwrap())
        }
        HrApi::Afas => {
            let config = afas::AfasConfig {
                records,
                common,
                ..Default::default()
            };
            write_secret(secrets, "afas", "token", &wrong(&config.token));
            spec.insert("getConnector".into(), json!(config.connector));
            spec.insert("environmentId".into(), json!("12345"));
            spec.insert(
                "tokenSecretRef".into(),
                json!({"name": "afas", "key": "token"}),
            );
            spec.insert(
                "fieldMap".into(),
                with_contact_columns(
                    json!({
                        "customFields": custom_map(&afas::CUSTOM_FIELDS),
                        "statusValues": status_values(&afas::STATUS_VALUES),
                    }),
                    &held,
                ),
            );
            ("afas", afas::start(config).await.unwrap())
        }
        HrApi::Workday => {
            let config = workday::WorkdayConfig {
                records,
                common,
                ..Default::default()
            };
            write_secret(secrets, "workday", "password", &wrong(&config.password));
            spec.insert("username".into(), json!(config.username));
            spec.insert("reportOwner".into(), json!(config.owner));
            spec.insert("reportName".into(), json!(config.report));
            spec.insert("host".into(), json!("wd.example"));
            spec.insert("tenant".into(), json!(workday::TENANT));
            spec.insert(
                "passwordSecretRef".into(),
                json!({"name": "workday", "key": "password"}),
            );
            spec.insert(
                "fieldMap".into(),
                with_contact_columns(
                    json!({
                        "employeeNumber": workday::EMPLOYEE_NUMBER,
                        "customFields": custom_map(&workday::CUSTOM_FIELDS),
                        "statusValues": status_values(&workday::STATUS_VALUES),
                    }),
                    &held,
                ),
            );
            ("workday", workday::start(config).await.unwrap())
        }
    };
    spec.insert("baseUrl".into(), json!(emulator.base_url()));
    (key, spec, emulator)
}
