//! Rows as domain values.

use serde::Serialize;
use suanli_platform_domain::{
    OrgId, OrgKind, OrgStatus, Permission, RegistrationId, Role, TokenId, UserId,
};

/// A new organisation.
#[derive(Debug, Clone)]
pub struct NewOrg {
    /// Kind.
    pub kind: OrgKind,
    /// Display name.
    pub name: String,
    /// Initial status.
    pub status: OrgStatus,
    /// Referring distributor.
    pub distributor: Option<OrgId>,
    /// Creation time.
    pub created_ms: i64,
}

/// A stored organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrgRecord {
    /// Id.
    pub id: OrgId,
    /// Kind.
    pub kind: OrgKind,
    /// Display name.
    pub name: String,
    /// Status.
    pub status: OrgStatus,
    /// Referring distributor.
    pub distributor: Option<OrgId>,
    /// Assigned operator salesperson.
    pub sales_owner: Option<UserId>,
    /// Creation time.
    pub created_ms: i64,
}

impl OrgRecord {
    /// The facts authorisation needs.
    pub fn facts(&self) -> suanli_platform_domain::authz::OrgFacts {
        suanli_platform_domain::authz::OrgFacts {
            id: self.id,
            kind: self.kind,
            distributor: self.distributor,
            sales_owner: self.sales_owner,
        }
    }
}

/// A new user.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Organisation.
    pub org: OrgId,
    /// Lower-case login.
    pub login: String,
    /// Display name.
    pub display_name: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Roles.
    pub roles: Vec<Role>,
    /// Creation time.
    pub created_ms: i64,
}

/// A stored user. The password hash and TOTP secret never leave the server.
#[derive(Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Id.
    pub id: UserId,
    /// Organisation.
    pub org: OrgId,
    /// Login.
    pub login: String,
    /// Display name.
    pub display_name: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Roles (sorted).
    pub roles: Vec<Role>,
    /// Disabled accounts cannot log in.
    pub disabled: bool,
    /// Consecutive failed logins.
    pub failed_logins: u32,
    /// Locked until this time, if locked.
    pub locked_until_ms: Option<i64>,
    /// Encrypted TOTP secret.
    pub totp_secret_enc: Option<Vec<u8>>,
    /// Whether TOTP is required at login.
    pub totp_enabled: bool,
    /// Creation time.
    pub created_ms: i64,
}

impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("org", &self.org)
            .field("login", &self.login)
            .field("roles", &self.roles)
            .field("disabled", &self.disabled)
            .field("totp_enabled", &self.totp_enabled)
            .finish_non_exhaustive()
    }
}

/// A login session (cookie). Only the token's hash is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// SHA-256 of the session token, hex.
    pub token_hash: String,
    /// The user.
    pub user: UserId,
    /// The CSRF token bound to the session.
    pub csrf_token: String,
    /// Created.
    pub created_ms: i64,
    /// Expires.
    pub expires_ms: i64,
}

/// A new API token.
#[derive(Debug, Clone)]
pub struct NewToken {
    /// Owner.
    pub user: UserId,
    /// Label.
    pub name: String,
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// Scopes.
    pub scopes: Vec<Permission>,
    /// Created.
    pub created_ms: i64,
    /// Expires.
    pub expires_ms: i64,
}

/// The caller behind an API token, read in one round trip
/// ([`crate::OpsStore::token_principal`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPrincipal {
    /// The token.
    pub token: TokenRecord,
    /// Its user, with roles.
    pub user: UserRecord,
    /// The user's organisation.
    pub org: OrgRecord,
}

/// A stored API token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenRecord {
    /// Id.
    pub id: TokenId,
    /// Owner.
    pub user: UserId,
    /// Label.
    pub name: String,
    /// Hash (never serialised).
    #[serde(skip)]
    pub token_hash: String,
    /// Scopes.
    pub scopes: Vec<Permission>,
    /// Created.
    pub created_ms: i64,
    /// Expires.
    pub expires_ms: i64,
    /// Revoked.
    pub revoked: bool,
}

/// Registration kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationKind {
    /// Enterprise.
    Enterprise,
    /// Personal.
    Personal,
    /// A supplier organisation (enterprise real-name data, supplier type, qualification).
    Supplier,
}

impl RegistrationKind {
    /// Text form.
    pub fn as_str(self) -> &'static str {
        match self {
            RegistrationKind::Enterprise => "enterprise",
            RegistrationKind::Personal => "personal",
            RegistrationKind::Supplier => "supplier",
        }
    }
    /// Parses [`Self::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "enterprise" => Some(Self::Enterprise),
            "personal" => Some(Self::Personal),
            "supplier" => Some(Self::Supplier),
            _ => None,
        }
    }
}

