//! The built-in SCIM schemas (RFC 7643 §4 and §8.7): core User, core Group and the
//! enterprise User extension, as static data.
//!
//! These definitions serve three readers: the rules checker (source paths in mappings must
//! name real attributes), the SCIM layer (PATCH path validation, filter attribute lookup,
//! case-exactness, mutability) and discovery (`/Schemas`, `/ResourceTypes`).
//! Every lookup is case-insensitive, as RFC 7643 §2.1 requires of attribute names.

/// URN of the core User schema.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// URN of the core Group schema.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// URN of the enterprise User extension.
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// URN of a PATCH request message.
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// URN of a list response message.
pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// URN of a search request message.
pub const SEARCH_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
/// URN of an error message.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// URN of a bulk request message.
pub const BULK_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
/// URN of a bulk response message.
pub const BULK_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

pub use crate::domain::ResourceKind;

/// The schemas of each resource kind.
impl ResourceKind {
    /// The core schema of this resource type.
    #[must_use]
    pub fn core_schema(self) -> &'static SchemaDef {
        match self {
            ResourceKind::User => &USER,
            ResourceKind::Group => &GROUP,
        }
    }

    /// The core schema, then the extension schemas, of this resource type.
    pub fn schemas(self) -> impl Iterator<Item = &'static SchemaDef> {
        std::iter::once(self.core_schema()).chain(self.extensions().iter().copied())
    }

    /// The extension schemas this resource type accepts.
    #[must_use]
    pub fn extensions(self) -> &'static [&'static SchemaDef] {
        static USER_EXTENSIONS: [&SchemaDef; 1] = [&ENTERPRISE_USER];
        match self {
            ResourceKind::User => &USER_EXTENSIONS,
            ResourceKind::Group => &[],
        }
    }
}

/// SCIM attribute data types (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    /// `string`
    String,
    /// `boolean`
    Boolean,
    /// `decimal`
    Decimal,
    /// `integer`
    Integer,
    /// `dateTime`
    DateTime,
    /// `binary`
    Binary,
    /// `reference`
    Reference,
    /// `complex`
    Complex,
}

impl AttrType {
    /// The RFC spelling, as published in `/Schemas`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Boolean => "boolean",
            AttrType::Decimal => "decimal",
            AttrType::Integer => "integer",
            AttrType::DateTime => "dateTime",
            AttrType::Binary => "binary",
            AttrType::Reference => "reference",
            AttrType::Complex => "complex",
        }
    }
}

/// Attribute mutability (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    /// `readOnly`: client input is ignored.
    ReadOnly,
    /// `readWrite`
    ReadWrite,
    /// `immutable`
    Immutable,
    /// `writeOnly`: never returned (password).
    WriteOnly,
}

impl Mutability {
    /// The RFC spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        }
    }
}

/// When an attribute is returned (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    /// `always`
    Always,
    /// `never`
    Never,
    /// `default`
    Default,
    /// `request`
    Request,
}

impl Returned {
    /// The RFC spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Returned::Always => "always",
            Returned::Never => "never",
            Returned::Default => "default",
            Returned::Request => "request",
        }
    }
}

/// Attribute uniqueness (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uniqueness {
    /// `none`
    None,
    /// `server`
    Server,
    /// `global`
    Global,
}

impl Uniqueness {
    /// The RFC spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Uniqueness::None => "none",
            Uniqueness::Server => "server",
            Uniqueness::Global => "global",
        }
    }
}

/// How the string values of an attribute compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matching {
    /// Case-insensitively (`caseExact: false`).
    IgnoreCase,
    /// Exactly (`caseExact: true`).
    Exact,
    /// On their PRECIS `UsernameCaseMapped` key ([`crate::domain::user_name_key`]), so NFC,
    /// NFD and full-width spellings of one name are equal (`caseExact: false`): `userName`.
    UserName,
}

/// One attribute definition. Sub-attributes are non-empty only for complex attributes.
#[derive(Debug)]
pub struct AttributeDef {
    /// Attribute name as the RFC spells it.
    pub name: &'static str,
    /// Data type.
    pub ty: AttrType,
    /// Whether the attribute is an array.
    pub multi_valued: bool,
    /// Whether a create must carry it.
    pub required: bool,
    /// How string values compare (`caseExact`, or the userName key).
    pub matching: Matching,
    /// Mutability.
    pub mutability: Mutability,
    /// Return policy.
    pub returned: Returned,
    /// Uniqueness.
    pub uniqueness: Uniqueness,
    /// Suggested values (`type` of emails and so on).
    pub canonical_values: &'static [&'static str],
    /// For references: what they point at.
    pub reference_types: &'static [&'static str],
    /// Sub-attributes of a complex attribute.
    pub sub_attributes: &'static [AttributeDef],
    /// Human description, published in `/Schemas`.
    pub description: &'static str,
}

