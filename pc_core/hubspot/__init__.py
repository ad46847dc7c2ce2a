"""HubSpot: the OAuth connection, the SDK client, pulls, stage mapping and lead building."""
