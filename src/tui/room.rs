//! What the full-screen console shows of a room's rules (protocol 1.2):
//! in the conversation's title, 📢 for an announce-only room, its topic,
//! and until when you are muted. Asked with `ROOMINFO` when a room is
//! opened (by the worker, which waits for the server) and again at each
//! moderation event about that room.

use std::collections::HashMap;

use crate::console::moderation::until;
use crate::i18n::Lang;
use crate::i18n::moderation::Msg;
use crate::i18n::tr;
use crate::protocol::names::fold;
use crate::protocol::{Chat, RoomInfoLine, RoomMode, Text};

/// A room's header, from its `ROOMINFO`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoomHeader {
    pub announce: bool,
    /// Plain (unescaped); empty: none.
    pub topic: String,
    /// You are muted until then (Unix ms).
    pub muted: Option<u64>,
}

impl RoomHeader {
    pub fn from_info(info: &[RoomInfoLine]) -> RoomHeader {
        let mut header = RoomHeader::default();
        for line in info {
            match line {
                RoomInfoLine::Mode(RoomMode::Announce) => header.announce = true,
                RoomInfoLine::Topic(t) => {
                    header.topic = Text::parse(t).map_or_else(|_| t.clone(), |t| t.unescaped())
                }
                RoomInfoLine::Muted(t) => header.muted = Some(*t),
                _ => {}
            }
        }
        header
    }

    /// The title's additions: ` 📢`, ` · <topic>`, ` · muted until 14:05`.
    pub fn parts(&self, lang: Lang) -> Vec<String> {
        let mut parts = Vec::new();
        if self.announce {
            parts.push("📢".to_string());
        }
        if !self.topic.is_empty() {
            parts.push(self.topic.replace('\n', " "));
        }
        if let Some(t) = self.muted {
            parts.push(tr!(in lang; Msg::InfoMuted, until = until(t)));
        }
        parts
    }
}

/// The headers of the rooms opened, by folded name.
#[derive(Default)]
pub struct RoomHeaders(HashMap<String, RoomHeader>);

impl RoomHeaders {
    pub fn set(&mut self, room: &Chat, header: RoomHeader) {
        self.0.insert(fold(&room.to_string()), header);
    }

    pub fn get(&self, chat: &Chat) -> Option<&RoomHeader> {
        self.0.get(&fold(&chat.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_says_announce_topic_and_mute() {
        let info = [
            RoomInfoLine::Room("#lab".into()),
            RoomInfoLine::Mode(RoomMode::Announce),
            RoomInfoLine::Topic("week 2\\nsockets".into()),
            RoomInfoLine::Muted(0),
        ];
        let header = RoomHeader::from_info(&info);
        let parts = header.parts(Lang::En);
        assert_eq!(parts[0], "📢");
        assert_eq!(parts[1], "week 2 sockets");
        assert!(parts[2].starts_with("you are muted until"), "{parts:?}");
    }
}
