"""A case's own life: open → closed (with a coded reason) → open again.

Closing looks at the case's open referrals and transfers and asks, for each, whether to cancel
it (the sender's own `cancel` move: nothing written twice) or keep it; a closed case takes no
new request (`hub.cases.service.open_for_requests`). Erasing a case (DELETE) stays for the
erasure a person asks for: `hub.erasure`.

A package of its own, in the layer above the requests, because closing moves them: `hub.cases`
knows nothing of referrals and transfers.
"""
