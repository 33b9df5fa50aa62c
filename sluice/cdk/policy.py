"""A small IAM evaluator over a synthesized template: would AWS allow this request?

It answers for one account (``ACCOUNT``, in ``REGION``) the way AWS combines the policies it
consults for a request:

- an explicit Deny in any of them wins;
- a KMS key allows only through its key policy: a statement naming the principal, or one
  naming the account root, which then lets the caller's identity policies decide;
- any other resource allows if its resource policy names the principal, or, for a role of
  the account, if the role's identity policies allow it;
- a service principal has no identity policies: only resource policies can let it in.

Templates are read as AWS would resolve them: ``Ref``, ``Fn::GetAtt``, ``Fn::Join``,
``Fn::Select`` and the pseudo parameters become concrete names and ARNs (a resource without
a physical name is named after its logical id). Conditions are evaluated for the string,
ARN and Bool operators (with ``IfExists``) over the keys a request carries; the paths here
use ``aws:SourceArn``, ``aws:SourceAccount``, ``aws:SecureTransport`` and
``lambda:FunctionUrlAuthType``. A function's resource policy is built from its
``AWS::Lambda::Permission`` resources as Lambda builds it. A role of the account that the
template does not define has no identity policies here.

Not modelled, and refused with ``NotModelledError`` rather than guessed: ``NotAction``,
``NotResource``, ``NotPrincipal``, numeric and date operators, set operators
(``ForAnyValue``/``ForAllValues``), policy variables, managed policies attached to a role.
Nor does it model SCPs, permission boundaries, session policies, the other side of a
cross-account request, the default policy of a topic without one, or VPC endpoint policies.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

ACCOUNT = "111122223333"
REGION = "eu-west-1"
PARTITION = "aws"
PSEUDO = {
    "AWS::AccountId": ACCOUNT,
    "AWS::Region": REGION,
    "AWS::Partition": PARTITION,
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "stack",
    "AWS::NoValue": None,
}
_OPERATORS = {"StringEquals", "StringNotEquals", "StringLike", "StringNotLike"}
_OPERATORS |= {"ArnEquals", "ArnNotEquals", "ArnLike", "ArnNotLike", "Bool"}


class NotModelledError(ValueError):
    """The template uses a policy feature this evaluator does not model."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who calls: a service (``sns.amazonaws.com``) or an IAM role's ARN."""

    service: str | None = None
    role_arn: str | None = None

    @property
    def account(self) -> str | None:
        """The role's account (None for a service)."""
        return self.role_arn.split(":")[4] if self.role_arn else None


@dataclass(frozen=True, slots=True)
class Request:
    """One call: principal, action, resource ARN and the request's condition keys."""

    principal: Principal
    action: str
    resource: str
    context: Mapping[str, str] = field(default_factory=dict)


def service(name: str) -> Principal:
    """A service principal."""
    return Principal(service=name)


