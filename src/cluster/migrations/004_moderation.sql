-- Schema version 4: rooms a teacher can run (protocol 1.2, "Moderation").
--
-- A room's owner, modes and topic are columns of its row; the names its
-- rules hold (room admins, invitations, bans, mutes) are rows of
-- `room_rules`, under the room's id: a room that dies (its last member
-- left) takes its rules with it, as a single server forgets them, and a
-- new room of the same name starts without any. Rooms made before this
-- version have no owner: server admins (`users.admin`) run them.
ALTER TABLE users ADD COLUMN admin boolean NOT NULL DEFAULT false;
ALTER TABLE rooms
    ADD COLUMN owner       bigint  REFERENCES users (id),
    ADD COLUMN announce    boolean NOT NULL DEFAULT false,
    ADD COLUMN invite_only boolean NOT NULL DEFAULT false,
    ADD COLUMN topic       text    NOT NULL DEFAULT '';
CREATE TABLE room_rules (
    room     bigint NOT NULL REFERENCES rooms (id),
    user_id  bigint NOT NULL REFERENCES users (id),
    kind     text   NOT NULL CHECK (kind IN ('ADMIN', 'INVITED', 'BANNED', 'MUTED')),
    until    bigint NOT NULL DEFAULT 0,  -- Unix ms; 0: until lifted
    PRIMARY KEY (room, user_id, kind)
);
