"""The service directory: which organisation offers which service, where, to whom (in the
spirit of Open Referral's HSDS). Any authenticated client reads it; the hub's administrators
and the organisation itself edit an organisation's services."""
