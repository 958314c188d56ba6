-- wachat's cluster schema, version 1: what the CSV store keeps, as tables.
-- Applied once by `wachat serve --store` or `wachat migrate` (schema.rs),
-- in one transaction with the version it brings.

-- Accounts. `folded` is the name lowercased: names are unique ignoring case.
CREATE TABLE users (
    id          bigserial PRIMARY KEY,
    name        text   NOT NULL,
    folded      text   NOT NULL UNIQUE,
    email       text   NOT NULL DEFAULT '',
    hash        text   NOT NULL,
    created_ms  bigint NOT NULL,
    last_seen   bigint
);

-- One row per user: the counters of its inbox. Every transaction that
-- gives the user an event locks this row first (SELECT … FOR UPDATE, in
-- user order), so sequence numbers are unique and gap-free across nodes.
-- `sent` counts the user's own messages (the resend window).
CREATE TABLE inboxes (
    user_id   bigint PRIMARY KEY REFERENCES users (id),
    last_seq  bigint NOT NULL DEFAULT 0,
    acked     bigint NOT NULL DEFAULT 0,
    sent      bigint NOT NULL DEFAULT 0
);

-- Rooms. A room nobody is in any more is no longer `live`: its name can
-- start a new, empty room (its messages stay, under the old id).
CREATE TABLE rooms (
    id        bigserial PRIMARY KEY,
    name      text    NOT NULL,
    folded    text    NOT NULL,
    live      boolean NOT NULL DEFAULT true,
    count     bigint  NOT NULL DEFAULT 0,
    last_msg  bigint  NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX rooms_live_name ON rooms (folded) WHERE live;

-- Members and how far each read (messages numbered below `read` are read).
CREATE TABLE members (
    room     bigint NOT NULL REFERENCES rooms (id),
    user_id  bigint NOT NULL REFERENCES users (id),
    read     bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (room, user_id)
);
CREATE INDEX members_by_user ON members (user_id);

-- One row per direction of a direct conversation: how many messages went
-- that way, and the DELIVERED/READ marks as prefix lengths (protocol §6:
-- both are cumulative).
CREATE TABLE directions (
    sender     bigint NOT NULL,
    recipient  bigint NOT NULL,
    sent       bigint NOT NULL DEFAULT 0,
    delivered  bigint NOT NULL DEFAULT 0,
    read       bigint NOT NULL DEFAULT 0,
    last_msg   bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (sender, recipient)
);
CREATE INDEX directions_by_recipient ON directions (recipient);

-- Every message. `ord` is its number in its direction (direct) or room;
-- `sender_ord` its number among its sender's messages (the resend window).
-- Texts stay escaped as on the wire.
CREATE TABLE messages (
    id          bigserial PRIMARY KEY,
    sender      bigint NOT NULL,
    sender_ord  bigint NOT NULL,
    recipient   bigint,
    room        bigint,
    ord         bigint NOT NULL,
    msg_id      text   NOT NULL,
    ts          bigint NOT NULL,
    from_name   text   NOT NULL,
    to_name     text   NOT NULL,
    text        text   NOT NULL
);
CREATE INDEX messages_by_sender_id ON messages (sender, msg_id);
CREATE INDEX messages_direct ON messages (LEAST(sender, recipient), GREATEST(sender, recipient), id)
    WHERE recipient IS NOT NULL;
CREATE INDEX messages_room ON messages (room, ord) WHERE room IS NOT NULL;

-- The inboxes: events not yet acknowledged. kind 0 = MSG, 1 = STATUS
-- DELIVERED, 2 = STATUS READ (of `message`, at `ts`).
CREATE TABLE events (
    user_id  bigint   NOT NULL,
    seq      bigint   NOT NULL,
    message  bigint   NOT NULL,
    kind     smallint NOT NULL,
    ts       bigint   NOT NULL,
    PRIMARY KEY (user_id, seq)
);

-- The cluster: nodes and their heartbeats, and the one receive session of
-- each user (`node` NULL: offline). `epoch` grows with every login: the
-- highest one is the session; a node holding a lower one says BYE:REPLACED.
CREATE TABLE nodes (
    name          text   PRIMARY KEY,
    heartbeat_ms  bigint NOT NULL,
    started_ms    bigint NOT NULL
);

CREATE TABLE sessions (
    user_id   bigint  PRIMARY KEY REFERENCES users (id),
    node      text,
    epoch     bigint  NOT NULL DEFAULT 0,
    p2p_port  integer
);
CREATE INDEX sessions_by_node ON sessions (node) WHERE node IS NOT NULL;
