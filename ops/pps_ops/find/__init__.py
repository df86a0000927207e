"""`make find`: where one webhook went. When it arrived, its topic and sub-topic, whether its body was claim-checked
(from the archive, in SQL through Athena), and which consumers' queues or dead-letter queues still hold it."""
