//! The trade contract's organisation wallets and channel delegations (`crate::wallet`,
//! `docs/trade.md` §1.2): the operator's mint, burn, member limits and suspension; the
//! member's spending counted at each order, top-up and bond and given back at each refund;
//! and who a delegated channel key may act as.

use super::*;
use crate::wallet::{
    WALLET_MEMBERS_MAX, Wallet, WalletMember, WalletName, wallet_account, wallet_key,
    wallet_member_index_key, wallet_member_key,
};
use suanli_ledger::credit::{burn_from, mint_into};

fn wallet_balance_key(wallet: &WalletName) -> Vec<u8> {
    account_balance_key(&wallet_account(wallet))
}

impl Exec<'_, '_> {
    fn wallet_state(&self, wallet: &WalletName) -> Result<Option<Wallet>, ContractError> {
        self.get(&wallet_key(wallet), "wallet")
    }

    pub(crate) fn wallet_mint(
        &mut self,
        wallet: &WalletName,
        amount: PositiveFen,
    ) -> Result<(), ContractError> {
        self.require_operator()?;
        if self.wallet_state(wallet)?.is_none() {
            self.put(wallet_key(wallet), &Wallet::default());
        }
        mint_into(self.state, &wallet_balance_key(wallet), amount)
    }

    pub(crate) fn wallet_burn(
        &mut self,
        wallet: &WalletName,
        amount: PositiveFen,
    ) -> Result<(), ContractError> {
        self.require_operator()?;
        burn_from(self.state, &wallet_balance_key(wallet), amount)
    }

    pub(crate) fn wallet_member(
        &mut self,
        wallet: &WalletName,
        did: &PartyDid,
        limit_fen: Fen,
    ) -> Result<(), ContractError> {
        self.require_operator()?;
        let mut state = self.wallet_state(wallet)?.unwrap_or_default();
        let key = wallet_member_key(wallet, did);
        let mut member = match self.get::<WalletMember>(&key, "wallet member")? {
            Some(m) => m,
            None => {
                if state.members >= WALLET_MEMBERS_MAX {
                    return Err(err(
                        "limit_reached",
                        format!("a wallet records at most {WALLET_MEMBERS_MAX} members"),
                    ));
                }
                self.state.put(
                    wallet_member_index_key(wallet, state.members),
                    did.as_str().as_bytes().to_vec(),
                );
                state.members += 1;
                WalletMember::default()
            }
        };
        member.limit_fen = limit_fen;
        self.put(key, &member);
        self.put(wallet_key(wallet), &state);
        Ok(())
    }

    pub(crate) fn wallet_suspend(
        &mut self,
        wallet: &WalletName,
        suspended: bool,
    ) -> Result<(), ContractError> {
        self.require_operator()?;
        let mut state = self.wallet_state(wallet)?.unwrap_or_default();
        state.suspended = suspended;
        self.put(wallet_key(wallet), &state);
        Ok(())
    }

    /// Counts `amount` out of `wallet` against `member`'s limit and answers the wallet's
    /// balance key to move it from: refused when the wallet is suspended
    /// (`wallet_suspended`), the DID is not its member (`not_wallet_member`) or the limit
    /// would be passed (`member_limit_exceeded`).
    pub(crate) fn wallet_spend(
        &mut self,
        wallet: &WalletName,
        member: &PartyDid,
        amount: Fen,
    ) -> Result<Vec<u8>, ContractError> {
        let state = self.wallet_state(wallet)?;
        if state.as_ref().is_some_and(|w| w.suspended) {
            return Err(err(
                "wallet_suspended",
                format!("wallet {wallet} is suspended: no orders or top-ups from it"),
            ));
        }
        let key = wallet_member_key(wallet, member);
        let Some(mut m) = self.get::<WalletMember>(&key, "wallet member")? else {
            return Err(err(
                "not_wallet_member",
                format!("{member} is not a member of wallet {wallet}"),
            ));
        };
        let spent = add_fen(m.spent_fen, amount, "member's spending")?;
        if spent > m.limit_fen {
            return Err(err(
                "member_limit_exceeded",
                format!(
                    "{member} may have at most {} fen out of wallet {wallet}; {} fen are out and this needs {} more",
                    m.limit_fen.get(),
                    m.spent_fen.get(),
                    amount.get()
                ),
            ));
        }
        m.spent_fen = spent;
        self.put(key, &m);
        Ok(wallet_balance_key(wallet))
    }