class Template:
    """A synthesized template, resolved to concrete names, with its policies indexed."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.resources: dict[str, dict[str, Any]] = dict(raw["Resources"])

    # -- names and ARNs -----------------------------------------------------------------

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        """Logical id -> resource, for every resource of ``kind``."""
        return {k: v for k, v in self.resources.items() if v["Type"] == kind}

    def props(self, logical: str) -> dict[str, Any]:
        """A resource's properties."""
        return dict(self.resources[logical].get("Properties", {}))

    def name(self, logical: str) -> str:
        """The physical name: the declared one, else the logical id (lower case for S3)."""
        kind = self.resources[logical]["Type"]
        declared = {
            "AWS::SQS::Queue": "QueueName",
            "AWS::SNS::Topic": "TopicName",
            "AWS::DynamoDB::Table": "TableName",
            "AWS::Lambda::Function": "FunctionName",
            "AWS::Logs::LogGroup": "LogGroupName",
            "AWS::CloudWatch::Alarm": "AlarmName",
            "AWS::IAM::Role": "RoleName",
            "AWS::S3::Bucket": "BucketName",
        }.get(kind)
        value = self.props(logical).get(declared) if declared else None
        if value is not None:
            return str(self.resolve(value))
        return logical.lower() if kind == "AWS::S3::Bucket" else logical

    def attribute(self, logical: str, attribute: str) -> str:
        """``Fn::GetAtt``: the ARN (or name) AWS would return."""
        kind = self.resources[logical]["Type"]
        name = self.name(logical)
        here = f"{REGION}:{ACCOUNT}"
        arns = {
            "AWS::SQS::Queue": f"arn:{PARTITION}:sqs:{here}:{name}",
            "AWS::SNS::Topic": f"arn:{PARTITION}:sns:{here}:{name}",
            "AWS::KMS::Key": f"arn:{PARTITION}:kms:{here}:key/{logical}",
            "AWS::DynamoDB::Table": f"arn:{PARTITION}:dynamodb:{here}:table/{name}",
            "AWS::Lambda::Function": f"arn:{PARTITION}:lambda:{here}:function:{name}",
            "AWS::Logs::LogGroup": f"arn:{PARTITION}:logs:{here}:log-group:{name}:*",
            "AWS::CloudWatch::Alarm": f"arn:{PARTITION}:cloudwatch:{here}:alarm:{name}",
            "AWS::IAM::Role": f"arn:{PARTITION}:iam::{ACCOUNT}:role/{name}",
            "AWS::S3::Bucket": f"arn:{PARTITION}:s3:::{name}",
        }
        arn = arns.get(kind, f"arn:{PARTITION}:{kind.split('::')[1].lower()}:{here}:{logical}")
        if attribute in ("Arn", "TopicArn"):
            return arn
        if attribute == "StreamArn":
            return f"{arn}/stream/label"
        if attribute in ("QueueName", "TopicName"):
            return name
        if attribute == "QueueUrl":
            return self.ref(logical)
        raise NotModelledError(f"Fn::GetAtt {logical}.{attribute}")

    def ref(self, logical: str) -> str:
        """``Ref``: a queue's URL, a topic's ARN, a key's id, else the physical name."""
        kind = self.resources[logical]["Type"]
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{self.name(logical)}"
        if kind == "AWS::SNS::Topic":
            return self.attribute(logical, "Arn")
        return self.name(logical)

    def resolve(self, value: Any) -> Any:
        """A template value with every intrinsic function this module knows evaluated."""
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1:
            return {k: self.resolve(v) for k, v in value.items()}
        ((function, argument),) = value.items()
        if function == "Ref":
            return PSEUDO[argument] if argument in PSEUDO else self.ref(argument)
        if function == "Fn::GetAtt":
            logical, attribute = argument if isinstance(argument, list) else argument.split(".")
            return self.attribute(logical, attribute)
        if function == "Fn::Join":
            separator, parts = argument
            return separator.join(str(self.resolve(p)) for p in parts)
        if function == "Fn::Select":
            index, items = argument
            return self.resolve(items)[int(index)]
        if function.startswith("Fn::"):
            raise NotModelledError(f"intrinsic {function}")
        return {function: self.resolve(argument)}

    # -- policies -----------------------------------------------------------------------

    def identity_statements(self, role_arn: str) -> list[dict[str, Any]]:
        """Every statement of the role's inline and attached (template) policies."""
        roles = [k for k in self.of_type("AWS::IAM::Role") if self.attribute(k, "Arn") == role_arn]
        if not roles:  # a role of the account made elsewhere: its policies are not here
            return []
        (role,) = roles
        props = self.props(role)
        if props.get("ManagedPolicyArns"):
            raise NotModelledError(f"managed policies on {role}")
        found = [s for p in props.get("Policies", []) for s in _statements(p["PolicyDocument"])]
        for policy in self.of_type("AWS::IAM::Policy").values():
            if {"Ref": role} in policy["Properties"].get("Roles", []):
                found += _statements(policy["Properties"]["PolicyDocument"])
        return [self.resolve(s) for s in found]

    def resource_statements(self, arn: str) -> tuple[str | None, list[dict[str, Any]]]:
        """The resource policy AWS consults for ``arn``: (its resource type, statements)."""
        for logical, resource in self.resources.items():
            kind, props = resource["Type"], resource.get("Properties", {})
            if kind == "AWS::KMS::Key" and self.attribute(logical, "Arn") == arn:
                return kind, [self.resolve(s) for s in _statements(props["KeyPolicy"])]
            if kind == "AWS::IAM::Role" and self.attribute(logical, "Arn") == arn:  # its trust
                trust = props["AssumeRolePolicyDocument"]
                return kind, [self.resolve(s) for s in _statements(trust)]
        attached = {
            "AWS::SQS::QueuePolicy": ("Queues", "AWS::SQS::Queue"),
            "AWS::SNS::TopicPolicy": ("Topics", "AWS::SNS::Topic"),
            "AWS::S3::BucketPolicy": ("Bucket", "AWS::S3::Bucket"),
        }
        target = _owner(arn)
        statements: list[dict[str, Any]] = []
        kind_found: str | None = None
        for resource in self.resources.values():
            if resource["Type"] not in attached:
                continue
            key, kind = attached[resource["Type"]]
            refs = resource["Properties"][key]
            for ref in refs if isinstance(refs, list) else [refs]:
                logical = ref["Ref"]
                if self.attribute(logical, "Arn") == target:
                    kind_found = kind
                    document = resource["Properties"]["PolicyDocument"]
                    statements += [self.resolve(s) for s in _statements(document)]
        if not statements:
            statements = self.lambda_permissions(target)
            kind_found = "AWS::Lambda::Function" if statements else None
        return kind_found, statements

    def lambda_permissions(self, function_arn: str) -> list[dict[str, Any]]:
        """A function's resource policy, as Lambda builds it from its permissions."""
        found = []
        for resource in self.of_type("AWS::Lambda::Permission").values():
            props = self.resolve(resource["Properties"])
            name = str(props["FunctionName"])
            arn = name if name.startswith("arn:") else self._function_arn(name)
            if arn != function_arn:
                continue
            found.append(_permission_statement(props, arn))
        return found

    def _function_arn(self, name: str) -> str:
        return f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:{name}"


