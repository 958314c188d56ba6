-- Schema version 7: each user's stored bytes, for `--user-quota` on a
-- cluster (issue 25; src/cluster/budget.rs).
--
-- The counter sits on the user's `inboxes` row, which every batch that
-- stores a message of the user locks already: the batch checks it against
-- the quota and adds each new message in its one UPDATE of the counters,
-- so a send never scans. Filled once here from the messages stored so
-- far, with the sum `budget::message_bytes` makes for a new one: its
-- strings and 72 bytes for the rest of its row.
ALTER TABLE inboxes ADD COLUMN stored bigint NOT NULL DEFAULT 0;
UPDATE inboxes i SET stored = s.bytes
    FROM (SELECT sender, sum(octet_length(text) + octet_length(msg_id) + octet_length(from_name)
                             + octet_length(to_name) + 72)::int8 AS bytes
          FROM messages GROUP BY sender) AS s
    WHERE i.user_id = s.sender;
