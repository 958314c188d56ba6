//! The bench's users, logged in on both ports, many at once.
//!
//! A user is registered if new, or logged in if an earlier run made it;
//! which of the two is guessed once per group ([`exists`]), since a
//! wrong guess costs the server a second password hash. A few threads
//! log the users in in parallel, each user's connections handed on as
//! soon as they are ready, so that a crowd of thousands is up in seconds.

use std::sync::atomic::{AtomicU64, Ordering};

use super::BenchArgs;
use super::conn::LineConn;
use crate::error::{Error, Result};
use crate::protocol::Port;
use crate::protocol::{Code, Reply, Request};

/// Connects a user on both ports, creating the account if needed.
/// `existing`: the accounts are probably there from an earlier run, so
/// try `LOGIN` first. Guessing wrong costs the server a second password
/// hash (a taken name costs as much as a wrong password), so the guess is
/// made once per group of users (see [`login_each`]), not per user.
pub(super) fn login_both(args: &BenchArgs, user: &str, existing: bool, node: usize) -> Result<Both> {
    let login = Request::Login { user: user.into(), device: None, password: args.password.clone() };
    let register =
        Request::Register { user: user.into(), email: String::new(), password: args.password.clone() };
    let mut send = LineConn::connect(args, node, Port::Send)?;
    match send.request(if existing { &login } else { &register })? {
        Reply::Ko(ko) if ko.code == Code::UserExists => expect_ok(send.request(&login)?, user)?,
        Reply::Ko(ko) if ko.code == Code::AuthFailed => {
            // LOGIN closes after AUTH_FAILED: register on a new connection.
            send = LineConn::connect(args, node, Port::Send)?;
            expect_ok(send.request(&register)?, user)?;
        }
        reply => expect_ok(reply, user)?,
    }
    let mut recv = LineConn::connect(args, node, Port::Receive)?;
    expect_ok(recv.request(&login)?, user)?;
    Ok((send, recv))
}

/// Whether `user`'s account exists already: one `LOGIN` to find out.
pub(super) fn exists(args: &BenchArgs, user: &str) -> Result<bool> {
    let mut probe = LineConn::connect(args, 0, Port::Send)?;
    let login = Request::Login { user: user.into(), device: None, password: args.password.clone() };
    Ok(!matches!(probe.request(&login)?, Reply::Ko(_)))
}

/// `Ok` unless the server refused; a refusal for the per-address limits
/// says how to lift them.
pub(super) fn expect_ok(reply: Reply, what: &str) -> Result<()> {
    match reply {
        Reply::Ko(ko) if matches!(ko.code, Code::RateLimited | Code::Busy) => {
            let hint = "the server's per-address limits: run it with --exempt 127.0.0.1 (and --rate 0)";
            Err(Error::Protocol(format!("{what}: {ko} ({hint})")))
        }
        Reply::Ko(ko) => Err(Error::Protocol(format!("{what}: {ko}"))),
        _ => Ok(()),
    }
}

/// A user's two connections: send port, receive port.
pub(super) type Both = (LineConn, LineConn);

/// Logs in `names` on both ports with a few threads in parallel, handing
/// each user's connections to `done` as soon as they are logged in.
pub(super) fn login_each(
    args: &BenchArgs,
    names: &[String],
    done: &(dyn Fn(usize, Both) + Sync),
) -> Result<()> {
    let Some(first) = names.first() else { return Ok(()) };
    let existing = exists(args, first)?;
    let next = AtomicU64::new(0);
    let threads = names.len().clamp(1, 16);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                        if i >= names.len() {
                            return Ok(());
                        }
                        done(i, login_both(args, &names[i], existing, i)?);
                    }
                })
            })
            .collect();
        workers.into_iter().try_for_each(|w| w.join().expect("login thread"))
    })
}

/// Logs in `names` on both ports; their connections, in the order of `names`.
pub(super) fn login_all(args: &BenchArgs, names: &[String]) -> Result<Vec<Both>> {
    let all = std::sync::Mutex::new(Vec::with_capacity(names.len()));
    login_each(args, names, &|i, conns| all.lock().expect("no panic holding it").push((i, conns)))?;
    let mut all = all.into_inner().expect("no panic holding it");
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, conns)| conns).collect())
}
