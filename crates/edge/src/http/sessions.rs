//! HTTP sessions: what makes `BEGIN … COMMIT` over several requests one transaction.
//!
//! Each request runs on an in-process edge session ([`Link`]): the same code that serves
//! MySQL clients (routing, pooling, pinning, limits, safe migrations, cutover holds,
//! statistics), driven over an in-memory wire. A session that ends a request holding
//! state (a transaction, a pinned connection, replayed settings) is kept in a [`Slot`]
//! under its id until the client's next request or until it idles out (rolled back,
//! released); one that holds none is closed at once, so stateless traffic keeps nothing.
//!
//! The client carries the session as a token: its id, whether it was in a transaction,
//! and an HMAC over both and the user it was issued to. A forged token, or another user's,
//! is refused; a valid token whose slot is gone starts afresh — unless it was in a
//! transaction, which the client is told was rolled back.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::hmac;
use serde_json::{Value, json};

use super::HttpError;
use super::result::{Answer, read_answer};
use crate::Shared;
use crate::auth::NativeKey;
use crate::login::Login;
use crate::packet::PacketStream;
use crate::protocol::{DEFAULT_COLLATION, caps, command};
use crate::routes::CredentialRoute;
use crate::session::Session;

/// What an HTTP session asks of the protocol: found rows (as Vitess sessions do), a
/// procedure's several results, no EOF packets. No multi-statements: one statement per
/// request, as vtgate takes them.
const CAPABILITIES: u32 = caps::PROTOCOL_41
    | caps::LONG_FLAG
    | caps::FOUND_ROWS
    | caps::TRANSACTIONS
    | caps::SECURE_CONNECTION
    | caps::MULTI_RESULTS
    | caps::PS_MULTI_RESULTS
    | caps::PLUGIN_AUTH
    | caps::DEPRECATE_EOF;

/// An edge session driven in-process, in the request's own task: the command goes on an
/// in-memory wire, the session serves it, the answer is read back (see `memory`).
pub(crate) struct Link {
    credential: Arc<CredentialRoute>,
    /// Taken only when the link is dropped (the session then finishes on its own task).
    session: Option<Session>,
    stream: PacketStream,
    /// It served another request before: its next one starts with a reset
    /// (`COM_RESET_CONNECTION`, sent in the same write), so no value of that request
    /// (`LAST_INSERT_ID()`) shows through.
    reused: bool,
    /// A statement was cut off halfway (the HTTP client went away and its request was
    /// dropped: the session's backend connection may hold half an answer), or the session
    /// ended: it serves no more requests.
    interrupted: bool,
}

impl Link {
    /// Starts a session for `credential`, counted against the branch's connection limit.
    pub(crate) fn open(
        shared: &Arc<Shared>,
        credential: Arc<CredentialRoute>,
        key: NativeKey,
        peer: SocketAddr,
        tls: bool,
    ) -> Result<Link, HttpError> {
        let id = shared.next_connection_id();
        let ticket = shared
            .registry
            .register(
                id,
                &credential.username,
                &credential.branch.branch_id,
                shared.config.max_connections_per_branch,
            )
            .map_err(HttpError::Edge)?;
        let login = Login {
            credential: credential.clone(),
            key,
            capabilities: CAPABILITIES,
            collation: DEFAULT_COLLATION,
            extended_metadata: true,
            tls,
            peer,
            next_seq: 2,
        };
        let (ours, theirs) = super::memory::wire();
        let session = Session::new(
            shared.clone(),
            PacketStream::new(Box::new(theirs)),
            login,
            ticket,
        );
        Ok(Link {
            credential,
            session: Some(session),
            stream: PacketStream::new(Box::new(ours)),
            reused: false,
            interrupted: false,
        })
    }

    /// Runs one statement; with it, what the session holds now.
    pub(crate) async fn execute(&mut self, sql: &[u8]) -> io::Result<(Answer, Holds)> {
        if self.interrupted {
            return Err(io::ErrorKind::ConnectionAborted.into());
        }
        self.interrupted = true;
        let session = self.session.as_mut().expect("a link's session");
        let reset = std::mem::take(&mut self.reused);
        if reset {
            self.stream
                .write_packet(0, &[command::RESET_CONNECTION])
                .await?;
        }
        self.stream.write_command(0, &[command::QUERY], sql).await?;
        self.stream.flush().await?;
        // The session answers in full before its answer is read (see `memory`).
        let mut alive = true;
        for _ in 0..1 + usize::from(reset) {
            alive = alive && session.serve_next().await;
        }
        let answer = async {
            if reset {
                let ok = self.stream.read_packet().await?;
                if ok.is_none_or(|packet| packet.payload.first() != Some(&0x00)) {
                    return Err(io::Error::from(io::ErrorKind::InvalidData));
                }
            }
            read_answer(&mut self.stream).await
        }
        .await;
        let answer = answer?;
        // A session that ended (its state lost with its backend connection, or a
        // `LOAD DATA LOCAL` it could not be given data for) serves no more requests.
        self.interrupted = !alive;
        let holds = Holds {
            state: alive && session.holds_state(),
            transaction: alive && session.in_transaction(),
        };
        Ok((answer, holds))
    }
}

