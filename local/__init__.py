"""Developer tooling: the whole pipeline on a laptop (make run / send / orders), built from template.yaml.

Not shipped to Lambda.
"""
