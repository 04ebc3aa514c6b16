"""Notifications to people: what needs their attention (a deadline passed, a request escalated),
shown in the console and, when the hub has a mail server, sent by email."""
