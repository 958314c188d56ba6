//! Group `taking`: the frames a server takes from a peer that linked to
//! it (docs/PROTOCOL.md §27, "The stream", "The frames", "Bounds"). The
//! suite links to the server and sends numbered frames: a message reaches
//! the server's user as any message does; every frame is answered once,
//! in order; duplicates — by number, by message id, a replay after a
//! reconnect, a lower number sent after a higher one — are acknowledged
//! and delivered to nobody again; a frame that speaks for another
//! server's user, names a user or a server that is not there, carries a
//! hostile text or a number past 2^53, or is too long, is refused, and
//! the link goes on (but for the frame too long, which closes it).
//!
//! A call's signal (1.3, an unnumbered `CALL` frame) is carried or
//! refused cleanly: a server that carries calls answers an offer `OK` or
//! a refusal of one server's (and refuses another server's user
//! `FORBIDDEN`, a call that is not there `BAD_REQUEST`); one that does
//! not answers it `KO:BAD_REQUEST`, which is its word for "no calls here";
//! either way the link goes on.
//!
//! Whether a message was delivered once is seen on the user's receive
//! connection: after the frames of a case, a last message is sent, and it
//! must be the next event (nothing else came in between).

use super::case::{LinkCase, LinkCtx, Wants, case};
use super::link::OpenedLink;
use super::peer::now_ms;
use crate::conform::case::check;
use crate::conform::messages::{next_msg, send_msg};
use crate::conform::status::next_status;
use crate::conform::wire::Conn;
use crate::conform::{Failure, Group};
use crate::protocol::link::MAX_NUMBER;
use crate::protocol::{Code, MAX_FRAME, MsgState};

pub fn cases() -> Vec<LinkCase> {
    let c = |name, section, run| case(Group::Taking, name, section, run);
    vec![
        c("message-delivered", "§27 The frames", message_delivered),
        c("escapes-travel-unchanged", "§27 The link", escapes_travel_unchanged),
        c("pipelined-frames-answered-in-order", "§27 The stream", pipelined_in_order),
        c("duplicate-number-taken-once", "§27 Replay", duplicate_number_taken_once),
        c("duplicate-id-taken-once", "§27 The frames", duplicate_id_taken_once),
        c("replay-resumes-after-last", "§27 Replay", replay_resumes_after_last),
        c("numbers-may-skip", "§27 Replay", numbers_may_skip),
        c("lower-number-not-applied", "§27 Replay", lower_number_not_applied),
        c("spoofed-origin-forbidden", "§27 The frames", spoofed_origin_forbidden),
        c("unknown-user-refused", "§27 The frames", unknown_user_refused),
        c("other-destination-refused", "§27 The frames", other_destination_refused),
        c("hostile-text-refused", "§27 The link", hostile_text_refused),
        c("text-length-limits", "§27 Bounds", text_length_limits),
        c("max-frame-still-read", "§27 Bounds", max_frame_still_read),
        c("frame-too-long-closes", "§27 Bounds", frame_too_long_closes),
        c("numbers-past-2^53-refused", "§27 Bounds", numbers_past_2_53_refused),
        c("number-past-the-window-refused", "§27 Replay", number_past_the_window_refused),
        c("statuses-reach-the-author", "§27 The frames", statuses_reach_the_author),
        c("status-of-no-message-refused", "§27 The frames", status_of_no_message_refused),
        c("status-of-another-state-refused", "§27 The frames", status_of_another_state_refused),
        c("ping-and-quit", "§27 Unnumbered frames", ping_and_quit),
        c("calls-carried-or-refused-cleanly", "§27 Calls across servers", calls_carried_or_refused_cleanly),
        c("file-taken-whole", "§27 Files across servers", file_taken_whole).wants(Wants::Files),
        c("files-refused-cleanly", "§27 Files across servers", files_refused_cleanly).wants(Wants::NoFiles),
        c("people-searched-or-declined", "§26 Finding people, §27 The frames", people_searched),
    ]
}

