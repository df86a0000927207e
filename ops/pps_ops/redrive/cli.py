from pps_ops.redrive.redrive import main

__all__ = ["main"]
