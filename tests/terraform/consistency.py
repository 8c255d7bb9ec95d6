"""Checks terraform/ against the code it deploys.

- every Lambda crate in lambdas/ (but shared) has a function in terraform, and every function a crate;
- every environment variable a Lambda's code reads is set in its terraform environment (derived from
  the code: the config struct its main reads, the constants and helpers behind it), and nothing
  else is set unless reviewed;
- every `${...}` in the state machine definition is supplied by the templatefile call;
- every AWS SDK operation the code calls is reviewed (reviewed_iam.py), every reviewed call still
  exists, and each Lambda's role grants exactly the actions of its reviewed calls;
- no Lambda role grants "*" for an action IAM can scope.

Run as `python3 tests/terraform/consistency.py [--terraform DIR]`: prints each problem and exits 1
if there is any. Needs python-hcl2 (`import hcl2`).
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import sys
from dataclasses import dataclass, field

import hcl2

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import reviewed_iam as reviewed  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))


# --- HCL ----------------------------------------------------------------------------------------


def unquote(value):
    """python-hcl2 keeps the quotes of string literals and block labels: drop them."""
    if isinstance(value, str):
        if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
            return value[1:-1].replace('\\"', '"')
        return value
    if isinstance(value, list):
        return [unquote(v) for v in value]
    if isinstance(value, dict):
        return {unquote(k): unquote(v) for k, v in value.items() if k != "__is_block__"}
    return value


@dataclass
class Module:
    """The blocks of every .tf file of one directory, by kind."""

    locals: dict = field(default_factory=dict)
    resources: dict = field(default_factory=dict)  # (type, name) -> body
    data: dict = field(default_factory=dict)  # (type, name) -> body
    outputs: dict = field(default_factory=dict)  # name -> body
    problems: list = field(default_factory=list)


def load_module(directory: str) -> Module:
    module = Module()
    files = sorted(glob.glob(os.path.join(directory, "*.tf")))
    if not files:
        module.problems.append(f"no .tf file in {directory}")
    for path in files:
        try:
            with open(path, encoding="utf-8") as handle:
                parsed = unquote(hcl2.load(handle))
        except Exception as error:  # noqa: BLE001 - any parser error is a finding
            module.problems.append(f"{os.path.basename(path)} does not parse: {error}")
            continue
        for block in parsed.get("locals", []):
            module.locals.update(block)
        for block in parsed.get("output", []):
            module.outputs.update(block)
        for kind, target in (("resource", module.resources), ("data", module.data)):
            for block in parsed.get(kind, []):
                for rtype, named in block.items():
                    for name, body in named.items():
                        target[(rtype, name)] = body
    return module


def interpolated(expr) -> str:
    """The inside of a whole-value interpolation `${...}`, or the value itself."""
    if isinstance(expr, str) and expr.startswith("${") and expr.endswith("}"):
        return expr[2:-1]
    return expr


def local_map(module: Module, name: str) -> dict:
    value = module.locals.get(name)
    if not isinstance(value, dict):
        raise LookupError(f"local.{name} is not a literal map")
    return value


def resolve_env(module: Module, expr) -> dict:
    """A Lambda's environment: a literal map, `local.X`, or `merge(local.A, local.B, ...)`."""
    if isinstance(expr, dict):
        return expr
    inner = interpolated(expr)
    if not isinstance(inner, str):
        raise LookupError(f"environment {expr!r} is not a map")
    match = re.fullmatch(r"merge\((.*)\)", inner.strip(), re.S)
    parts = [p.strip() for p in match.group(1).split(",")] if match else [inner.strip()]
    env: dict = {}
    for part in parts:
        ref = re.fullmatch(r"local\.(\w+)", part)
        if not ref:
            raise LookupError(f"environment part {part!r} is not local.NAME")
        env.update(local_map(module, ref.group(1)))
    return env


# --- code -----------------------------------------------------------------------------------------


def non_test(source: str) -> str:
    """The source up to its first `#[cfg(test)]` (unit tests sit at the end of a file)."""
    return source.split("#[cfg(test)]", 1)[0]


