"""`make pause` / `make resume` / `make status`: switch a consumer's event source mapping off and on (its webhooks
wait in its queue meanwhile), and show every consumer's state and backlog."""