impl AttributeDef {
    /// Finds a sub-attribute by name, case-insensitively.
    #[must_use]
    pub fn sub_attribute(&'static self, name: &str) -> Option<&'static AttributeDef> {
        self.sub_attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// Whether string values compare case-sensitively (`caseExact`, as `/Schemas` publishes
    /// it).
    #[must_use]
    pub fn case_exact(&self) -> bool {
        self.matching == Matching::Exact
    }

    /// Whether the attribute is a secret: `mutability: writeOnly` or `returned: never`
    /// (password). A secret is never stored, returned, logged or echoed in an error.
    #[must_use]
    pub fn is_secret(&self) -> bool {
        self.mutability == Mutability::WriteOnly || self.returned == Returned::Never
    }

    /// Whether client input for the attribute is ignored (`mutability: readOnly`).
    #[must_use]
    pub fn is_read_only(&self) -> bool {
        self.mutability == Mutability::ReadOnly
    }
}

/// A schema: its URN, name and top-level attributes.
#[derive(Debug)]
pub struct SchemaDef {
    /// The schema URN.
    pub id: &'static str,
    /// Short name (`User`).
    pub name: &'static str,
    /// Human description.
    pub description: &'static str,
    /// Top-level attributes.
    pub attributes: &'static [AttributeDef],
}

/// Schemas are equal when their URNs are: each is a static, defined once.
impl PartialEq for SchemaDef {
    fn eq(&self, other: &SchemaDef) -> bool {
        self.id == other.id
    }
}

impl SchemaDef {
    /// Finds a top-level attribute by name, case-insensitively.
    #[must_use]
    pub fn attribute(&'static self, name: &str) -> Option<&'static AttributeDef> {
        self.attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// All attribute names, for "did you mean" suggestions.
    pub fn attribute_names(&'static self) -> impl Iterator<Item = &'static str> {
        self.attributes.iter().map(|a| a.name)
    }
}

/// Every built-in schema.
pub static ALL_SCHEMAS: &[&SchemaDef] = &[&USER, &GROUP, &ENTERPRISE_USER];

/// Finds a schema by URN, case-insensitively.
#[must_use]
pub fn schema_by_urn(urn: &str) -> Option<&'static SchemaDef> {
    ALL_SCHEMAS
        .iter()
        .copied()
        .find(|s| s.id.eq_ignore_ascii_case(urn))
}

/// The attributes every resource carries (RFC 7643 §3.1): `id`, `externalId`, `meta`.
pub static COMMON_ATTRIBUTES: &[AttributeDef] = &[
    attr(
        "id",
        AttrType::String,
        "Unique identifier assigned by provisio.",
    )
    .exact()
    .read_only()
    .returned(Returned::Always)
    .unique(Uniqueness::Server),
    attr(
        "externalId",
        AttrType::String,
        "Identifier assigned by the provisioning client.",
    )
    .exact(),
    attr("meta", AttrType::Complex, "Resource metadata.")
        .read_only()
        .sub(&[
            attr("resourceType", AttrType::String, "The resource type.")
                .exact()
                .read_only(),
            attr(
                "created",
                AttrType::DateTime,
                "When the resource was created.",
            )
            .read_only(),
            attr(
                "lastModified",
                AttrType::DateTime,
                "When the resource was last changed.",
            )
            .read_only(),
            attr("location", AttrType::Reference, "The resource's URI.")
                .exact()
                .read_only(),
            attr("version", AttrType::String, "The resource's ETag.")
                .exact()
                .read_only(),
        ]),
];

/// A multi-valued complex attribute of RFC 7643's common shape (§2.4):
/// `plural!(name, description, value, type, primary's description)` gives it the
/// sub-attributes `value`, `display` (a human-readable name), `type` (a label) and `primary`.
/// `plural!(name, description, value type, noun)` words the three from the noun alone.
macro_rules! plural {
    ($name:literal, $description:literal, $value:ident, $noun:literal) => {
        plural!(
            $name,
            $description,
            attr("value", AttrType::$value, concat!("The ", $noun, ".")),
            attr(
                "type",
                AttrType::String,
                concat!("A label for the ", $noun, ".")
            ),
            concat!("Whether this is the primary ", $noun, ".")
        )
    };
    ($name:literal, $description:literal, $value:expr, $label:expr, $primary:expr $(,)?) => {
        attr($name, AttrType::Complex, $description).multi().sub(&[
            $value,
            attr("display", AttrType::String, "A human-readable name."),
            $label,
            attr("primary", AttrType::Boolean, $primary),
        ])
    };
}

/// Core User schema (RFC 7643 §4.1).
pub static USER: SchemaDef = SchemaDef {
    id: USER_SCHEMA,
    name: "User",
    description: "User Account",
    attributes: &[
        attr(
            "userName",
            AttrType::String,
            "Unique identifier for the User, used to sign in.",
        )
        .required()
        .unique(Uniqueness::Server)
        .user_name(),
        attr(
            "name",
            AttrType::Complex,
            "The components of the user's real name.",
        )
        .sub(&[
            attr(
                "formatted",
                AttrType::String,
                "The full name, formatted for display.",
            ),
            attr(
                "familyName",
                AttrType::String,
                "The family name (last name).",
            ),
            attr(
                "givenName",
                AttrType::String,
                "The given name (first name).",
            ),
            attr("middleName", AttrType::String, "The middle name(s)."),
            attr(
                "honorificPrefix",
                AttrType::String,
                "The honorific prefix (Ms.).",
            ),
            attr(
                "honorificSuffix",
                AttrType::String,
                "The honorific suffix (III).",
            ),
        ]),
        attr(
            "displayName",
            AttrType::String,
            "The name of the User, suitable for display.",
        ),
        attr(
            "nickName",
            AttrType::String,
            "The casual way to address the user.",
        ),
        attr(
            "profileUrl",
            AttrType::Reference,
            "A URI of the user's online profile.",
        )
        .refs(&["external"]),
        attr(
            "title",
            AttrType::String,
            "The user's title, such as \"Vice President\".",
        ),
        attr(
            "userType",
            AttrType::String,
            "The relationship between organization and user.",
        ),
        attr(
            "preferredLanguage",
            AttrType::String,
            "The user's preferred written or spoken language.",
        ),
        attr(
            "locale",
            AttrType::String,
            "The user's default location, for localisation.",
        ),
        attr(
            "timezone",
            AttrType::String,
            "The user's time zone, in IANA format.",
        ),
        attr(
            "active",
            AttrType::Boolean,
            "The user's administrative status.",
        ),
        attr(
            "password",
            AttrType::String,
            "The user's cleartext password; write-only, never stored in clear.",
        )
        .write_only(),
        plural!(
            "emails",
            "Email addresses for the user.",
            attr("value", AttrType::String, "The email address."),
            attr("type", AttrType::String, "A label: work, home or other.")
                .canonical(&["work", "home", "other"]),
            "Whether this is the primary address."
        ),
        plural!(
            "phoneNumbers",
            "Phone numbers for the user.",
            attr("value", AttrType::String, "The phone number."),
            attr(
                "type",
                AttrType::String,
                "A label: work, home, mobile, fax, pager or other.",
            )
            .canonical(&["work", "home", "mobile", "fax", "pager", "other"]),
            "Whether this is the primary number."
        ),
        plural!(
            "ims",
            "Instant messaging addresses for the user.",
            attr("value", AttrType::String, "The instant messaging address."),
            attr("type", AttrType::String, "A label for the address."),
            "Whether this is the primary address."
        ),
        plural!(
            "photos",
            "URLs of photos of the user.",
            attr("value", AttrType::Reference, "The URL of a photo.").refs(&["external"]),
            attr("type", AttrType::String, "A label: photo or thumbnail.")
                .canonical(&["photo", "thumbnail"]),
            "Whether this is the primary photo."
        ),
        attr(
            "addresses",
            AttrType::Complex,
            "Physical mailing addresses for the user.",
        )
        .multi()
        .sub(&[
            attr(
                "formatted",
                AttrType::String,
                "The full address, formatted for display.",
            ),
            attr("streetAddress", AttrType::String, "The street address."),
            attr("locality", AttrType::String, "The city or locality."),
            attr("region", AttrType::String, "The state or region."),
            attr("postalCode", AttrType::String, "The zip or postal code."),
            attr("country", AttrType::String, "The country name."),
            attr("type", AttrType::String, "A label: work, home or other.")
                .canonical(&["work", "home", "other"]),
            attr(
                "primary",
                AttrType::Boolean,
                "Whether this is the primary address.",
            ),
        ]),
        attr(
            "groups",
            AttrType::Complex,
            "The groups the user belongs to; derived from group memberships.",
        )
        .multi()
        .read_only()
        .sub(&[
            attr("value", AttrType::String, "The id of the group.").read_only(),
            attr("$ref", AttrType::Reference, "The URI of the group.")
                .refs(&["Group"])
                .read_only(),
            attr("display", AttrType::String, "The group's display name.").read_only(),
            attr("type", AttrType::String, "direct or indirect.")
                .canonical(&["direct", "indirect"])
                .read_only(),
        ]),
        plural!(
            "entitlements",
            "Entitlements of the user.",
            String,
            "entitlement"
        ),
        plural!("roles", "Roles of the user.", String, "role"),
        plural!(
            "x509Certificates",
            "Certificates of the user.",
            attr("value", AttrType::Binary, "The DER certificate, base64."),
            attr("type", AttrType::String, "A label for the certificate."),
            "Whether this is the primary certificate."
        ),
    ],
};

/// Core Group schema (RFC 7643 §4.2).
pub static GROUP: SchemaDef = SchemaDef {
    id: GROUP_SCHEMA,
    name: "Group",
    description: "Group",
    attributes: &[
        attr(
            "displayName",
            AttrType::String,
            "A human-readable name for the group.",
        )
        .required(),
        attr("members", AttrType::Complex, "The members of the group.")
            .multi()
            .sub(&[
                attr("value", AttrType::String, "The id of the member.").immutable(),
                attr("$ref", AttrType::Reference, "The URI of the member.")
                    .refs(&["User", "Group"])
                    .immutable(),
                attr("type", AttrType::String, "User or Group.")
                    .canonical(&["User", "Group"])
                    .immutable(),
            ]),
    ],
};

/// Enterprise User extension (RFC 7643 §4.3).
pub static ENTERPRISE_USER: SchemaDef = SchemaDef {
    id: ENTERPRISE_USER_SCHEMA,
    name: "EnterpriseUser",
    description: "Enterprise User",
    attributes: &[
        attr(
            "employeeNumber",
            AttrType::String,
            "A string identifier, typically numeric or alphanumeric, assigned by the organization.",
        ),
        attr("costCenter", AttrType::String, "The name of a cost center."),
        attr(
            "organization",
            AttrType::String,
            "The name of an organization.",
        ),
        attr("division", AttrType::String, "The name of a division."),
        attr("department", AttrType::String, "The name of a department."),
        attr("manager", AttrType::Complex, "The user's manager.").sub(&[
            attr("value", AttrType::String, "The id of the manager's User."),
            attr(
                "$ref",
                AttrType::Reference,
                "The URI of the manager's User.",
            )
            .refs(&["User"]),
            attr(
                "displayName",
                AttrType::String,
                "The manager's display name.",
            )
            .read_only(),
        ]),
    ],
};

const fn attr(name: &'static str, ty: AttrType, description: &'static str) -> AttributeDef {
    AttributeDef {
        name,
        ty,
        multi_valued: false,
        required: false,
        matching: Matching::IgnoreCase,
        mutability: Mutability::ReadWrite,
        returned: Returned::Default,
        uniqueness: Uniqueness::None,
        canonical_values: &[],
        reference_types: &[],
        sub_attributes: &[],
        description,
    }
}

/// The builder steps of [`attr`]: `name => field = value;` sets a field to a fixed value,
/// `name(arg: Type) => field;` to the argument.
macro_rules! steps {
    ($($name:ident $(($arg:ident: $ty:ty))? => $($field:ident = $value:expr),+;)*) => {
        impl AttributeDef {
            $(const fn $name(mut self $(, $arg: $ty)?) -> Self {
                $(self.$field = $value;)+
                self
            })*
        }
    };
}

steps! {
    multi => multi_valued = true;
    required => required = true;
    exact => matching = Matching::Exact;
    user_name => matching = Matching::UserName;
    read_only => mutability = Mutability::ReadOnly;
    immutable => mutability = Mutability::Immutable;
    write_only => mutability = Mutability::WriteOnly, returned = Returned::Never;
    returned(returned: Returned) => returned = returned;
    unique(uniqueness: Uniqueness) => uniqueness = uniqueness;
    canonical(values: &'static [&'static str]) => canonical_values = values;
    refs(types: &'static [&'static str]) => reference_types = types;
    sub(subs: &'static [AttributeDef]) => sub_attributes = subs;
}
