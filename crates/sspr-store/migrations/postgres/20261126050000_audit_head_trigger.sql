-- The audit chain's head follows every appended record by itself: the append no longer needs
-- a third statement to store the new hash (each statement is a round trip to the database).
-- The head's sequence number is still taken first, by the appender's
-- `UPDATE audit_head SET seq = seq + 1`, whose row lock is what serialises appenders.
-- Postgres dialect; keep in step with ../sqlite/20261126050000_audit_head_trigger.sql.
CREATE FUNCTION audit_events_move_head() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE audit_head SET hash = NEW.hash WHERE id = 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER audit_events_move_head AFTER INSERT ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_move_head();
