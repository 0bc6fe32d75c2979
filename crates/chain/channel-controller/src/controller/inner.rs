//! The shared state's side of the controller: what a connection adopts, judges, commits
//! and answers (`Inner`), split from `controller.rs`.

use super::*;

impl Inner {
    /// Latest states of the channels where we are `role` and the peer holds `peer_key`.
    pub(super) fn shared_latest(&self, peer_key: &PublicKey, role: Role) -> Vec<SignedState> {
        self.channels
            .lock()
            .values()
            .filter(|c| c.setup.role == role && counterparty(&c.setup) == *peer_key)
            .filter_map(|c| c.latest)
            .take(BATCH_STATEMENTS_MAX)
            .collect()
    }

    /// Consumer's side: stop requests for the supplier `peer_key`, for channels whose
    /// latest state is not final yet.
    pub(super) fn stop_requests(&self, peer_key: &PublicKey) -> Vec<Notice> {
        self.channels
            .lock()
            .values()
            .filter(|c| c.setup.stop_requested && c.setup.terms.supplier_key == *peer_key)
            .filter(|c| c.latest.is_none_or(|l| l.statement.close.is_none()))
            .take(BATCH_STATEMENTS_MAX)
            .map(|c| Notice {
                serial: c.setup.terms.serial,
                kind: NoticeKind::StopRequested,
                remaining_fen: 0,
                margin_fen: 0,
                message: "the consumer asks to stop the channel".into(),
            })
            .collect()
    }

    /// Keeps the notices `peer_key` sent about channels it shares with us (others are
    /// dropped), their messages cut to [`NOTICE_MESSAGE_CHARS_MAX`].
    pub(super) fn push_notices(&self, peer_key: &PublicKey, list: Vec<Notice>) {
        let shared: Vec<Notice> = {
            let channels = self.channels.lock();
            list.into_iter()
                .filter(|n| {
                    channels
                        .get(&n.serial)
                        .is_some_and(|c| counterparty(&c.setup) == *peer_key)
                })
                .map(|mut n| {
                    n.message = n.message.chars().take(NOTICE_MESSAGE_CHARS_MAX).collect();
                    n
                })
                .collect()
        };
        let mut notices = self.notices.lock();
        for n in shared {
            tracing::info!(serial = %n.serial, kind = ?n.kind, "{}", n.message);
            if notices.len() >= NOTICES_KEPT_MAX {
                notices.pop_front();
            }
            notices.push_back(n);
        }
    }

    /// Adopts the peer's newer dual-signed states (after a restart one side may be behind).
    pub(super) async fn adopt(
        &self,
        peer_key: &PublicKey,
        states: Vec<SignedState>,
    ) -> Result<(), ChannelError> {
        let newer: Vec<SignedState> = {
            let channels = self.channels.lock();
            states
                .into_iter()
                .filter(|s| {
                    channels.get(&s.statement.serial).is_some_and(|c| {
                        counterparty(&c.setup) == *peer_key
                            && c.latest.is_none_or(|l| l.statement.seq < s.statement.seq)
                            && c.setup.terms.verify(s).is_ok()
                    })
                })
                .collect()
        };
        self.commit(newer).await
    }

    /// Stores states durably, then makes them the channels' latest.
    pub(super) async fn commit(&self, states: Vec<SignedState>) -> Result<(), ChannelError> {
        if states.is_empty() {
            return Ok(());
        }
        let store = self.store.clone();
        let batch = states.clone();
        tokio::task::spawn_blocking(move || store.put_latest(&batch))
            .await
            .map_err(blocking_err)??;
        let mut channels = self.channels.lock();
        for s in states {
            if let Some(c) = channels.get_mut(&s.statement.serial)
                && c.latest.is_none_or(|l| l.statement.seq < s.statement.seq)
            {
                c.latest = Some(s);
                if c.proposed.is_none_or(|p| p.seq < s.statement.seq) {
                    c.proposed = Some(s.statement);
                }
            }
        }
        Ok(())
    }

    /// Consumer's side: checks and countersigns a frame of proposals, stores the accepted
    /// ones (one commit) and only then answers.
    pub(super) async fn answer(
        &self,
        peer_key: &PublicKey,
        proposals: Vec<Proposal>,
    ) -> Result<Vec<Answer>, ChannelError> {
        let _answering = self.answering.lock().await;
        let now = self.clock.now_ms();
        // Signatures first (one batch), so the rules only ever chain on authentic states.
        let digests: Vec<[u8; 32]> = proposals
            .iter()
            .map(|p| statement_digest(&p.statement))
            .collect();
        let items: Vec<(&[u8], &suanli_primitives::Signature, &PublicKey)> = proposals
            .iter()
            .zip(&digests)
            .map(|(p, d)| (d.as_slice(), &p.supplier_signature, peer_key))
            .collect();
        let verdicts = verify_many(&items);
        let mut answers = Vec::with_capacity(proposals.len());
        let mut accepted = Vec::new();
        {
            let channels = self.channels.lock();
            let mut frame_latest: HashMap<Serial, Statement> = HashMap::new();
            for ((p, digest), authentic) in proposals.iter().zip(&digests).zip(verdicts) {
                let st = &p.statement;
                let verdict = if authentic {
                    self.judge(&channels, &frame_latest, peer_key, st, now)
                } else {
                    Err((
                        "bad_signature",
                        "the supplier's signature does not verify".to_string(),
                    ))
                };
                match verdict {
                    Ok(()) => {
                        frame_latest.insert(st.serial, *st);
                        let consumer_signature = self.key.sign(digest);
                        accepted.push(SignedState {
                            statement: *st,
                            supplier_signature: p.supplier_signature,
                            consumer_signature,
                        });
                        answers.push(Answer::Countersigned {
                            serial: st.serial,
                            seq: st.seq,
                            consumer_signature,
                        });
                    }
                    Err((code, message)) => answers.push(Answer::Rejected {
                        serial: st.serial,
                        seq: st.seq,
                        code: code.into(),
                        message,
                    }),
                }
            }
        }
        self.commit(accepted).await?;
        Ok(answers)
    }

