//! Free-form platform settings kept as text under a key (e.g. the web consoles' OEM
//! branding): anyone may read them (they are shown on every page); writing needs
//! `settings.manage`. The security settings have their own typed functions in
//! [`super::security`].

use super::ServiceResult;
use crate::AppState;
use crate::auth::Authed;
use suanli_platform_domain::Permission;

/// The setting `key`, if set.
pub async fn read(s: &AppState, key: &str) -> ServiceResult<Option<String>> {
    Ok(s.store.get_setting(key).await?)
}

/// Sets `key` to `value` (an administrator holding `settings.manage`).
pub async fn write(s: &AppState, a: &Authed, key: &str, value: &str) -> ServiceResult<()> {
    a.allow(Permission::SettingsManage)?;
    s.store.put_setting(key, value).await?;
    Ok(())
}