/// The server's user `b`, with its receive connection, and a link.
fn setup(ctx: &LinkCtx) -> Result<(Conn, OpenedLink), Failure> {
    ctx.user("b")?;
    let b = ctx.recv("b")?;
    Ok((b, ctx.link("link")?))
}

/// Sends message `id` from the suite's `a` to the server's `b` under the
/// suite's next number; its `ACK` must come.
fn send(ctx: &LinkCtx, link: &mut OpenedLink, id: &str, text: &str) -> Result<u64, Failure> {
    let n = ctx.peer.number();
    link.acked(n, &ctx.msg_frame(n, "a", "b", id, text))?;
    Ok(n)
}

/// The next message on `b`'s receive connection is `id` from the suite's
/// `a`, with `text` (escaped).
fn next_is(ctx: &LinkCtx, b: &mut Conn, id: &str, text: &str) -> Result<(), Failure> {
    let (seq, from, to, got_id, _, got_text) = next_msg(b)?;
    let want = format!("MSG:<seq>:{}:{}:{id}:<ts>:{text}", ctx.remote("a"), ctx.name("b"));
    let got = format!("MSG:{seq}:{from}:{to}:{got_id}:…:{got_text}");
    let same_to = to.eq_ignore_ascii_case(&ctx.name("b"));
    check(
        (from.as_str(), got_id.as_str(), got_text.as_str()) == (&ctx.remote("a"), id, text) && same_to,
        want,
        got,
    )
}

/// A last message, which must be the next one `b` gets: nothing came
/// before it that should not have.
fn nothing_else(ctx: &LinkCtx, link: &mut OpenedLink, b: &mut Conn) -> Result<(), Failure> {
    send(ctx, link, "last", "the last message")?;
    next_is(ctx, b, "last", "the last message")
}

fn message_delivered(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let (mut b, mut link) = setup(ctx)?;
    let n = ctx.peer.number();
    let ts = now_ms();
    let frame = format!("MSG:{n}:{}:{}:m1:{ts}:hello from the suite", ctx.remote("a"), ctx.address("b"));
    link.acked(n, &frame)?;
    let (seq, from, to, id, got_ts, text) = next_msg(&mut b)?;
    let want = format!("MSG:<seq>:{}:{}:m1:{ts}:hello from the suite", ctx.remote("a"), ctx.name("b"));
    let ok = from == ctx.remote("a")
        && to.eq_ignore_ascii_case(&ctx.name("b"))
        && (id.as_str(), got_ts, text.as_str()) == ("m1", ts, "hello from the suite");
    check(ok, want, format!("MSG:{seq}:{from}:{to}:{id}:{got_ts}:{text}"))
}

fn escapes_travel_unchanged(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let (mut b, mut link) = setup(ctx)?;
    let text = r"line one\nline two \\o/ 10:30";
    send(ctx, &mut link, "m1", text)?;
    next_is(ctx, &mut b, "m1", text)
}

/// Twenty frames in one go: twenty `ACK`s in order, twenty messages in
/// order.
fn pipelined_in_order(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let (mut b, mut link) = setup(ctx)?;
    let numbers: Vec<u64> = (0..20).map(|_| ctx.peer.number()).collect();
    for (i, n) in numbers.iter().enumerate() {
        link.send(&ctx.msg_frame(*n, "a", "b", &format!("p{i}"), &format!("pipelined {i}")))?;
    }
    for n in &numbers {
        link.answer(&format!("ACK:{n}"))?;
    }
    for i in 0..numbers.len() {
        next_is(ctx, &mut b, &format!("p{i}"), &format!("pipelined {i}"))?;
    }
    Ok(())
}

fn duplicate_number_taken_once(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let (mut b, mut link) = setup(ctx)?;
    let n = ctx.peer.number();
    let frame = ctx.msg_frame(n, "a", "b", "m1", "once");
    link.acked(n, &frame)?;
    link.acked(n, &frame)?;
    next_is(ctx, &mut b, "m1", "once")?;
    nothing_else(ctx, &mut link, &mut b)
}