/// Review state of a registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationStatus {
    /// Waiting for review.
    Pending,
    /// Approved.
    Approved,
    /// Rejected.
    Rejected,
}

impl RegistrationStatus {
    /// Text form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }
    /// Parses [`Self::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "approved" => Some(Self::Approved),
            "rejected" => Some(Self::Rejected),
            _ => None,
        }
    }
}

/// Registration details (already validated by the domain newtypes).
#[derive(Debug, Clone, Default)]
pub struct NewRegistration {
    /// Enterprise: company name.
    pub company_name: Option<String>,
    /// Enterprise: unified social credit code.
    pub credit_code: Option<String>,
    /// Enterprise: business licence reference.
    pub licence_ref: Option<String>,
    /// Enterprise: legal person.
    pub legal_person: Option<String>,
    /// Personal: name.
    pub person_name: Option<String>,
    /// Personal: ID number, encrypted.
    pub id_number_enc: Option<Vec<u8>>,
    /// Personal: ID number, masked for display.
    pub id_number_masked: Option<String>,
    /// Personal: phone.
    pub phone: Option<String>,
    /// Invite code used.
    pub invite_code: Option<String>,
    /// Submitted.
    pub submitted_ms: i64,
    /// A supplier registration's qualification credential (stored in `suppliers`).
    pub supplier: Option<NewQualification>,
}

/// A stored registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegistrationRecord {
    /// Id.
    pub id: RegistrationId,
    /// Kind.
    pub kind: RegistrationKind,
    /// The organisation it created.
    pub org: OrgId,
    /// The admin user it created.
    pub user: UserId,
    /// Status.
    pub status: RegistrationStatus,
    /// Enterprise: company name.
    pub company_name: Option<String>,
    /// Enterprise: unified social credit code.
    pub credit_code: Option<String>,
    /// Enterprise: licence reference.
    pub licence_ref: Option<String>,
    /// Enterprise: legal person.
    pub legal_person: Option<String>,
    /// Personal: name.
    pub person_name: Option<String>,
    /// Personal: encrypted ID number (never serialised).
    #[serde(skip)]
    pub id_number_enc: Option<Vec<u8>>,
    /// Personal: masked ID number.
    pub id_number_masked: Option<String>,
    /// Personal: phone.
    pub phone: Option<String>,
    /// Invite code used.
    pub invite_code: Option<String>,
    /// Submitted.
    pub submitted_ms: i64,
    /// Reviewer.
    pub reviewed_by: Option<UserId>,
    /// Reviewed.
    pub reviewed_ms: Option<i64>,
    /// Reason given by the reviewer.
    pub reason: Option<String>,
    /// KYC credential on the identity chain: always `None` until that part exists.
    pub kyc_credential_ref: Option<String>,
}

/// A review decision.
#[derive(Debug, Clone)]
pub struct Decision {
    /// Which registration.
    pub id: RegistrationId,
    /// Approve or reject.
    pub approve: bool,
    /// Reviewer.
    pub reviewer: UserId,
    /// Reason (required for rejections by the server).
    pub reason: Option<String>,
    /// When.
    pub at_ms: i64,
    /// Approving a supplier registration: the identity chain's verification report of its
    /// qualification credential (JSON), recorded in the same transaction.
    pub qualification_report: Option<String>,
}

/// Conditions of an audit query; `None` matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Acting organisation.
    pub actor_org: Option<i64>,
    /// Acting user.
    pub actor_user: Option<i64>,
    /// Outcome.
    pub outcome: Option<suanli_platform_domain::audit::Outcome>,
    /// At or after this time (ms).
    pub from_ms: Option<i64>,
    /// Before this time (ms).
    pub to_ms: Option<i64>,
}

/// A user's DID key as encrypted at rest (docs/key-custody.md): the PKCS#8 secret sealed
/// with XChaCha20-Poly1305 under `argon2id(password, kdf_salt)` with the named
/// parameters. The store only keeps these bytes; it cannot open them.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedKey {
    /// Ciphertext with its 16-byte tag.
    pub ciphertext: Vec<u8>,
    /// 24-byte nonce.
    pub nonce: Vec<u8>,
    /// 16-byte argon2id salt.
    pub kdf_salt: Vec<u8>,
    /// Key-derivation function name (`argon2id-v19`).
    pub kdf: String,
    /// argon2id memory, in KiB.
    pub kdf_memory_kib: u32,
    /// argon2id passes.
    pub kdf_iterations: u32,
    /// argon2id lanes.
    pub kdf_parallelism: u32,
}