    /// The consumer's rules for one authentic proposal: our channel with this supplier, a
    /// close reason we agree to, and a valid successor of the latest state.
    pub(super) fn judge(
        &self,
        channels: &HashMap<Serial, Chan>,
        frame_latest: &HashMap<Serial, Statement>,
        peer_key: &PublicKey,
        st: &Statement,
        now: u64,
    ) -> Result<(), (&'static str, String)> {
        let chan = channels
            .get(&st.serial)
            .ok_or(("unknown_channel", "no such channel here".to_string()))?;
        if chan.setup.role != Role::Consumer || chan.setup.terms.supplier_key != *peer_key {
            return Err((
                "not_your_channel",
                "this connection's key is not the channel's supplier".into(),
            ));
        }
        if chan.setup.closed || chan.setup.closing {
            return Err((
                "channel_closing",
                "the channel is closing or closed on the chain".into(),
            ));
        }
        let last = frame_latest
            .get(&st.serial)
            .copied()
            .or(chan.latest.map(|l| l.statement));
        if last.is_some_and(|l| l.close.is_some()) {
            return Err((
                "channel_final",
                "a final state was agreed: nothing follows it".into(),
            ));
        }
        match st.close {
            Some(CloseReason::StoppedByConsumer) if !chan.setup.stop_requested => {
                return Err((
                    "stop_not_requested",
                    "the consumer did not ask to stop".into(),
                ));
            }
            Some(CloseReason::Completed) if now < chan.setup.terms.end_ms => {
                return Err((
                    "contract_not_ended",
                    "the contract has not reached its end".into(),
                ));
            }
            Some(CloseReason::Expired) => {
                return Err((
                    "reason_not_allowed",
                    "channels do not close as expired".into(),
                ));
            }
            Some(CloseReason::OutOfFunds)
                if chan.setup.remaining_fen(st.cost_fen) >= chan.setup.margin_fen() =>
            {
                return Err((
                    "escrow_still_covers",
                    "the escrow left still covers the margin: the consumer is not out of funds"
                        .into(),
                ));
            }
            _ => {}
        }
        chan.setup
            .terms
            .check_successor(last.as_ref(), st, now, self.skew_ms)
            .map_err(|e| (e.code(), e.to_string()))
    }

    /// Supplier's side: verifies a frame of answers, stores the countersigned states (one
    /// commit) and only then completes the proposers' waits.
    pub(super) async fn take_answers(
        &self,
        link: &Link,
        peer_key: &PublicKey,
        answers: Vec<Answer>,
    ) {
        let mut done = Vec::new();
        let mut signed = Vec::new();
        {
            let mut pending = link.pending.lock();
            for a in answers {
                match a {
                    Answer::Countersigned {
                        serial,
                        seq,
                        consumer_signature,
                    } => {
                        if let Some((p, tx)) = pending.remove(&(serial, seq)) {
                            signed.push((
                                SignedState {
                                    statement: p.statement,
                                    supplier_signature: p.supplier_signature,
                                    consumer_signature,
                                },
                                tx,
                            ));
                        }
                    }
                    Answer::Rejected {
                        serial,
                        seq,
                        code,
                        message,
                    } => {
                        if let Some((_, tx)) = pending.remove(&(serial, seq)) {
                            done.push((
                                tx,
                                Err(ChannelError::Rejected {
                                    serial,
                                    seq,
                                    code,
                                    message,
                                }),
                            ));
                        }
                    }
                }
            }
        }
        // Each countersignature must be by the channel's own consumer: the connection's key
        // only says who answered, and one peer could answer for another's channel.
        let consumer_keys: Vec<Option<PublicKey>> = {
            let channels = self.channels.lock();
            signed
                .iter()
                .map(|(s, _)| {
                    channels
                        .get(&s.statement.serial)
                        .map(|c| c.setup.terms.consumer_key)
                        .filter(|k| k == peer_key)
                })
                .collect()
        };
        let digests: Vec<[u8; 32]> = signed
            .iter()
            .map(|(s, _)| statement_digest(&s.statement))
            .collect();
        let items: Vec<_> = signed
            .iter()
            .zip(&digests)
            .zip(&consumer_keys)
            .map(|(((s, _), d), k)| {
                (
                    d.as_slice(),
                    &s.consumer_signature,
                    k.as_ref().unwrap_or(peer_key),
                )
            })
            .collect();
        let verdicts: Vec<bool> = verify_many(&items)
            .into_iter()
            .zip(&consumer_keys)
            .map(|(ok, k)| ok && k.is_some())
            .collect();
        let mut good = Vec::new();
        let mut waiters = Vec::new();
        for ((state, tx), ok) in signed.into_iter().zip(verdicts) {
            if ok {
                good.push(state);
                waiters.push((tx, state));
            } else {
                done.push((
                    tx,
                    Err(ChannelError::Rejected {
                        serial: state.statement.serial,
                        seq: state.statement.seq,
                        code: "bad_countersignature".into(),
                        message: "the consumer's countersignature does not verify".into(),
                    }),
                ));
            }
        }
        match self.commit(good).await {
            Ok(()) => {
                for (tx, state) in waiters {
                    let _ = tx.send(Ok(state));
                }
            }
            Err(e) => {
                for (tx, _) in waiters {
                    let _ = tx.send(Err(e.clone()));
                }
            }
        }
        for (tx, result) in done {
            let _ = tx.send(result);
        }
    }
}