fn duplicate_id_taken_once(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let (mut b, mut link) = setup(ctx)?;
    send(ctx, &mut link, "m1", "once")?;
    send(ctx, &mut link, "m1", "once, under another number")?;
    next_is(ctx, &mut b, "m1", "once")?;
    nothing_else(ctx, &mut link, &mut b)
}

/// After a reconnect the server says how far it took the suite's frames;
/// the frame at that number, sent again, is acknowledged and not
/// delivered again.
fn replay_resumes_after_last(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let (mut b, mut link) = setup(ctx)?;
    send(ctx, &mut link, "m1", "one")?;
    let n = ctx.peer.number();
    let frame = ctx.msg_frame(n, "a", "b", "m2", "two");
    link.acked(n, &frame)?;
    link.close();
    let mut again = ctx.link("link2")?;
    check(again.last == n, format!("OK:{n} (the last frame taken)"), format!("OK:{}", again.last))?;
    again.acked(n, &frame)?;
    next_is(ctx, &mut b, "m1", "one")?;
    next_is(ctx, &mut b, "m2", "two")?;
    nothing_else(ctx, &mut again, &mut b)
}

fn numbers_may_skip(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let (mut b, mut link) = setup(ctx)?;
    let n = ctx.peer.number() + 10;
    ctx.peer.resumed(n);
    link.acked(n, &ctx.msg_frame(n, "a", "b", "m1", "ten further"))?;
    next_is(ctx, &mut b, "m1", "ten further")
}

/// A reordering attempt: frame n+1, then frame n. The stream's order is
/// the numbers': n is at or below the last taken, a duplicate, answered
/// `ACK` and not delivered.
fn lower_number_not_applied(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let (mut b, mut link) = setup(ctx)?;
    let (low, high) = (ctx.peer.number(), ctx.peer.number());
    link.send(&ctx.msg_frame(high, "a", "b", "m2", "sent first, numbered second"))?;
    link.send(&ctx.msg_frame(low, "a", "b", "m1", "sent second, numbered first"))?;
    link.answer(&format!("ACK:{high}"))?;
    link.answer(&format!("ACK:{low}"))?;
    next_is(ctx, &mut b, "m2", "sent first, numbered second")?;
    nothing_else(ctx, &mut link, &mut b)
}

/// A peer speaks only for its own users: not for a third server's, nor
/// for the server's own.
fn spoofed_origin_forbidden(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let (mut b, mut link) = setup(ctx)?;
    let third = format!("{}@{}", ctx.name("eve"), ctx.name("lab3"));
    let theirs = ctx.address("c");
    for (from, id) in [(&third, "x1"), (&theirs, "x2")] {
        let n = ctx.peer.number();
        let frame = format!("MSG:{n}:{from}:{}:{id}:{}:I am not who I say", ctx.address("b"), now_ms());
        link.refused(n, &frame, Code::Forbidden)?;
    }
    let n = ctx.peer.number();
    let status = format!("STATUS:{n}:{third}:{}:x1:READ:{}", ctx.address("b"), now_ms());
    link.refused(n, &status, Code::Forbidden)?;
    nothing_else(ctx, &mut link, &mut b)
}

fn unknown_user_refused(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let (mut b, mut link) = setup(ctx)?;
    let n = ctx.peer.number();
    link.refused(n, &ctx.msg_frame(n, "a", "nobody", "m1", "anyone there?"), Code::UnknownUser)?;
    nothing_else(ctx, &mut link, &mut b)
}

/// A message for a user of another server (the link is to this one).
fn other_destination_refused(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let (mut b, mut link) = setup(ctx)?;
    let n = ctx.peer.number();
    let to = format!("{}@{}", ctx.name("b"), ctx.name("lab3"));
    let frame = format!("MSG:{n}:{}:{to}:m1:{}:not for you", ctx.remote("a"), now_ms());
    link.refused(n, &frame, Code::UnknownServer)?;
    nothing_else(ctx, &mut link, &mut b)
}

