-- Sign-ins to the web pages: a token exchanged for a session (the cookie holds a random id;
-- only its SHA-256 is kept). The role is the token's, read at every request, so revoking the
-- token ends its sessions.
CREATE TABLE web_sessions (
    id_sha256 TEXT PRIMARY KEY,
    token_name TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL
);
