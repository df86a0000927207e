"""Operator tools for a deployed pps-webhooks stack. They import boto3 and click, nothing of the developer tooling."""
