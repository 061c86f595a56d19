-- The hash of the mapping a source's events were read with (its content, not its text):
-- an import under another mapping would give the same events other keys, so it is refused
-- unless the import rebuilds the source. NULL for sources stored before this column (the
-- next import with a mapping sets it).
ALTER TABLE sources ADD COLUMN mapping_hash TEXT;
