-- Schema version 12: a user's settings (protocol 1.2, §23: archived
-- chats), as a single server's SET records (src/store/settings.rs holds
-- the rules both apply). A row per key a user set: `name` is the
-- setting's (`archive`), `key` what it is about (a folded chat name),
-- `value` what is kept (the chat as first named). One table for every
-- setting: a new one needs no migration.
-- (IF NOT EXISTS: a test replays migrations on a newer database.)
CREATE TABLE IF NOT EXISTS settings (
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name    text   NOT NULL,
    key     text   NOT NULL,
    value   text   NOT NULL,
    PRIMARY KEY (user_id, name, key)
);
