//! The controller's network side: the hello handshake, the write loop of a link, the
//! supplier's read loop, and the consumer's listener serving suppliers.

use super::*;

/// Reads and checks the peer's hello: a valid signature, a time within the skew, and a
/// key that is the counterparty of at least one of our channels.
pub(super) async fn read_hello(
    inner: &Inner,
    r: &mut OwnedReadHalf,
) -> Result<PublicKey, ChannelError> {
    let first = tokio::time::timeout(Duration::from_millis(HELLO_TIMEOUT_MS), wire::read_frame(r))
        .await
        .map_err(|_| ChannelError::Timeout)??;
    let Some(Message::Hello {
        key,
        time_ms,
        signature,
    }) = first
    else {
        return Err(ChannelError::Wire(
            "the peer did not start with a hello".into(),
        ));
    };
    if !key.verify(&hello_digest(&key, time_ms), &signature) {
        return Err(ChannelError::Wire(
            "the peer's hello signature does not verify".into(),
        ));
    }
    let now = inner.clock.now_ms();
    if time_ms.abs_diff(now) > inner.skew_ms.max(HELLO_TIMEOUT_MS) {
        return Err(ChannelError::Wire(
            "the peer's hello is too old or from the future".into(),
        ));
    }
    let known = inner
        .channels
        .lock()
        .values()
        .any(|c| counterparty(&c.setup) == key);
    if !known {
        return Err(ChannelError::Wire(format!(
            "key {key} is the counterparty of no channel here"
        )));
    }
    Ok(key)
}

pub(super) async fn write_loop(mut w: OwnedWriteHalf, mut rx: mpsc::Receiver<Message>) {
    while let Some(message) = rx.recv().await {
        if let Err(e) = wire::write_frame(&mut w, &message).await {
            tracing::warn!("channel link write failed: {e}");
            break;
        }
    }
}

pub(super) async fn supplier_read_loop(
    inner: Arc<Inner>,
    link: Arc<Link>,
    mut r: OwnedReadHalf,
    peer_key: PublicKey,
) {
    loop {
        match wire::read_frame(&mut r).await {
            Ok(Some(Message::Answer { answers })) => {
                inner.take_answers(&link, &peer_key, answers).await;
            }
            Ok(Some(Message::Sync { states })) => {
                if let Err(e) = inner.adopt(&peer_key, states).await {
                    tracing::warn!("channel sync failed: {e}");
                }
            }
            Ok(Some(Message::Notice { notices })) => {
                {
                    let mut channels = inner.channels.lock();
                    for n in notices
                        .iter()
                        .filter(|n| n.kind == NoticeKind::StopRequested)
                    {
                        if let Some(c) = channels.get_mut(&n.serial)
                            && counterparty(&c.setup) == peer_key
                        {
                            c.setup.stop_requested = true;
                        }
                    }
                }
                inner.push_notices(&peer_key, notices);
            }
            Ok(Some(_)) => {
                tracing::warn!("the consumer sent a frame a supplier does not take");
                break;
            }
            Ok(None) => break,
            Err(e) => {
                tracing::warn!("channel link read failed: {e}");
                break;
            }
        }
    }
    link.alive.store(false, std::sync::atomic::Ordering::SeqCst);
    // Whoever still waits learns the link is gone (and a later proposal reconnects).
    let pending: Vec<_> = link.pending.lock().drain().collect();
    for (_, (_, tx)) in pending {
        let _ = tx.send(Err(ChannelError::Disconnected));
    }
}

pub(super) async fn accept_loop(inner: Arc<Inner>, listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                let conn_inner = inner.clone();
                let task = tokio::spawn(async move {
                    if let Err(e) = serve_supplier(conn_inner, stream).await {
                        tracing::warn!("channel connection ended: {e}");
                    }
                });
                let mut tasks = inner.tasks.lock();
                tasks.retain(|t| !t.is_finished());
                tasks.push(task);
            }
            Err(e) => {
                tracing::warn!("channel listener: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Consumer's side of one connection from a supplier.
async fn serve_supplier(inner: Arc<Inner>, stream: TcpStream) -> Result<(), ChannelError> {
    let (mut r, mut w) = stream.into_split();
    let peer_key = read_hello(&inner, &mut r).await?;
    wire::write_frame(&mut w, &wire::hello(&inner.key, inner.clock.now_ms())).await?;
    let states = inner.shared_latest(&peer_key, Role::Consumer);
    wire::write_frame(&mut w, &Message::Sync { states }).await?;
    while let Some(message) = wire::read_frame(&mut r).await? {
        match message {
            Message::Propose { proposals } => {
                let answers = inner.answer(&peer_key, proposals).await?;
                wire::write_frame(&mut w, &Message::Answer { answers }).await?;
                let stops = inner.stop_requests(&peer_key);
                if !stops.is_empty() {
                    wire::write_frame(&mut w, &Message::Notice { notices: stops }).await?;
                }
            }
            Message::Sync { states } => {
                inner.adopt(&peer_key, states).await?;
                // A paused supplier proposes nothing but syncs each round: the answer to
                // attach a stop request to.
                let stops = inner.stop_requests(&peer_key);
                if !stops.is_empty() {
                    wire::write_frame(&mut w, &Message::Notice { notices: stops }).await?;
                }
            }
            Message::Notice { notices } => inner.push_notices(&peer_key, notices),
            Message::Hello { .. } | Message::Answer { .. } => {
                return Err(ChannelError::Wire(
                    "the supplier sent a frame a consumer does not take".into(),
                ));
            }
        }
    }
    Ok(())
}
