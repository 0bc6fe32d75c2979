//! Settlement credits: an operator-issued credit denominated in fen, on the trade chain.
//!
//! Operations: `mint` (operator key only), `transfer`, `burn` (from the signer's own
//! balance). Invariants, checked by property tests: balances are never negative and the
//! sum of all balances equals total supply = minted − burned, at every height.
//!
//! State keys: `credit/balance/<32-byte public key>` → i64 BE fen (absent = 0);
//! `credit/supply` → i64 BE fen.

use serde::{Deserialize, Serialize};
use suanli_primitives::{Fen, PublicKey};

use crate::contract::{ContractError, SystemContract, TxContext};
use crate::state::StateAccess;

pub const SUPPLY_KEY: &[u8] = b"credit/supply";
const BALANCE_PREFIX: &[u8] = b"credit/balance/";

/// Amounts moved by the credit contract are strictly positive: the one money type of
/// `suanli-primitives`, re-exported for the contract's callers.
pub use suanli_primitives::PositiveFen;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum CreditOp {
    Mint { to: PublicKey, amount: PositiveFen },
    Transfer { to: PublicKey, amount: PositiveFen },
    Burn { amount: PositiveFen },
}

pub fn balance_key(owner: &PublicKey) -> Vec<u8> {
    let mut key = BALANCE_PREFIX.to_vec();
    key.extend_from_slice(owner.as_bytes());
    key
}

/// Reads an i64 fen value; absent means zero.
pub fn read_fen(state: &dyn StateAccess, key: &[u8]) -> Result<Fen, ContractError> {
    match state.get(key) {
        None => Ok(Fen::ZERO),
        Some(bytes) => {
            let array: [u8; 8] = bytes.as_slice().try_into().map_err(|_| {
                ContractError::new("corrupt_state", "a credit value is not 8 bytes")
            })?;
            Fen::new(i64::from_be_bytes(array))
                .map_err(|_| ContractError::new("corrupt_state", "a credit value is negative"))
        }
    }
}

fn write_fen(state: &mut dyn StateAccess, key: Vec<u8>, value: Fen) {
    if value == Fen::ZERO && key != SUPPLY_KEY {
        state.delete(key);
    } else {
        state.put(key, value.get().to_be_bytes().to_vec());
    }
}

/// The balance key of an account nobody holds a key for, such as a trade's escrow: a
/// contract derives `account` (e.g. a domain-separated hash) and moves credits in and out
/// with [`move_credits`]. Such balances count towards the supply like any other, so
/// `Σ balances = supply` keeps holding with credits in escrow.
pub fn account_balance_key(account: &[u8; 32]) -> Vec<u8> {
    let mut key = BALANCE_PREFIX.to_vec();
    key.extend_from_slice(account);
    key
}

/// Moves `amount` from the balance under `from_key` to the one under `to_key` (both
/// balance keys from [`balance_key`] or [`account_balance_key`]). For contracts installed
/// on the trade chain (escrow); refuses with `insufficient_balance` and writes nothing when
/// `from_key` holds less than `amount`.
pub fn move_credits(
    state: &mut dyn StateAccess,
    from_key: &[u8],
    to_key: &[u8],
    amount: PositiveFen,
) -> Result<(), ContractError> {
    let from = read_fen(state, from_key)?;
    if from.get() < amount.get() {
        return Err(ContractError::new(
            "insufficient_balance",
            format!(
                "balance {} fen is less than the {} fen to move",
                from.get(),
                amount.get()
            ),
        ));
    }
    write_fen(state, from_key.to_vec(), from.saturating_sub(amount.fen()));
    CreditContract::add(state, to_key.to_vec(), amount.fen())
}

/// Mints `amount` into a contract-owned account's balance (`account_balance_key`), growing
/// the supply with it. For contracts installed on the trade chain that check themselves
/// that the credit operator signed (organisation wallets); `Σ balances = supply` holds.
pub fn mint_into(
    state: &mut dyn StateAccess,
    key: &[u8],
    amount: PositiveFen,
) -> Result<(), ContractError> {
    CreditContract::add(state, SUPPLY_KEY.to_vec(), amount.fen())?;
    CreditContract::add(state, key.to_vec(), amount.fen())
}

