//! Chatting over sockets, feature by feature, against a real server:
//! rooms, devices, message actions, archived and starred chats, calls,
//! files, moderation, preferences, unread counts, history a page at a
//! time and finding people (protocol 1.2).
//!
//! One test binary, its tests by topic in `tests/chat/`.

mod support;

#[path = "chat/actions.rs"]
mod actions;
#[path = "chat/actions_props.rs"]
mod actions_props;
#[path = "chat/archive.rs"]
mod archive;
#[path = "chat/calls.rs"]
mod calls;
#[path = "chat/devices.rs"]
mod devices;
#[path = "chat/devices_props.rs"]
mod devices_props;
#[path = "chat/files.rs"]
mod files;
#[path = "chat/group_calls.rs"]
mod group_calls;
#[path = "chat/history.rs"]
mod history;
#[path = "chat/marks.rs"]
mod marks;
#[path = "chat/moderation.rs"]
mod moderation;
#[path = "chat/people.rs"]
mod people;
#[path = "chat/prefs.rs"]
mod prefs;
#[path = "chat/profile.rs"]
mod profile;
#[path = "chat/push.rs"]
mod push;
#[path = "chat/receipts.rs"]
mod receipts;
#[path = "chat/rooms.rs"]
mod rooms;
#[path = "chat/starred.rs"]
mod starred;
#[path = "chat/unread.rs"]
mod unread;
