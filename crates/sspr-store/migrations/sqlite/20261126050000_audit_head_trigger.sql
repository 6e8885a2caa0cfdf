-- The audit chain's head follows every appended record by itself: the append no longer needs
-- a third statement to store the new hash (each statement is a round trip to the database
-- connection's thread). The head's sequence number is still taken first, by the appender's
-- `UPDATE audit_head SET seq = seq + 1`, which is what serialises appenders.
-- Sqlite dialect; keep in step with ../postgres/20261126050000_audit_head_trigger.sql.
CREATE TRIGGER audit_events_move_head AFTER INSERT ON audit_events
BEGIN
    UPDATE audit_head SET hash = NEW.hash WHERE id = 1;
END;