impl std::fmt::Debug for SealedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SealedKey({} m={} t={} p={}, {} bytes)",
            self.kdf,
            self.kdf_memory_kib,
            self.kdf_iterations,
            self.kdf_parallelism,
            self.ciphertext.len()
        )
    }
}

/// A new (or re-encrypted) user key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUserKey {
    /// The `did:suanli` of the key, when an identity chain is attached.
    pub did: Option<String>,
    /// Ed25519 public key, hex.
    pub public_key: String,
    /// The encrypted secret.
    pub sealed: SealedKey,
    /// When (creation, or re-encryption for an existing key).
    pub at_ms: i64,
    /// The signed transaction creating the DID (id, hex), stored before it is sent. Only
    /// for a new key.
    pub did_tx: Option<(String, String)>,
}

/// A stored user key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserKeyRecord {
    /// Owner.
    pub user: UserId,
    /// Its DID, when an identity chain is attached.
    pub did: Option<String>,
    /// Ed25519 public key, hex.
    pub public_key: String,
    /// The encrypted secret.
    pub sealed: SealedKey,
    /// Created.
    pub created_ms: i64,
    /// Last re-encryption under a new password.
    pub rewrapped_ms: Option<i64>,
    /// The signed DID-creating transaction: id and hex.
    pub did_tx: Option<(String, String)>,
    /// When the chain applied it.
    pub did_created_ms: Option<i64>,
}

// --- suppliers (issue 16, onboarding; docs/supply.md §1)

/// A qualification credential as presented (already through the submission checks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewQualification {
    /// The credential (compact JSON).
    pub credential_json: String,
    /// Its issuer's DID.
    pub issuer: String,
    /// Its `credentialSchema.id` (CPT URN).
    pub schema_id: String,
}

/// What the platform knows of a supplier organisation beyond the organisation itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SupplierRecord {
    /// The organisation.
    pub org: OrgId,
    /// The registration it applied with (`None`: created by the operator).
    pub registration: Option<RegistrationId>,
    /// The qualification credential (JSON) as presented.
    pub qualification: Option<String>,
    /// Its issuer's DID.
    pub qualification_issuer: Option<String>,
    /// Its CPT URN.
    pub qualification_schema: Option<String>,
    /// The verification report (JSON) recorded at approval.
    pub qualification_report: Option<String>,
    /// When the report was recorded.
    pub qualification_verified_ms: Option<i64>,
    /// Operator-created supplier: company name, credit code, legal person and contact phone
    /// recorded with its qualification (a registered one's are on its registration).
    pub company_name: Option<String>,
    /// See `company_name`.
    pub credit_code: Option<String>,
    /// See `company_name`.
    pub legal_person: Option<String>,
    /// See `company_name`.
    pub phone: Option<String>,
    /// The supplier DID (its administrator's DID, enrolled on the trade chain as supplier).
    pub did: Option<String>,
    /// The administrator whose DID it is.
    pub admin_user: Option<UserId>,
    /// Id of the `kyc-supplier` credential issued at enrolment.
    pub kyc_credential_ref: Option<String>,
    /// The `kyc-supplier` credential (JSON; the platform's copy).
    #[serde(skip)]
    pub kyc_credential: Option<String>,
    /// When it was enrolled on the trade chain.
    pub enrolled_ms: Option<i64>,
}

/// A supplier organisation with what the platform knows of it (none: created by the
/// operator and not yet enrolled).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SupplierListRow {
    /// The organisation.
    pub org: OrgRecord,
    /// Its supplier record.
    pub supplier: Option<SupplierRecord>,
}

/// The enrolment of a supplier DID, recorded once.
#[derive(Debug, Clone)]
pub struct SupplierEnrolment {
    /// The organisation.
    pub org: OrgId,
    /// The supplier DID.
    pub did: String,
    /// Its administrator.
    pub admin_user: UserId,
    /// The `kyc-supplier` credential's id and JSON.
    pub kyc_credential_ref: String,
    /// The credential.
    pub kyc_credential: String,
    /// When.
    pub at_ms: i64,
}

/// The real-name data and verified qualification credential the operator records for a
/// supplier it created.
#[derive(Debug, Clone)]
pub struct SupplierQualification {
    /// The organisation.
    pub org: OrgId,
    /// Company name.
    pub company_name: String,
    /// Unified social credit code.
    pub credit_code: String,
    /// Legal person.
    pub legal_person: String,
    /// Contact phone.
    pub phone: String,
    /// The credential as presented.
    pub qualification: NewQualification,
    /// Its verification report (JSON).
    pub report: String,
    /// When.
    pub at_ms: i64,
}
