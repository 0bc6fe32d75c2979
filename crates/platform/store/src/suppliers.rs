//! [`SupplierStore`]: what the platform keeps about supplier organisations (issue 16,
//! onboarding, `docs/supply.md` §1, migration `0007_suppliers`): the qualification
//! credential a supplier presented, its verification report at approval, and the supplier
//! DID enrolled on the trade chain with its `kyc-supplier` credential. Implemented for both
//! backends by one SQL body (`sql/suppliers.rs`).

use crate::StoreResult;
use crate::records::{
    RegistrationRecord, SupplierEnrolment, SupplierListRow, SupplierQualification, SupplierRecord,
};
use suanli_platform_domain::OrgId;

/// Supplier organisations' onboarding records. Every method is one atomic operation.
#[async_trait::async_trait]
pub trait SupplierStore: Send + Sync {
    /// The supplier record of organisation `org`, if it has one.
    async fn get_supplier(&self, org: OrgId) -> StoreResult<Option<SupplierRecord>>;
    /// Supplier organisations (kinds `supplier_resource`, `supplier_api`) with their
    /// records, ordered by id, after `after`, at most `limit`.
    async fn list_suppliers(
        &self,
        after: Option<OrgId>,
        limit: u32,
    ) -> StoreResult<Vec<SupplierListRow>>;
    /// Records the enrolment of a supplier organisation's DID (creating its record when the
    /// operator created it). [`crate::StoreError::NotFound`] when it is already enrolled or
    /// is not a supplier organisation; [`crate::StoreError::Conflict`] when the DID is
    /// another supplier's.
    async fn set_supplier_enrolment(&self, e: &SupplierEnrolment) -> StoreResult<()>;
    /// Records the real-name data and verified qualification of a supplier the operator
    /// created (replacing an earlier one). [`crate::StoreError::NotFound`] when it is not a
    /// supplier organisation, applied by registration, or is already enrolled.
    async fn set_supplier_qualification(&self, q: &SupplierQualification) -> StoreResult<()>;
    /// Supplier registrations (any status) that declared `credit_code`, ordered by id, at
    /// most `limit` (the review page shows them).
    async fn supplier_registrations_with_credit_code(
        &self,
        credit_code: &str,
        limit: u32,
    ) -> StoreResult<Vec<RegistrationRecord>>;
}

/// Unique-index name fragments of a supplier's claims (migration 0012): a
/// [`crate::StoreError::Conflict`] whose message names one is that claim's.
pub const CLAIMED_CREDIT_CODE: &str = "claimed_credit_code";
/// See [`CLAIMED_CREDIT_CODE`].
pub const QUALIFICATION_SHA256: &str = "qualification_sha256";

/// SHA-256 (lowercase hex) of a qualification credential as stored (compact JSON with
/// sorted keys): one credential, one supplier.
pub fn qualification_sha256(credential_json: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(credential_json.as_bytes()))
}
