"""Receive Pitchpoint Solutions (PPS) webhooks and turn them into reliable SNS events."""
