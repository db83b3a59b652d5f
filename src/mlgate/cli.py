"""The `mlgate` command line: one subcommand per gate, loaded lazily.

Each subcommand lives in its own module and is imported only when it runs, so `mlgate lint` never pays
for importing Great Expectations or MLflow. Register a new gate by adding one line to `COMMANDS`.
"""

from __future__ import annotations

import importlib
import sys

import click

from mlgate import __version__

# command name -> "module:attribute" of a click.Command
COMMANDS: dict[str, str] = {
    "lint": "mlgate.lint:command",
    "config": "mlgate.config:command",
    "eval-gate": "mlgate.eval_gate.command:command",
    "promote": "mlgate.registry.promote:command",
    "model-card": "mlgate.registry.model_card:command",
    "tf-plan": "mlgate.terraform.plan_command:command",
    "tf-apply": "mlgate.terraform.apply_command:command",
    "profile": "mlgate.data.profile:command",
    "drift": "mlgate.data.drift:command",
    "validate-data": "mlgate.data.validate:command",
    "drift-check": "mlgate.data.drift_check:command",
    "canary": "mlgate.canary.command:command",
    "canary-local": "mlgate.canary.local_command:command",
    "prediction-log": "mlgate.monitor.command:command",
    "drift-metrics": "mlgate.monitor.command:drift_metrics_command",
    "monitor-local": "mlgate.monitor.local:command",
    "live-performance": "mlgate.monitor.live_command:command",
    "image-metadata": "mlgate.deploy.command:image_command",
    "fetch-model": "mlgate.deploy.fetch:fetch_command",
    "repo-settings": "mlgate.repo_settings:command",
    "template-update": "mlgate.template_update:command",
}


class LazyGroup(click.Group):
    """A click group that imports a subcommand's module only when that subcommand is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, _, attribute = target.partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):  # pragma: no cover - a registration mistake
            raise TypeError(f"{target} is not a click command")
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mlgate")
def cli() -> None:
    """Pull-request gates for ML repositories.

    Every gate writes a JSON result and a Markdown report, sets `passed` / `failure-reason` outputs
    in GitHub Actions, and exits 0 on pass and 1 on fail.
    """


def _report_usage_error(exc: click.UsageError) -> None:
    """A usage error (bad option value, missing option, unknown command) is a failed gate too: in GitHub
    Actions it becomes an annotation and `passed=false`, `failure-reason=invalid-input`."""
    from mlgate import github

    runner = github.Runner.from_env()
    if not runner.in_actions:
        return
    command = exc.ctx.command_path if exc.ctx is not None else "mlgate"
    message = " ".join(exc.format_message().split())
    runner.error(message, title=command)
    runner.set_outputs({"passed": "false", "failure-reason": "invalid-input"})
    runner.write_summary(f"### ❌ {command}: usage error\n\n{message}\n", echo=False)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `mlgate` console script."""
    try:
        result = cli.main(args=argv, prog_name="mlgate", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.UsageError as exc:
        exc.show()
        _report_usage_error(exc)
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 130
    # gate commands return their exit code (0 pass, 1 fail); plain commands return None
    return result if isinstance(result, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