/// Control characters and a bad escape: refused as a client's text is.
fn hostile_text_refused(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let (mut b, mut link) = setup(ctx)?;
    for (id, text) in
        [("h1", "\u{1b}[2J\u{1b}]0;pwned\u{7}cleared"), ("h2", r"tab\there"), ("h3", "ends with \\")]
    {
        let n = ctx.peer.number();
        link.refused(n, &ctx.msg_frame(n, "a", "b", id, text), Code::BadRequest)?;
    }
    nothing_else(ctx, &mut link, &mut b)
}

/// A text is 1 to 4096 bytes once unescaped, as a client's.
fn text_length_limits(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let (mut b, mut link) = setup(ctx)?;
    let longest = "ñ".repeat(2048); // 4096 bytes
    send(ctx, &mut link, "m1", &longest)?;
    for (id, text) in [("m2", format!("{longest}x")), ("m3", String::new())] {
        let n = ctx.peer.number();
        link.refused(n, &ctx.msg_frame(n, "a", "b", id, &text), Code::BadRequest)?;
    }
    next_is(ctx, &mut b, "m1", &longest)?;
    nothing_else(ctx, &mut link, &mut b)
}

/// A frame of `len` bytes with its `\n`.
fn frame_of(ctx: &LinkCtx, n: u64, len: usize) -> String {
    let head = ctx.msg_frame(n, "a", "b", "m1", "");
    format!("{head}{}", "x".repeat(len - head.len() - 1))
}

/// A frame of exactly 16384 bytes is read (and refused for its text).
fn max_frame_still_read(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let (_, mut link) = setup(ctx)?;
    let n = ctx.peer.number();
    link.refused(n, &frame_of(ctx, n, MAX_FRAME), Code::BadRequest)?;
    link.alive()
}

fn frame_too_long_closes(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let (_, mut link) = setup(ctx)?;
    let n = ctx.peer.number();
    link.send(&frame_of(ctx, n, MAX_FRAME + 1))?;
    link.conn.expect_ko(Code::TooLong)?;
    link.conn.expect_closed()
}

/// `<n>` and `<ts>` are at most 2^53: past it a frame is refused (with
/// its number, or without when the number is the field at fault).
fn numbers_past_2_53_refused(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let (mut b, mut link) = setup(ctx)?;
    let n = ctx.peer.number();
    let late =
        format!("MSG:{n}:{}:{}:m1:{}:from the far future", ctx.remote("a"), ctx.address("b"), MAX_NUMBER + 2);
    link.refused(n, &late, Code::BadRequest)?;
    let huge = MAX_NUMBER + 2;
    link.send(&ctx.msg_frame(huge, "a", "b", "m2", "numbered past 2^53"))?;
    let got = link.conn.line("KO:BAD_REQUEST:… or KO:<n>:BAD_REQUEST:…")?;
    let code =
        got.strip_prefix("KO:").map(|rest| rest.trim_start_matches(|c: char| c.is_ascii_digit() || c == ':'));
    check(code.is_some_and(|c| c.starts_with("BAD_REQUEST")), "KO:…BAD_REQUEST:…", got)?;
    // The server may close the link after a frame it cannot number.
    let mut link = ctx.link("link2")?;
    nothing_else(ctx, &mut link, &mut b)
}

/// A frame numbered more than 1,000,000 past the last the server took is
/// refused `BAD_REQUEST` and not counted: the next frame in order is
/// still taken (a frame numbered 2^53 - 1 would otherwise make every
/// later frame of the peer a duplicate).
fn number_past_the_window_refused(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let (mut b, mut link) = setup(ctx)?;
    let n = ctx.peer.number();
    let far = n + 1_000_000;
    link.refused(far, &ctx.msg_frame(far, "a", "b", "m1", "too far ahead"), Code::BadRequest)?;
    link.acked(n, &ctx.msg_frame(n, "a", "b", "m2", "next in order"))?;
    next_is(ctx, &mut b, "m2", "next in order")?;
    nothing_else(ctx, &mut link, &mut b)
}

