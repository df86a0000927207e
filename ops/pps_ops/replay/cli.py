from pps_ops.replay.replay import main

__all__ = ["main"]
