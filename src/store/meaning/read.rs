//! What a `READ` (and a `DELIVERED`) naming a message that is not there is
//! answered, decided once, here: a single server and every node of a
//! cluster run this same code. The contract has
//! one code for it, `KO:UNKNOWN_MESSAGE`, whether the sender or its
//! message is missing; the reason says which. Whether a message found
//! moves a mark is [`super::reads`].

use crate::protocol::{Chat, Ko};

/// The sender named `asked` of a direct chat's message, as the store
/// found it.
pub fn sender<U>(asked: &str, found: Option<U>) -> Result<U, Ko> {
    found.ok_or_else(|| Ko::no_sender(asked))
}

/// Message `id` of `chat` (its sender, or its room), as the store found
/// it among those sent to the reader.
pub fn message<M>(id: &str, chat: &Chat, found: Option<M>) -> Result<M, Ko> {
    found.ok_or_else(|| Ko::no_message(id, chat))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Code;

    #[test]
    fn a_missing_sender_and_a_missing_message_share_one_code() {
        assert_eq!(sender("ana", Some(1)), Ok(1));
        let nobody = sender::<u32>("zed", None).unwrap_err();
        assert_eq!((nobody.code, nobody.reason.as_str()), (Code::UnknownMessage, "no user named zed"));
        let chat = Chat::Room("lab".into());
        assert_eq!(message("m1", &chat, Some(4)), Ok(4));
        let none = message::<u32>("m1", &chat, None).unwrap_err();
        assert_eq!(
            (none.code, none.reason.as_str()),
            (Code::UnknownMessage, "no message m1 from #lab to you")
        );
    }
}
