-- Email messages may carry an HTML alternative to the text body.
ALTER TABLE outbox ADD COLUMN html_body TEXT;
