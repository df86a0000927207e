"""template.yaml as data, and the few CloudFormation intrinsics the tests need to resolve it,
so test resources and the receiver's environment come from the template itself."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from tools.devkit.emulator import ACCOUNT, REGION, STACK_NAME
from tools.devkit.paths import TEMPLATE

_FUNCTIONS = {"!Ref": "Ref", "!Condition": "Condition"}


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags (!Ref, !Sub, !GetAtt ...) as their long form."""


def _construct(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> Any:
    tag = "!" + tag_suffix
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:
        raise TypeError(f"unexpected node {node!r}")
    if tag in _FUNCTIONS:
        return {_FUNCTIONS[tag]: value}
    if tag == "!GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct)


@cache
def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    with path.open() as stream:
        template: dict[str, Any] = yaml.load(stream, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass  # nosec B506
    return template


def resources_of_type(template: Mapping[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in template["Resources"].items() if res["Type"] == resource_type}


def declared_environment(template: Mapping[str, Any], function: str) -> dict[str, Any]:
    """A function's environment variables as declared (Globals first), unresolved. The only names SAM CLI's
    --env-vars can set: it drops any other, silently."""
    return {
        **template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}),
        **template["Resources"][function]["Properties"].get("Environment", {}).get("Variables", {}),
    }


NO_VALUE: Any = object()
"""What `!Ref AWS::NoValue` resolves to: the property it is the value of is left out."""


class Resolver:
    """Resolves Ref, Fn::Sub, Fn::GetAtt, Fn::If, Fn::Equals and Fn::Not against deployed names."""

    def __init__(
        self,
        template: Mapping[str, Any],
        *,
        refs: Mapping[str, str],
        attributes: Mapping[str, str],
        parameters: Mapping[str, str] | None = None,
        region: str = REGION,
        account: str = ACCOUNT,
        stack_name: str = STACK_NAME,
    ) -> None:
        self._template = template
        defaults = {name: str(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()}
        self._refs = {
            **defaults,
            **(parameters or {}),
            **refs,
            "AWS::Region": region,
            "AWS::AccountId": account,
            "AWS::StackName": stack_name,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::Partition": "aws",
        }
        self._attributes = attributes

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            return [item for item in map(self.resolve, node) if item is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, value),) = node.items()
            if key == "Ref":
                return NO_VALUE if value == "AWS::NoValue" else self._refs[value]
            if key == "Fn::GetAtt":
                return self._attributes[".".join(value)]
            if key == "Fn::Sub":
                return self._sub(value)
            if key == "Fn::If":
                condition, when_true, when_false = value
                return self.resolve(when_true if self.condition(condition) else when_false)
            if key == "Fn::Equals":
                left, right = self.resolve(value)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self.resolve(value[0])
        resolved = {key: self.resolve(value) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value is not NO_VALUE}

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self._template["Conditions"][name]))

    def _sub(self, value: Any) -> str:
        text, variables = (value, {}) if isinstance(value, str) else (value[0], self.resolve(value[1]))

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if name in self._refs:
                return str(self._refs[name])
            return str(self._attributes[name])

        return re.sub(r"\$\{([^}!]+)\}", replace, text)
