-- A ticket is (source, id): ticket 42 from one help desk and ticket 42 from another are two
-- tickets, with their own decisions and contacts. Rows written before carry the source their
-- decision's actor names (`webhook:NAME`), else `api` (the API's default source).
CREATE TABLE ticket_decisions_v2 (
    source TEXT NOT NULL,
    ticket TEXT NOT NULL,
    input_sha256 TEXT NOT NULL,
    audit_seq INTEGER NOT NULL,
    PRIMARY KEY (source, ticket, input_sha256)
);
INSERT INTO ticket_decisions_v2 (source, ticket, input_sha256, audit_seq)
SELECT CASE WHEN a.actor LIKE 'webhook:%' THEN substr(a.actor, 9) ELSE 'api' END,
       d.ticket, d.input_sha256, d.audit_seq
FROM ticket_decisions d LEFT JOIN audit_log a ON a.seq = d.audit_seq;
DROP TABLE ticket_decisions;
ALTER TABLE ticket_decisions_v2 RENAME TO ticket_decisions;

CREATE TABLE customer_contacts_v2 (
    customer TEXT NOT NULL,
    source TEXT NOT NULL,
    ticket TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    PRIMARY KEY (customer, source, ticket)
);
INSERT INTO customer_contacts_v2 (customer, source, ticket, at_ms)
SELECT c.customer,
       COALESCE((SELECT MIN(d.source) FROM ticket_decisions d WHERE d.ticket = c.ticket), 'api'),
       c.ticket, c.at_ms
FROM customer_contacts c;
DROP TABLE customer_contacts;
ALTER TABLE customer_contacts_v2 RENAME TO customer_contacts;
CREATE INDEX customer_contacts_at ON customer_contacts (customer, at_ms);
