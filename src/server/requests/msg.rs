//! `MSG:<to>:<id>:<text>` (protocol §4): a message to a user or a room.
//!
//! The plain path of a message, in order: `Request::parse` read it;
//! `Session::handle` handed it to `requests::serve`, which calls
//! [`gather`]; `Session::send_msgs` meters the gathered burst and hands it to
//! the store in one call (`LocalStore::send`, which checks whether this user
//! may send this, appends and commits it: one fsync for the burst); the
//! store delivers it once it is on disk, then the `OK` leaves, after the
//! replies of the requests read before it.

use crate::protocol::{Chat, Text};
use crate::server::session::{Flow, Session};

use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["MSG"], Version::V1_0, Kind::Stored);

/// Gathers the message: the `MSG`s of one burst reach the store together
/// and share one fsync. (An id of an action's form was refused by
/// `Request::parse`, `action::check_sent_id`.)
pub(super) fn gather(s: &mut Session, to: Chat, id: String, text: Text) -> Flow {
    s.msgs.push((to, id, text));
    Flow::Continue
}
