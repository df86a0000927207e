"""Powertools logger, metrics and tracer, created once per sandbox.

Service name and namespace come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE
when set (the template sets them); these defaults keep local runs and tests working.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "pps-webhooks"
NAMESPACE = "PpsWebhooks"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
tracer = Tracer(service=SERVICE)
