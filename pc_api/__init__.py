"""The HTTP face of Partner Connector: people, partners' scripts and webhook senders."""
