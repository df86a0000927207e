"""S3 lifecycle expiration, played forward in time: moto keeps every object forever, so the expiry rules of
a bucket are read from template.yaml (resolved with the parameters' defaults) and applied here as S3 would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.support.stack import Deployment
from tools.devkit.template import Resolver, load_template


def expiration_days(bucket: str, parameters: dict[str, str] | None = None) -> int:
    """Days after which the template's lifecycle deletes every object of `bucket` (a logical id)."""
    template = load_template()
    configuration = template["Resources"][bucket]["Properties"]["LifecycleConfiguration"]
    resolved = Resolver(template, refs={}, attributes={}, parameters=parameters).resolve(configuration)
    days = [int(rule["ExpirationInDays"]) for rule in resolved["Rules"] if rule.get("Status") == "Enabled"]
    return min(days)


def expire(stack: Deployment, bucket: str, after: timedelta) -> list[str]:
    """Delete what S3 would have deleted from `bucket` by `after` from now; the keys it deleted.

    S3 counts from each object's creation (last write) and rounds up to the next midnight UTC.
    """
    now = datetime.now(UTC) + after
    limit = timedelta(days=expiration_days(bucket, stack.parameters))
    s3 = stack.client("s3")
    deleted = []
    for entry in s3.list_objects_v2(Bucket=stack.refs[bucket]).get("Contents", []):
        created: datetime = entry["LastModified"]
        expires = (created + limit).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
        if expires <= now:
            s3.delete_object(Bucket=stack.refs[bucket], Key=entry["Key"])
            deleted.append(entry["Key"])
    return deleted
