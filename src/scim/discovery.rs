//! Discovery endpoints (RFC 7644 §4, RFC 7643 §5-7): `/ServiceProviderConfig`, `/Schemas`,
//! `/ResourceTypes`, rendered from the static schemas and the advertised limits.
//! `base_url` is the SCIM base without a trailing slash (`https://h/scim/v2`).

use serde_json::{Map, Value, json};

use super::bulk::{MAX_OPERATIONS, MAX_PAYLOAD_SIZE};
use super::list::{MAX_RESULTS, list_response};
use super::schema::{ALL_SCHEMAS, AttrType, AttributeDef, ResourceKind, SchemaDef, schema_by_urn};

/// URN of the `ServiceProviderConfig` schema.
pub const SERVICE_PROVIDER_CONFIG_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
/// URN of the `ResourceType` schema.
pub const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
/// URN of the Schema schema.
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// The `/ServiceProviderConfig` document: PATCH, bulk (with [`MAX_OPERATIONS`] and
/// [`MAX_PAYLOAD_SIZE`]), filter (with [`MAX_RESULTS`]), sort and `ETags` supported; password
/// change not; one bearer-token authentication scheme.
#[must_use]
pub fn service_provider_config(base_url: &str) -> Value {
    json!({
        "schemas": [SERVICE_PROVIDER_CONFIG_SCHEMA],
        "patch": {"supported": true},
        "bulk": {
            "supported": true,
            "maxOperations": MAX_OPERATIONS,
            "maxPayloadSize": MAX_PAYLOAD_SIZE
        },
        "filter": {"supported": true, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication with an API key issued by `provisio key create`, sent as `Authorization: Bearer <key>`.",
            "primary": true
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{}/ServiceProviderConfig", trim(base_url))
        }
    })
}

/// A `ListResponse` of all of `resources`, on one page.
fn whole_list(resources: Vec<Value>) -> Value {
    let total = resources.len();
    list_response(resources, total, 1)
}

/// `/Schemas`: a `ListResponse` of the User, Group and enterprise User schemas.
#[must_use]
pub fn schemas(base_url: &str) -> Value {
    whole_list(
        ALL_SCHEMAS
            .iter()
            .map(|s| schema_json(base_url, s))
            .collect(),
    )
}

/// `/Schemas/{urn}` (URN matched case-insensitively), or `None` for an unknown URN (404).
#[must_use]
pub fn schema(base_url: &str, urn: &str) -> Option<Value> {
    schema_by_urn(urn).map(|s| schema_json(base_url, s))
}

/// `/ResourceTypes`: a `ListResponse` of User (enterprise extension optional) and Group.
#[must_use]
pub fn resource_types(base_url: &str) -> Value {
    whole_list(
        [ResourceKind::User, ResourceKind::Group]
            .into_iter()
            .map(|k| resource_type_json(base_url, k))
            .collect(),
    )
}

/// `/ResourceTypes/{name}` (`User` or `Group`, case-insensitive), or `None` (404).
#[must_use]
pub fn resource_type(base_url: &str, name: &str) -> Option<Value> {
    ResourceKind::parse(name).map(|k| resource_type_json(base_url, k))
}

fn resource_type_json(base_url: &str, kind: ResourceKind) -> Value {
    let extensions: Vec<Value> = kind
        .extensions()
        .iter()
        .map(|e| json!({"schema": e.id, "required": false}))
        .collect();
    let mut out = Map::new();
    out.insert("schemas".into(), json!([RESOURCE_TYPE_SCHEMA]));
    out.insert("id".into(), json!(kind.as_str()));
    out.insert("name".into(), json!(kind.as_str()));
    out.insert("endpoint".into(), json!(format!("/{}", kind.endpoint())));
    out.insert("description".into(), json!(kind.core_schema().description));
    out.insert("schema".into(), json!(kind.core_schema().id));
    if !extensions.is_empty() {
        out.insert("schemaExtensions".into(), Value::Array(extensions));
    }
    out.insert(
        "meta".into(),
        json!({
            "resourceType": "ResourceType",
            "location": format!("{}/ResourceTypes/{}", trim(base_url), kind.as_str())
        }),
    );
    Value::Object(out)
}

