"""Prints, as JSON, what terraform gives the deployed system that the deployed-shape harness
(tests/deployed_shape.rs) must give it too:

    {"lambda_env": {"request": ["POWERPOLE_…", …], …},
     "state_machine": {"notify_function": "notify", …}}

`lambda_env` holds the environment variable names of each Lambda function (`local.lambda_env`
in terraform/environment.tf); `state_machine` the template variables `statemachine.tf` fills
into statemachine/powerpole.asl.json, each with the function whose ARN it gets. The harness
gives each function exactly these variables and the definition exactly these ARNs, so a variable
missing in terraform is missing there too.
"""

import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from consistency import ROOT, load_module, local_map, resolve_env  # noqa: E402


def main() -> int:
    terraform = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "terraform")
    module = load_module(terraform)
    if module.problems:
        print("\n".join(module.problems), file=sys.stderr)
        return 1
    envs = {
        name: sorted(resolve_env(module, expr))
        for name, expr in sorted(local_map(module, "lambda_env").items())
    }
    definition = module.resources.get(("aws_sfn_state_machine", "workflow"), {}).get("definition", "")
    tasks = dict(re.findall(r'(\w+)\s*=\s*aws_lambda_function\.this\[\\?"(\w+)\\?"\]\.arn', str(definition)))
    if not tasks:
        print(f"aws_sfn_state_machine.workflow's definition fills in no function ARN: {definition!r}", file=sys.stderr)
        return 1
    json.dump({"lambda_env": envs, "state_machine": tasks}, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