    /// Where `trade`'s consumer money comes from: its wallet (counted against the member's
    /// limit) or the consumer's own balance.
    pub(crate) fn consumer_payer(
        &mut self,
        trade: &Trade,
        amount: Fen,
    ) -> Result<Vec<u8>, ContractError> {
        match &trade.wallet {
            Some(w) => self.wallet_spend(w, &trade.consumer, amount),
            None => Ok(balance_key(&self.key_of(&trade.consumer)?)),
        }
    }

    /// Where `trade`'s consumer money goes back to (refunds, the consumer's bond): its
    /// wallet, the member's spending reduced by `amount`, or the consumer's own balance.
    pub(crate) fn consumer_payee(
        &mut self,
        trade: &Trade,
        amount: Fen,
    ) -> Result<Vec<u8>, ContractError> {
        let Some(w) = &trade.wallet else {
            return Ok(balance_key(&self.key_of(&trade.consumer)?));
        };
        let key = wallet_member_key(w, &trade.consumer);
        if let Some(mut m) = self.get::<WalletMember>(&key, "wallet member")? {
            m.spent_fen = m.spent_fen.saturating_sub(amount);
            self.put(key, &m);
        }
        Ok(wallet_balance_key(w))
    }

    /// Whether the signer is `trade`'s delegated channel key (not an enrolled key), and
    /// the delegation still runs (`delegation_expired` otherwise).
    pub(crate) fn signs_as_delegate(&self, trade: &Trade) -> Result<bool, ContractError> {
        let Some(d) = trade
            .delegate
            .as_ref()
            .filter(|d| d.key == *self.ctx.signer)
        else {
            return Ok(false);
        };
        if self.state.get(&keyof_key(self.ctx.signer)).is_some() {
            return Ok(false);
        }
        if self.ctx.timestamp_ms >= d.valid_until_ms {
            return Err(err(
                "delegation_expired",
                format!(
                    "the channel delegation of trade {} ended at {}",
                    trade.serial, d.valid_until_ms
                ),
            ));
        }
        Ok(true)
    }

    /// Refuses `trade`'s delegated key where only the consumer's own key may act (the
    /// trade's close, the rating).
    pub(crate) fn refuse_delegate(&self, trade: &Trade) -> Result<(), ContractError> {
        if trade
            .delegate
            .as_ref()
            .is_some_and(|d| d.key == *self.ctx.signer)
            && self.state.get(&keyof_key(self.ctx.signer)).is_none()
        {
            return Err(err(
                "delegate_not_allowed",
                "a delegated channel key runs the trade's channel and tops its escrow up, nothing else",
            ));
        }
        Ok(())
    }

    /// The trade and its consumer, if the signer is the consumer or its delegated
    /// channel key (top-ups, opening the channel).
    pub(crate) fn trade_as_consumer_side(
        &self,
        serial: &Serial,
    ) -> Result<(Trade, Party), ContractError> {
        let trade = self.trade(serial)?;
        if self.signs_as_delegate(&trade)? {
            let consumer = self
                .party(&trade.consumer)?
                .ok_or_else(|| corrupt("party"))?;
            return Ok((trade, consumer));
        }
        self.trade_as(serial, Role::Consumer)
    }

    /// [`Exec::trade_as_party`], the delegated channel key counting as the consumer (the
    /// channel's check-ins, closes, challenges and settlement).
    pub(crate) fn trade_as_channel_party(
        &self,
        serial: &Serial,
    ) -> Result<(Trade, Party, Role), ContractError> {
        let trade = self.trade(serial)?;
        if self.signs_as_delegate(&trade)? {
            let consumer = self
                .party(&trade.consumer)?
                .ok_or_else(|| corrupt("party"))?;
            return Ok((trade, consumer, Role::Consumer));
        }
        self.trade_as_party(serial)
    }
}