/// `DELIVERED` and `READ` of a message the server's user wrote to the
/// suite's reach its author's receive connection, naming the reader by
/// its address.
fn statuses_reach_the_author(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let mut b_send = ctx.user("b")?;
    let mut b = ctx.recv("b")?;
    send_msg(&mut b_send, &ctx.remote("a"), "b1", "for the suite")?;
    let took = ctx.peer.msg("b1", ctx.redial_deadline());
    took.ok_or_else(|| Failure::new("the server's MSG frame of b1 at the suite's link port", "none"))?;
    let mut link = ctx.link("link")?;
    for (state, word) in [(MsgState::Delivered, "DELIVERED"), (MsgState::Read, "READ")] {
        let n = ctx.peer.number();
        let frame = format!("STATUS:{n}:{}:{}:b1:{word}:{}", ctx.remote("a"), ctx.address("b"), now_ms());
        link.acked(n, &frame)?;
        let (seq, peer, id, got) = next_status(&mut b)?;
        let want = format!("STATUS:<seq>:{}:b1:{word}:<ts>", ctx.remote("a"));
        let shown = format!("STATUS:{seq}:{peer}:{id}:{}:…", got.as_str());
        check((peer.as_str(), id.as_str(), got) == (ctx.remote("a").as_str(), "b1", state), want, shown)?;
    }
    Ok(())
}

fn status_of_no_message_refused(ctx: &mut LinkCtx) -> Result<(), Failure> {
    status_refused(ctx, "READ", Code::UnknownMessage)
}

/// `FAILED` is a client's state (a bounce), never a link's.
fn status_of_another_state_refused(ctx: &mut LinkCtx) -> Result<(), Failure> {
    status_refused(ctx, "FAILED", Code::BadRequest)
}

/// A `STATUS` frame in `state` of a message `zz` nobody sent, refused with
/// `code`; the link goes on.
fn status_refused(ctx: &LinkCtx, state: &str, code: Code) -> Result<(), Failure> {
    let (_, mut link) = setup(ctx)?;
    let n = ctx.peer.number();
    let frame = format!("STATUS:{n}:{}:{}:zz:{state}:{}", ctx.remote("a"), ctx.address("b"), now_ms());
    link.refused(n, &frame, code)?;
    link.alive()
}

fn ping_and_quit(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let mut link = ctx.link("link")?;
    link.alive()?;
    link.send("QUIT")?;
    link.answer("OK")?;
    link.conn.expect_closed()
}

/// An unnumbered answer to a `CALL` frame: `OK`, or `KO:<CODE>:…`.
fn call_answer(link: &mut OpenedLink, frame: &str) -> Result<Result<(), Code>, Failure> {
    link.send(frame)?;
    let want = "OK or KO:<CODE>:… (unnumbered)";
    let got = link.conn.line(want)?;
    match crate::protocol::link::Answer::parse(&got) {
        Ok(crate::protocol::link::Answer::Ok) => Ok(Ok(())),
        Ok(crate::protocol::link::Answer::Ko(None, code, _)) => Ok(Err(code)),
        _ => Err(Failure::new(want, got)),
    }
}

