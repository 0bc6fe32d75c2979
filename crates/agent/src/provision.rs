//! Provisioning: what turns an accepted trade into a running resource. [`Provisioner`]
//! is the interface; this implementation is [`ManualWorkOrders`] — a
//! provisioning work order on the platform that the supplier fills back by hand with the
//! access details (scattered devices). A real-scheduler provisioner is a later issue.
//! [`ProvisionedMinutes`] is its meter for trades metered by service channels.

use crate::AgentError;
use crate::platform::{Access, Platform};
use std::sync::Arc;
use suanli_channel_controller::{ChannelSetup, Meter, Usage};
use suanli_primitives::hash::sha256_parts;
use suanli_trade::Serial;

/// Where provisioning of a trade stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provisioned {
    /// Not ready yet (the work order waits for the supplier's fill-back).
    Pending,
    /// Ready: the consumer reaches it with these details.
    Ready(Access),
}

/// Provisions and releases the resources of accepted trades. Both calls are idempotent:
/// the agent repeats them each round until they report done.
pub trait Provisioner: Send + Sync + std::fmt::Debug {
    /// Provisions trade `serial` (already accepted), or tells how far it got.
    fn provision(&self, serial: &Serial) -> Result<Provisioned, AgentError>;
    /// Releases what was provisioned for `serial` (the trade closed).
    fn release(&self, serial: &Serial) -> Result<(), AgentError>;
}

/// Provisioning by a work order the supplier fills back on the platform.
#[derive(Debug, Clone)]
pub struct ManualWorkOrders {
    platform: Arc<dyn Platform>,
}

impl ManualWorkOrders {
    /// Provisions through `platform`'s work orders.
    pub fn new(platform: Arc<dyn Platform>) -> Self {
        ManualWorkOrders { platform }
    }
}

impl Provisioner for ManualWorkOrders {
    fn provision(&self, serial: &Serial) -> Result<Provisioned, AgentError> {
        let w = self.platform.raise(serial, false)?;
        Ok(match (w.status.as_str(), w.access) {
            ("filled", Some(access)) => Provisioned::Ready(access),
            _ => Provisioned::Pending,
        })
    }

    fn release(&self, serial: &Serial) -> Result<(), AgentError> {
        match self.platform.raise(serial, false) {
            Ok(w) if matches!(w.status.as_str(), "open" | "filled") => {
                self.platform.close(w.id).map(|_| ())
            }
            Ok(_) => Ok(()),
            // Never raised before the trade closed: nothing was provisioned.
            Err(AgentError::Platform { code, .. }) if code == "trade_closed" => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// The manual provisioner's meter for service channels (`docs/channel-protocol.md` §6):
/// whole minutes of service since the channel's minute 0, not counting paused time
/// ([`ChannelSetup::service_minutes`], on the controller's clock), for the trades the
/// agent found provisioned this round; a trade not (or no longer) provisioned meters
/// nothing. The usage detail hashes the channel, the minutes and the access details the
/// supplier filled back, so a statement names what was served.
#[derive(Debug, Default)]
pub struct ProvisionedMinutes {
    ready: std::sync::Mutex<std::collections::HashMap<Serial, Access>>,
}

impl ProvisionedMinutes {
    /// `serial` is provisioned with `access` (the agent's round found it so).
    pub fn provisioned(&self, serial: Serial, access: Access) {
        if let Ok(mut m) = self.ready.lock() {
            m.insert(serial, access);
        }
    }

    /// `serial` is released (its trade closed).
    pub fn released(&self, serial: &Serial) {
        if let Ok(mut m) = self.ready.lock() {
            m.remove(serial);
        }
    }
}

impl Meter for ProvisionedMinutes {
    fn usage(&self, setup: &ChannelSetup, now_ms: u64) -> Option<Usage> {
        let serial = setup.terms.serial;
        let access = self.ready.lock().ok()?.get(&serial).cloned()?;
        let minutes = setup.service_minutes(now_ms);
        let detail = sha256_parts(&[
            b"suanli/agent/provisioned-minutes/v1".as_slice(),
            serial.as_bytes(),
            &minutes.to_be_bytes(),
            access.address.as_bytes(),
            b"\0",
            access.pool_id.as_bytes(),
        ]);
        Some(Usage {
            minutes,
            detail_sha256: *detail.as_bytes(),
        })
    }
}
