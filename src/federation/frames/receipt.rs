//! The receipt family (`protocol::link::receipt`): `RECEIPT`, numbered.
//!
//! - **Accepting**: taken into the store (`LocalStore::take_frame`) as
//!   the `DELIVERED` or `READ` record a member of this server would
//!   write, for the peer's user, in the room here (homed here, or this
//!   server's copy of it): so `RECEIPTS` lists it, and the room's ✓✓
//!   counts it, by the same code. Refused for good (`FORBIDDEN`) when the
//!   reader is not the peer's, (`NOT_MEMBER`) not a member of the room
//!   here, (`UNKNOWN_MESSAGE`) for a message that is not the room's
//!   among its author's last 256 here (its resend window).
//! - **Sending**: a member of this server's `DELIVERED` or `READ` in a
//!   room with members of other servers is queued for each of their
//!   servers (`state::receipts`), and sent from the store's queue as the
//!   message family's frames are. A peer that does not know the frame
//!   answers `KO:<n>:BAD_REQUEST:unknown frame …`: refused for good, the
//!   receipt is dropped (nobody is bounced), and the link goes on.

use super::sides::{Flow, Taking};
use crate::protocol::link::{Frame, ReceiptFrame};

/// The accepting side of a `RECEIPT`.
pub(super) fn take(link: &mut Taking, receipt: ReceiptFrame) -> std::io::Result<Flow> {
    let (f, from, n) = (link.f, link.from, receipt.n);
    let frame = Frame::Receipt(receipt);
    link.numbered(n, |ctx| ctx.store.take_frame(from, &f.me, &frame))?;
    Ok(Flow::More)
}
