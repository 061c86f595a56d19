-- Each customer's tickets as the live service first saw them, for repeat-contact rules: the
-- gate asks how many days passed since the same customer's previous ticket.
CREATE TABLE customer_contacts (
    customer TEXT NOT NULL,
    ticket TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    PRIMARY KEY (customer, ticket)
);
CREATE INDEX customer_contacts_at ON customer_contacts (customer, at_ms);
