//! The onboarding port (issue 16, `docs/supply.md` §1): what supplier onboarding asks of
//! the chains. This crate does not depend on them; the binary implements
//! [`OnboardingLedger`] over its ledger client (`suanli_bridge::qualification`) and plugs
//! it in with [`crate::Platform::with_onboarding`].
//!
//! - [`OnboardingLedger::verify_qualification`]: a supplier's qualification credential
//!   verified through the identity chain — signature against the issuer's DID key valid at
//!   issuance, the CPT a qualification template, the claims valid for it and the issuer the
//!   authority or admitted for it, the validity period, the status not revoked — one
//!   [`QualificationCheck`] per check. The platform adds the `subject` check (the credential
//!   is about the applicant), which needs the registration.
//! - [`OnboardingLedger::trade_roles`]: the roles a DID is enrolled in on the trade chain.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::PortError;

/// Supplier onboarding's questions to the chains.
pub trait OnboardingLedger: Send + Sync + std::fmt::Debug {
    /// Verifies `credential` now against the identity chain. `Err` only when the chain
    /// could not be asked; a credential that fails is an `Ok` report saying which check.
    fn verify_qualification(&self, credential: &Value) -> Result<QualificationReport, PortError>;
    /// The roles (`consumer`, `supplier`, …) `did` is enrolled in on the trade chain; empty
    /// when it is not enrolled.
    fn trade_roles(&self, did: &str) -> Result<Vec<String>, PortError>;
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckState {
    /// It passed.
    Passed,
    /// It failed (`code` says why).
    Failed,
    /// It could not run (e.g. the signature did not verify, so the status was not asked).
    Skipped,
}

/// One check of a qualification credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QualificationCheck {
    /// `proof`, `issuer_key`, `cpt`, `schema`, `validity_period`, `status`, `subject`.
    pub check: String,
    /// Its outcome.
    pub outcome: CheckState,
    /// The failure's stable code (the verifier's, `docs/did-method.md` §6, or
    /// `cpt_not_qualification`, `cpt_not_found`, `subject_mismatch`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// What happened, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl QualificationCheck {
    /// A passed check.
    pub fn passed(check: &str) -> Self {
        Self {
            check: check.to_owned(),
            outcome: CheckState::Passed,
            code: None,
            message: None,
        }
    }

    /// A failed check.
    pub fn failed(check: &str, code: &str, message: impl Into<String>) -> Self {
        Self {
            check: check.to_owned(),
            outcome: CheckState::Failed,
            code: Some(code.to_owned()),
            message: Some(message.into()),
        }
    }

    /// A check that could not run.
    pub fn skipped(check: &str, why: impl Into<String>) -> Self {
        Self {
            check: check.to_owned(),
            outcome: CheckState::Skipped,
            code: None,
            message: Some(why.into()),
        }
    }
}

/// Every check of a qualification credential, and what the chain says about its CPT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QualificationReport {
    /// The checks, in order.
    pub checks: Vec<QualificationCheck>,
    /// The CPT's title (e.g. "数据中心经营许可 IDC licence"), when it was found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpt_title: Option<String>,
    /// The credential's `validUntil`, in Unix ms, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until_ms: Option<u64>,
    /// When it was verified (the chain's clock), in Unix ms.
    pub verified_at_ms: u64,
}

impl QualificationReport {
    /// Every check passed (a skipped check is not a pass).
    pub fn ok(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.outcome == CheckState::Passed)
    }

    /// The first check that did not pass.
    pub fn first_failure(&self) -> Option<&QualificationCheck> {
        self.checks
            .iter()
            .find(|c| c.outcome == CheckState::Failed)
            .or_else(|| self.checks.iter().find(|c| c.outcome != CheckState::Passed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_is_ok_only_when_every_check_passed() {
        let mut r = QualificationReport {
            checks: vec![QualificationCheck::passed("proof")],
            cpt_title: None,
            valid_until_ms: None,
            verified_at_ms: 1,
        };
        assert!(r.ok());
        r.checks
            .push(QualificationCheck::skipped("status", "no signature"));
        assert!(!r.ok());
        r.checks.push(QualificationCheck::failed(
            "schema",
            "issuer_not_admitted",
            "x",
        ));
        assert_eq!(r.first_failure().map(|c| c.check.as_str()), Some("schema"));
        assert!(
            !QualificationReport {
                checks: vec![],
                ..r
            }
            .ok()
        );
    }
}