/// Burns `amount` from a contract-owned account's balance, shrinking the supply with it;
/// refuses with `insufficient_balance` and writes nothing when the account holds less.
pub fn burn_from(
    state: &mut dyn StateAccess,
    key: &[u8],
    amount: PositiveFen,
) -> Result<(), ContractError> {
    let balance = read_fen(state, key)?;
    if balance.get() < amount.get() {
        return Err(ContractError::new(
            "insufficient_balance",
            format!(
                "balance {} fen is less than the {} fen to burn",
                balance.get(),
                amount.get()
            ),
        ));
    }
    let supply = read_fen(state, SUPPLY_KEY)?;
    debug_assert!(supply.get() >= amount.get(), "supply below a held balance");
    write_fen(state, key.to_vec(), balance.saturating_sub(amount.fen()));
    write_fen(
        state,
        SUPPLY_KEY.to_vec(),
        supply.saturating_sub(amount.fen()),
    );
    Ok(())
}

/// Parses a stored balance value (for queries outside execution).
pub fn decode_fen(bytes: &[u8]) -> Option<Fen> {
    let array: [u8; 8] = bytes.try_into().ok()?;
    Fen::new(i64::from_be_bytes(array)).ok()
}

#[derive(Debug, Clone, Copy)]
pub struct CreditContract {
    operator: PublicKey,
}

impl CreditContract {
    pub fn new(operator: PublicKey) -> Self {
        CreditContract { operator }
    }

    fn add(state: &mut dyn StateAccess, key: Vec<u8>, amount: Fen) -> Result<(), ContractError> {
        let now = read_fen(state, &key)?;
        let next = now
            .checked_add(amount)
            .map_err(|_| ContractError::new("overflow", "amount overflows the fen range"))?;
        write_fen(state, key, next);
        Ok(())
    }

    fn debit(
        state: &mut dyn StateAccess,
        owner: &PublicKey,
        amount: PositiveFen,
    ) -> Result<(), ContractError> {
        let key = balance_key(owner);
        let balance = read_fen(state, &key)?;
        if balance.get() < amount.get() {
            return Err(ContractError::new(
                "insufficient_balance",
                format!(
                    "balance {} fen is less than the {} fen requested",
                    balance.get(),
                    amount.get()
                ),
            ));
        }
        write_fen(state, key, balance.saturating_sub(amount.fen()));
        Ok(())
    }
}

impl SystemContract for CreditContract {
    type Op = CreditOp;

    fn execute(
        &self,
        ctx: &TxContext<'_>,
        op: &CreditOp,
        state: &mut dyn StateAccess,
    ) -> Result<(), ContractError> {
        match op {
            CreditOp::Mint { to, amount } => {
                if ctx.signer != &self.operator {
                    return Err(ContractError::new(
                        "not_operator",
                        "only the operator key named in the genesis may mint credits",
                    ));
                }
                Self::add(state, SUPPLY_KEY.to_vec(), amount.fen())?;
                Self::add(state, balance_key(to), amount.fen())
            }
            CreditOp::Transfer { to, amount } => {
                Self::debit(state, ctx.signer, *amount)?;
                Self::add(state, balance_key(to), amount.fen())
            }
            CreditOp::Burn { amount } => {
                Self::debit(state, ctx.signer, *amount)?;
                let supply = read_fen(state, SUPPLY_KEY)?;
                // The burnt credits were part of the supply: it cannot go below zero.
                debug_assert!(supply.get() >= amount.get(), "supply below a held balance");
                write_fen(
                    state,
                    SUPPLY_KEY.to_vec(),
                    supply.saturating_sub(amount.fen()),
                );
                Ok(())
            }
        }
    }
}