def read(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def lambda_crates(root: str) -> dict:
    """Binary (package) name -> crate directory, for every lambdas/* crate but shared."""
    crates = {}
    for manifest in sorted(glob.glob(os.path.join(root, "lambdas", "*", "Cargo.toml"))):
        directory = os.path.dirname(manifest)
        if os.path.basename(directory) == "shared":
            continue
        match = re.search(r'^name\s*=\s*"([^"]+)"', read(manifest), re.M)
        if match:
            crates[match.group(1)] = directory
    return crates


def body_of(source: str, start: int) -> str:
    """The `{ ... }` block that begins at or after `start` (braces in strings are rare enough)."""
    open_at = source.index("{", start)
    depth = 0
    for index in range(open_at, len(source)):
        if source[index] == "{":
            depth += 1
        elif source[index] == "}":
            depth -= 1
            if depth == 0:
                return source[open_at : index + 1]
    return source[open_at:]


@dataclass
class ConfigCode:
    """What the Lambdas' configuration code reads: constants and the functions using them."""

    consts: dict  # Rust constant -> environment variable
    functions: dict  # "name" or "Type::from_env" -> body


def config_code(sources: list) -> ConfigCode:
    consts, functions = {}, {}
    for source in sources:
        code = non_test(source)
        for name, var in re.findall(r'pub const (\w+): &str = "([A-Z][A-Z0-9_]*)";', code):
            if var.startswith("POWERPOLE_"):
                consts[name] = var
        for match in re.finditer(r"\bimpl\s+(\w+)\s*\{", code):
            block = body_of(code, match.start())
            for fn in re.finditer(r"\bfn\s+(\w+)\s*[<(]", block):
                functions[f"{match.group(1)}::{fn.group(1)}"] = body_of(block, fn.end())
        for fn in re.finditer(r"^(?:pub\s+)?(?:async\s+)?fn\s+(\w+)\s*[<(]", code, re.M):
            functions.setdefault(fn.group(1), body_of(code, fn.end()))
    return ConfigCode(consts, functions)


def vars_read(config: ConfigCode, entry_points: list) -> set:
    """Environment variables read by the entry points, following calls inside the config code."""
    seen, todo, found = set(), list(entry_points), set()
    while todo:
        name = todo.pop()
        if name in seen or name not in config.functions:
            continue
        seen.add(name)
        body = config.functions[name]
        for const, var in config.consts.items():
            if re.search(rf"\b{const}\b", body):
                found.add(var)
        for typ, fn in re.findall(r"\b([A-Z]\w*)::(\w+)\s*\(", body):
            todo.append(f"{typ}::{fn}")
        for fn in re.findall(r"(?<![\w:.])([a-z_]\w*)\s*\(", body):
            todo.append(fn)
    return found


def env_read_by(root: str, crate_dir: str) -> tuple:
    """(variables the crate's Lambda reads, the config entry points found in its main)."""
    shared = sorted(glob.glob(os.path.join(root, "lambdas", "shared", "src", "**", "*.rs"), recursive=True))
    own = sorted(glob.glob(os.path.join(crate_dir, "src", "**", "*.rs"), recursive=True))
    config = config_code([read(p) for p in shared + own])
    main = non_test(read(os.path.join(crate_dir, "src", "main.rs")))
    entries = [f"{t}::from_env" for t in re.findall(r"\b(\w+)::from_env\s*\(", main)]
    entries += re.findall(r"\bconfig::([a-z_]\w*)\s*\(", main)
    found = vars_read(config, entries)
    for path in shared + own:
        code = non_test(read(path))
        found.update(re.findall(r'env::var(?:_os)?\(\s*"([A-Z][A-Z0-9_]*)"', code))
        if "EnvFilter::try_from_default_env" in code or "EnvFilter::from_default_env" in code:
            found.add("RUST_LOG")
    return found, entries


def registry_operations(root: str) -> dict:
    """SDK crate suffix -> its operation names, from the cargo registry when it is there."""
    lock = read(os.path.join(root, "Cargo.lock"))
    cargo_home = os.environ.get("CARGO_HOME", os.path.join(os.path.expanduser("~"), ".cargo"))
    ops = {}
    for name, version in re.findall(r'name = "aws-sdk-(\w+)"\nversion = "([^"]+)"', lock):
        dirs = glob.glob(os.path.join(cargo_home, "registry", "src", "*", f"aws-sdk-{name}-{version}", "src", "operation"))
        if dirs:
            ops[name] = {os.path.basename(p)[:-3] for p in glob.glob(os.path.join(dirs[0], "*.rs"))}
    return ops


# Methods a client has that are not operations (used when the cargo registry is not there).
NOT_OPERATIONS = {"clone", "config", "to_owned", "as_ref"}


def sdk_calls(root: str) -> tuple:
    """{"service.operation": [files]} of the SDK calls in crates/aws/src and lambdas/, and problems."""
    registry = registry_operations(root)
    files = sorted(
        glob.glob(os.path.join(root, "crates", "aws", "src", "**", "*.rs"), recursive=True)
        + glob.glob(os.path.join(root, "lambdas", "*", "src", "**", "*.rs"), recursive=True)
    )
    known = set(reviewed.OPERATIONS) | set(reviewed.NOT_DEPLOYED)
    calls, problems = {}, []
    for path in files:
        code = non_test(read(path))
        services = sorted(set(re.findall(r"\baws_sdk_(\w+)::", code)))
        if not services:
            continue
        names = set(re.findall(r"\bclient\s*\.\s*([a-z][a-z0-9_]*)\s*\(\s*\)", code))
        if all(service in registry for service in services):
            names = {n for n in names if any(n in registry[s] for s in services)}
        else:
            names -= NOT_OPERATIONS
        for service in services:
            for name in re.findall(r"\.\s*([a-z][a-z0-9_]*)\s*\(\s*\)", code):
                if name in registry.get(service, ()):
                    names.add(name)
        for name in sorted(names):
            owners = [s for s in services if name in registry.get(s, ()) or f"{s}.{name}" in known]
            if not owners and len(services) == 1:
                owners = services
            rel = os.path.relpath(path, root)
            if len(owners) != 1:
                problems.append(f"{rel}: cannot tell which SDK `{name}()` belongs to (crates used: {', '.join(services)})")
                continue
            calls.setdefault(f"{owners[0]}.{name}", []).append(rel)
    return calls, problems


# --- IAM ------------------------------------------------------------------------------------------


def doc_reference(expr: str):
    """`data.aws_iam_policy_document.NAME[...].json` -> (NAME, key or None)."""
    match = re.fullmatch(r'data\.aws_iam_policy_document\.(\w+)(?:\["(\w+)"\])?\.json', interpolated(expr).strip())
    return (match.group(1), match.group(2)) if match else None


def policy_statements(module: Module, name: str, depth: int = 0) -> list:
    body = module.data.get(("aws_iam_policy_document", name))
    if body is None:
        raise LookupError(f"data.aws_iam_policy_document.{name} does not exist")
    statements = list(body.get("statement", []))
    for source in body.get("source_policy_documents", []) if depth < 5 else []:
        ref = doc_reference(source)
        if not ref:
            raise LookupError(f"{name}: source_policy_documents entry {source!r} is not a policy document")
        statements += policy_statements(module, ref[0], depth + 1)
    return statements


def expected_actions(lambda_name: str) -> set:
    spec = reviewed.LAMBDAS[lambda_name]
    actions = set(reviewed.BASE_ACTIONS)
    if spec["vpc"]:
        actions |= set(reviewed.VPC_ACTIONS)
    for op in spec["ops"]:
        actions |= set(reviewed.OPERATIONS[op])
    return actions


# --- checks ---------------------------------------------------------------------------------------


def check(root: str = ROOT, terraform: str | None = None) -> list:
    """Every inconsistency found, as sentences; empty when terraform and the code agree."""
    terraform = terraform or os.path.join(root, "terraform")
    module = load_module(terraform)
    problems = list(module.problems)
    if problems:
        return problems

    try:
        lambdas = local_map(module, "lambdas")
    except LookupError as error:
        return [str(error)]
    function = module.resources.get(("aws_lambda_function", "this"))
    if function is None or interpolated(function.get("for_each")) != "local.lambdas":
        return ["aws_lambda_function.this with for_each = local.lambdas is missing"]
    binaries = {spec.get("binary"): key for key, spec in lambdas.items()}

    # Functions <-> crates.
    crates = lambda_crates(root)
    for binary in sorted(set(crates) - set(binaries)):
        problems.append(f"lambdas/{os.path.basename(crates[binary])} ({binary}) has no function in terraform (local.lambdas)")
    for binary in sorted(set(binaries) - set(crates)):
        if binary not in reviewed.PENDING_BINARIES:
            problems.append(f"terraform deploys {binary}, which no crate in lambdas/ builds")
    for binary in sorted(set(reviewed.PENDING_BINARIES) & set(crates)):
        problems.append(f"{binary} has landed: remove it from PENDING_BINARIES in reviewed_iam.py")
    for key in lambdas:
        if key not in reviewed.LAMBDAS:
            problems.append(f"Lambda {key} has no reviewed entry in reviewed_iam.LAMBDAS")

    # Environment.
    try:
        env_exprs = local_map(module, "lambda_env")
    except LookupError as error:
        env_exprs = {}
        problems.append(str(error))
    env_block = function.get("environment", [{}])[0].get("variables")
    if interpolated(env_block) != "local.lambda_env[each.key]":
        problems.append("aws_lambda_function.this must take environment.variables = local.lambda_env[each.key]")
    for binary, crate_dir in sorted(crates.items()):
        key = binaries.get(binary)
        if key is None:
            continue
        try:
            env = resolve_env(module, env_exprs[key]) if key in env_exprs else None
        except LookupError as error:
            problems.append(f"{key}: {error}")
            continue
        if env is None:
            problems.append(f"{key}: local.lambda_env has no entry")
            continue
        read_vars, entries = env_read_by(root, crate_dir)
        if not entries:
            problems.append(f"{key}: cannot tell which configuration {binary}'s main reads")
        for var in sorted(read_vars - set(env)):
            problems.append(f"{key}: the code reads {var} but terraform does not set it")
        for var in sorted(set(env) - read_vars):
            if (key, var) not in reviewed.ENV_AHEAD_OF_CODE:
                problems.append(f"{key}: terraform sets {var}, which the code does not read")
    for (key, var) in sorted(reviewed.ENV_AHEAD_OF_CODE):
        crate = next((d for b, d in crates.items() if binaries.get(b) == key), None)
        if crate and var in env_read_by(root, crate)[0]:
            problems.append(f"{key} reads {var} now: remove it from ENV_AHEAD_OF_CODE")

    # State machine template variables.
    machine = next((b for (t, _), b in module.resources.items() if t == "aws_sfn_state_machine"), None)
    definition = interpolated(machine.get("definition", "")) if machine else ""
    template = re.match(r'templatefile\("([^"]+)",\s*\{(.*)\}\)\s*$', definition, re.S)
    if not template:
        problems.append("the state machine's definition is not templatefile(\"…asl.json\", {…})")
    else:
        asl_path = os.path.normpath(os.path.join(terraform, template.group(1).replace("${path.module}", ".")))
        if not os.path.exists(asl_path):
            asl_path = os.path.join(root, "statemachine", os.path.basename(template.group(1)))
        asl_vars = set(re.findall(r"\$\{(\w+)\}", read(asl_path)))
        supplied = dict(re.findall(r'(\w+)\s*=\s*aws_lambda_function\.this\["(\w+)"\]', template.group(2)))
        supplied_names = set(re.findall(r"(\w+)\s*=", template.group(2)))
        for var in sorted(asl_vars - supplied_names):
            problems.append(f"{os.path.basename(asl_path)} uses ${{{var}}} but templatefile does not supply it")
        for var in sorted(supplied_names - asl_vars):
            problems.append(f"templatefile supplies {var}, which {os.path.basename(asl_path)} does not use")
        tasks = module.locals.get("state_machine_tasks", {})
        if tasks != supplied:
            problems.append(f"local.state_machine_tasks {tasks} differs from the Lambdas templatefile supplies {supplied}")

    # SDK calls <-> reviewed list.
    calls, scan_problems = sdk_calls(root)
    problems += scan_problems
    used = {op for spec in reviewed.LAMBDAS.values() for op in spec["ops"]}
    for op in sorted(calls):
        if op not in reviewed.OPERATIONS and op not in reviewed.NOT_DEPLOYED:
            problems.append(f"{op} (in {', '.join(calls[op])}) is not reviewed: add it to reviewed_iam.py and iam.tf")
        elif op in reviewed.OPERATIONS and op not in used:
            problems.append(f"{op} is reviewed but no Lambda is said to call it (LAMBDAS or NOT_DEPLOYED)")
    for op in sorted(used):
        if op not in reviewed.OPERATIONS:
            problems.append(f"{op} is listed for a Lambda but has no IAM actions in OPERATIONS")
        elif op not in calls and op not in reviewed.OPS_AHEAD_OF_CODE:
            problems.append(f"{op} is reviewed but the code no longer calls it")
    for op in sorted(set(reviewed.OPS_AHEAD_OF_CODE) & set(calls)):
        problems.append(f"{op} is in the code now: remove it from OPS_AHEAD_OF_CODE")

    # Roles grant exactly the reviewed actions.
    role_policy = module.resources.get(("aws_iam_role_policy", "lambda"), {})
    if interpolated(role_policy.get("policy")) != "local.lambda_policies[each.key]":
        problems.append("aws_iam_role_policy.lambda must take policy = local.lambda_policies[each.key]")
    if interpolated(function.get("role")) != "aws_iam_role.lambda[each.key].arn":
        problems.append("aws_lambda_function.this must run as aws_iam_role.lambda[each.key]")
    policies = module.locals.get("lambda_policies", {})
    for key in sorted(lambdas):
        if key not in reviewed.LAMBDAS:
            continue
        ref = doc_reference(policies.get(key, "")) if key in policies else None
        if not ref:
            problems.append(f"{key}: local.lambda_policies has no policy document")
            continue
        try:
            statements = policy_statements(module, ref[0])
        except LookupError as error:
            problems.append(f"{key}: {error}")
            continue
        granted = set()
        for statement in statements:
            if statement.get("effect", "Allow") != "Allow":
                continue
            actions = set(statement.get("actions", []))
            granted |= actions
            resources = statement.get("resources", [])
            if isinstance(resources, list) and "*" in resources and actions - reviewed.UNSCOPABLE:
                problems.append(f"{key}: {', '.join(sorted(actions - reviewed.UNSCOPABLE))} granted on \"*\"")
        expected = expected_actions(key)
        for action in sorted(expected - granted):
            problems.append(f"{key}: its role lacks {action}")
        for action in sorted(granted - expected):
            problems.append(f"{key}: its role grants {action}, which its reviewed calls do not need")
        in_vpc = lambdas[key].get("vpc") is True
        if in_vpc != reviewed.LAMBDAS[key]["vpc"]:
            problems.append(f"{key}: vpc is {in_vpc} in terraform but {reviewed.LAMBDAS[key]['vpc']} in the review")
    problems += check_metrics(root, terraform, module)
    problems += check_bastion_access(root, module)
    return problems


def fleet_tag(root: str, name: str) -> str:
    """The key of the bastion tag `Ec2FleetSettings::<name>_tag` builds, with the default prefix."""
    code = read(os.path.join(root, "crates", "aws", "src", "bastions.rs"))
    prefix = re.search(r'DEFAULT_TAG_PREFIX: &\'static str = "([^"]+)"', code)
    suffix = re.search(rf'fn {name}_tag\(&self\) -> String \{{\s*format!\("\{{\}}([\w-]+)"', code)
    if not prefix or not suffix:
        raise LookupError(f"crates/aws/src/bastions.rs: cannot find the {name} tag")
    return prefix.group(1) + suffix.group(1)


def conditions(statement: dict) -> dict:
    """A statement's conditions as {variable: (test, values)}."""
    return {c.get("variable"): (c.get("test"), c.get("values", [])) for c in statement.get("condition", [])}


def check_bastion_access(root: str, module: Module) -> list:
    """Only a bastion's own requester may open a session on it, and a bastion may tag itself
    booted but nothing else."""
    problems = []
    try:
        requester_tag, booted_tag = fleet_tag(root, "requester"), fleet_tag(root, "booted")
        requesters = policy_statements(module, "requesters")
        bastion = policy_statements(module, "bastion")
    except LookupError as error:
        return [str(error)]
    policy = module.resources.get(("aws_iam_policy", "requesters"), {})
    if doc_reference(policy.get("policy", "")) != ("requesters", None):
        problems.append("aws_iam_policy.requesters must take policy = data.aws_iam_policy_document.requesters.json")
    if "requester_policy_arn" not in module.outputs:
        problems.append("output requester_policy_arn (the requesters' policy) is missing")
    for statement in requesters:
        if statement.get("effect", "Allow") != "Allow":
            continue
        actions = set(statement.get("actions", []))
        on_instances = [r for r in statement.get("resources", []) if ":instance/" in r or r == "*"]
        if not on_instances or not actions & {"ssm:StartSession", "ssm:*", "*"}:
            continue
        sid = statement.get("sid", "a statement")
        owner = conditions(statement).get(f"ssm:resourceTag/{requester_tag}") or conditions(statement).get(
            f"aws:ResourceTag/{requester_tag}"
        )
        if not owner or owner[0] not in ("StringEquals", "StringEqualsIgnoreCase") or not any(
            "aws:PrincipalTag/" in value for value in owner[1]
        ):
            problems.append(
                f"requesters: {sid} allows ssm:StartSession on instances without requiring "
                f"their {requester_tag} tag to equal the caller's principal tag: anyone could open anyone's bastion"
            )
    for statement in bastion:
        if "ec2:CreateTags" not in statement.get("actions", []) or statement.get("effect", "Allow") != "Allow":
            continue
        sid = statement.get("sid", "a statement")
        keys = conditions(statement).get("aws:TagKeys")
        if not keys or keys[0] != "ForAllValues:StringEquals" or keys[1] != [booted_tag]:
            problems.append(f"bastion: {sid} lets the instance set tags other than {booted_tag}")
        if statement.get("resources") != ["$${ec2:SourceInstanceARN}"]:
            problems.append(f"bastion: {sid} lets the instance tag other instances than itself")
    return problems


def check_metrics(root: str, terraform: str, module: Module) -> list:
    """The alarms and dashboard use the namespace, dimension and metric names the Lambdas print."""
    emf_path = os.path.join(root, "lambdas", "shared", "src", "emf.rs")
    slo_path = os.path.join(root, "crates", "core", "src", "slo.rs")
    if not (os.path.exists(emf_path) and os.path.exists(slo_path)):
        return []
    emf = non_test(read(emf_path))
    consts = dict(re.findall(r'pub const (\w+): &str = "([^"]*)";', emf))
    slo = non_test(read(slo_path))
    # The metric names: the one `match self` that names them (the units' match is another).
    blocks = [body_of(slo, m.start()) for m in re.finditer(r"match self\s*\{", slo)]
    names = next((b for b in blocks if "BuildSucceeded" in b), "")
    metrics = {a for a, b in re.findall(r'Self::(\w+) => "(\w+)"', names) if a == b}
    problems = []
    namespace = module.locals.get("metric_namespace")
    if namespace != consts.get("NAMESPACE"):
        problems.append(f"local.metric_namespace is {namespace!r}; the Lambdas print {consts.get('NAMESPACE')!r}")
    dims = module.locals.get("metric_dimensions", {})
    if dims != {consts.get("DIMENSION"): consts.get("SERVICE")}:
        problems.append(f"local.metric_dimensions is {dims}; the Lambdas print {{{consts.get('DIMENSION')!r}: {consts.get('SERVICE')!r}}}")
    text = read(os.path.join(terraform, "monitoring.tf"))
    used = set(re.findall(r'metric(?:_name)?\s*=\s*"(\w+)"', text))
    used |= set(re.findall(r'\[local\.metric_namespace, "(\w+)"\]', text))
    for name in sorted(used - metrics - {"Errors", "Invocations", "ApproximateNumberOfMessagesVisible", "ExecutionsFailed"}):
        problems.append(f"monitoring.tf uses the metric {name}, which the Lambdas do not print")
    for name in sorted(metrics - used):
        problems.append(f"the Lambdas print {name}, which no alarm or dashboard widget shows")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--terraform", help="the module to check (default: terraform/ of this checkout)")
    args = parser.parse_args()
    problems = check(ROOT, args.terraform)
    for problem in problems:
        print(f"terraform consistency: {problem}")
    if not problems:
        print("terraform consistency: functions, environment, template variables and IAM agree with the code")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
