//! [`SupplierStore`]: what the platform keeps about supplier organisations (issue 16,
//! onboarding, `docs/supply.md` §1, migration `0007_suppliers`): the qualification
//! credential a supplier presented, its verification report at approval, and the supplier
//! DID enrolled on the trade chain with its `kyc-supplier` credential. Implemented for both
//! backends by one SQL body (`sql/suppliers.rs`).

use crate::StoreResult;
use crate::records::{SupplierEnrolment, SupplierListRow, SupplierQualification, SupplierRecord};
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
}
