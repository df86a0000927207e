"""The developer tooling: the local run, the generators, the build steps, and the devkit they and the tests share."""