/// The suite's `a` offers the server's `b` a call. A server that does not
/// carry calls refuses it `BAD_REQUEST`; one that does takes it (or says
/// why `b` cannot be rung), refuses a signal of another server's user
/// `FORBIDDEN` and one of a call that is not there `BAD_REQUEST`, and
/// takes the hang-up of its call. Then the link still carries a message.
fn calls_carried_or_refused_cleanly(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let (mut b, mut link) = setup(ctx)?;
    let (a, to) = (ctx.remote("a"), ctx.address("b"));
    let offer = call_answer(&mut link, &format!("CALL:{a}:{to}:cf1:OFFER:voice:v=0\\n"))?;
    if offer != Err(Code::BadRequest) {
        let carried = [Code::Offline, Code::Full, Code::RateLimited, Code::Forbidden];
        check(
            offer.is_ok_and(|()| true) || offer.is_err_and(|c| carried.contains(&c)),
            "OK, or KO:OFFLINE|FULL|RATE_LIMITED|FORBIDDEN",
            format!("{offer:?}"),
        )?;
        let third = format!("{}@{}", ctx.name("eve"), ctx.name("lab3"));
        let forged = call_answer(&mut link, &format!("CALL:{third}:{to}:cf1:HANGUP"))?;
        check(
            forged == Err(Code::Forbidden),
            "KO:FORBIDDEN:… (eve of lab3 is not the suite's)",
            format!("{forged:?}"),
        )?;
        let none = call_answer(&mut link, &format!("CALL:{a}:{to}:cf9:HANGUP"))?;
        check(none == Err(Code::BadRequest), "KO:BAD_REQUEST:… (no call cf9)", format!("{none:?}"))?;
        if offer.is_ok() {
            let hung_up = call_answer(&mut link, &format!("CALL:{a}:{to}:cf1:HANGUP"))?;
            check(hung_up.is_ok(), "OK (the hang-up of cf1)", format!("{hung_up:?}"))?;
        }
    }
    link.alive()?;
    nothing_else(ctx, &mut link, &mut b)
}

