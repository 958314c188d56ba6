-- Schema version 14 (issue 54): one store for a user's per-chat settings.
-- The blocks and chat preferences of version 10 move into `settings`
-- (version 12), as a single server's old BLOCK and PREF records are read
-- as SET records (src/store/record/prefs.rs maps them the same way):
--   a block:      name 'block', key the blocked user's folded name,
--                 value that name as registered;
--   a preference: name 'pref', key the chat's folded name, value its
--                 PREFS line `<chat>:<all|mentions|none>:<pinned|unpinned>`
--                 (a row of `prefs` is never the default one).
-- Then the two tables go. `settings_key` finds who keeps a key (who
-- blocked a user, what is about a name registered again).
-- (IF EXISTS / IF NOT EXISTS: a test replays migrations on a newer database.)
DO $$
BEGIN
    IF to_regclass('blocks') IS NOT NULL THEN
        INSERT INTO settings (user_id, name, key, value)
            SELECT b.user_id, 'block', u.folded, u.name
            FROM blocks b JOIN users u ON u.id = b.blocked
            ON CONFLICT DO NOTHING;
    END IF;
    IF to_regclass('prefs') IS NOT NULL THEN
        INSERT INTO settings (user_id, name, key, value)
            SELECT user_id, 'pref', folded,
                   chat || ':' || level || ':' || CASE WHEN pinned THEN 'pinned' ELSE 'unpinned' END
            FROM prefs
            ON CONFLICT DO NOTHING;
    END IF;
END
$$;
DROP TABLE IF EXISTS blocks;
DROP TABLE IF EXISTS prefs;
CREATE INDEX IF NOT EXISTS settings_key ON settings (key text_pattern_ops, name);