impl Drop for Link {
    /// The session gives its backend connection back (rolled back, reset) on a task of
    /// its own; one cut off halfway drops it.
    fn drop(&mut self) {
        let Some(mut session) = self.session.take() else {
            return;
        };
        if self.interrupted {
            session.abandon();
        } else if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { session.finish().await });
        }
    }
}

/// What a session holds after a statement.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Holds {
    /// State a later statement may need (it is kept under its id).
    pub state: bool,
    /// An open transaction (the token says so).
    pub transaction: bool,
}

/// A kept session.
pub(crate) struct Slot {
    pub username: String,
    pub link: tokio::sync::Mutex<Link>,
    last_used: Mutex<Instant>,
}

impl Slot {
    pub(crate) fn new(username: &str, link: Link) -> Arc<Slot> {
        Arc::new(Slot {
            username: username.to_string(),
            link: tokio::sync::Mutex::new(link),
            last_used: Mutex::new(Instant::now()),
        })
    }

    fn touch(&self) {
        *self.last_used.lock().expect("slot clock") = Instant::now();
    }

    fn idle_since(&self) -> Instant {
        *self.last_used.lock().expect("slot clock")
    }
}

/// A verified token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub id: String,
    pub in_transaction: bool,
}

/// Stateless sessions kept ready per user, so that a request seldom starts one.
const SPARES_PER_USER: usize = 8;

/// The kept sessions and the key their tokens are signed with.
pub(crate) struct Sessions {
    key: hmac::Key,
    slots: Mutex<HashMap<String, Arc<Slot>>>,
    /// Sessions holding nothing, by user, with when they were last used.
    spares: Mutex<HashMap<String, Vec<(Link, Instant)>>>,
    pub idle: Duration,
    max: usize,
}

impl Sessions {
    pub(crate) fn new(key: &[u8; 32], idle: Duration, max: usize) -> Sessions {
        Sessions {
            key: hmac::Key::new(hmac::HMAC_SHA256, key),
            slots: Mutex::new(HashMap::new()),
            spares: Mutex::new(HashMap::new()),
            idle,
            max,
        }
    }

    /// A new session id (128 random bits).
    pub(crate) fn new_id() -> String {
        hex::encode(rand::random::<[u8; 16]>())
    }

    /// The token a response carries.
    pub(crate) fn sign(&self, token: &Token, username: &str, database: &str) -> Value {
        let tag = hmac::sign(&self.key, &signed_text(token, username));
        let mut session = json!({
            "sessionUUID": token.id,
            "autocommit": true,
            "targetString": database,
            "options": {"includedFields": "ALL", "clientFoundRows": true},
        });
        if token.in_transaction {
            session["inTransaction"] = Value::Bool(true);
        }
        json!({"signature": STANDARD.encode(tag.as_ref()), "vitessSession": session})
    }

    /// The token a request carried, if this edge issued it to `username`.
    pub(crate) fn verify(&self, value: &Value, username: &str) -> Result<Token, HttpError> {
        let invalid = || HttpError::SessionInvalid;
        let signature = value
            .get("signature")
            .and_then(Value::as_str)
            .and_then(|text| STANDARD.decode(text).ok())
            .ok_or_else(invalid)?;
        let session = value.get("vitessSession").ok_or_else(invalid)?;
        let token = Token {
            id: session
                .get("sessionUUID")
                .and_then(Value::as_str)
                .ok_or_else(invalid)?
                .to_string(),
            in_transaction: session
                .get("inTransaction")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        };
        hmac::verify(&self.key, &signed_text(&token, username), &signature)
            .map_err(|_| invalid())?;
        Ok(token)
    }

    pub(crate) fn get(&self, id: &str) -> Option<Arc<Slot>> {
        self.slots.lock().expect("sessions lock").get(id).cloned()
    }

