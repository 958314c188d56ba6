-- Schema version 5: several devices on one account (protocol 1.2).
--
-- One row per device a user logged in from or linked, as a single
-- server's devices.csv: its position in its user's inbox (the last
-- sequence number it acknowledged; NULL once forgotten), when it was last
-- seen and from where, and the SHA-256 of its token if it was linked with
-- a code. Every node reads a user's rows at a login, so a token made on
-- one node logs in on any, and a device keeps its position across nodes.
-- `folded` is the device name lowercased: names are unique ignoring case.
CREATE TABLE devices (
    user_id   bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    folded    text   NOT NULL,
    name      text   NOT NULL,
    position  bigint,
    seen_ms   bigint NOT NULL,
    address   text   NOT NULL,
    token     bytea,
    PRIMARY KEY (user_id, folded)
);