# What each Lambda permission property becomes in the function's policy (Lambda's mapping).
_PERMISSION_CONDITIONS = {
    "SourceArn": ("ArnLike", "aws:SourceArn"),
    "SourceAccount": ("StringEquals", "aws:SourceAccount"),
    "FunctionUrlAuthType": ("StringEquals", "lambda:FunctionUrlAuthType"),
    "PrincipalOrgID": ("StringEquals", "aws:PrincipalOrgID"),
}


def _permission_statement(props: Mapping[str, Any], function_arn: str) -> dict[str, Any]:
    """One ``AWS::Lambda::Permission`` as the statement Lambda adds to the function's policy."""
    if "EventSourceToken" in props or "InvokedViaFunctionUrl" in props:
        raise NotModelledError("Lambda permission with EventSourceToken or InvokedViaFunctionUrl")
    given = str(props["Principal"])
    if given == "*":
        who: Any = "*"
    elif given.isdigit():
        who = {"AWS": f"arn:{PARTITION}:iam::{given}:root"}
    elif given.endswith(".amazonaws.com"):
        who = {"Service": given}
    else:
        who = {"AWS": given}
    condition: dict[str, dict[str, str]] = {}
    for field_name, (operator, key) in _PERMISSION_CONDITIONS.items():
        if field_name in props:
            condition.setdefault(operator, {})[key] = str(props[field_name])
    statement = {
        "Effect": "Allow",
        "Principal": who,
        "Action": props["Action"],
        "Resource": function_arn,
    }
    return {**statement, "Condition": condition} if condition else statement


def _owner(arn: str) -> str:
    """The ARN whose policy governs ``arn``: an S3 object's bucket, else ``arn`` itself."""
    if arn.startswith(f"arn:{PARTITION}:s3:::") and "/" in arn:
        return arn.split("/", 1)[0]
    return arn