    /// Room for one more kept session: idle ones are let go first.
    pub(crate) fn make_room(&self) -> Result<(), HttpError> {
        if self.len() < self.max {
            return Ok(());
        }
        self.expire();
        if self.len() < self.max {
            Ok(())
        } else {
            Err(HttpError::TooManySessions)
        }
    }

    /// A ready stateless session of this very credential (its route unchanged since).
    pub(crate) fn spare(&self, credential: &CredentialRoute) -> Option<Link> {
        let mut spares = self.spares.lock().expect("spares lock");
        let links = spares.get_mut(&credential.username)?;
        while let Some((link, _)) = links.pop() {
            if *link.credential == *credential {
                return Some(link);
            }
        }
        None
    }

    /// After a request: keep the session under its id while it holds state; else it
    /// becomes a spare (or closes).
    pub(crate) fn settle(&self, id: &str, slot: Arc<Slot>, stateful: bool) {
        {
            let mut slots = self.slots.lock().expect("sessions lock");
            if stateful {
                slot.touch();
                slots.insert(id.to_string(), slot);
                crate::metrics::http_sessions(slots.len());
                return;
            }
            slots.remove(id);
            crate::metrics::http_sessions(slots.len());
        }
        // Only the request that held it has the slot now (else another request is
        // waiting on it, and it closes when both let go).
        if let Ok(slot) = Arc::try_unwrap(slot) {
            let mut link = slot.link.into_inner();
            if link.interrupted {
                return;
            }
            link.reused = true;
            let mut spares = self.spares.lock().expect("spares lock");
            let links = spares.entry(link.credential.username.clone()).or_default();
            if links.len() < SPARES_PER_USER {
                links.push((link, Instant::now()));
            }
        }
    }

    pub(crate) fn remove(&self, id: &str) {
        let mut slots = self.slots.lock().expect("sessions lock");
        slots.remove(id);
        crate::metrics::http_sessions(slots.len());
    }

    pub(crate) fn len(&self) -> usize {
        self.slots.lock().expect("sessions lock").len()
    }

    /// Closes sessions idle past the timeout (their transactions roll back as their
    /// in-process sessions end). A session serving a request is never idle.
    pub(crate) fn expire(&self) -> usize {
        let now = Instant::now();
        let mut slots = self.slots.lock().expect("sessions lock");
        let before = slots.len();
        slots.retain(|_, slot| {
            now.duration_since(slot.idle_since()) < self.idle || slot.link.try_lock().is_err()
        });
        crate::metrics::http_sessions(slots.len());
        let expired = before - slots.len();
        drop(slots);
        let mut spares = self.spares.lock().expect("spares lock");
        spares.retain(|_, links| {
            links.retain(|(_, used)| now.duration_since(*used) < self.idle);
            !links.is_empty()
        });
        expired
    }
}

fn signed_text(token: &Token, username: &str) -> Vec<u8> {
    format!(
        "psdb-session\n{}\n{}\n{}",
        token.id, username, token.in_transaction
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sessions() -> Sessions {
        Sessions::new(&[7; 32], Duration::from_secs(60), 10)
    }

    #[test]
    fn a_token_verifies_for_its_user_only() {
        let sessions = sessions();
        let token = Token {
            id: Sessions::new_id(),
            in_transaction: true,
        };
        let signed = sessions.sign(&token, "dbu_a", "shop");
        assert_eq!(sessions.verify(&signed, "dbu_a").unwrap(), token);
        assert!(matches!(
            sessions.verify(&signed, "dbu_b"),
            Err(HttpError::SessionInvalid)
        ));
        let other_edge = Sessions::new(&[8; 32], Duration::from_secs(60), 10);
        assert!(other_edge.verify(&signed, "dbu_a").is_err());
    }

    #[test]
    fn a_tampered_token_is_refused() {
        let sessions = sessions();
        let token = Token {
            id: "abc".into(),
            in_transaction: true,
        };
        let mut signed = sessions.sign(&token, "dbu_a", "shop");
        signed["vitessSession"]["inTransaction"] = Value::Bool(false);
        assert!(sessions.verify(&signed, "dbu_a").is_err());
        let mut renamed = sessions.sign(&token, "dbu_a", "shop");
        renamed["vitessSession"]["sessionUUID"] = Value::String("abd".into());
        assert!(sessions.verify(&renamed, "dbu_a").is_err());
        assert!(sessions.verify(&json!(42), "dbu_a").is_err());
    }
}
