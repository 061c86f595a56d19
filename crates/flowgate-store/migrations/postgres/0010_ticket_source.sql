-- A ticket is (source, id): ticket 42 from one help desk and ticket 42 from another are two
-- tickets, with their own decisions and contacts. Rows written before carry the source their
-- decision's actor names (`webhook:NAME`), else `api` (the API's default source).
ALTER TABLE ticket_decisions ADD COLUMN source TEXT;
UPDATE ticket_decisions d
SET source = CASE WHEN a.actor LIKE 'webhook:%' THEN substr(a.actor, 9) ELSE 'api' END
FROM audit_log a WHERE a.seq = d.audit_seq;
UPDATE ticket_decisions SET source = 'api' WHERE source IS NULL;
ALTER TABLE ticket_decisions ALTER COLUMN source SET NOT NULL;
ALTER TABLE ticket_decisions DROP CONSTRAINT ticket_decisions_pkey;
ALTER TABLE ticket_decisions ADD PRIMARY KEY (source, ticket, input_sha256);

ALTER TABLE customer_contacts ADD COLUMN source TEXT;
UPDATE customer_contacts c
SET source = COALESCE((SELECT MIN(d.source) FROM ticket_decisions d WHERE d.ticket = c.ticket), 'api');
ALTER TABLE customer_contacts ALTER COLUMN source SET NOT NULL;
ALTER TABLE customer_contacts DROP CONSTRAINT customer_contacts_pkey;
ALTER TABLE customer_contacts ADD PRIMARY KEY (customer, source, ticket);
