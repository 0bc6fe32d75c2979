//! Posting a journal transaction, one body ([`post`]) for every backend: the header, the
//! customer balances' projection (each customer line records the balance after it), the
//! lines, the store's own balance check on what the database stored, and the
//! settlement-credit mirror instructions (the organisation's chain wallet follows its
//! cash: a transaction naming the organisation that raises its cash mints the difference
//! into the wallet, one that lowers it burns; `docs/exchange.md` §1). Each backend implements the four writes of
//! [`JournalWrites`]: sqlx in `money_sql/journal.rs`, the SQLite writer thread in
//! `sqlite_writer/ops.rs`.

use crate::{StoreError, StoreResult};
use suanli_platform_domain::OrgId;
use suanli_platform_domain::journal::{Account, JournalTx, Line};

/// The writes of a journal posting, inside the operation's SQL transaction.
pub(crate) trait JournalWrites {
    /// Inserts the transaction's header and answers its id.
    async fn header(
        &mut self,
        jt: &JournalTx,
        org: Option<OrgId>,
        instance: Option<i64>,
        channel: &str,
        at_ms: i64,
    ) -> StoreResult<i64>;
    /// Adds `delta` to a customer account's projected balance; the balance after.
    async fn project(&mut self, account: &str, delta: i64) -> StoreResult<i64>;
    /// Inserts every line of transaction `id`, with each customer line's balance after,
    /// in one statement; answers the `(side, amount)` of the rows the database stored.
    async fn lines(
        &mut self,
        id: i64,
        lines: &[Line],
        afters: &[Option<i64>],
    ) -> StoreResult<Vec<(String, i64)>>;
    /// Queues a settlement-credit mirror instruction (`mint` or `burn`).
    async fn mirror(
        &mut self,
        id: i64,
        org: OrgId,
        op: &str,
        amount: i64,
        at_ms: i64,
    ) -> StoreResult<()>;
}

/// Posts `jt`: header, projection, lines, balance check, mirror. Answers its id.
pub(crate) async fn post<W: JournalWrites>(
    w: &mut W,
    jt: &JournalTx,
    org: Option<OrgId>,
    instance: Option<i64>,
    channel: &str,
    at_ms: i64,
) -> StoreResult<i64> {
    debug_assert_eq!(
        jt.imbalance(),
        0,
        "unbalanced journal transaction {}",
        jt.key().as_str()
    );
    let total = jt.total();
    let id = w.header(jt, org, instance, channel, at_ms).await?;
    let mut cash_delta = 0i64;
    let mut afters = Vec::with_capacity(jt.lines().len());
    for l in jt.lines() {
        let after = match l.account.customer() {
            Some(_) => Some(
                w.project(&l.account.key(), l.account.signed(l.side, l.amount))
                    .await?,
            ),
            None => None,
        };
        if let (Account::Cash(o), Some(named)) = (l.account, org)
            && o == named
        {
            cash_delta = cash_delta
                .checked_add(l.account.signed(l.side, l.amount))
                .ok_or_else(|| StoreError::Corrupt("journal cash sum".into()))?;
        }
        afters.push(after);
    }
    // The store's own balance check reads back what the database stored: the lines of
    // this (new) transaction id are exactly the rows the statement inserted.
    let stored = w.lines(id, jt.lines(), &afters).await?;
    let (mut d, mut c) = (0i64, 0i64);
    for (side, amount) in &stored {
        let sum = match side.as_str() {
            "debit" => &mut d,
            "credit" => &mut c,
            _ => return Err(StoreError::Corrupt("journal line side".into())),
        };
        *sum = sum
            .checked_add(*amount)
            .ok_or_else(|| StoreError::Corrupt("journal line sum".into()))?;
    }
    if stored.len() != jt.lines().len() || d != c || d != total.get() {
        return Err(StoreError::Corrupt(format!(
            "journal transaction {id} unbalanced"
        )));
    }
    // The wallet mirrors the cash of the organisation the transaction names. Trade
    // entries name none: the chain moves the wallet itself (orders escrow from it, closes
    // refund into it).
    if let Some(o) = org {
        match cash_delta {
            0 => {}
            d if d > 0 => w.mirror(id, o, "mint", d, at_ms).await?,
            d => w.mirror(id, o, "burn", -d, at_ms).await?,
        }
    }
    Ok(id)
}

/// `(?1, ?2, ?3, ?4, ?5), (?6, …)` — the values of `rows` rows of five parameters, with
/// `mark` (`$` or `?`) before each number.
pub(crate) fn line_values(rows: usize, mark: char) -> String {
    (0..rows)
        .map(|i| {
            let b = i * 5;
            format!(
                "({mark}{}, {mark}{}, {mark}{}, {mark}{}, {mark}{})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}
