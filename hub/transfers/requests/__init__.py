"""Transfer requests (demandes de transfert): an office or a partner asks the owner of a case
for it, with a reason; the owner answers with a transfer (and its plan) or a refusal.

`lifecycle` (the table), `models`, `schemas`, `service` (naming the case without enumeration,
the access rule, the moves, the sealed words), `deadlines` (the answer's deadline, reminders,
escalation, expiry), `routes` (`/v1/transfer-requests`). Answering with a transfer is
`POST /v1/transfers` with `transfer_request_id` (`hub.transfers.sending`). docs/transfers.md.
"""
