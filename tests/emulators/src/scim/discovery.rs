//! The documents a client discovers the server by: `ServiceProviderConfig` (what is supported,
//! with the limits configured), `Schemas` and `ResourceTypes`.

use serde_json::{Value, json};

use super::{ENTERPRISE_USER_SCHEMA, Shared, USER_SCHEMA};

const SERVICE_PROVIDER_CONFIG_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

fn attribute(name: &str, kind: &str, description: &str) -> Value {
    json!({
        "name": name,
        "type": kind,
        "multiValued": false,
        "description": description,
        "required": false,
        "caseExact": false,
        "mutability": "readWrite",
        "returned": "default",
        "uniqueness": "none",
    })
}

fn complex(name: &str, description: &str, sub_attributes: Vec<Value>) -> Value {
    let mut attribute = attribute(name, "complex", description);
    attribute["subAttributes"] = Value::Array(sub_attributes);
    attribute
}

impl Shared {
    pub(super) fn service_provider_config(&self) -> Value {
        let (bulk_supported, max_operations, max_payload) = match self.config.bulk {
            Some((ops, bytes)) => (true, ops, bytes),
            None => (false, 0, 0),
        };
        json!({
            "schemas": [SERVICE_PROVIDER_CONFIG_SCHEMA],
            "patch": {"supported": self.config.patch},
            "bulk": {
                "supported": bulk_supported,
                "maxOperations": max_operations,
                "maxPayloadSize": max_payload,
            },
            "filter": {"supported": true, "maxResults": self.config.max_page_size},
            "changePassword": {"supported": false},
            "sort": {"supported": false},
            "etag": {"supported": self.config.etag},
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "Authentication with a bearer token (RFC 6750)",
                "specUri": "https://www.rfc-editor.org/info/rfc6750",
                "primary": true,
            }],
            "meta": {
                "resourceType": "ServiceProviderConfig",
                "location": format!("{}/ServiceProviderConfig", self.base_url),
            },
        })
    }

    pub(super) fn user_resource_type(&self) -> Value {
        json!({
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "User Account",
            "schema": USER_SCHEMA,
            "schemaExtensions": [{"schema": ENTERPRISE_USER_SCHEMA, "required": false}],
            "meta": {
                "resourceType": "ResourceType",
                "location": format!("{}/ResourceTypes/User", self.base_url),
            },
        })
    }

    pub(super) fn schemas(&self) -> Vec<Value> {
        let string = |name: &str, description: &str| attribute(name, "string", description);
        let mut user_name = string("userName", "Unique identifier for the User.");
        user_name["required"] = json!(true);
        user_name["uniqueness"] = json!("server");
        let mut email_type = string("type", "A label indicating the e-mail's function.");
        email_type["canonicalValues"] = json!(["work", "home", "other"]);
        let mut emails = complex(
            "emails",
            "Email addresses for the user.",
            vec![
                string("value", "Email address for the User."),
                email_type,
                attribute(
                    "primary",
                    "boolean",
                    "Whether this is the primary e-mail address.",
                ),
            ],
        );
        emails["multiValued"] = json!(true);
        let user = json!({
            "schemas": [SCHEMA_SCHEMA],
            "id": USER_SCHEMA,
            "name": "User",
            "description": "User Account",
            "attributes": [
                user_name,
                complex("name", "The components of the user's name.", vec![
                    string("formatted", "The full name."),
                    string("familyName", "The family name."),
                    string("givenName", "The given name."),
                ]),
                string("displayName", "The name of the User, suitable for display."),
                string("title", "The user's title, such as \"Vice President\"."),
                string("preferredLanguage", "The User's preferred written or spoken language."),
                attribute("active", "boolean", "The User's administrative status."),
                emails,
            ],
            "meta": {
                "resourceType": "Schema",
                "location": format!("{}/Schemas/{USER_SCHEMA}", self.base_url),
            },
        });
        let mut manager_ref = attribute("$ref", "reference", "The URI of the manager.");
        manager_ref["referenceTypes"] = json!(["User"]);
        let mut manager_name = string("displayName", "The displayName of the manager.");
        manager_name["mutability"] = json!("readOnly");
        let enterprise = json!({
            "schemas": [SCHEMA_SCHEMA],
            "id": ENTERPRISE_USER_SCHEMA,
            "name": "EnterpriseUser",
            "description": "Enterprise User",
            "attributes": [
                string("employeeNumber", "Identifier assigned by the organization."),
                string("costCenter", "Identifies the name of a cost center."),
                string("organization", "Identifies the name of an organization."),
                string("division", "Identifies the name of a division."),
                string("department", "Identifies the name of a department."),
                complex("manager", "The User's manager.", vec![
                    string("value", "The id of the SCIM resource representing the manager."),
                    manager_ref,
                    manager_name,
                ]),
            ],
            "meta": {
                "resourceType": "Schema",
                "location": format!("{}/Schemas/{ENTERPRISE_USER_SCHEMA}", self.base_url),
            },
        });
        vec![user, enterprise]
    }
}
