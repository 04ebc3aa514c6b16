"""the audit chain appended by one statement on PostgreSQL: hub_audit_append

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 05:10:00.000000

The function locks the chain's head, chains the entries it is given (each one's hash computed
by the database over the canonical text `hub.audit.service.chain_prefix` prepared, followed by
the predecessor's hash and the sequence number), inserts them and moves the head: the head row
is held for this one statement and the commit after it, where it was held over three round
trips. SQLite has no functions of this kind (and one writer at a time): the hub appends there
with two statements of its own.
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

APPEND = """
CREATE OR REPLACE FUNCTION hub_audit_append(
    p_at text[], p_actor text[], p_action text[], p_object_type text[], p_object_id text[],
    p_details text[], p_prefix text[]
) RETURNS TABLE (entry_seq integer, entry_prev_hash text, entry_hash text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    head_seq integer;
    head_hash text;
BEGIN
    SELECT h.seq, h.hash INTO head_seq, head_hash
    FROM audit_head AS h WHERE h.id = 1 FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the audit head row is missing';
    END IF;
    FOR i IN 1 .. coalesce(array_length(p_prefix, 1), 0) LOOP
        entry_seq := head_seq + 1;
        entry_prev_hash := head_hash;
        entry_hash := encode(sha256(convert_to(
            p_prefix[i] || head_hash || '","seq":' || entry_seq::text || '}', 'UTF8')), 'hex');
        INSERT INTO audit_entries
            (seq, at, actor, action, object_type, object_id, details, prev_hash, hash)
        VALUES (entry_seq, p_at[i]::timestamptz, p_actor[i], p_action[i], p_object_type[i],
                p_object_id[i], p_details[i]::json, entry_prev_hash, entry_hash);
        head_seq := entry_seq;
        head_hash := entry_hash;
        RETURN NEXT;
    END LOOP;
    UPDATE audit_head SET seq = head_seq, hash = head_hash WHERE id = 1;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "DROP FUNCTION IF EXISTS hub_audit_append(text[], text[], text[], text[], text[], "
            "text[], text[])"
        )
