"""threadbridge: customer conversations from messengers, answered in Slack threads."""
