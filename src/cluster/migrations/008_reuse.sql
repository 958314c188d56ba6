-- Schema version 8: a deleted account's name taken again once its
-- quarantine is over (protocol 1.2, issue 31; src/cluster/accounts.rs).
--
-- The account keeps its number (`users.id`): every row that names it
-- stays as it is, and the new owner of the name gets a **cut** instead.
-- `users.since` is the first `messages.id` it may see (0: no cut, all of
-- them): HISTORY, CHATS, SEARCH and the resend window read nothing below
-- it. `directions.base` is how many messages of a direction towards the
-- user came before the cut: its unread count is `sent - greatest(read,
-- base)`, so what the old account left unread is not the new one's.
ALTER TABLE users ADD COLUMN since bigint NOT NULL DEFAULT 0;
ALTER TABLE directions ADD COLUMN base bigint NOT NULL DEFAULT 0;

-- An account deleted before this version has the plain mark, with no
-- time: its quarantine counts from this upgrade, so that its name is not
-- free at once (`--name-quarantine-days` after the upgrade).
UPDATE users SET hash = '!deleted:' || (extract(epoch FROM clock_timestamp()) * 1000)::bigint
    WHERE hash = '!deleted';
