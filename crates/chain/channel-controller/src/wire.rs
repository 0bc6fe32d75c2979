//! The wire format between two controllers (`docs/channel-protocol.md` §3): frames of
//! one JSON message each, prefixed by their length (u32, big-endian), over TCP. Every
//! statement carries its own signatures, so a message needs no transport security to be
//! authentic; the `hello` binds the connection to a DID key so a controller serves only
//! the channels whose counterparty holds that key.

use serde::{Deserialize, Serialize};
use suanli_primitives::hash::sha256_parts;
use suanli_primitives::{PublicKey, SecretKey, Signature};
use suanli_trade::Serial;
use suanli_trade::channel::{SignedState, Statement};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::ChannelError;

/// Largest frame, in bytes.
pub const FRAME_BYTES_MAX: usize = 4 * 1024 * 1024;
/// Most statements (or countersignatures) in one frame.
pub const BATCH_STATEMENTS_MAX: usize = 4_096;

/// A statement the supplier signed and proposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proposal {
    pub statement: Statement,
    pub supplier_signature: Signature,
}

/// The consumer's answer to one proposal: its countersignature, or why not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case", deny_unknown_fields)]
pub enum Answer {
    Countersigned {
        serial: Serial,
        seq: u64,
        consumer_signature: Signature,
    },
    Rejected {
        serial: Serial,
        seq: u64,
        code: String,
        message: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// The supplier stopped metering: the escrow left is below the margin.
    Paused,
    /// Metering runs again (after a top-up).
    Resumed,
    /// The consumer asks the supplier to end the channel (a final state
    /// `stopped_by_consumer` follows).
    StopRequested,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notice {
    pub serial: Serial,
    pub kind: NoticeKind,
    /// Escrow not yet spent by metered usage, in fen; signed (a difference, not an amount
    /// held): negative when the signed states owe more than the escrow holds.
    pub remaining_fen: i64,
    /// What the margin asks for, in fen.
    pub margin_fen: i64,
    pub message: String,
}

// The hello is larger than the rest, but there is one per connection: boxing it would
// only add an allocation to the frames that are not hellos.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Message {
    /// First frame of each side: who it is, proven by a signature over the domain tag,
    /// its key and the time (within the skew of the peer's clock).
    Hello {
        key: PublicKey,
        time_ms: u64,
        signature: Signature,
    },
    /// Each side's latest dual-signed states of the channels it shares with the peer,
    /// sent after the hello: the side that is behind adopts the newer ones.
    Sync {
        states: Vec<SignedState>,
    },
    Propose {
        proposals: Vec<Proposal>,
    },
    Answer {
        answers: Vec<Answer>,
    },
    Notice {
        notices: Vec<Notice>,
    },
}

/// What a hello signs.
pub fn hello_digest(key: &PublicKey, time_ms: u64) -> [u8; 32] {
    *sha256_parts(&[
        b"suanli/channel/hello/v1".as_slice(),
        key.as_bytes(),
        &time_ms.to_be_bytes(),
    ])
    .as_bytes()
}

pub fn hello(key: &SecretKey, time_ms: u64) -> Message {
    let public = key.public();
    Message::Hello {
        key: public,
        time_ms,
        signature: key.sign(&hello_digest(&public, time_ms)),
    }
}

pub async fn write_frame<W: AsyncWrite + Unpin>(
    w: &mut W,
    message: &Message,
) -> Result<(), ChannelError> {
    let body = serde_json::to_vec(message).map_err(|e| ChannelError::Wire(e.to_string()))?;
    if body.len() > FRAME_BYTES_MAX {
        return Err(ChannelError::Wire(format!(
            "a frame of {} bytes is more than the {FRAME_BYTES_MAX} allowed",
            body.len()
        )));
    }
    let len = (body.len() as u32).to_be_bytes();
    w.write_all(&len).await.map_err(io)?;
    w.write_all(&body).await.map_err(io)?;
    w.flush().await.map_err(io)
}

/// Reads one frame; `None` at a clean end of the stream.
pub async fn read_frame<R: AsyncRead + Unpin>(r: &mut R) -> Result<Option<Message>, ChannelError> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(io(e)),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > FRAME_BYTES_MAX {
        return Err(ChannelError::Wire(format!(
            "the peer sent a frame of {len} bytes, more than the {FRAME_BYTES_MAX} allowed"
        )));
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).await.map_err(io)?;
    let message: Message = serde_json::from_slice(&body)
        .map_err(|e| ChannelError::Wire(format!("the peer sent a malformed frame: {e}")))?;
    let count = match &message {
        Message::Sync { states } => states.len(),
        Message::Propose { proposals } => proposals.len(),
        Message::Answer { answers } => answers.len(),
        Message::Notice { notices } => notices.len(),
        Message::Hello { .. } => 0,
    };
    if count > BATCH_STATEMENTS_MAX {
        return Err(ChannelError::Wire(format!(
            "the peer sent {count} items in one frame, more than the {BATCH_STATEMENTS_MAX} allowed"
        )));
    }
    Ok(Some(message))
}

fn io(e: std::io::Error) -> ChannelError {
    ChannelError::Wire(e.to_string())
}