fn schema_json(base_url: &str, schema: &SchemaDef) -> Value {
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": schema.id,
        "name": schema.name,
        "description": schema.description,
        "attributes": schema.attributes.iter().map(attribute_json).collect::<Vec<_>>(),
        "meta": {
            "resourceType": "Schema",
            "location": format!("{}/Schemas/{}", trim(base_url), schema.id)
        }
    })
}

fn attribute_json(def: &AttributeDef) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), json!(def.name));
    out.insert("type".into(), json!(def.ty.as_str()));
    out.insert("multiValued".into(), json!(def.multi_valued));
    out.insert("description".into(), json!(def.description));
    out.insert("required".into(), json!(def.required));
    if def.ty != AttrType::Complex && def.ty != AttrType::Boolean {
        out.insert("caseExact".into(), json!(def.case_exact()));
    }
    if !def.canonical_values.is_empty() {
        out.insert("canonicalValues".into(), json!(def.canonical_values));
    }
    if def.ty == AttrType::Reference {
        out.insert("referenceTypes".into(), json!(def.reference_types));
    }
    out.insert("mutability".into(), json!(def.mutability.as_str()));
    out.insert("returned".into(), json!(def.returned.as_str()));
    out.insert("uniqueness".into(), json!(def.uniqueness.as_str()));
    if def.ty == AttrType::Complex {
        out.insert(
            "subAttributes".into(),
            Value::Array(def.sub_attributes.iter().map(attribute_json).collect()),
        );
    }
    Value::Object(out)
}

fn trim(base_url: &str) -> &str {
    base_url.trim_end_matches('/')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::{ENTERPRISE_USER_SCHEMA, USER_SCHEMA};

    const BASE: &str = "https://h/scim/v2/";

    #[test]
    fn service_provider_config_advertises_limits() {
        let c = service_provider_config(BASE);
        assert_eq!(c["bulk"]["maxOperations"], json!(MAX_OPERATIONS));
        assert_eq!(c["filter"]["maxResults"], json!(MAX_RESULTS));
        assert_eq!(
            c["authenticationSchemes"][0]["type"],
            json!("oauthbearertoken")
        );
        assert_eq!(
            c["meta"]["location"],
            json!("https://h/scim/v2/ServiceProviderConfig")
        );
    }

    #[test]
    fn schemas_list_all_three() {
        let list = schemas(BASE);
        assert_eq!(list["totalResults"], json!(3));
        assert_eq!(
            list["Resources"][0]["meta"]["resourceType"],
            json!("Schema")
        );
    }

    #[test]
    fn user_schema_renders_attributes() {
        let user = schema(BASE, &USER_SCHEMA.to_uppercase()).unwrap();
        let user_name = &user["attributes"][0];
        assert_eq!(user_name["name"], json!("userName"));
        assert_eq!(user_name["caseExact"], json!(false));
        assert_eq!(user_name["uniqueness"], json!("server"));
        let emails = user["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == "emails")
            .unwrap();
        assert_eq!(
            emails["subAttributes"][2]["canonicalValues"],
            json!(["work", "home", "other"])
        );
    }

    #[test]
    fn unknown_schema_is_none() {
        assert!(schema(BASE, "urn:nope").is_none());
    }

    #[test]
    fn user_resource_type_has_optional_enterprise() {
        let user = resource_type(BASE, "user").unwrap();
        assert_eq!(
            user["schemaExtensions"],
            json!([{"schema": ENTERPRISE_USER_SCHEMA, "required": false}])
        );
        assert_eq!(user["endpoint"], json!("/Users"));
        assert_eq!(resource_types(BASE)["totalResults"], json!(2));
    }
}