/// 1.3 (§27, "Files across servers"): the bytes of a file, announced,
/// sent in two parts, then its message: the server's user gets the
/// message, and its server serves the file by `FILEOF` and `FETCH`, the
/// same bytes.
fn file_taken_whole(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let mut b_send = ctx.user("b")?;
    let mut b = ctx.recv("b")?;
    let mut link = ctx.link("link")?;
    let bytes: Vec<u8> = (0..20_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    let sha = crate::store::files::sha256_of_reader(&mut &bytes[..])
        .map_err(|e| Failure::new("a sum", e.to_string()))?;
    let file = "00000000000000000000000000c0ffee";
    link.send(&format!("UPLOAD:{file}:20000:{sha}:notes.bin"))?;
    link.answer("OK:0")?;
    for (from, to) in [(0, 12_000), (12_000, 20_000)] {
        let part = crate::protocol::files::encode(&bytes[from..to]);
        link.send(&format!("PART:{file}:{from}:{part}"))?;
        link.answer(&format!("OK:{to}"))?;
    }
    let n = ctx.peer.number();
    let text = "📎 notes.bin (20 KB) from the suite";
    let frame = format!("FILE:{n}:{}:{}:f1:{}:{file}:{text}", ctx.remote("a"), ctx.address("b"), now_ms());
    link.acked(n, &frame)?;
    next_is(ctx, &mut b, "f1", text)?;
    let a = ctx.remote("a");
    let of = b_send.ok(&format!("FILEOF:{a}:{a}:f1"))?;
    let want = "OK:<file id>:20000:application/octet-stream:notes.bin";
    let id = of.split(':').next().unwrap_or_default().to_string();
    check(of.ends_with(":20000:application/octet-stream:notes.bin"), want, format!("OK:{of}"))?;
    let mut got = Vec::new();
    loop {
        let part = b_send.ok(&format!("FETCH:{id}:{}", got.len()))?;
        if part.is_empty() {
            break;
        }
        let data = crate::protocol::files::decode(&part).map_err(|e| Failure::new("base64", e))?;
        got.extend(data);
        if got.len() > bytes.len() {
            break;
        }
    }
    check(got == bytes, "the 20000 bytes the suite sent", format!("{} bytes, not the same", got.len()))
}

/// 1.3: a server that declares it does not carry files (`--no-files`)
/// refuses a file's `UPLOAD` and its message with a `KO`, for good, and
/// the link goes on: the next message is delivered.
fn files_refused_cleanly(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let (mut b, mut link) = setup(ctx)?;
    let file = "00000000000000000000000000c0ffee";
    let sha = "b482e431d2a3177119b78af53c10e01fc2ca43a95796433b95d5baa924b4e1a6";
    link.send(&format!("UPLOAD:{file}:13:{sha}:notes.txt"))?;
    let want = "KO:<code>:<words saying why>, for good";
    let got = link.conn.line(want)?;
    match crate::protocol::link::Answer::parse(&got) {
        Ok(crate::protocol::link::Answer::Ko(None, code, why))
            if !crate::protocol::link::Answer::for_now(code) && !why.is_empty() => {}
        _ => return Err(Failure::new(want, got)),
    }
    let n = ctx.peer.number();
    let frame = format!(
        "FILE:{n}:{}:{}:f1:{}:{file}:📎 notes.txt (13 B)",
        ctx.remote("a"),
        ctx.address("b"),
        now_ms()
    );
    link.send(&frame)?;
    let want = format!("KO:{n}:<code>:…, for good");
    let got = link.conn.line(&want)?;
    match crate::protocol::link::Answer::parse(&got) {
        Ok(crate::protocol::link::Answer::Ko(Some(m), code, _))
            if m == n && !crate::protocol::link::Answer::for_now(code) => {}
        _ => return Err(Failure::new(want, got)),
    }
    link.alive()?;
    nothing_else(ctx, &mut link, &mut b)
}

/// 1.3 (§26, §27): the suite's user searches the server's people by the
/// start of `b`'s name (`PEOPLE:<asker>@<suite>:<start>`, unnumbered):
/// answered `OK:<n>` and `n` lines `<user>:<ONLINE|ts|UNKNOWN>` of its own
/// users (at most 20), `b` (in `#general`) among them; a server that declares it does not
/// (`--no-people`) refuses with a `KO` and the link goes on. A search for
/// another server's user is refused `FORBIDDEN`.
fn people_searched(ctx: &mut LinkCtx) -> Result<(), Failure> {
    use crate::protocol::link::{Answer, MAX_PEOPLE_ACROSS};
    // `b` stays in `#general`, whose members a server lists to the users
    // of other servers (§26).
    ctx.user_in_general("b")?;
    let mut link = ctx.link("link")?;
    let name = ctx.name("b");
    link.send(&format!("PEOPLE:{}:{name}", ctx.remote("a")))?;
    let head = link.conn.line("OK:<n> (or, with --no-people, KO:<code>:…)")?;
    match (Answer::parse(&head), ctx.plan.no_people) {
        (Ok(Answer::Ko(None, _, why)), true) if !why.is_empty() => return link.alive(),
        (Ok(Answer::Hello(n)), false) if n as usize <= MAX_PEOPLE_ACROSS => {
            let mut found = false;
            for i in 0..n {
                let line = link.conn.line(&format!("line {} of {n}: <user>:<presence>", i + 1))?;
                let seen = crate::protocol::SeenLine::parse(&line)
                    .map_err(|e| Failure::new("<user>:<ONLINE|ts|UNKNOWN>, a user of the server", e))?;
                check(!seen.user.contains('@'), "a user of the server, by its name there", &line)?;
                found |= seen.user.eq_ignore_ascii_case(&name);
            }
            check(found, format!("{name} among the people found"), "not listed")?;
        }
        (_, no_people) => {
            let want = if no_people { "KO:<code>:<why> (--no-people)" } else { "OK:<n>, at most 20" };
            return Err(Failure::new(want, head));
        }
    }
    link.send(&format!("PEOPLE:{}@{}:{name}", ctx.name("eve"), ctx.name("elsewhere")))?;
    let want = "KO:FORBIDDEN:… (a search for another server's user)";
    let got = link.conn.line(want)?;
    check(matches!(Answer::parse(&got), Ok(Answer::Ko(None, Code::Forbidden, _))), want, got)?;
    link.alive()
}
