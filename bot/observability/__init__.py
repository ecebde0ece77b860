"""Running the bot as a service: metrics (Prometheus), structured logs, and the HTTP guards of a graceful stop.

Nothing here knows a channel, Slack or the database: the parts that do call into it with plain labels, and the
composition root hands it a reader for the state it shows at scrape time.
"""
