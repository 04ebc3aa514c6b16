"""The web console: the same services as the API, for people with a browser.

Server-rendered pages (Jinja2), English and French, no script needed. Signed-in people act in
their own name: every call into a domain service carries the person's `Principal`, built from
their role's scopes (`hub.users.roles`), so the console is checked by the same rules as the API.
"""
