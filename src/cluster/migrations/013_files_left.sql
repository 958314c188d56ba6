-- Schema version 13 (issue 49): a file belongs to the account that
-- uploaded it, not to its name, which a new account may take once the
-- old one is deleted. A deleted account's files get an empty `owner`
-- (and `owner_key`), and each message it wrote or received marks that
-- side as left: its name reads the file by it no more
-- (src/store/files/mod.rs holds the rule both stores follow).
-- (IF NOT EXISTS: a test replays migrations on a newer database.)
ALTER TABLE file_carriers ADD COLUMN IF NOT EXISTS author_left boolean NOT NULL DEFAULT false;
ALTER TABLE file_carriers ADD COLUMN IF NOT EXISTS recipient_left boolean NOT NULL DEFAULT false;
CREATE INDEX IF NOT EXISTS file_carriers_chat ON file_carriers (chat_key);
