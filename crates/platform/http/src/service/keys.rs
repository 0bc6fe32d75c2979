//! The caller's own DID key (`docs/key-custody.md`): which DID and public key sign the
//! caller's chain records and whether the DID is on the identity chain yet. The secret
//! stays sealed; exporting it is [`crate::keys::export_my_key`].

use super::ServiceResult;
use crate::AppState;
use crate::auth::Authed;
use suanli_platform_store::UserKeyRecord;

/// The caller's key, if it has one yet (every signed-in user may read its own).
pub async fn mine(s: &AppState, a: &Authed) -> ServiceResult<Option<UserKeyRecord>> {
    Ok(s.store.get_user_key(a.user.id).await?)
}