def _statements(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    statements = document["Statement"]
    return list(statements if isinstance(statements, list) else [statements])


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _like(pattern: str, value: str) -> bool:
    """IAM's wildcard match: ``*`` any run, ``?`` one character, case-sensitive."""
    if "${" in pattern:
        raise NotModelledError(f"policy variable in {pattern!r}")
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def _action_matches(pattern: str, action: str) -> bool:
    return _like(pattern.lower(), action.lower())


def _condition_holds(condition: Mapping[str, Any], context: Mapping[str, str]) -> bool:
    for operator, tests in condition.items():
        if_exists = operator.endswith("IfExists")
        base = operator.removesuffix("IfExists")
        if base not in _OPERATORS or ":" in base:
            raise NotModelledError(f"condition operator {operator}")
        for key, wanted in tests.items():
            if key not in context:
                if if_exists:
                    continue
                return False
            value, candidates = context[key], [str(w) for w in _listed(wanted)]
            if base == "Bool":
                hit = value.lower() in [c.lower() for c in candidates]
            elif base.endswith("Like"):
                hit = any(_like(c, value) for c in candidates)
            else:
                hit = value in candidates
            if hit == ("Not" in base):
                return False
    return True


def _principal_matches(principal: Any, who: Principal) -> str | None:
    """'direct' if the statement names ``who``, 'account' if it names who's account root."""
    if principal in ("*", {"AWS": "*"}):
        return "direct"
    for kind, values in dict(principal).items():
        for value in _listed(values):
            if kind == "Service" and value == who.service:
                return "direct"
            if kind == "AWS" and who.role_arn is not None:
                if value == who.role_arn:
                    return "direct"
                if value in (who.account, f"arn:{PARTITION}:iam::{who.account}:root"):
                    return "account"
    return None


def _matching(statement: dict[str, Any], request: Request, *, resource_policy: bool) -> str | None:
    """How ``statement`` applies to ``request``: 'direct', 'account' or None (not at all)."""
    for unsupported in ("NotAction", "NotResource", "NotPrincipal"):
        if unsupported in statement:
            raise NotModelledError(unsupported)
    if not any(_action_matches(a, request.action) for a in _listed(statement["Action"])):
        return None
    resources = [r for r in _listed(statement.get("Resource", "*")) if r is not None]
    if not any(_like(r, request.resource) for r in resources):
        return None
    how = "direct"
    if resource_policy:
        found = _principal_matches(statement["Principal"], request.principal)
        if found is None:
            return None
        how = found
    if not _condition_holds(statement.get("Condition", {}), request.context):
        return None
    return how


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether AWS would allow the request, and which policies said so."""

    allowed: bool
    why: str

    def __bool__(self) -> bool:
        return self.allowed


def decide(template: Template, request: Request) -> Decision:
    """Evaluate ``request`` against every policy AWS would consult for it."""
    identity: list[dict[str, Any]] = []
    if request.principal.role_arn and request.principal.account == ACCOUNT:
        identity = template.identity_statements(request.principal.role_arn)
    kind, resource = template.resource_statements(request.resource)
    applying = [(s, _matching(s, request, resource_policy=False)) for s in identity] + [
        (s, _matching(s, request, resource_policy=True)) for s in resource
    ]
    for statement, how in applying:
        if how is not None and statement["Effect"] == "Deny":
            return Decision(False, f"explicit deny: {statement.get('Sid', statement)}")
    allows = list(_allows(identity, resource, request))
    identity_allows = "identity" in allows
    foreign = request.principal.account not in (None, ACCOUNT)
    if kind == "AWS::KMS::Key":
        if "resource:direct" in allows or ("resource:account" in allows and foreign):
            return Decision(True, "the key policy names the principal (or its account)")
        if "resource:account" in allows and identity_allows:
            return Decision(True, "the key policy delegates to IAM, and IAM allows")
        return Decision(False, "the key policy does not allow it")
    if "resource:direct" in allows or ("resource:account" in allows and foreign):
        return Decision(True, "the resource policy allows it")
    if identity_allows:
        return Decision(True, "the identity policy allows it")
    return Decision(False, "no policy allows it")


def _allows(
    identity: list[dict[str, Any]], resource: list[dict[str, Any]], request: Request
) -> Iterator[str]:
    for statement in identity:
        if statement["Effect"] == "Allow" and _matching(statement, request, resource_policy=False):
            yield "identity"
    for statement in resource:
        if statement["Effect"] != "Allow":
            continue
        how = _matching(statement, request, resource_policy=True)
        if how is not None:
            yield f"resource:{how}"


def unused_grants(template: Template, role_arn: str, needed: list[Request]) -> list[str]:
    """Each (action, resource) the role's identity policies allow that no needed call uses."""
    unused = []
    for statement in template.identity_statements(role_arn):
        if statement["Effect"] != "Allow":
            continue
        for action in _listed(statement["Action"]):
            for resource in [r for r in _listed(statement["Resource"]) if r is not None]:
                used = any(
                    _action_matches(action, r.action) and _like(resource, r.resource)
                    for r in needed
                )
                if not used:
                    unused.append(f"{action} on {resource}")
    return unused
